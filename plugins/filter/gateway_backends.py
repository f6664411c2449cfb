# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""The fleet gateway's backends from the servers' plans. Docs: gateway_backends.yml beside this file."""

from __future__ import annotations

import hashlib
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


def gateway_key_sources(hostvars, servers):
    """Where each server's API key comes from: its generated key file, or 'a given key <sha256 prefix>' for a
    key given as qwen3_api_key. One entry per server; the fleet shares one key when they are all the same."""
    sources = []
    for host in servers:
        facts = hostvars[host]
        key_file = facts["qwen3_service"]["secrets"]["api_key_file"]
        if not key_file:
            key_file = "a given key " + hashlib.sha256(str(facts["qwen3_api_key"]).encode("utf-8")).hexdigest()[:12]
        sources.append(key_file)
    return sources


def gateway_servers_status(stat):
    """{server: {status, in_flight, queued, backend}} from the gateway's statistics (haproxy_server's `stat`)."""
    return {
        row["svname"]: {
            "status": row["status"],
            "in_flight": int(row.get("scur") or 0),
            "queued": int(row.get("qcur") or 0),
            "backend": row["pxname"],
        }
        for row in (stat or {}).values()
    }


class FilterModule(object):
    def filters(self):
        return {
            "gateway_backends": gateway_backends,
            "gateway_backend": backend_name,
            "gateway_key_sources": gateway_key_sources,
            "gateway_servers_status": gateway_servers_status,
        }
