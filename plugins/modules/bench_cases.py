#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
# The work is done by the action plugin of the same name (plugins/action/bench_cases.py), on the
# controller; this file carries the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: bench_cases
short_description: Settle the benchmark's cases and SLO objectives against the service's limits
version_added: 0.1.0
author: vacc.qwen3 contributors (@vacc-qwen3)
description:
  - The cases of C(vllm bench serve) for a host - the given O(cases), or the guide's example (O(input_len) in,
    O(output_len) out, concurrency 1, 3 prompts) plus a concurrency sweep 1, 2, 4, ... up to O(max_concurrency) -
    each with integer fields and a file-safe name (C(in<I>-out<O>-c<C>-n<N>) by default).
  - A case whose input is over O(max_input_len) (the guide's prefill limit) or whose input plus output is over
    O(max_model_len) is refused with one sentence, as is an SLO key it does not know; the task's msg is that
    sentence.
  - Runs on the controller only.
options:
  cases:
    description: Cases, each with C(input_len), C(output_len), C(max_concurrency), C(num_prompts), optionally C(name) and C(slo).
    type: list
    elements: raw
  input_len:
    description: Input length of the default cases.
    type: int
    default: 128
  output_len:
    description: Output length of the default cases.
    type: int
    default: 1024
  max_concurrency:
    description: Top of the default concurrency sweep.
    type: int
    default: 4
  prompts_per_concurrency:
    description: Prompts per concurrency level of the default sweep (times the concurrency).
    type: int
    default: 3
  max_model_len:
    description: The service's max-model-len (the plan's).
    type: int
  max_input_len:
    description: The service's max-input-len (the plan's; none where the guide gives none).
    type: int
  slo:
    description: Objectives (C(<mean|median|pNN>_<ttft|tpot|itl|e2el>_ms) maxima, C(min_<...>_throughput[_per_instance]) minima).
    type: raw
attributes:
  check_mode:
    support: full
    description: Only decides.
  diff_mode:
    support: none
    description: Returns data.
"""

EXAMPLES = r"""
- name: The cases of this host
  vacc.qwen3.bench_cases:
    input_len: 128
    output_len: 1024
    max_concurrency: "{{ qwen3_plan.max_concurrency_total }}"
    max_model_len: "{{ qwen3_plan.max_model_len }}"
    max_input_len: "{{ qwen3_plan.max_input_len }}"
    slo: {p99_ttft_ms: 3000}
  register: settled
"""

RETURN = r"""
cases:
  description: The cases, normalized.
  returned: success
  type: list
  elements: dict
slo:
  description: The SLO as given.
  returned: success
  type: dict
objectives:
  description: The SLO parsed into objectives.
  returned: success
  type: list
  elements: dict
"""
