# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""What the broadcast's relays and watcher answered (roles/model_download/tasks/broadcast.yml): the parsing
and cross-host selections that were Jinja chains there. Docs: the .yml files beside this one."""

from __future__ import annotations

import json


def relay_answer(result):
    """The JSON object a relay command printed on its stdout ({} when it printed none: it failed first)."""
    stdout = (result or {}).get("stdout") or ""
    if not stdout.startswith("{"):
        return {}
    return json.loads(stdout)


def flagged_hosts(hosts, hostvars, name):
    """The hosts, in their order, whose host variable `name` is true (a host without it is not flagged)."""
    return [host for host in hosts or [] if (hostvars.get(host) or {}).get(name)]


def broadcast_servers(results):
    """{server: progress} over every chain, from the watcher's looped `results` (a skipped chain has none)."""
    servers = {}
    for result in results or []:
        servers.update(result.get("servers") or {})
    return servers


class FilterModule(object):
    def filters(self):
        return {
            "relay_answer": relay_answer,
            "flagged_hosts": flagged_hosts,
            "broadcast_servers": broadcast_servers,
        }
