# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""What vacc.qwen3.door_wait decides from one look: which servers the door sees UP, and whether one that is
not UP has failed for good (its container exited or keeps restarting), so a broken engine fails the gate in
seconds instead of after the whole wait (vllm_service_wait_timeout is 30 minutes for big checkpoints)."""

from __future__ import annotations

from ansible_collections.vacc.qwen3.plugins.filter.haproxy_stat import haproxy_stat


def not_up(stat_text, backend, names=None):
    """{server: 'STATUS check'} of `backend`'s servers (or of `names`) that the door does not see UP; a name the
    backend lacks counts as 'not at the door'. None when the stat has no row of the backend at all."""
    rows = {k.split("/", 1)[1]: v for k, v in haproxy_stat(stat_text, backend).items()}
    if not rows:
        return None
    out = {}
    for name in names if names is not None else sorted(rows):
        row = rows.get(name)
        if row is None:
            out[name] = "not at the door"
        elif row.get("status") != "UP":
            out[name] = " ".join(x for x in (row.get("status", ""), row.get("check_status", "")) if x)
    return out


def restart_count(info):
    """How often the container's restart policy restarted it, from docker_container_info's result."""
    return int((info.get("container") or {}).get("RestartCount") or 0)


def failed(name, info, restarts_at_start):
    """Why the container `name` will not come UP, from docker_container_info's result, or None while it may.
    An engine that crashes is restarted by its restart policy: it has failed when it restarted since the wait
    began, or when it is exited/dead (no policy)."""
    if not info.get("exists"):
        return "%s does not exist" % name
    state = (info.get("container") or {}).get("State") or {}
    count = restart_count(info)
    code = state.get("ExitCode")
    oom = ", killed for memory (OOM)" if state.get("OOMKilled") else ""
    if state.get("Status") in ("exited", "dead"):
        return "%s %s with exit code %s%s" % (name, state.get("Status"), code, oom)
    if state.get("Status") == "restarting" or count > restarts_at_start:
        # A running container's ExitCode is 0 whatever its last exit was: only a restarting one's is worth saying.
        why = " with exit code %s" % code if state.get("Status") == "restarting" and code else ""
        return "%s exited%s%s and was restarted %d time(s) while the gate waited" % (
            name,
            why,
            oom,
            max(1, count - restarts_at_start),
        )
    return None
