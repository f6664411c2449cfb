#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
# The work is done by the action plugin of the same name (plugins/action/accuracy_task.py), on the
# controller; this file carries the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: accuracy_task
short_description: Settle an EvalScope run from the accuracy role's variables and the plan
version_added: 0.1.0
author: vacc.qwen3 contributors (@vacc-qwen3)
description:
  - Picks the preset's datasets, finds which are local (their C(README.md) names the subsets), chooses the mode
    (the model's own; hybrid models switch with C(chat_template_kwargs.enable_thinking)), Qwen3's recommended
    sampling for that mode, C(max_tokens) within the plan's max-model-len less a prompt budget, and
    C(eval_batch_size) within what the service admits.
  - Fails with one sentence, as the task's msg, when the request cannot work (an unknown preset, a dataset missing
    offline, thinking asked of an Instruct model, ...).
  - Runs on the controller only.
options:
  settings:
    description:
      - The role's C(accuracy_*) settings without the prefix, plus C(plan) (the qwen3 plan), C(endpoint),
        C(served_model_name), C(sample_dir) and C(local_readmes) (dataset name to its README.md text).
    type: dict
    required: true
attributes:
  check_mode:
    support: full
    description: Only decides.
  diff_mode:
    support: none
    description: Returns data.
"""

EXAMPLES = r"""
- name: Settle the run
  vacc.qwen3.accuracy_task:
    settings:
      plan: "{{ qwen3_plan }}"
      preset: sample
      endpoint: http://127.0.0.1:8000/v1
      served_model_name: qwen3-tiny
      sample_dir: /x/datasets
      local_readmes: {}
  register: settled
"""

RETURN = r"""
task:
  description: EvalScope TaskConfig arguments (without the API key).
  returned: success
  type: dict
meta:
  description: Mode, offline, sources of the datasets.
  returned: success
  type: dict
notes:
  description: What was adjusted to fit the plan, one sentence each.
  returned: success
  type: list
  elements: str
"""
