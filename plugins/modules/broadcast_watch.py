#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
# The work is done by the action plugin of the same name (plugins/action/broadcast_watch.py); this file
# carries the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: broadcast_watch
short_description: Watch a weights broadcast chain until every relay has ended, printing each server's progress
version_added: 0.2.0
author: vacc.qwen3 contributors (@vacc-qwen3)
description:
  - For the C(vacc.qwen3.model_download) role's C(model_download_strategy=broadcast). Delegate it to the chain's seed
    and run it once; every second it runs C(relay status) there, which probes each server of the chain over ssh (one
    multiplexed connection per server; the seed itself locally), and every O(poll) seconds, or when a server's state
    changes, it prints one line per server - state, percent, bytes verified of the total, bytes received and kept,
    rate, time left, the upstream it pulls from and any host it skipped.
  - A server is over when its relay of this O(run) ended (done, failed, or stopped without an end record), when it
    is not in O(relays) (its copy was already complete), when its relay did not start within O(start_grace) seconds,
    or when it has not answered for O(stall_timeout) seconds.
  - Returns each server's last progress record; fails only when the watch itself cannot go on (no answer from
    C(relay status), or O(timeout)). Whether each copy is complete is for the relay's own result to say.
options:
  run:
    description: The run id the relays were prepared and started with.
    type: str
    required: true
  peers:
    description: The chain, seed first - C(name), C(address) (how the seed reaches it over ssh) and C(dir) (its copy).
    type: list
    elements: dict
    required: true
  relays:
    description: The servers whose relay the role started in this run; the others already had the copy.
    type: list
    elements: str
    required: true
  relay:
    description: Path of the relay (C(vacc_weights_relay.py)) on every host.
    type: str
    required: true
  python:
    description: The Python that runs the relay on every host.
    type: str
    default: python3
  ssh:
    description: The ssh command (argv) before the address; empty runs every probe on this host.
    type: list
    elements: str
    default: []
  poll:
    description: Seconds between two printed blocks (the servers are probed every second, or every O(poll) if shorter).
    type: float
    default: 5.0
  timeout:
    description: Seconds the watch may last.
    type: int
    default: 172800
  start_grace:
    description: Seconds a prepared relay has to start.
    type: float
    default: 120.0
  stall_timeout:
    description: Seconds a server may not answer its probe before it counts as unreachable.
    type: float
    default: 30.0
  title:
    description: What the printed blocks are headed with (the model).
    type: str
    default: broadcast
attributes:
  check_mode:
    support: full
    description: Skipped in check mode (no relay runs).
  diff_mode:
    support: none
    description: Only watches.
"""

EXAMPLES = r"""
- name: Watch the broadcast
  vacc.qwen3.broadcast_watch:
    run: "{{ run_id }}"
    peers: "{{ model_download_topology.chains['Qwen3-8B'] }}"
    relays: [fleet-1, fleet-2, fleet-3]
    relay: /usr/local/bin/vacc-weights-relay
    ssh: [ssh, -o, BatchMode=yes]
  delegate_to: "{{ model_download_topology.seeds['Qwen3-8B'] }}"
  run_once: true
"""

RETURN = r"""
servers:
  description: Each server's last progress record (the relay's C(progress.json) plus C(watch_state), C(seconds)).
  returned: success
  type: dict
table:
  description: The last block of lines printed.
  returned: success
  type: list
  elements: str
not_done:
  description: Servers whose copy did not end complete in this watch.
  returned: success
  type: list
  elements: str
seconds:
  description: How long the watch lasted.
  returned: success
  type: float
"""
