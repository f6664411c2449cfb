#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
# The work is done by the action plugin of the same name (plugins/action/download_topology.py), on the
# controller; this file carries the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: download_topology
short_description: Decide which hosts fetch Qwen3 weights from the hub and which copy them from whom
version_added: 0.1.0
author: vacc.qwen3 contributors (@vacc-qwen3)
description:
  - One pass over the play's hosts (their C(qwen3_plan) and C(qwen3_service) facts) on the controller, for the
    C(vacc.qwen3.model_download) role. Run it with C(run_once) - its fact reaches every host of the batch.
  - C(each) - every host fetches from the hub. C(once) - per model one seed fetches (O(seed_host), or the first host
    deploying the model; C(localhost) is the controller) and the others copy from it. O(shared_path) - every host
    mounts the seed's directory, so only the seed writes. C(broadcast) - per model one seed fetches, then the model's
    hosts form a chain in play order (seed first) and each pulls every piece from its predecessor; a host's
    C(upstreams) are its predecessors, nearest first, with the address the others reach it at
    (C(model_download_broadcast_address), else C(ansible_host)) and its weights directory.
  - A layout that cannot work is refused with one sentence naming the fix.
options:
  hosts:
    description: The play's hosts, in order (C(ansible_play_hosts)).
    type: list
    elements: str
    required: true
  strategy:
    description: C(each), C(once) or C(broadcast).
    type: str
    default: each
  seed_host:
    description: The host (or C(localhost)) that fetches for C(once); empty picks the first host deploying each model.
    type: str
    default: ""
  shared_path:
    description: Every host mounts the same weights directory.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Only decides.
  diff_mode:
    support: none
    description: Returns a fact.
"""

EXAMPLES = r"""
- name: Decide once for the play
  vacc.qwen3.download_topology:
    hosts: "{{ ansible_play_hosts }}"
    strategy: once
  run_once: true
"""

RETURN = r"""
ansible_facts:
  description: The layout.
  returned: success
  type: dict
  contains:
    model_download_topology:
      description:
        - C(hosts) maps each host to C(seed), C(controller_seed), C(once), C(broadcast), C(fetch) (it fetches from the
          hub), C(source) (C(controller), a host, or null), C(source_path) (the directory on that host), and for
          C(broadcast) C(chain) (host names, seed first) and C(upstreams) (C(name), C(address), C(dir), nearest first).
        - C(seeds) maps each model to its seed; C(chains) each model to its chain (C(name), C(address), C(dir)).
      type: dict
"""
