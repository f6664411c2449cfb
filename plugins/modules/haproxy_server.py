#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
# The work is done by the action plugin of the same name (plugins/action/haproxy_server.py); this file
# carries the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: haproxy_server
short_description: HAProxy's runtime API in a door or the gateway - servers' state and weight, waits until UP or idle
version_added: 0.2.0
author: vacc.qwen3 contributors (@vacc-qwen3)
description:
  - The one way the collection talks to a running HAProxy (a server's door, the fleet gateway) - through its admin
    socket inside its container (C(community.docker.docker_container_exec) with a Perl one-liner, which every Debian
    image has - the published C(haproxy) image has no C(socat)). Runs for the task's host, delegation included.
  - Sets O(state) and/or O(weight) of each of O(servers) in O(backend), then reads C(show stat); with O(wait) it keeps
    reading every O(delay) seconds until every named server is UP (O(wait=up); every server of O(backend) when
    O(servers) is omitted; O(accept) lists the states that count) or has no request in flight (O(wait=idle)).
  - With O(watch_containers) (servers named after their containers, as a door's engines are), a server that is not UP
    is looked at as a container (C(community.docker.docker_container_info)); one that exited, is dead, or that its
    restart policy restarted since the wait began will not come up - a crashed engine, a broken image, an impossible
    argument - and the wait fails at once, saying which container and its exit code, instead of at O(timeout).
  - At O(timeout) it fails, listing each server not there yet, unless O(on_timeout=continue) (a drain whose stragglers
    the stop timeout still lets finish).
  - Never reports a change (runtime state is not configuration, and a reload puts the configured state back).
options:
  container:
    description: The HAProxy's container.
    type: str
    required: true
  backend:
    description: The backend the servers are in.
    type: str
    default: instances
  servers:
    description: The servers to set or wait for; required to set a state or weight or to wait until idle.
    type: list
    elements: str
  state:
    description: The administrative state to give each server.
    type: str
    choices: [ready, drain, maint]
  weight:
    description: The weight to give each server.
    type: int
  wait:
    description: Wait until every server is UP (or in a state of O(accept)), or until none has a request in flight.
    type: str
    choices: [up, idle]
  accept:
    description: The states that count as UP for O(wait=up) (a gateway counts a drained server as present).
    type: list
    elements: str
    default: [UP]
  watch_containers:
    description: Look at the container of each server not UP yet, and fail at once when it exited or restarted.
    type: bool
    default: false
  timeout:
    description: Seconds to wait.
    type: int
    default: 600
  delay:
    description: Seconds between two looks.
    type: float
    default: 2.0
  on_timeout:
    description: What the timeout does to the task.
    type: str
    choices: [fail, continue]
    default: fail
  missing:
    description: What a server or backend that HAProxy does not know does to O(state) and O(weight).
    type: str
    choices: [fail, ignore]
    default: fail
  admin_socket:
    description: The admin socket, inside the container.
    type: str
    default: /run/haproxy-admin.sock
attributes:
  check_mode:
    support: full
    description: Skipped in check mode (runtime state is left as it is).
  diff_mode:
    support: none
    description: Runtime state only.
"""

EXAMPLES = r"""
- name: Drain an instance at its door and wait until its requests have finished
  vacc.qwen3.haproxy_server:
    container: vllm_service_lb
    servers: [vllm_service_0]
    state: drain
    wait: idle
    timeout: 600
    on_timeout: continue

- name: Wait until the door sees every instance UP; fail at once when an engine exits
  vacc.qwen3.haproxy_server:
    container: vllm_service_lb
    servers: [vllm_service_0, vllm_service_1]
    wait: up
    watch_containers: true
    timeout: 1800

- name: Read the gateway's statistics
  vacc.qwen3.haproxy_server:
    container: vacc_qwen3_gateway
  register: gateway
"""

RETURN = r"""
stat:
  description: The last C(show stat) - every server row of every backend, keyed C(<backend>/<server>), each with the
    header's fields (C(status), C(scur), C(qcur), C(check_status), ...).
  returned: success and failure after the socket answered
  type: dict
totals:
  description: The C(FRONTEND) and C(BACKEND) rows of the last C(show stat), keyed C(<proxy>/FRONTEND) or C(<proxy>/BACKEND).
  returned: success and failure after the socket answered
  type: dict
seconds:
  description: How long the wait lasted.
  returned: always
  type: float
waiting:
  description: The servers not there yet when the wait ended without reaching its goal (status and check, or requests in flight).
  returned: failure or timeout
  type: dict
timed_out:
  description: The wait reached O(timeout).
  returned: on timeout
  type: bool
exited:
  description: The container that exited or restarted, when that ended the wait.
  returned: when an engine exited
  type: str
"""
