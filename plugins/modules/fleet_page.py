#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
# The work is done by the action plugin of the same name (plugins/action/fleet_page.py), on the
# controller; this file carries the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: fleet_page
short_description: Write the static HTML fleet page from Prometheus's HTTP API
version_added: 0.1.0
author: vacc.qwen3 contributors (@vacc-qwen3)
description:
  - Asks Prometheus (C(/api/v1/targets), C(/api/v1/alerts), C(/api/v1/query_range), C(/api/v1/query)) and
    writes one self-contained HTML page - inline SVG line plots, tables, no external assets - for labs
    without Grafana.
  - Plots over the last O(window_minutes) - targets up per job, requests running, requests waiting (engines)
    and queued (doors), TTFT p99, KV cache usage, requests finished per second (ok and failed), die
    temperature where vasmi reports it; tables of the alerts firing or pending, of every target with its
    health and last error, and of vasmi per host (with the reason where it does not answer).
  - Also writes the API answers it used beside the page (C(<dest without .html>.json)).
  - Runs on the controller; with O(query_from=host) the task's host asks Prometheus (ansible.builtin.uri),
    for a Prometheus that listens on that host's loopback only.
options:
  prometheus_url:
    description: Prometheus's base URL, e.g. C(http://127.0.0.1:9090).
    type: str
    required: true
  dest:
    description: The HTML file to write (atomically), e.g. C(results/monitoring/fleet.html).
    type: path
    required: true
  window_minutes:
    description: How far back the plots go.
    type: int
    default: 60
  points:
    description: About how many points per line (the query step is the window divided by this).
    type: int
    default: 120
  rate_window:
    description: Range of the rates and quantiles (C(5m) for windows of 30 minutes and more, else C(1m)).
    type: str
  title:
    description: The page's title.
    type: str
    default: vacc.qwen3 fleet
  query_from:
    description: Ask Prometheus from the controller, or through the task's host.
    type: str
    choices: [controller, host]
    default: controller
  timeout:
    description: Seconds per API request.
    type: int
    default: 30
  keep_snapshot:
    description: Write the API answers beside the page.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: In check mode nothing is asked or written.
  diff_mode:
    support: none
    description: Writes a page; shows no diff.
notes:
  - Needs only the Python standard library on the controller.
"""

EXAMPLES = r"""
- name: Write the fleet page
  vacc.qwen3.fleet_page:
    prometheus_url: http://127.0.0.1:9090
    dest: "{{ playbook_dir }}/../results/monitoring/fleet.html"
  register: page
"""

RETURN = r"""
path:
  description: The page written.
  returned: success
  type: str
targets:
  description: Active targets.
  returned: success
  type: int
targets_up:
  description: Active targets whose last scrape succeeded.
  returned: success
  type: int
down:
  description: Instances of the targets that are not up.
  returned: success
  type: list
  elements: str
firing:
  description: Names of the alerts firing.
  returned: success
  type: list
  elements: str
pending:
  description: Names of the alerts pending (inside their for window).
  returned: success
  type: list
  elements: str
"""
