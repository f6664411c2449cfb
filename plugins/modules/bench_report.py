#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
# The work is done by the action plugin of the same name (plugins/action/bench_report.py), on the
# controller; this file carries the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: bench_report
short_description: Render the fleet benchmark report of a run on the controller
version_added: 0.1.0
author: vacc.qwen3 contributors (@vacc-qwen3)
description:
  - Reads a benchmark run directory written by the benchmark role (C(<host>/host.json), and one C(<case>.json)
    per host and case, either vLLM's result JSON or a failure record) and writes C(report/benchmark.md),
    a self-contained C(report/benchmark.html) (tables, inline SVG plots), C(report/benchmark.csv) and
    C(report/plots/*.svg).
  - Tables per host and case with TTFT, TPOT, ITL and E2EL (mean, median, p99) and request, output and
    total token throughput, plus output throughput per instance where the image has no C(--server-num).
  - Notes where C(vllm bench serve)'s pitfalls bite (ITL against TPOT, bursty streams, multi-token chunks,
    output or input token counts off, TTFT 0, chat backends and reasoning models).
  - Evaluates each host's SLO (C(host.json) key C(slo), extended by a case's C(slo)) and returns the misses
    and the failed cases with tables; it does not fail on them (the role does).
  - Runs on the controller only.
options:
  run_dir:
    description: The run directory (C(<benchmark_results_dir>/<run id>)).
    type: path
    required: true
  latest_dir:
    description: Also copy benchmark.md, .html and .csv here (atomically).
    type: path
  latest_link:
    description: Point C(<run_dir>/../latest) at the run.
    type: bool
    default: true
  itl_tpot_tolerance_pct:
    description: Note a case whose mean ITL and mean TPOT differ by more than this percentage.
    type: float
    default: 25.0
  burst_ratio:
    description: Note a case whose median ITL is under this fraction of its median TPOT (bursty stream).
    type: float
    default: 0.1
attributes:
  check_mode:
    support: full
    description: In check mode nothing is written.
  diff_mode:
    support: none
    description: Writes report files; shows no diff.
notes:
  - Needs only the Python standard library on the controller.
"""

EXAMPLES = r"""
- name: Write the fleet report
  vacc.qwen3.bench_report:
    run_dir: "{{ playbook_dir }}/../results/benchmark/20261126T120000Z"
    latest_dir: "{{ playbook_dir }}/../results/report"
  register: report

- name: Fail on missed objectives
  ansible.builtin.fail:
    msg: "{{ report.slo_table }}"
  when: report.slo_misses | length > 0
"""

RETURN = r"""
files:
  description: Paths of benchmark.md, benchmark.html and benchmark.csv (keys md, html, csv).
  returned: success
  type: dict
latest:
  description: Paths of the copies in latest_dir.
  returned: success
  type: dict
failed_cases:
  description: Cases that failed or did not run (host, case, status, error).
  returned: success
  type: list
  elements: dict
slo_misses:
  description: Objectives a case missed (host, case, objective, limit, measured, bound).
  returned: success
  type: list
  elements: dict
failed_table:
  description: The failed cases as a Markdown table (empty when none).
  returned: success
  type: str
slo_table:
  description: The missed objectives as a Markdown table (empty when none).
  returned: success
  type: str
notes:
  description: Pitfall notes (host, case, code, text).
  returned: success
  type: list
  elements: dict
rows:
  description: One summary row per host and case (the CSV's figures).
  returned: success
  type: list
  elements: dict
summary:
  description: One line with the counts of hosts, cases, ok and failed cases, and the SLO verdict.
  returned: success
  type: str
"""
