#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
# The work is done by the action plugin of the same name (plugins/action/engine_probe.py); this file
# carries the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: engine_probe
short_description: Ask an engine image which vLLM it carries and which flags its vllm serve takes, once per digest
version_added: 0.2.0
author: vacc.qwen3 contributors (@vacc-qwen3)
description:
  - Runs C(vllm --version), C(vllm serve --help) (C(--help=all) where the image knows it) and looks for the vendor's
    platform marker (the C(vllm_vacc) Python package, the C(vasmi) tool) in a throwaway container of O(image) on the
    host (C(community.docker.docker_container)) - no weights, no card, no network, removed when it exits.
  - The record (image, digest = the image id, version, every option its help lists with the choices it prints,
    a fingerprint of that flag set, platform marker, the image's labels) is cached on the controller in O(cache_dir),
    one file per digest, and returned as the fact C(qwen3_engine). The same digest is not probed again; a new
    image (another digest under the same tag too) is.
  - The planning step (C(vacc.qwen3.deployment_plan)) builds the engine's command line from C(qwen3_engine), and
    refuses a flag the plan needs or C(qwen3_service_extra_args) names that the image does not list.
options:
  image:
    description: The engine image, as the service runs it.
    type: str
    required: true
  cache_dir:
    description: The controller's directory of probe records (C(<digest>.json), and C(ref-<hash>.json), the last probe
      of a reference, read by plans made without contacting the host).
    type: path
    required: true
  name:
    description: The throwaway container's name.
    type: str
    default: vacc-qwen3-engine-probe
  refresh:
    description: Probe again even when the digest is cached.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: The probe runs in check mode too (it only reads the image, and its container is removed), so a dry
      run shows the command line the image would really get; its record is cached as in a real run.
  diff_mode:
    support: none
    description: Only reads.
"""

EXAMPLES = r"""
- name: Ask the engine image what it offers
  vacc.qwen3.engine_probe:
    image: harbor.vastaitech.com/ai_deliver/vllm_vacc:AI3.2_GR_1202
    cache_dir: "{{ playbook_dir }}/results/engine"
"""

RETURN = r"""
cached:
  description: Whether the record came from the controller's cache (this digest was probed before).
  returned: success
  type: bool
path:
  description: The record's file on the controller (a new probe only).
  returned: when probed now
  type: str
ansible_facts:
  description: C(qwen3_engine), the record.
  returned: success
  type: dict
  contains:
    qwen3_engine:
      description: image, digest, version, flags (flag to its choices, or null), fingerprint, platform (vllm_vacc,
        vasmi), labels, probed_at.
      type: dict
"""
