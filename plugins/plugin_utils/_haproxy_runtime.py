# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""HAProxy's runtime API as vacc.qwen3.haproxy_server uses it (a door's or the gateway's admin socket, inside its
container): the command line that talks to the socket, and what one `show stat` look decides - which servers
are UP, which still have requests in flight, and whether one that is not UP has failed for good (its container
exited or keeps restarting), so a broken engine fails the gate in seconds instead of after the whole wait
(vllm_service_wait_timeout is 30 minutes for big checkpoints)."""

from __future__ import annotations

from ansible_collections.vacc.qwen3.plugins.filter.haproxy_stat import haproxy_stat

SOCKET = "/run/haproxy-admin.sock"
# Perl (perl-base is in every Debian image: the published haproxy image and the lab's build) instead of socat,
# which the published image lacks. The socket and the command are the script's arguments, never part of it.
_PERL = (
    '$p = shift; $s = IO::Socket::UNIX->new(Peer => $p) or die "haproxy runtime API at $p: $!\\n"; '
    'print $s "@ARGV\\n"; print while <$s>'
)
STATES = ("ready", "drain", "maint")


def cli(command, socket=SOCKET):
    """The argv (for docker exec) that sends one runtime API command and prints the answer."""
    return ["perl", "-MIO::Socket::UNIX", "-e", _PERL, socket, command]


def refused(answer):
    """The runtime API's complaint about a `set server` (it answers nothing when it did it), or None."""
    text = (answer or "").strip()
    return text or None


def rows(stat_text, backend):
    """{server: row} of `backend` in one `show stat`."""
    return {k.split("/", 1)[1]: v for k, v in haproxy_stat(stat_text, backend).items()}


def busy(stat_text, backend, names):
    """{server: requests in flight} of the named servers that still have some; a server the backend lacks has none."""
    found = rows(stat_text, backend)
    out = {}
    for name in names:
        current = int((found.get(name) or {}).get("scur") or 0)
        if current:
            out[name] = current
    return out


def not_up(stat_text, backend, names=None, accept=("UP",)):
    """{server: 'STATUS check'} of `backend`'s servers (or of `names`) that the door does not see UP; a name the
    backend lacks counts as 'not at the door'. None when the stat has no row of the backend at all."""
    found = rows(stat_text, backend)
    if not found:
        return None
    out = {}
    for name in names if names is not None else sorted(found):
        row = found.get(name)
        if row is None:
            out[name] = "not at the door"
        elif row.get("status") not in accept:
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
