# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""The fleet gateway's backends from the servers' plans. Docs: gateway_backends.yml beside this file."""

from __future__ import annotations

import re


def backend_name(served_model_name):
    """An HAProxy proxy name for a served model name (they are checked safe names already)."""
    return "model_" + re.sub(r"[^A-Za-z0-9_.-]", "_", served_model_name)


def gateway_backends(hostvars, servers):
    """One backend per served model, each with the doors of the servers that serve it, in inventory
    order: [{name, backend, max_model_len, servers: [{host, address, port, capacity}]}]. max_model_len is
    the smallest of its servers' (what /v1/models tells clients, so a prompt that fits fits every server)."""
    models = {}
    for host in servers:
        facts = hostvars[host]
        plan, door = facts["qwen3_plan"], facts["qwen3_service"]["door"]
        name = plan["served_model_name"]
        entry = models.setdefault(
            name,
            {"name": name, "backend": backend_name(name), "servers": [], "max_model_len": int(plan["max_model_len"])},
        )
        entry["max_model_len"] = min(entry["max_model_len"], int(plan["max_model_len"]))
        entry["servers"].append(
            {"host": host, "address": door["address"], "port": door["port"], "capacity": plan["max_concurrency_total"]}
        )
    return list(models.values())


class FilterModule(object):
    def filters(self):
        return {"gateway_backends": gateway_backends, "gateway_backend": backend_name}
