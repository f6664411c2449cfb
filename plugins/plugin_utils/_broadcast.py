# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""What the broadcast watcher (action vacc.qwen3.broadcast_watch) makes of the chain's probes: each
server's state, whether the watch is over, and the lines it prints. Pure functions."""

from __future__ import annotations

# A server's state as the watcher sees it; the last four end the watch for that server.
RUNNING, PENDING = "running", "pending"
DONE, FAILED, STOPPED, HAD_IT, NEVER_STARTED, UNREACHABLE = (
    "done",
    "failed",
    "stopped",
    "had it",
    "never started",
    "unreachable",
)
FINAL = (DONE, FAILED, STOPPED, HAD_IT, NEVER_STARTED, UNREACHABLE)


def classify(probe, run, takes_part, waited_s, grace_s, unreachable_s, stall_s):
    """One server's state from its probe ({"alive", "progress", "prepared"} or {"unreachable"}):
    `takes_part` whether the role started its relay in this run, `waited_s` since the watch began,
    `unreachable_s` since its probes began failing."""
    if "unreachable" in probe:
        return UNREACHABLE if unreachable_s >= stall_s else PENDING
    progress = probe.get("progress") or {}
    ours = progress.get("run") == run
    if probe.get("alive"):
        return RUNNING if ours or takes_part else PENDING
    if ours:
        state = progress.get("state")
        if state in ("done", "failed"):
            return DONE if state == "done" else FAILED
        return STOPPED  # its relay left without an end: killed, or its host restarted
    if not takes_part:
        return HAD_IT  # no relay in this run: its copy was already complete
    return NEVER_STARTED if waited_s >= grace_s else PENDING


def over(states):
    return all(s in FINAL for s in states.values())


def _mb(n):
    return "%.1f" % ((n or 0) / 1e6)


def line(name, state, probe):
    """`  fleet-3  running  62%  59.0/95.1 MB  11.8 MB/s  eta 3s  <- fleet-2  (skipped fleet-2: ...)`"""
    progress = (probe or {}).get("progress") or {}
    total = progress.get("bytes_total") or 0
    done = progress.get("bytes_done") or 0
    parts = ["  %-10s %-13s" % (name, state)]
    if state == UNREACHABLE or "unreachable" in (probe or {}):
        parts.append((probe or {}).get("unreachable", ""))
        return " ".join(parts).rstrip()
    if total and state not in (HAD_IT,):
        parts.append("%3d%%  %s/%s MB" % (100 * done // total, _mb(done), _mb(total)))
        if progress.get("role") == "receiver":
            parts.append("received %s MB" % _mb(progress.get("bytes_received")))
            if progress.get("bytes_reused"):
                parts.append("kept %s MB" % _mb(progress.get("bytes_reused")))
        if state == RUNNING:
            parts.append("%s MB/s" % _mb(progress.get("rate_bps")))
            if progress.get("eta_s") is not None:
                parts.append("eta %ds" % progress["eta_s"])
        if progress.get("upstream") and state == RUNNING:
            parts.append("<- %s" % progress["upstream"])
        if progress.get("refetched"):
            parts.append("refetched %d" % progress["refetched"])
        if progress.get("skipped"):
            parts.append("(skipped %s)" % "; ".join(progress["skipped"]))
        if progress.get("error"):
            parts.append("- %s" % progress["error"])
    return "  ".join(parts)


def summary(name, state, probe, elapsed_s):
    """The per-server record the watch returns (and the role keeps as model_download_progress)."""
    progress = dict((probe or {}).get("progress") or {})
    progress["watch_state"] = state
    progress["name"] = name
    if "unreachable" in (probe or {}):
        progress["unreachable"] = probe["unreachable"]
    if progress.get("started_at") and progress.get("finished_at"):
        progress["seconds"] = round(progress["finished_at"] - progress["started_at"], 2)
    progress["watched_s"] = round(elapsed_s, 2)
    return progress
