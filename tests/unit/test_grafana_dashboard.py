"""The Grafana dashboard (roles/monitoring/files/grafana/vacc-qwen3-fleet.json) is tools/gen_grafana.py's
output, in Grafana 10's schema, with its datasource as a variable and only metric names that exist.
(tests/monitoring runs every one of its queries against a real Prometheus.)"""

import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import gen_grafana  # noqa: E402

DASHBOARD = os.path.join(ROOT, "roles", "monitoring", "files", "grafana", "vacc-qwen3-fleet.json")
# What the scrapes provide: vLLM 0.32's names as the stand-in exposes them (tests/monitoring checks they
# exist), 0.9's KV cache name, HAProxy 2.6's exporter, the node exporter, the textfiles, Prometheus's own.
KNOWN = re.compile(
    r"^(vllm:(num_requests_running|num_requests_waiting|kv_cache_usage_perc|gpu_cache_usage_perc|"
    r"time_to_first_token_seconds_bucket|inter_token_latency_seconds_bucket|e2e_request_latency_seconds_bucket|"
    r"request_queue_time_seconds_bucket|request_success_total|generation_tokens_total|prompt_tokens_total)|"
    r"haproxy_(backend_current_queue|frontend_http_responses_total)|"
    r"node_(cpu_seconds_total|memory_MemAvailable_bytes)|"
    r"vacc_vasmi_(up|temperature_celsius|memory_bytes|utilization_ratio)|vacc_qwen3_image_drift|up|ALERTS)$"
)
FUNCTIONS = {"sum", "max", "count", "rate", "histogram_quantile", "by", "or", "vector", "avg", "label_values", "le"}


def load():
    with open(DASHBOARD, encoding="utf-8") as handle:
        return json.load(handle)


def test_file_is_the_generators_output():
    with open(DASHBOARD, encoding="utf-8") as handle:
        assert handle.read() == gen_grafana.render(), "stale: run python tools/gen_grafana.py"


def test_grafana_10_shape():
    d = load()
    assert d["uid"] == "vacc-qwen3-fleet" and d["schemaVersion"] >= 38
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids))
    rows = [p for p in d["panels"] if p["type"] == "row"]
    assert [r["title"] for r in rows] == ["Fleet overview", "Server $host", "Instances"]
    assert rows[1]["repeat"] == "host"
    for p in d["panels"]:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert {"host", "instance_name"} <= set(variables)


def test_every_query_uses_the_datasource_variable_and_known_metrics():
    d = load()
    for p in d["panels"]:
        if p["type"] == "row":
            continue
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        assert p["targets"], p["title"]
        for t in p["targets"]:
            assert t["datasource"]["uid"] == "${datasource}"
            # Metric names: what is left once grouping clauses, label matchers and ranges are gone.
            bare = re.sub(r"\bby\s*\([^)]*\)|\{[^}]*\}|\[[^\]]*\]", " ", t["expr"])
            names = set(re.findall(r"(?<![\w:.])([A-Za-z_:][A-Za-z0-9_:]*)", bare))
            unknown = [n for n in names - FUNCTIONS if not KNOWN.match(n)]
            assert not unknown, (p["title"], unknown)
