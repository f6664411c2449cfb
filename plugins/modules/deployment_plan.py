#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
# The work is done by the action plugin of the same name (plugins/action/deployment_plan.py), on the
# controller; this file carries the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: deployment_plan
short_description: Plan a host's (or a fleet's) Qwen3 service once, and return the plan and the service's shape
version_added: 0.1.0
author: vacc.qwen3 contributors (@vacc-qwen3)
description:
  - The one planning step of the collection. Reads the shared C(qwen3_*) and C(vacc_*) variables of a host
    (one default each; strings from C(-e) and blank AWX answers are converted or refused with one sentence),
    applies a lab's C(qwen3_lab_standin) to its own model (a variable given with C(-e) always wins), checks
    model, card, TP, max-model-len and instances against the guide's tables, and returns the plan and the
    service's shape as facts.
  - Per host (no O(hosts)), as the C(vacc.qwen3._common) role runs it once per host per play, it first reads
    the host itself (O(inspect)) - its dies with C(vacc.qwen3.vacc_facts) and its weights with
    C(vacc.qwen3.model_verify) - so the checkpoint's quantization config (C(config.json) or
    C(quantize_config.json)) feeds the plan and a GPTQ checkpoint with C(desc_act=true) is refused whichever
    roles run. Sets C(qwen3_plan), C(qwen3_service), C(qwen3_weights) and C(ansible_facts.vacc).
  - For a fleet (O(hosts), with C(run_once)), it plans every listed host from hostvars without contacting
    any, returns one summary row per host in C(table) and writes C(<plan_dir>/<host>.json) for each; a
    refusal lists each refused host with its sentence and writes nothing.
  - Per host, the service API key is generated once on the controller (40 letters and digits, mode 0600, in
    C(qwen3_secrets_dir), by default C(.secrets) next to the inventory) unless C(qwen3_api_key) is given;
    in check mode nothing is generated or written. The fleet pass (O(hosts)) generates no key - it only names
    the file the first play that plans a host for real makes. Inside AWX a job without C(qwen3_api_key) is refused.
    The key is never part of the plan, the shape or the files written.
options:
  hosts:
    description: Plan these inventory hosts from hostvars (the fleet pass of C(vacc.qwen3.plan)); without it, plan this host.
    type: list
    elements: str
  inspect:
    description: Per host, read the host's dies and weights before planning.
    type: bool
    default: true
  plan_dir:
    description: Controller directory for C(<host>.json) (the plan, the service shape and its docker run lines; mode 0600).
    type: path
  require_tokenizer:
    description: Passed to C(vacc.qwen3.model_verify) when the host's weights are read.
    type: bool
    default: true
  allow_custom_code:
    description: Passed to C(vacc.qwen3.model_verify) (a checkpoint with C(auto_map) or C(*.py) counts as verified).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Plans the same; generates no key and writes no file.
  diff_mode:
    support: none
    description: Returns facts.
notes:
  - Runs on the controller; per host it runs two read-only modules on the host.
seealso:
  - module: vacc.qwen3.model_verify
  - module: vacc.qwen3.vacc_facts
"""

EXAMPLES = r"""
- name: Plan this host once (what the _common role does)
  vacc.qwen3.deployment_plan:

- name: Plan the whole play's hosts in one pass, contacting none
  vacc.qwen3.deployment_plan:
    hosts: "{{ ansible_play_hosts }}"
    plan_dir: "{{ playbook_dir }}/../results/plan"
  run_once: true
  register: fleet

- name: One row per host
  ansible.builtin.debug:
    msg: "{{ fleet.table }}"
  run_once: true
"""

RETURN = r"""
ansible_facts:
  description: Per host only.
  returned: success, per host
  type: dict
  contains:
    qwen3_plan:
      description: The plan (model, card, TP, die slices, max-input-len, max-model-len and its ceiling, memory per die, rope scaling, notes).
      type: dict
    qwen3_service:
      description: The service's shape (instances' container specs, the door, endpoints, weights path, secrets paths, labels).
      type: dict
    qwen3_weights:
      description: What C(vacc.qwen3.model_verify) found at the weights path (verified, problems, fingerprint, quantization config).
      type: dict
    vacc:
      description: What C(vacc.qwen3.vacc_facts) found (dies and where they came from).
      type: dict
table:
  description: One summary row per host (fleet pass).
  returned: fleet pass
  type: list
  elements: str
refused:
  description: Host to refusal sentence (fleet pass).
  returned: when a host is refused
  type: dict
plans:
  description: Host to plan record, for up to 8 hosts (fleet pass).
  returned: fleet pass
  type: dict
"""
