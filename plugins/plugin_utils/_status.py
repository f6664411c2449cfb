# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""The fleet's status: one row per server from what each server and gateway reported (the facts
vllm_service_status and gateway_status) against the plan, as a table, Markdown and JSON.
Pure functions besides write_files()."""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import time

from ansible_collections.vacc.qwen3.plugins.plugin_utils._bench_render import write_atomic

COLUMNS = (
    ("host", "server"),
    ("state", "state"),
    ("served_model_name", "served as"),
    ("image", "image"),
    ("digest", "digest"),
    ("engine", "engine"),
    ("instances", "up/total"),
    ("die_slices", "dies"),
    ("weights", "weights"),
    ("door", "door"),
    ("gateway", "gateway"),
    ("in_flight", "in flight"),
    ("queued", "queued"),
    ("drift", "drift"),
)


# A running relay rewrites progress.json every second: one silent this long has stopped.
STALLED_S = 30


def _size(n):
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return ("%d %s" if unit == "B" else "%.1f %s") % (n, unit)
        n /= 1000.0
    return str(n)


def weights_cell(progress, now=None):
    """What a server's broadcast relay (model_download_strategy broadcast) last said of its copy of the
    weights, from its progress.json; "-" where none ran."""
    if not isinstance(progress, dict) or not progress.get("bytes_total"):
        return "-"
    now = time.time() if now is None else now
    done, total = int(progress.get("bytes_done") or 0), int(progress["bytes_total"])
    share = "%d%% of %s" % (100 * done // total, _size(total))
    state = progress.get("state")
    if state == "done":
        return "broadcast done, %s%s" % (
            _size(total),
            ", %d piece(s) re-fetched" % progress["refetched"] if progress.get("refetched") else "",
        )
    if state == "failed":
        return "broadcast failed at %s: %s" % (share, " ".join(str(progress.get("error") or "unknown").split())[:120])
    if now - float(progress.get("updated_at") or 0) > STALLED_S:
        return "broadcast stalled at %s (last word %s)" % (
            share,
            time.strftime("%H:%M:%S", time.gmtime(float(progress.get("updated_at") or 0))),
        )
    rate = float(progress.get("rate_bps") or 0)
    eta = progress.get("eta_s")
    eta = ", eta %ds" % eta if eta is not None else ""
    upstream = ", from %s" % progress["upstream"] if progress.get("upstream") else ""
    return "receiving %s, %s/s%s%s" % (share, _size(rate), eta, upstream)


def _progress(facts):
    """The progress.json status.yml slurped from the server, or None."""
    content = (facts.get("__status_weights") or {}).get("content")
    try:
        return json.loads(base64.b64decode(content)) if content else None
    except (ValueError, TypeError):
        return None


def engine_cell(image_ids, engines, planned=None):
    """What the running image(s) are, from the controller's probe records (`engines`: image id to record):
    "vLLM <version> flags <fingerprint>" each; the plan's own probe where nothing runs yet."""
    cells = []
    for image_id in image_ids:
        rec = (engines or {}).get(image_id)
        cells.append("vLLM %s flags %s" % (rec["version"], rec["fingerprint"]) if rec else "not probed")
    if not cells and planned and planned.get("fingerprint"):
        cells.append("vLLM %s flags %s (planned)" % (planned["version"], planned["fingerprint"]))
    return ", ".join(sorted(set(cells))) or "-"


def flag_sets(rows):
    """The distinct engine flag sets of a fleet's rows: more than one means its servers would not take the
    same command line (a rollout half done, or images that differ)."""
    return sorted({f for r in rows for f in re.findall(r"flags ([0-9a-f]{16})", str(r.get("engine") or ""))})


def server_row(host, facts, gateways, now=None, engines=None):
    """One server's row. `facts`: its hostvars; `gateways`: each gateway's gateway_status; `engines`: the
    probe records of the images its instances run, by image id."""
    plan, svc = facts.get("qwen3_plan") or {}, facts.get("qwen3_service") or {}
    ping = facts.get("__status_ping") or {}
    status = facts.get("vllm_service_status")
    row = {
        "host": host,
        "model": plan.get("model"),
        "served_model_name": plan.get("served_model_name"),
        "planned_engine": svc.get("engine"),
        "planned_image": svc.get("image"),
        "die_slices": " | ".join(plan.get("die_slices") or []),
        "weights": weights_cell(_progress(facts), now),
        "gateway": ", ".join(
            "%s %s" % (g, (s.get("servers") or {}).get(host, {}).get("status", "not known"))
            for g, s in sorted(gateways.items())
            if s.get("running")
        )
        or "-",
    }
    if ping.get("unreachable") or status is None:
        row.update(
            state="unreachable: %s" % " ".join(str(ping.get("msg") or "no status").split())[:160]
            if ping.get("unreachable")
            else "no status (planning or the host failed)",
            image="-",
            digest="-",
            engine="-",
            instances="-",
            door="-",
            in_flight="-",
            queued="-",
            drift="-",
        )
        return row
    instances = status.get("instances") or []
    up = [i for i in instances if i.get("door_status") == "UP"]
    images = sorted({i.get("image") or "-" for i in instances})
    digests = sorted({d.split("@", 1)[1][:19] for i in instances for d in i.get("digests") or []}) or sorted(
        {(i.get("image_id") or "-")[:19] for i in instances}
    )
    drift = ["%s: %s" % (i["name"], ", ".join(i["drift"])) for i in instances if i.get("drift")]
    row.update(
        state="serving" if len(up) == len(instances) and instances else "degraded" if up else "down",
        image=", ".join(images),
        digest=", ".join(digests),
        engine=engine_cell(sorted({i["image_id"] for i in instances if i.get("image_id")}), engines, svc.get("engine")),
        instances="%d/%d" % (len(up), len(instances)),
        door=status.get("door"),
        in_flight=sum(int(i.get("in_flight") or 0) for i in instances)
        + sum(int((s.get("servers") or {}).get(host, {}).get("in_flight") or 0) for s in gateways.values()),
        queued=int(status.get("queued") or 0)
        + sum(int((s.get("servers") or {}).get(host, {}).get("queued") or 0) for s in gateways.values()),
        drift="; ".join(drift) or "-",
    )
    return row


def table(rows):
    widths = [max(len(title), *(len(str(r.get(key, ""))) for r in rows)) for key, title in COLUMNS]
    lines = ["  ".join(title.ljust(w) for (key, title), w in zip(COLUMNS, widths))]
    lines += ["  ".join(str(r.get(key, "")).ljust(w) for (key, title), w in zip(COLUMNS, widths)) for r in rows]
    return lines


def markdown(rows, generated):
    out = [
        "# Fleet status",
        "",
        "Generated %s." % generated,
        "",
        "| " + " | ".join(title for key, title in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    out += ["| " + " | ".join(str(r.get(key, "")).replace("|", "\\|") for key, title in COLUMNS) + " |" for r in rows]
    return "\n".join(out) + "\n"


def write_files(rows, directory, now=None):
    """fleet.json and fleet.md in `directory`, each written whole or not at all."""
    generated = (now or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_atomic(
        os.path.join(directory, "fleet.json"), json.dumps({"generated": generated, "servers": rows}, indent=2) + "\n"
    )
    write_atomic(os.path.join(directory, "fleet.md"), markdown(rows, generated))
    return {"json": os.path.join(directory, "fleet.json"), "md": os.path.join(directory, "fleet.md")}
