#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
# The work is done by the action plugin of the same name (plugins/action/fleet_status.py), on the
# controller; this file carries the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: fleet_status
short_description: Write the fleet's status, one row per server, on the controller
version_added: 0.1.0
author: vacc.qwen3 contributors (@vacc-qwen3)
description:
  - From what each server reported (C(vllm_service_status), from C(vacc.qwen3.vllm_service) C(tasks_from=status)), its
    plan (C(qwen3_plan), C(qwen3_service)) and what each gateway sees (C(gateway_status)), one row per server - state
    (serving, degraded, down, or unreachable with the reason), served model, image and digest, instances up/total, die
    slices, the weights' broadcast where one ran (C(__status_weights), the relay's progress.json - how far, how fast, from
    which upstream; done, failed or stalled), door and gateway state, requests in flight and queued, and drift (instances whose image, command, env,
    volumes or network differ from the plan).
  - The engine column says which vLLM and flag set (the fingerprint of its C(vllm serve --help)) each server's running
    image has, from the controller's probe records in O(probe_dir) (C(vacc.qwen3.engine_probe)); a fleet whose servers
    run images with different flag sets says so in its message and in RV(flag_sets).
  - Writes O(dest)/fleet.json and O(dest)/fleet.md, each atomically; nothing in check mode.
options:
  servers:
    description: The servers' inventory names.
    type: list
    elements: str
    required: true
  gateways:
    description: The gateways' inventory names.
    type: list
    elements: str
    default: []
  dest:
    description: Controller directory of fleet.json and fleet.md.
    type: path
    required: true
  probe_dir:
    description: Controller directory of the engine probes (C(qwen3_engine_probe_dir)); without it the engine column
      says C(not probed).
    type: path
attributes:
  check_mode:
    support: full
    description: Writes nothing in check mode.
  diff_mode:
    support: none
    description: Writes files.
"""

EXAMPLES = r"""
- name: Write the fleet's status
  vacc.qwen3.fleet_status:
    servers: "{{ groups['vacc_servers'] }}"
    gateways: "{{ groups['qwen3_gateway'] | default([]) }}"
    dest: "{{ playbook_dir }}/../results/status"
"""

RETURN = r"""
rows:
  description: One dict per server (the table's columns, plus model and planned_image).
  returned: success
  type: list
  elements: dict
table:
  description: The table as text lines.
  returned: success
  type: list
  elements: str
not_serving:
  description: Servers not fully serving (unreachable, down or degraded).
  returned: success
  type: list
  elements: str
drifted:
  description: Servers whose instances differ from the plan.
  returned: success
  type: list
  elements: str
flag_sets:
  description: The distinct engine flag-set fingerprints the servers run; more than one is a mixed fleet.
  returned: success
  type: list
  elements: str
"""
