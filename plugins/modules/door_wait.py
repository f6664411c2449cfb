#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
# The work is done by the action plugin of the same name (plugins/action/door_wait.py); this file
# carries the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: door_wait
short_description: Wait until a service's door (HAProxy) sees its engines UP; fail at once when one exits
version_added: 0.2.0
author: vacc.qwen3 contributors (@vacc-qwen3)
description:
  - The health gate of the C(vacc.qwen3.vllm_service) role. Every O(delay) seconds it asks the door for C(show stat)
    on its admin socket (C(community.docker.docker_container_exec)) until every server of O(backend) (or every one of
    O(instances)) is UP.
  - Each server that is not UP yet is looked at as a container (C(community.docker.docker_container_info); servers
    are named after their containers). One that is exited or dead, or that its restart policy restarted since the wait
    began, will not come up - a crashed engine, a broken image, an impossible argument - and the wait fails at once,
    saying which container and its exit code, instead of at O(timeout) (30 minutes by default in the role, because
    big checkpoints load that long).
  - Fails at O(timeout) otherwise, listing each server not UP with the door's check status.
options:
  door:
    description: The door's container.
    type: str
    required: true
  backend:
    description: The HAProxy backend whose servers are the engines.
    type: str
    default: instances
  instances:
    description: The servers (containers) that must be UP; every server of O(backend) when omitted.
    type: list
    elements: str
  timeout:
    description: Seconds to wait.
    type: int
    required: true
  delay:
    description: Seconds between two looks.
    type: float
    default: 5.0
  admin_socket:
    description: The door's admin socket, inside its container.
    type: str
    default: /run/haproxy-admin.sock
attributes:
  check_mode:
    support: full
    description: Skipped in check mode (nothing was started).
  diff_mode:
    support: none
    description: Only waits.
"""

EXAMPLES = r"""
- name: Wait until the door sees every instance UP
  vacc.qwen3.door_wait:
    door: vllm_service_lb
    instances: [vllm_service_0, vllm_service_1]
    timeout: 1800
"""

RETURN = r"""
seconds:
  description: How long the wait lasted.
  returned: always
  type: float
waiting:
  description: The servers not UP when the wait failed, each with the door's status and check.
  returned: failure
  type: dict
exited:
  description: The container that exited or restarted, when that ended the wait.
  returned: when an engine exited
  type: str
"""
