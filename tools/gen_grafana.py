# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Writes roles/monitoring/files/grafana/vacc-qwen3-fleet.json, the fleet dashboard (Grafana 10+ schema):
a fleet overview row, a per-server row repeated for each selected host, a per-instance row.

The panels are written here as data so that every query is in one reviewable list (tests/unit checks
the file is this script's output; tests/monitoring runs every query against a real Prometheus).
The datasource is the variable ${datasource} (type prometheus), so the dashboard imports anywhere.

    python tools/gen_grafana.py [--out FILE]
"""

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "roles", "monitoring", "files", "grafana", "vacc-qwen3-fleet.json")
DS = {"type": "prometheus", "uid": "${datasource}"}
ENGINE = 'job="vacc_qwen3_engine", host=~"$host"'
INSTANCE = ENGINE + ', instance_name=~"$instance_name"'
OK_REASONS = 'finished_reason=~"stop|length|repetition"'
BAD_REASONS = 'finished_reason=~"abort|error"'

# (title, unit, [(expr, legend)], width, kind) per panel; kind stat or timeseries.
OVERVIEW = [
    (
        "Targets up",
        "none",
        [('sum(up{job=~"vacc_qwen3_.*"})', "up"), ('count(up{job=~"vacc_qwen3_.*"})', "all")],
        4,
        "stat",
    ),
    (
        "Alerts firing",
        "none",
        [('count(ALERTS{alertstate="firing", alertname=~"Qwen3.*"}) or vector(0)', "firing")],
        4,
        "stat",
    ),
    ("Requests running", "none", [('sum(vllm:num_requests_running{job="vacc_qwen3_engine"})', "running")], 4, "stat"),
    (
        "Requests waiting",
        "none",
        [
            (
                'sum(vllm:num_requests_waiting{job="vacc_qwen3_engine"}) '
                '+ sum(haproxy_backend_current_queue{job="vacc_qwen3_door"})',
                "waiting",
            )
        ],
        4,
        "stat",
    ),
    (
        "Requests finished /s",
        "reqps",
        [('sum(rate(vllm:request_success_total{job="vacc_qwen3_engine", %s}[$__rate_interval]))' % OK_REASONS, "ok")],
        4,
        "stat",
    ),
    (
        "TTFT p99 (worst instance)",
        "s",
        [
            (
                "max(histogram_quantile(0.99, sum by (le, host, instance_name) "
                '(rate(vllm:time_to_first_token_seconds_bucket{job="vacc_qwen3_engine"}[$__rate_interval]))))',
                "p99",
            )
        ],
        4,
        "stat",
    ),
    ("Targets up by job", "none", [('sum by (job) (up{job=~"vacc_qwen3_.*"})', "{{job}}")], 12, "timeseries"),
    (
        "Requests finished /s by server",
        "reqps",
        [
            (
                'sum by (host) (rate(vllm:request_success_total{job="vacc_qwen3_engine", %s}[$__rate_interval]))'
                % OK_REASONS,
                "{{host}} ok",
            ),
            (
                'sum by (host) (rate(vllm:request_success_total{job="vacc_qwen3_engine", %s}[$__rate_interval]))'
                % BAD_REASONS,
                "{{host}} failed",
            ),
        ],
        12,
        "timeseries",
    ),
]
PER_SERVER = [
    (
        "Door: queued and active requests",
        "none",
        [
            ('sum by (host) (haproxy_backend_current_queue{job="vacc_qwen3_door", host=~"$host"})', "queued"),
            ("sum by (host) (vllm:num_requests_running{%s})" % ENGINE, "running"),
        ],
        8,
        "timeseries",
    ),
    (
        "Door: responses /s by code",
        "reqps",
        [
            (
                'sum by (code) (rate(haproxy_frontend_http_responses_total{job="vacc_qwen3_door", host=~"$host"}[$__rate_interval]))',
                "{{code}}",
            )
        ],
        8,
        "timeseries",
    ),
    (
        "Die temperature (vasmi)",
        "celsius",
        [('max by (device) (vacc_vasmi_temperature_celsius{host=~"$host"})', "{{device}}")],
        8,
        "timeseries",
    ),
    (
        "Die memory used (vasmi)",
        "bytes",
        [('sum by (device) (vacc_vasmi_memory_bytes{host=~"$host", kind="used"})', "{{device}}")],
        8,
        "timeseries",
    ),
    (
        "Die utilisation (vasmi)",
        "percentunit",
        [('max by (device) (vacc_vasmi_utilization_ratio{host=~"$host"})', "{{device}}")],
        8,
        "timeseries",
    ),
    (
        "vasmi answering (0: see vacc_vasmi_info's reason)",
        "none",
        [('vacc_vasmi_up{host=~"$host"}', "vasmi up")],
        8,
        "timeseries",
    ),
    (
        "CPU busy",
        "percentunit",
        [
            (
                '1 - avg(rate(node_cpu_seconds_total{job="vacc_qwen3_node", host=~"$host", mode="idle"}[$__rate_interval]))',
                "busy",
            )
        ],
        8,
        "timeseries",
    ),
    (
        "Memory available",
        "bytes",
        [('node_memory_MemAvailable_bytes{job="vacc_qwen3_node", host=~"$host"}', "available")],
        8,
        "timeseries",
    ),
    (
        "Image drift (1: not the planned image)",
        "none",
        [('max by (service) (vacc_qwen3_image_drift{host=~"$host"})', "{{service}}")],
        8,
        "timeseries",
    ),
]
PER_INSTANCE = [
    (
        "Requests running",
        "none",
        [("vllm:num_requests_running{%s}" % INSTANCE, "{{host}}/{{instance_name}}")],
        8,
        "timeseries",
    ),
    (
        "Requests waiting",
        "none",
        [("vllm:num_requests_waiting{%s}" % INSTANCE, "{{host}}/{{instance_name}}")],
        8,
        "timeseries",
    ),
    (
        "KV cache usage",
        "percentunit",
        [
            (
                "max by (host, instance_name) (vllm:kv_cache_usage_perc{%s}) or max by (host, instance_name) "
                "(vllm:gpu_cache_usage_perc{%s})" % (INSTANCE, INSTANCE),
                "{{host}}/{{instance_name}}",
            )
        ],
        8,
        "timeseries",
    ),
    (
        "TTFT p50 / p99",
        "s",
        [
            (
                "histogram_quantile(0.5, sum by (le, host, instance_name) (rate(vllm:time_to_first_token_seconds_bucket{%s}"
                "[$__rate_interval])))" % INSTANCE,
                "{{host}}/{{instance_name}} p50",
            ),
            (
                "histogram_quantile(0.99, sum by (le, host, instance_name) (rate(vllm:time_to_first_token_seconds_bucket{%s}"
                "[$__rate_interval])))" % INSTANCE,
                "{{host}}/{{instance_name}} p99",
            ),
        ],
        8,
        "timeseries",
    ),
    (
        "Inter-token latency p99",
        "s",
        [
            (
                "histogram_quantile(0.99, sum by (le, host, instance_name) (rate(vllm:inter_token_latency_seconds_bucket{%s}"
                "[$__rate_interval])))" % INSTANCE,
                "{{host}}/{{instance_name}}",
            )
        ],
        8,
        "timeseries",
    ),
    (
        "End-to-end latency p99",
        "s",
        [
            (
                "histogram_quantile(0.99, sum by (le, host, instance_name) (rate(vllm:e2e_request_latency_seconds_bucket{%s}"
                "[$__rate_interval])))" % INSTANCE,
                "{{host}}/{{instance_name}}",
            )
        ],
        8,
        "timeseries",
    ),
    (
        "Requests finished /s",
        "reqps",
        [
            (
                "sum by (host, instance_name, finished_reason) (rate(vllm:request_success_total{%s}[$__rate_interval]))"
                % INSTANCE,
                "{{host}}/{{instance_name}} {{finished_reason}}",
            )
        ],
        8,
        "timeseries",
    ),
    (
        "Tokens /s",
        "none",
        [
            (
                "sum by (host, instance_name) (rate(vllm:generation_tokens_total{%s}[$__rate_interval]))" % INSTANCE,
                "{{host}}/{{instance_name}} generated",
            ),
            (
                "sum by (host, instance_name) (rate(vllm:prompt_tokens_total{%s}[$__rate_interval]))" % INSTANCE,
                "{{host}}/{{instance_name}} prompt",
            ),
        ],
        8,
        "timeseries",
    ),
    (
        "Queue time p99 (engine)",
        "s",
        [
            (
                "histogram_quantile(0.99, sum by (le, host, instance_name) (rate(vllm:request_queue_time_seconds_bucket{%s}"
                "[$__rate_interval])))" % INSTANCE,
                "{{host}}/{{instance_name}}",
            )
        ],
        8,
        "timeseries",
    ),
]


def panel(pid, spec, x, y):
    title, unit, queries, width, kind = spec
    height = 4 if kind == "stat" else 8
    out = {
        "id": pid,
        "type": kind,
        "title": title,
        "datasource": DS,
        "gridPos": {"h": height, "w": width, "x": x, "y": y},
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": DS, "expr": expr, "legendFormat": legend, "range": True}
            for i, (expr, legend) in enumerate(queries)
        ],
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
    }
    if kind == "stat":
        out["options"] = {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "area",
            "textMode": "auto",
        }
    else:
        out["options"] = {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    return out


def layout(specs, first_id, y):
    panels, x, row_h = [], 0, 0
    for i, spec in enumerate(specs):
        width = spec[3]
        if x + width > 24:
            x, y = 0, y + row_h
            row_h = 0
        p = panel(first_id + i, spec, x, y)
        panels.append(p)
        x += width
        row_h = max(row_h, p["gridPos"]["h"])
    return panels, y + row_h


def row(pid, title, y, repeat=None):
    out = {
        "id": pid,
        "type": "row",
        "title": title,
        "collapsed": False,
        "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
        "panels": [],
    }
    if repeat:
        out["repeat"] = repeat
    return out


def variable(name, label, query):
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "definition": query,
        "refresh": 2,
        "multi": True,
        "includeAll": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
    }


def dashboard():
    panels, y = [row(1, "Fleet overview", 0)], 1
    more, y = layout(OVERVIEW, 10, y)
    panels += more
    panels.append(row(2, "Server $host", y, repeat="host"))
    more, y = layout(PER_SERVER, 30, y + 1)
    panels += more
    panels.append(row(3, "Instances", y))
    more, y = layout(PER_INSTANCE, 50, y + 1)
    panels += more
    return {
        "uid": "vacc-qwen3-fleet",
        "title": "vacc.qwen3 fleet",
        "tags": ["vacc.qwen3", "vllm", "qwen3"],
        "description": "Qwen3 on Vastai servers (vacc.qwen3): engines (vLLM), doors and gateway (HAProxy), "
        "servers (node exporter, vasmi).",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "time": {"from": "now-3h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "weekStart": "",
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "links": [],
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {"selected": True, "text": "vacc-qwen3-prometheus", "value": "vacc-qwen3-prometheus"},
                    "hide": 0,
                    "refresh": 1,
                    "regex": "",
                    "options": [],
                },
                variable("host", "Server", 'label_values(up{job=~"vacc_qwen3_.*"}, host)'),
                variable(
                    "instance_name",
                    "Instance",
                    'label_values(vllm:num_requests_running{job="vacc_qwen3_engine", host=~"$host"}, instance_name)',
                ),
            ]
        },
        "panels": panels,
    }


def render():
    return json.dumps(dashboard(), indent=2, sort_keys=True) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args(argv)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(render())
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
