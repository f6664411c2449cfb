#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
# The work is done by the action plugin of the same name (plugins/action/bench_reusable_run.py), on the
# controller; this file carries the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: bench_reusable_run
short_description: Find the last complete benchmark run that measured the same thing
version_added: 0.2.0
author: vacc.qwen3 contributors (@vacc-qwen3)
description:
  - Looks through the benchmark role's run directories under O(results_dir) for the newest run that measured
    exactly the hosts named in O(keys), each host's C(host.json) carrying that host's reuse key, and in which every
    planned case passed.
  - The benchmark role's key covers what decides the numbers (the instances' container IDs, the image, the cases,
    the endpoint, the runner's flags, the SLO), so a run found is one a rerun with nothing changed would repeat.
  - Runs on the controller only; changes nothing.
options:
  results_dir:
    description: The benchmark results directory (C(benchmark_results_dir)).
    type: path
    required: true
  keys:
    description: Each host's reuse key, host name to key.
    type: dict
    required: true
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Reads only.
notes:
  - Needs only the Python standard library on the controller.
"""

EXAMPLES = r"""
- name: Look for a run to keep
  vacc.qwen3.bench_reusable_run:
    results_dir: "{{ playbook_dir }}/../results/benchmark"
    keys:
      server1: 3f1c...
  register: previous
"""

RETURN = r"""
run_id:
  description: The run's directory name under O(results_dir), or null when no run qualifies.
  returned: success
  type: str
msg:
  description: Which run qualified, or that none did.
  returned: success
  type: str
"""
