# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""The static fleet page: Prometheus's HTTP API asked on the controller, one self-contained HTML file
written (inline SVG line plots, tables; no script, no stylesheet or font from elsewhere), like the
benchmark report. Grafana is not installable offline; this page is what a lab has instead.

Two steps, so the renderer is tested on recorded API answers:
  collect(get, ...) -> snapshot   every API answer the page needs, as Prometheus sent it
  render(snapshot)  -> HTML       from the snapshot alone
`get(path, params)` returns the decoded JSON body of GET <prometheus><path>?<params>.
"""

from __future__ import annotations

import datetime
import html
import json
import math
import time

from ansible_collections.vacc.qwen3.plugins.plugin_utils._bench_render import (  # same look as the benchmark report
    PALETTE,
    _tick_text,
    _ticks,
    write_atomic,
)

ENGINE = 'job="vacc_qwen3_engine"'
# Each panel: one or more (legend template, PromQL). {w} is the rate window. Raw vLLM / HAProxy names
# (not the recording rules), so the page also works on a Prometheus that has not loaded them yet.
PANELS = (
    {
        "id": "targets-up",
        "title": "Targets up",
        "unit": "targets",
        "queries": (("{job}", 'sum by (job) (up{job=~"vacc_qwen3_.*"})'),),
    },
    {
        "id": "running",
        "title": "Requests running",
        "unit": "requests",
        "queries": (
            ("{host}/{instance_name}", "sum by (host, instance_name) (vllm:num_requests_running{%s})" % ENGINE),
        ),
    },
    {
        "id": "waiting",
        "title": "Requests waiting (engine) and queued (door)",
        "unit": "requests",
        "queries": (
            ("{host}/{instance_name}", "sum by (host, instance_name) (vllm:num_requests_waiting{%s})" % ENGINE),
            ("{host} door queue", 'sum by (host) (haproxy_backend_current_queue{job="vacc_qwen3_door"})'),
        ),
    },
    {
        "id": "ttft-p99",
        "title": "TTFT p99",
        "unit": "ms",
        "queries": (
            (
                "{host}/{instance_name}",
                "1000 * histogram_quantile(0.99, sum by (le, host, instance_name) "
                "(rate(vllm:time_to_first_token_seconds_bucket{%s}[{w}])))" % ENGINE,
            ),
        ),
    },
    {
        "id": "kv-cache",
        "title": "KV cache usage",
        "unit": "%",
        "y_max": 100,
        "queries": (
            (
                "{host}/{instance_name}",
                "100 * (max by (host, instance_name) (vllm:kv_cache_usage_perc{%s}) "
                "or max by (host, instance_name) (vllm:gpu_cache_usage_perc{%s}))" % (ENGINE, ENGINE),
            ),
        ),
    },
    {
        "id": "success-rate",
        "title": "Requests finished per second",
        "unit": "req/s",
        "queries": (
            (
                "{host}/{instance_name} ok",
                "sum by (host, instance_name) (rate(vllm:request_success_total"
                '{%s, finished_reason=~"stop|length|repetition"}[{w}]))' % ENGINE,
            ),
            (
                "{host}/{instance_name} failed",
                "sum by (host, instance_name) (rate(vllm:request_success_total"
                '{%s, finished_reason=~"abort|error"}[{w}]))' % ENGINE,
            ),
        ),
    },
    {
        "id": "die-temperature",
        "title": "Die temperature (vasmi)",
        "unit": "\u00b0C",
        "empty": "no vasmi numbers: see Accelerators below",
        "queries": (("{host} {device}", "max by (host, device) (vacc_vasmi_temperature_celsius)"),),
    },
)
INSTANT = {"vasmi_up": "vacc_vasmi_up", "vasmi_info": "vacc_vasmi_info"}


class FleetPageError(Exception):
    """The page cannot be made; the message is one sentence for the operator."""


# ----------------------------------------------------------------------------------------------
# Asking Prometheus


def _data(body, what):
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error") if isinstance(body, dict) else None
        raise FleetPageError("Prometheus refused %s: %s." % (what, error or "no success status in its answer"))
    return body.get("data")


def collect(get, window_minutes=60, points=120, rate_window=None, now=None, url=""):
    """Every API answer the page needs: {meta, ranges: {panel: [body per query]}, instant: {name: body},
    targets: body, alerts: body}."""
    if int(window_minutes) < 1:
        raise FleetPageError("the fleet page's window must be at least 1 minute, not %r." % (window_minutes,))
    end = float(now if now is not None else time.time())
    start = end - 60.0 * int(window_minutes)
    step = max(1.0, round((end - start) / max(2, int(points))))
    # A rate needs a few samples: 5 min as in the rules, shorter for a page over the last few minutes.
    rate_window = rate_window or ("5m" if int(window_minutes) >= 30 else "1m")
    snapshot = {
        "meta": {
            "url": url,
            "start": start,
            "end": end,
            "step": step,
            "rate_window": rate_window,
            "window_minutes": int(window_minutes),
            "generated": datetime.datetime.fromtimestamp(end, datetime.timezone.utc).isoformat(),
        },
        "ranges": {},
        "instant": {},
    }
    snapshot["targets"] = get("/api/v1/targets", {"state": "active"})
    _data(snapshot["targets"], "the target list")
    snapshot["alerts"] = get("/api/v1/alerts", {})
    for panel in PANELS:
        bodies = []
        for dummy, expr in panel["queries"]:
            body = get(
                "/api/v1/query_range",
                {
                    "query": expr.replace("{w}", rate_window),
                    "start": "%.3f" % start,
                    "end": "%.3f" % end,
                    "step": "%g" % step,
                },
            )
            _data(body, "the query for %s" % panel["title"])
            bodies.append(body)
        snapshot["ranges"][panel["id"]] = bodies
    for name, expr in INSTANT.items():
        snapshot["instant"][name] = get("/api/v1/query", {"query": expr, "time": "%.3f" % end})
    return snapshot


# ----------------------------------------------------------------------------------------------
# Reading the answers


def _legend(template, metric):
    class _Labels(dict):
        def __missing__(self, key):
            return "?"

    return template.format_map(_Labels(metric or {}))


def panel_series(panel, bodies):
    """[{name, points: [(t, v)]}] of a panel; NaN and infinite values (no traffic) are left out."""
    series = []
    for (template, dummy), body in zip(panel["queries"], bodies):
        for result in (_data(body, panel["title"]) or {}).get("result") or []:
            points = []
            for t, v in result.get("values") or []:
                try:
                    value = float(v)
                except (TypeError, ValueError):
                    continue
                if math.isfinite(value):
                    points.append((float(t), value))
            series.append({"name": _legend(template, result.get("metric")), "points": points})
    return sorted(series, key=lambda s: s["name"])


def targets_table(snapshot):
    rows = []
    for t in (_data(snapshot["targets"], "the target list") or {}).get("activeTargets") or []:
        labels = t.get("labels") or {}
        rows.append(
            {
                "job": labels.get("job", ""),
                "instance": labels.get("instance", ""),
                "host": labels.get("host", ""),
                "health": t.get("health", "unknown"),
                "url": t.get("scrapeUrl", ""),
                "last_scrape": t.get("lastScrape", ""),
                "duration_ms": round(1000.0 * float(t.get("lastScrapeDuration") or 0), 1),
                "error": t.get("lastError", ""),
            }
        )
    return sorted(rows, key=lambda r: (r["job"], r["instance"]))


def alerts_table(snapshot):
    try:
        alerts = (_data(snapshot["alerts"], "the alert list") or {}).get("alerts") or []
    except FleetPageError:
        alerts = []
    rows = []
    for a in alerts:
        labels, notes = a.get("labels") or {}, a.get("annotations") or {}
        rows.append(
            {
                "alert": labels.get("alertname", ""),
                "state": a.get("state", ""),
                "severity": labels.get("severity", ""),
                "host": labels.get("host", ""),
                "instance": labels.get("instance_name") or labels.get("instance", ""),
                "since": a.get("activeAt", ""),
                "summary": notes.get("summary", ""),
            }
        )
    order = {"firing": 0, "pending": 1}
    return sorted(rows, key=lambda r: (order.get(r["state"], 2), r["alert"], r["host"], r["instance"]))


def vasmi_table(snapshot):
    """One row per host: whether vasmi answered there, and why not."""
    rows = {}
    for name in ("vasmi_up", "vasmi_info"):
        try:
            result = (_data(snapshot["instant"].get(name), name) or {}).get("result") or []
        except FleetPageError:
            result = []
        for r in result:
            metric = r.get("metric") or {}
            row = rows.setdefault(metric.get("host", metric.get("instance", "?")), {"up": None, "reason": ""})
            if name == "vasmi_up":
                row["up"] = float((r.get("value") or [0, "nan"])[1])
            else:
                row["reason"] = metric.get("reason") or metric.get("path", "")
    return [dict(host=h, **v) for h, v in sorted(rows.items())]


# ----------------------------------------------------------------------------------------------
# Drawing


def _clock(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%H:%M")


def svg_timeseries(panel, series, start, end, width=440, height=250):
    """A line plot of series over [start, end] (UTC clock on x); an empty panel says why."""
    esc = html.escape
    left, right, top = 52, 28, 28
    legend_rows = (len(series) + 1) // 2
    bottom = 34 + 14 * legend_rows
    height += 14 * legend_rows
    values = [v for s in series for dummy, v in s["points"]]
    y_ticks, y_top = _ticks(panel.get("y_max") or (max(values) * 1.1 if values and max(values) > 0 else 1))
    pw, ph = width - left - right, height - top - bottom
    span = max(1.0, end - start)

    def px(t):
        return left + (t - start) / span * pw

    def py(v):
        return top + ph - min(v, y_top) / y_top * ph

    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="%d" height="%d" viewBox="0 0 %d %d" '
        'font-family="sans-serif" font-size="11" data-panel="%s" data-series="%d" data-points="%d">'
        % (width, height, width, height, esc(panel["id"]), len(series), len(values)),
        "<title>%s</title>" % esc(panel["title"]),
        '<rect x="0" y="0" width="%d" height="%d" fill="#fff"/>' % (width, height),
        '<text x="8" y="17" font-size="13" font-weight="bold">%s (%s)</text>'
        % (esc(panel["title"]), esc(panel["unit"])),
    ]
    for t in y_ticks:
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>' % (left, py(t), left + pw, py(t)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (left - 4, py(t) + 4, _tick_text(t)))
    for i in range(5):
        t = start + span * i / 4.0
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>' % (px(t), top, px(t), top + ph))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (px(t), top + ph + 14, _clock(t)))
    out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>' % (left, top, pw, ph))
    if not values:
        out.append(
            '<text x="%.1f" y="%.1f" text-anchor="middle" fill="#777" class="empty">%s</text>'
            % (left + pw / 2.0, top + ph / 2.0, esc(panel.get("empty", "no data in this window")))
        )
    for i, s in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        pts = s["points"]
        if len(pts) == 1:
            out.append('<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>' % (px(pts[0][0]), py(pts[0][1]), color))
        elif pts:
            out.append(
                '<polyline class="line" fill="none" stroke="%s" stroke-width="1.6" data-name="%s" points="%s">'
                "<title>%s: last %s</title></polyline>"
                % (
                    color,
                    esc(s["name"]),
                    " ".join("%.1f,%.1f" % (px(t), py(v)) for t, v in pts),
                    esc(s["name"]),
                    _tick_text(pts[-1][1]),
                )
            )
        lx, ly = 8 + (i % 2) * (width // 2), top + ph + 30 + 14 * (i // 2)
        out.append(
            '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>'
            % (lx, ly - 4, lx + 16, ly - 4, color)
        )
        out.append('<text x="%d" y="%d">%s</text>' % (lx + 20, ly, esc(s["name"][:40])))
    out.append("</svg>")
    return "\n".join(out)


_CSS = """
body{font-family:sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 18px;font-size:12px}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left}
th{background:#f3f3f3}
tr.down td,tr.firing td{background:#fde8e8}
tr.pending td{background:#fff4de}
.grid{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
figure{margin:0}
.bad{color:#b00000;font-weight:bold}
.ok{color:#0a6b0a;font-weight:bold}
.muted{color:#666}
"""


def _table(columns, rows, attrs, row_class=None):
    esc = html.escape
    out = [
        "<table %s>" % " ".join('%s="%s"' % (k, esc(str(v))) for k, v in sorted(attrs.items())),
        "<tr>%s</tr>" % "".join("<th>%s</th>" % esc(title) for dummy, title in columns),
    ]
    for row in rows:
        cls = row_class(row) if row_class else ""
        out.append(
            "<tr%s>%s</tr>"
            % (
                ' class="%s"' % esc(cls) if cls else "",
                "".join('<td data-key="%s">%s</td>' % (esc(k), esc(str(row.get(k, "")))) for k, dummy in columns),
            )
        )
    out.append("</table>")
    return "\n".join(out)


def summary(snapshot):
    targets = targets_table(snapshot)
    alerts = alerts_table(snapshot)
    return {
        "targets": len(targets),
        "targets_up": sum(1 for t in targets if t["health"] == "up"),
        "down": [t["instance"] for t in targets if t["health"] != "up"],
        "firing": sorted({a["alert"] for a in alerts if a["state"] == "firing"}),
        "pending": sorted({a["alert"] for a in alerts if a["state"] == "pending"}),
    }


def render(snapshot, title="vacc.qwen3 fleet"):
    esc = html.escape
    meta = snapshot["meta"]
    facts = summary(snapshot)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>%s</title>" % esc(title),
        "<style>%s</style></head><body>" % _CSS,
        "<h1>%s</h1>" % esc(title),
        "<p>From Prometheus %s, the last %d minutes (a point every %g s, rates over %s; times UTC), generated %s. "
        '<span class="%s" id="targets-summary">%d of %d targets up</span>; '
        '<span class="%s" id="alerts-summary">%s</span>.</p>'
        % (
            esc(meta.get("url") or "?"),
            meta["window_minutes"],
            meta["step"],
            esc(meta["rate_window"]),
            esc(meta["generated"]),
            "ok" if not facts["down"] else "bad",
            facts["targets_up"],
            facts["targets"],
            "bad" if facts["firing"] else "ok",
            esc("firing: " + ", ".join(facts["firing"]) if facts["firing"] else "no alert firing"),
        ),
    ]
    out.append("<h2>Plots</h2>")
    out.append('<div class="grid">')
    for panel in PANELS:
        series = panel_series(panel, snapshot["ranges"].get(panel["id"]) or [])
        out.append(
            '<figure id="%s">%s</figure>'
            % (esc(panel["id"]), svg_timeseries(panel, series, meta["start"], meta["end"]))
        )
    out.append("</div>")
    out.append("<h2>Alerts</h2>")
    alerts = alerts_table(snapshot)
    if alerts:
        out.append(
            _table(
                (
                    ("alert", "alert"),
                    ("state", "state"),
                    ("severity", "severity"),
                    ("host", "host"),
                    ("instance", "instance"),
                    ("since", "active since"),
                    ("summary", "summary"),
                ),
                alerts,
                {"id": "alerts"},
                lambda r: r["state"],
            )
        )
    else:
        out.append('<p class="ok" id="alerts">No alert is firing or pending.</p>')
    out.append("<h2>Targets</h2>")
    out.append(
        _table(
            (
                ("job", "job"),
                ("instance", "instance"),
                ("health", "health"),
                ("url", "scrape URL"),
                ("last_scrape", "last scrape"),
                ("duration_ms", "ms"),
                ("error", "last error"),
            ),
            targets_table(snapshot),
            {"id": "targets"},
            lambda r: "" if r["health"] == "up" else "down",
        )
    )
    out.append("<h2>Accelerators (vasmi)</h2>")
    vasmi = vasmi_table(snapshot)
    if vasmi:
        out.append(
            _table(
                (("host", "host"), ("up", "vacc_vasmi_up"), ("reason", "reason / vasmi")),
                [dict(r, up="" if r["up"] is None else "%g" % r["up"]) for r in vasmi],
                {"id": "vasmi"},
            )
        )
    else:
        out.append('<p class="muted" id="vasmi">No node exporter reports vacc_vasmi_up.</p>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_page(snapshot, dest, title="vacc.qwen3 fleet", keep_snapshot=True):
    """Write dest (atomically) and, beside it, <dest>.json with the API answers it was made from."""
    write_atomic(dest, render(snapshot, title=title))
    if keep_snapshot:
        write_atomic(
            dest[: -len(".html")] + ".json" if dest.endswith(".html") else dest + ".json",
            json.dumps(snapshot, indent=1, sort_keys=True) + "\n",
        )
    return summary(snapshot)
