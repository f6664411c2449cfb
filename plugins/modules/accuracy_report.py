#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
# The work is done by the action plugin of the same name (plugins/action/accuracy_report.py), on the
# controller; this file carries the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: accuracy_report
short_description: Summarize an EvalScope run on the controller, compare it, publish it atomically
version_added: 0.1.0
author: vacc.qwen3 contributors (@vacc-qwen3)
description:
  - Reads a run directory of the accuracy role (C(task.json), C(meta.json), C(state.json) and EvalScope's
    C(outputs/) with C(reviews/) and C(reports/)) and writes C(items/<dataset>.jsonl) (per-item score and
    correctness, matched across runs by subset/index and a hash of the prompt), C(summary.json)
    (per dataset its score, n, 95 % interval and more; the interval is Wilson's for right/wrong items,
    normal otherwise)
    and C(run.json).
  - With I(compare_to=published), compares each dataset with the Qwen3 technical report's figure for the
    model's size and the mode evaluated (exact one-sided binomial test); with a path, with that baseline
    run's per-item results (McNemar's exact test on discordant pairs). Writes C(verdict.json).
  - Verdicts are C(no significant regression), C(regression) or C(not comparable) with the reasons
    (different datasets, item sets, modes, sample sizes; a limited run or the made-up sample against the
    published figure).
  - Then renames the directory into I(dest) in one step (a previous report of the same run is replaced).
  - Runs on the controller only. It does not fail on a regression; the role decides.
options:
  staging:
    description: The run directory as fetched (it is renamed to I(dest)).
    type: path
    required: true
  dest:
    description: The run's directory under the results directory.
    type: path
    required: true
  run:
    description: What ran (run id, host, endpoint, C(model) with C(name), C(family), C(thinking), C(dtype)); kept in C(run.json).
    type: dict
    default: {}
  compare_to:
    description: C(published), or the path of a baseline run directory or its C(summary.json).
    type: str
  alpha:
    description: Significance level of the one-sided tests.
    type: float
    default: 0.05
  tolerance:
    description: A significant drop no larger than this (a fraction, 0.01 = 1 point) is not a regression.
    type: float
    default: 0.0
"""

EXAMPLES = r"""
- name: Summarize and compare with the BF16 run
  vacc.qwen3.accuracy_report:
    staging: /srv/results/accuracy/.run1.partial
    dest: /srv/results/accuracy/run1
    run: {run_id: run1, model: {name: Qwen3-8B-FP8, family: 8B, thinking: hybrid, dtype: FP8}}
    compare_to: /srv/results/accuracy/run0
"""

RETURN = r"""
summary:
  description: The summary written to summary.json.
  returned: success
  type: dict
comparison:
  description: The verdicts written to verdict.json (null without compare_to).
  returned: success
  type: dict
verdict:
  description: The run's verdict, or null.
  returned: success
  type: str
regression:
  description: Whether the verdict is a regression.
  returned: success
  type: bool
table:
  description: One line per dataset, for the play's output.
  returned: success
  type: list
  elements: str
dir:
  description: Where the run now is.
  returned: success
  type: str
"""
