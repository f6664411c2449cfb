# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""The fleet benchmark report as files: Markdown, CSV and a self-contained HTML page with inline SVG
plots (no plotting library on the controller), written atomically."""

from __future__ import annotations

import csv
import html
import io
import math
import os
import re
import shutil
import tempfile

from ansible_collections.vacc.qwen3.plugins.plugin_utils._bench_cases import CASE_KEYS, METRICS, STATS, TEXT_COLUMNS
from ansible_collections.vacc.qwen3.plugins.plugin_utils._bench_report import _num, build_report


def fmt(value, digits=2):
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return "%.*f" % (digits, value)
    return str(value)


THROUGHPUT_COLUMNS = (
    ("case", "case"),
    ("input_len", "in"),
    ("output_len", "out"),
    ("max_concurrency", "concurrency"),
    ("num_prompts", "prompts"),
    ("status", "status"),
    ("completed", "completed"),
    ("failed", "failed"),
    ("duration", "duration s"),
    ("request_throughput", "req/s"),
    ("output_throughput", "output tok/s"),
    ("total_token_throughput", "total tok/s"),
    ("output_throughput_per_instance", "output tok/s per instance"),
)
LATENCY_COLUMNS = (("case", "case"),) + tuple(
    ("%s_%s_ms" % (stat, metric), "%s %s" % (label, stat)) for metric, label in METRICS for stat in STATS
)
CSV_COLUMNS = (
    ["run_id", "host", "case", "status", "model", "served_model_name", "instances"]
    + list(CASE_KEYS)
    + [
        "completed",
        "failed",
        "duration",
        "total_input_tokens",
        "total_output_tokens",
        "request_throughput",
        "output_throughput",
        "total_token_throughput",
        "request_throughput_per_instance",
        "output_throughput_per_instance",
        "total_token_throughput_per_instance",
        "max_output_tokens_per_s",
        "max_concurrent_requests",
    ]
    + ["%s_%s_ms" % (stat, metric) for metric, dummy in METRICS for stat in ("mean", "median", "std", "p99")]
    + ["notes", "slo", "error"]
)


def _md_cell(value):
    return fmt(value).replace("|", "\\|").replace("\n", " ")


def md_table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for dummy in headers) + "|"]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def failure_table(report):
    return md_table(
        ["host", "case", "status", "error"],
        [[f["host"], f["case"], f["status"], f["error"]] for f in report["failures"]],
    )


def slo_table(report):
    return md_table(
        ["host", "case", "objective", "limit", "measured"],
        [
            [
                m["host"],
                m["case"],
                m["objective"],
                m["limit"],
                m["measured"] if m["measured"] is not None else "not measured",
            ]
            for m in report["slo_misses"]
        ],
    )


def _summary_line(report):
    ok = sum(1 for r in report["rows"] if r["status"] == "ok")
    return "%d host(s), %d case(s): %d ok, %d failed." % (
        len(report["hosts"]),
        len(report["rows"]),
        ok,
        len(report["rows"]) - ok,
    )


def _slo_line(report):
    if not report["slo_checked"]:
        return "No SLO set (benchmark_slo)."
    if not report["slo_misses"]:
        return "SLO met by all %d checked case(s)." % report["slo_checked"]
    cases = {(m["host"], m["case"]) for m in report["slo_misses"]}
    return "SLO missed by %d of %d checked case(s)." % (len(cases), report["slo_checked"])


def _host_line(manifest):
    parts = []
    if manifest.get("model"):
        parts.append("%s served as `%s`" % (manifest["model"], manifest.get("served_model_name")))
    if manifest.get("card"):
        parts.append(
            "on %s x %s: TP%s x %s instance(s)"
            % (manifest.get("cards"), manifest["card"], manifest.get("tp"), manifest.get("instances"))
        )
    if manifest.get("endpoint"):
        parts.append("endpoint %s%s" % (manifest["endpoint"], manifest.get("endpoint_path") or ""))
    if manifest.get("runner"):
        where = manifest.get("container") or manifest.get("image")
        parts.append("runner %s (%s)" % (manifest["runner"], where))
    if manifest.get("image"):
        parts.append("image %s" % manifest["image"])
    return "; ".join(parts) + "." if parts else ""


def render_markdown(report, plot_files=None):
    out = [
        "# Benchmark report: run %s" % report["run_id"],
        "",
        "`vllm bench serve` (random dataset, --ignore-eos) across the fleet, generated %s. %s %s"
        % (report["generated"], _summary_line(report), _slo_line(report)),
        "",
    ]
    for host in report["hosts"]:
        out += ["## %s" % host["host"], ""]
        line = _host_line(host["manifest"])
        if line:
            out += [line, ""]
        out += [
            "### Throughput",
            "",
            md_table(
                [h for dummy, h in THROUGHPUT_COLUMNS],
                [[r.get(k) for k, dummy in THROUGHPUT_COLUMNS] for r in host["rows"]],
            ),
            "",
            "### Latency (ms)",
            "",
            md_table(
                [h for dummy, h in LATENCY_COLUMNS],
                [[r.get(k) for k, dummy in LATENCY_COLUMNS] for r in host["rows"] if r["status"] == "ok"],
            ),
            "",
        ]
        notes = ["- %s" % n for n in host["notes"]]
        notes += ["- %s: %s (`%s`)" % (r["case"], n["text"], n["code"]) for r in host["rows"] for n in r["notes"]]
        if notes:
            out += ["### Notes", ""] + notes + [""]
        failed = [r for r in host["rows"] if r["status"] != "ok"]
        if failed:
            out += [
                "### Failed cases",
                "",
                md_table(["case", "status", "error"], [[r["case"], r["status"], r["error"]] for r in failed]),
                "",
            ]
    out += ["## SLO", "", _slo_line(report), ""]
    if report["slo_misses"]:
        out += [slo_table(report), ""]
    if report["failures"]:
        out += ["## Failed cases", "", failure_table(report), ""]
    if plot_files:
        out += ["## Plots", "", "Interactive in benchmark.html; as files:", ""]
        out += ["![%s](%s)" % (title, path) for title, path in plot_files] + [""]
    return "\n".join(out)


def render_csv(report):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report["rows"]:
        values = []
        for key in CSV_COLUMNS:
            value = row.get(key)
            if key == "notes":
                value = ";".join(n["code"] for n in row.get("notes") or [])
            values.append("" if value is None else (repr(value) if isinstance(value, float) else value))
        writer.writerow(values)
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------
# Plots: inline SVG, drawn here (no plotting library on the controller)

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22")


def _ticks(vmax, count=5):
    if not vmax or vmax <= 0:
        vmax = 1.0
    raw = vmax / float(count)
    mag = 10 ** math.floor(math.log10(raw))
    step = mag
    for mult in (1, 2, 2.5, 5, 10):
        step = mult * mag
        if step >= raw:
            break
    n = int(math.ceil(vmax / step - 1e-9))
    return [i * step for i in range(n + 1)], n * step


def _tick_text(value):
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return "%gk" % (value / 1000.0)
    return "%g" % round(value, 3)


def svg_chart(
    title, series, x_label, y_label, x_max=None, y_max=None, width=380, height=300, attrs=None, subtitle=None
):
    """A line chart: series [{name, color, dash, labels, points: [{x, y, label}]}]; axes from 0. Each point
    is a circle with data-x / data-y (the plotted values) and a tooltip; `labels` writes point labels."""
    legend_rows = int(math.ceil(len(series) / 2.0))
    head = 34 if subtitle else 20
    left, right, top, bottom = 58, 14, head + 14 + 14 * legend_rows, 42
    xs = [p["x"] for s in series for p in s["points"]]
    ys = [p["y"] for s in series for p in s["points"]]
    x_ticks, x_top = _ticks(x_max if x_max else (max(xs) if xs else 1) * 1.05)
    y_ticks, y_top = _ticks(y_max if y_max else (max(ys) if ys else 1) * 1.05)
    pw, ph = width - left - right, height - top - bottom

    def px(x):
        return left + (x / x_top) * pw

    def py(y):
        return top + ph - (y / y_top) * ph

    esc = html.escape
    extra = "".join(' %s="%s"' % (k, esc(str(v))) for k, v in sorted((attrs or {}).items()))
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="%d" height="%d" viewBox="0 0 %d %d"%s '
        'font-family="sans-serif" font-size="11">' % (width, height, width, height, extra),
        "<title>%s</title>" % esc(title),
        '<rect x="0" y="0" width="%d" height="%d" fill="#fff"/>' % (width, height),
        '<text x="%d" y="16" font-size="13" font-weight="bold">%s</text>' % (left - 50, esc(title)),
    ]
    if subtitle:
        out.append('<text x="%d" y="30" fill="#555">%s</text>' % (left - 50, esc(subtitle)))
    for i, s in enumerate(series):
        lx, ly = left - 50 + (i % 2) * (width // 2), head + 12 + 14 * (i // 2)
        out.append(
            '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>'
            % (lx, ly - 4, lx + 18, ly - 4, s["color"], ' stroke-dasharray="4 3"' if s.get("dash") else "")
        )
        out.append('<text x="%d" y="%d">%s</text>' % (lx + 22, ly, esc(s["name"])))
    for t in x_ticks:
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>' % (px(t), top, px(t), top + ph))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (px(t), top + ph + 14, _tick_text(t)))
    for t in y_ticks:
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>' % (left, py(t), left + pw, py(t)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (left - 4, py(t) + 4, _tick_text(t)))
    out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>' % (left, top, pw, ph))
    out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (left + pw / 2.0, height - 8, esc(x_label)))
    out.append(
        '<text x="12" y="%.1f" text-anchor="middle" transform="rotate(-90 12 %.1f)">%s</text>'
        % (top + ph / 2.0, top + ph / 2.0, esc(y_label))
    )
    for s in series:
        pts = [p for p in s["points"] if _num(p["x"]) and _num(p["y"])]
        if len(pts) > 1:
            out.append(
                '<polyline fill="none" stroke="%s" stroke-width="1.8"%s points="%s"/>'
                % (
                    s["color"],
                    ' stroke-dasharray="4 3"' if s.get("dash") else "",
                    " ".join("%.1f,%.1f" % (px(p["x"]), py(p["y"])) for p in pts),
                )
            )
        for p in pts:
            out.append(
                '<circle class="point" cx="%.1f" cy="%.1f" r="3.5" fill="%s" data-series="%s" data-x="%r" '
                'data-y="%r" data-label="%s"><title>%s %s: %s = %.2f, %s = %.2f</title></circle>'
                % (
                    px(p["x"]),
                    py(p["y"]),
                    s["color"],
                    esc(s["name"]),
                    float(p["x"]),
                    float(p["y"]),
                    esc(p.get("label", "")),
                    esc(s["name"]),
                    esc(p.get("label", "")),
                    esc(x_label),
                    p["x"],
                    esc(y_label),
                    p["y"],
                )
            )
            if s.get("labels") and p.get("label"):
                out.append(
                    '<text x="%.1f" y="%.1f" font-size="9" fill="#555">%s</text>'
                    % (px(p["x"]) + 5, py(p["y"]) - 5, esc(p["label"]))
                )
    out.append("</svg>")
    return "\n".join(out)


def length_groups(report):
    """(input_len, output_len) pairs with successful cases, in first-seen order."""
    groups = []
    for row in report["rows"]:
        key = (row.get("input_len"), row.get("output_len"))
        if row["status"] == "ok" and key not in groups:
            groups.append(key)
    return groups


def plots(report):
    """[{id, title, group, kind, host, svg}] for every length group: output throughput against concurrency
    (hosts overlaid), then per latency metric one panel per host (side by side, shared axes) of
    mean and p99 latency against output throughput, points labelled with their concurrency."""
    colors = {h["host"]: PALETTE[i % len(PALETTE)] for i, h in enumerate(report["hosts"])}
    charts = []
    for g_index, (in_len, out_len) in enumerate(length_groups(report)):
        group = "input %s / output %s tokens" % (in_len, out_len)
        per_host = {}
        for host in report["hosts"]:
            rows = sorted(
                [
                    r
                    for r in host["rows"]
                    if r["status"] == "ok"
                    and r.get("input_len") == in_len
                    and r.get("output_len") == out_len
                    and _num(r.get("output_throughput"))
                ],
                key=lambda r: (r.get("max_concurrency") or 0, r.get("num_prompts") or 0),
            )
            if rows:
                per_host[host["host"]] = rows
        series = [
            {
                "name": h,
                "color": colors[h],
                "points": [
                    {"x": r["max_concurrency"], "y": r["output_throughput"], "label": "c=%s" % r["max_concurrency"]}
                    for r in rows
                ],
            }
            for h, rows in per_host.items()
        ]
        charts.append(
            {
                "id": "g%d-throughput" % g_index,
                "group": group,
                "kind": "throughput",
                "host": None,
                "title": "Output throughput vs concurrency",
                "svg": svg_chart(
                    "Output throughput vs concurrency",
                    series,
                    "max concurrency",
                    "output tok/s",
                    attrs={"data-kind": "throughput"},
                    subtitle=group,
                ),
            }
        )
        x_max = max(r["output_throughput"] for rows in per_host.values() for r in rows) * 1.05
        for metric, label in (("ttft", "TTFT"), ("tpot", "TPOT"), ("e2el", "E2EL")):
            y_vals = [
                r.get("%s_%s_ms" % (s, metric)) for rows in per_host.values() for r in rows for s in ("mean", "p99")
            ]
            y_vals = [v for v in y_vals if _num(v)]
            if not y_vals:
                continue
            y_max = max(y_vals) * 1.05
            for host, rows in per_host.items():
                series = []
                for stat, dash in (("mean", False), ("p99", True)):
                    pts = [
                        {
                            "x": r["output_throughput"],
                            "y": r.get("%s_%s_ms" % (stat, metric)),
                            "label": "c=%s" % r["max_concurrency"],
                        }
                        for r in rows
                    ]
                    series.append(
                        {
                            "name": "%s %s" % (stat, label),
                            "color": colors[host],
                            "dash": dash,
                            "labels": stat == "mean",
                            "points": [p for p in pts if _num(p["y"])],
                        }
                    )
                charts.append(
                    {
                        "id": "g%d-%s-%s" % (g_index, metric, _slug(host)),
                        "group": group,
                        "kind": metric,
                        "host": host,
                        "title": "%s: %s vs output throughput" % (host, label),
                        "svg": svg_chart(
                            "%s vs output throughput" % label,
                            series,
                            "output tok/s",
                            "%s ms" % label,
                            x_max=x_max,
                            y_max=y_max,
                            attrs={"data-kind": metric, "data-host": host},
                            subtitle="%s, %s, by concurrency c" % (host, group),
                        ),
                    }
                )
    return charts


def _slug(text):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text))


_CSS = """
body{font-family:sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 18px;font-size:12px}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}
th{background:#f3f3f3}
td.text,th.text{text-align:left}
tr.failed td{background:#fde8e8}
.row{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.note{color:#7a4b00}
.bad{color:#b00000;font-weight:bold}
.ok{color:#0a6b0a;font-weight:bold}
"""


def _html_table(columns, rows, table_attrs):
    esc = html.escape
    out = [
        "<table %s>" % " ".join('%s="%s"' % (k, esc(str(v))) for k, v in sorted(table_attrs.items())),
        "<tr>"
        + "".join('<th class="%s">%s</th>' % ("text" if k in TEXT_COLUMNS else "num", esc(h)) for k, h in columns)
        + "</tr>",
    ]
    for row in rows:
        cls = ' class="failed"' if row.get("status") not in (None, "ok") else ""
        cells = []
        for key, dummy in columns:
            value = row.get(key)
            raw = repr(value) if isinstance(value, float) else ("" if value is None else str(value))
            text_cls = "text" if key in TEXT_COLUMNS else "num"
            cells.append(
                '<td class="%s" data-key="%s" data-value="%s">%s</td>' % (text_cls, esc(key), esc(raw), esc(fmt(value)))
            )
        out.append('<tr%s data-case="%s">%s</tr>' % (cls, esc(str(row.get("case"))), "".join(cells)))
    out.append("</table>")
    return "\n".join(out)


def _html_text(text):
    # The sentences are written for Markdown: `code` becomes <code>.
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def render_html(report, charts):
    esc = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>Benchmark report: run %s</title>" % esc(report["run_id"]),
        "<style>%s</style></head><body>" % _CSS,
        "<h1>Benchmark report: run %s</h1>" % esc(report["run_id"]),
        "<p><code>vllm bench serve</code> (random dataset, --ignore-eos) across the fleet, generated %s. %s "
        '<span class="%s">%s</span></p>'
        % (
            esc(report["generated"]),
            esc(_summary_line(report)),
            "bad" if report["slo_misses"] else "ok",
            esc(_slo_line(report)),
        ),
    ]
    for host in report["hosts"]:
        h = host["host"]
        out += [
            '<section class="host" data-host="%s">' % esc(h),
            "<h2>%s</h2>" % esc(h),
            "<p>%s</p>" % _html_text(_host_line(host["manifest"])),
            "<h3>Throughput</h3>",
            _html_table(
                THROUGHPUT_COLUMNS, host["rows"], {"class": "bench", "data-host": h, "data-table": "throughput"}
            ),
            "<h3>Latency (ms)</h3>",
            _html_table(
                LATENCY_COLUMNS,
                [r for r in host["rows"] if r["status"] == "ok"],
                {"class": "bench", "data-host": h, "data-table": "latency"},
            ),
        ]
        notes = [_html_text(n) for n in host["notes"]]
        notes += [
            "%s: %s <code>%s</code>" % (esc(r["case"]), _html_text(n["text"]), esc(n["code"]))
            for r in host["rows"]
            for n in r["notes"]
        ]
        if notes:
            out += (
                ["<h3>Notes</h3>", '<ul class="notes">'] + ['<li class="note">%s</li>' % n for n in notes] + ["</ul>"]
            )
        out.append("</section>")
    out += ["<h2>SLO</h2>", '<p class="%s">%s</p>' % ("bad" if report["slo_misses"] else "ok", esc(_slo_line(report)))]
    if report["slo_misses"]:
        out.append(
            _html_table(
                (
                    ("host", "host"),
                    ("case", "case"),
                    ("objective", "objective"),
                    ("limit", "limit"),
                    ("measured", "measured"),
                ),
                report["slo_misses"],
                {"class": "slo", "data-table": "slo"},
            )
        )
    if report["failures"]:
        out += [
            "<h2>Failed cases</h2>",
            _html_table(
                (("host", "host"), ("case", "case"), ("status", "status"), ("error", "error")),
                report["failures"],
                {"class": "failures", "data-table": "failures"},
            ),
        ]
    if charts:
        out.append("<h2>Plots</h2>")
        groups = []
        for chart in charts:
            if chart["group"] not in groups:
                groups.append(chart["group"])
        for group in groups:
            out.append("<h3>%s</h3>" % esc(group))
            for kind in ("throughput", "ttft", "tpot", "e2el"):
                row = [c for c in charts if c["group"] == group and c["kind"] == kind]
                if row:
                    out.append(
                        '<div class="row" data-kind="%s">%s</div>'
                        % (kind, "\n".join('<figure id="%s">%s</figure>' % (esc(c["id"]), c["svg"]) for c in row))
                    )
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_atomic(path, text):
    """Write a file so that readers see the old or the new content, never a partial one."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _link_atomic(target, link):
    tmp = "%s.tmp-%d" % (link, os.getpid())
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    if os.path.isdir(link) and not os.path.islink(link):
        shutil.rmtree(link)
    os.replace(tmp, link)


def write_report(run_dir, latest_dir=None, latest_link=True, run_id=None, tolerance_pct=25.0, burst_ratio=0.1):
    """Render a run's report into <run_dir>/report (benchmark.md, .html, .csv, plots/*.svg); copy the
    three files to `latest_dir` and point <results>/latest at the run. Returns the summary."""
    report = build_report(run_dir, run_id=run_id, tolerance_pct=tolerance_pct, burst_ratio=burst_ratio)
    out_dir = os.path.join(run_dir, "report")
    charts = plots(report)
    plot_files = []
    for chart in charts:
        rel = "plots/%s.svg" % chart["id"]
        write_atomic(os.path.join(out_dir, rel), chart["svg"] + "\n")
        plot_files.append(("%s (%s)" % (chart["title"], chart["group"]), rel))
    files = {
        "md": os.path.join(out_dir, "benchmark.md"),
        "html": os.path.join(out_dir, "benchmark.html"),
        "csv": os.path.join(out_dir, "benchmark.csv"),
    }
    write_atomic(files["md"], render_markdown(report, plot_files))
    write_atomic(files["html"], render_html(report, charts))
    write_atomic(files["csv"], render_csv(report))
    latest = {}
    if latest_dir:
        for kind, path in files.items():
            dest = os.path.join(latest_dir, os.path.basename(path))
            with open(path, encoding="utf-8") as handle:
                write_atomic(dest, handle.read())
            latest[kind] = dest
    link = None
    if latest_link:
        link = os.path.join(os.path.dirname(os.path.abspath(run_dir)), "latest")
        _link_atomic(os.path.basename(os.path.normpath(run_dir)), link)
    return {
        "run_id": report["run_id"],
        "files": files,
        "latest": latest,
        "latest_link": link,
        "plots": len(charts),
        "hosts": [h["host"] for h in report["hosts"]],
        "cases": len(report["rows"]),
        "ok": sum(1 for r in report["rows"] if r["status"] == "ok"),
        "failed_cases": report["failures"],
        "slo_misses": report["slo_misses"],
        "slo_checked": report["slo_checked"],
        "notes": [
            {"host": r["host"], "case": r["case"], "code": n["code"], "text": n["text"]}
            for r in report["rows"]
            for n in r["notes"]
        ],
        "failed_table": failure_table(report) if report["failures"] else "",
        "slo_table": slo_table(report) if report["slo_misses"] else "",
        "summary": "%s %s" % (_summary_line(report), _slo_line(report)),
        "rows": [{k: v for k, v in r.items() if k != "_data"} for r in report["rows"]],
    }
