"""playbooks/monitoring.yml against the live local service (inventories/local: two vLLM CPU stand-in
instances serving the tiny Qwen3 behind their door, deployed by vacc.qwen3.deploy when it does not
answer), with Prometheus and the node exporter of this test (vacc-mon-*, removed afterwards, beside a
demo's). Every wait polls with a deadline.

Checked: every target up; a second run and a check-mode run change nothing; N requests raise the
success counter by exactly N; the fleet page renders in Chromium with non-empty plots and no request
outside itself; every dashboard query is valid PromQL on this Prometheus; a Prometheus of yours gets
rules and targets and no container; stopping one instance makes its target down and
Qwen3InstanceDown fire within its `for` window. Timings go to results/monitoring/timings.json.
"""

import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import local_service
import pytest
import yaml
from conftest import TIMINGS
from monitoring_helpers import (
    DOOR_MONITOR,
    DOOR_PUBLIC,
    ENGINES,
    HERE,
    INVENTORY,
    NODE_PORT,
    PROM_PORT,
    PROM_URL,
    ROOT,
    VOLUME,
    ansible_playbook,
    api,
    chat,
    query,
    remove_containers,
    run,
    value,
    wait_for,
)

PLAYBOOK = ROOT / "playbooks" / "monitoring.yml"
RESULTS = ROOT / "results" / "monitoring"
SCRAPE_S, EVAL_S, DOWN_FOR_S = 2, 2, 10
N_REQUESTS = 6


def settings_file(tmp):
    """This test's Prometheus and node exporter, with short intervals so the waits below take seconds."""
    settings = {
        "monitoring_prometheus_container": "vacc-mon-prometheus",
        "monitoring_prometheus_data_volume": VOLUME,
        "monitoring_listen_port": PROM_PORT,
        "monitoring_config_dir": str(tmp / "prometheus"),
        "monitoring_node_exporter_container": "vacc-mon-node-exporter",
        "monitoring_node_exporter_port": NODE_PORT,
        "monitoring_textfile_dir": str(tmp / "textfile"),
        "monitoring_scrape_interval": "%ds" % SCRAPE_S,
        "monitoring_scrape_timeout": "%ds" % SCRAPE_S,
        "monitoring_evaluation_interval": "%ds" % EVAL_S,
        "monitoring_alert_instance_down_for": "%ds" % DOWN_FOR_S,
        "monitoring_vasmi_interval": 5,
        "monitoring_fleet_page_dir": str(RESULTS),
        "monitoring_fleet_page_window": 5,
    }
    (tmp / "vars.yml").write_text(yaml.safe_dump(settings, sort_keys=False))
    return tmp / "vars.yml"


def door_sees_up(names):
    """Every named engine UP at the door (its statistics on the monitor listener)."""
    rows = urllib.request.urlopen("http://127.0.0.1:%d/haproxy;csv" % DOOR_MONITOR, timeout=5).read().decode()
    up = {r.split(",")[1] for r in rows.splitlines() if r.startswith("instances,") and ",UP," in r}
    return set(names) <= up


@pytest.fixture(scope="module")
def stack(images, tmp_path_factory):
    remove_containers()  # an earlier run that was killed
    tmp = tmp_path_factory.mktemp("monitoring")
    settings = settings_file(tmp)
    inv = INVENTORY
    try:
        local_service.ensure()
        wait_for("both engines UP at the door", lambda: door_sees_up(ENGINES), 300)
        first = ansible_playbook(PLAYBOOK, "-e", "@%s" % settings, inventory=inv)
        assert first.returncode == 0, first.stdout[-6000:]
        TIMINGS["playbook_first_s"] = first.seconds
        yield {"inventory": inv, "vars": settings, "tmp": tmp, "first": first}
    finally:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "timings.json").write_text(json.dumps(TIMINGS, indent=2, sort_keys=True) + "\n")
        remove_containers()


def playbook(stack, *args):
    return ansible_playbook(PLAYBOOK, "-e", "@%s" % stack["vars"], *args, inventory=stack["inventory"])


def active_targets():
    return api("/api/v1/targets", {"state": "active"})["data"]["activeTargets"]


def test_every_target_is_up(stack):
    targets = active_targets()
    by_job = {}
    for t in targets:
        by_job.setdefault(t["labels"]["job"], []).append(t)
    assert {job: len(ts) for job, ts in by_job.items()} == {
        "prometheus": 1,
        "vacc_qwen3_engine": 2,
        "vacc_qwen3_door": 1,
        "vacc_qwen3_node": 1,
    }
    assert all(t["health"] == "up" for t in targets), [(t["scrapeUrl"], t["lastError"]) for t in targets]
    # Engines are reached through the door's monitor listener, never on their own port (nor the public one).
    assert sorted(t["scrapeUrl"] for t in by_job["vacc_qwen3_engine"]) == [
        "http://127.0.0.1:%d/engine/%d/metrics" % (DOOR_MONITOR, i) for i in range(2)
    ]
    assert {t["labels"]["instance_name"] for t in by_job["vacc_qwen3_engine"]} == set(ENGINES)
    assert "Targets: 4 in" in stack["first"].stdout and "up: 5/5" in stack["first"].stdout


def test_vllm_metric_names_the_rules_use_exist(stack):
    """The rules read these names; vLLM 0.32 must really expose them (KV cache: kv_cache_usage_perc)."""
    for name in (
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
        "vllm:time_to_first_token_seconds_bucket",
        "vllm:request_queue_time_seconds_bucket",
        "vllm:request_success_total",
        "haproxy_backend_current_queue",
        "haproxy_backend_queue_time_average_seconds",
        "vacc_vasmi_up",
    ):
        assert query("count(%s)" % name), "%s is not scraped" % name
    reasons = {
        r["metric"]["finished_reason"]
        for r in query('vllm:request_success_total{job="vacc_qwen3_engine", instance_name="vllm_service_0"}')
    }
    assert {"stop", "length"} <= reasons, reasons
    # No vasmi here: the collector says so, with no numbers.
    assert value('vacc_vasmi_up{job="vacc_qwen3_node"}') == 0
    assert query('vacc_vasmi_info{job="vacc_qwen3_node", reason="no vasmi"}')
    assert not query("vacc_vasmi_temperature_celsius")
    rules = api("/api/v1/rules")["data"]["groups"]
    assert {g["name"] for g in rules} == {"vacc_qwen3_recording", "vacc_qwen3_plan", "vacc_qwen3_alerts"}
    assert all(r["health"] == "ok" for g in rules for r in g["rules"]), rules


def test_second_run_and_check_mode_change_nothing(stack):
    again = playbook(stack)
    assert again.returncode == 0, again.stdout[-5000:]
    assert again.recap["localhost"]["changed"] == 0, again.stdout[-5000:]
    TIMINGS["playbook_rerun_s"] = again.seconds
    check = playbook(stack, "--check")
    assert check.returncode == 0, check.stdout[-5000:]
    assert check.recap["localhost"]["changed"] == 0, check.stdout[-5000:]


def prometheus_state():
    """When the container started, and when Prometheus last (re)loaded its configuration. Read from the status
    API, not the scraped prometheus_config_last_reload_success_timestamp_seconds, which lags up to one scrape."""
    started = run(["docker", "inspect", "-f", "{{.State.StartedAt}}", "vacc-mon-prometheus"]).stdout.strip()
    return started, api("/api/v1/status/runtimeinfo")["data"]["lastConfigTime"]


def test_a_changed_rule_is_reloaded_not_restarted(stack):
    started, loaded = prometheus_state()
    changed = playbook(stack, "-e", "monitoring_alert_kv_cache_for=7m")
    assert changed.returncode == 0, changed.stdout[-5000:]
    assert "changed: [localhost]" in changed.stdout.split("Tell our Prometheus to reread its files (SIGHUP)")[1][:300]
    rule = [r for g in api("/api/v1/rules")["data"]["groups"] for r in g["rules"] if r["name"] == "Qwen3KVCacheHigh"]
    assert rule[0]["duration"] == 420
    after_started, after_loaded = prometheus_state()
    assert after_started == started and after_loaded != loaded, (started, loaded, after_loaded)
    back = playbook(stack)
    assert back.returncode == 0 and back.recap["localhost"]["changed"] == 2, back.stdout[-5000:]  # rules, reload
    # Nobody else reloads or stops it over HTTP: the lifecycle API is off.
    for path in ("/-/reload", "/-/quit"):
        req = urllib.request.Request(PROM_URL + path, data=b"", method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(req, timeout=10)
        assert refused.value.code == 403, (path, refused.value.code)
    assert prometheus_state()[0] == started


def test_n_requests_raise_the_success_counter_by_n(stack):
    counter = 'sum(vllm:request_success_total{job="vacc_qwen3_engine", finished_reason=~"stop|length"})'
    door_2xx = 'sum(haproxy_frontend_http_responses_total{job="vacc_qwen3_door", proxy="door", code="2xx"})'
    # A series appears with its first request: an engine just started has none yet (0).
    before, door_before = value(counter) or 0, value(door_2xx) or 0
    t0 = time.monotonic()
    for dummy in range(N_REQUESTS):
        status, body = chat(DOOR_PUBLIC)
        assert status == 200 and body["usage"]["completion_tokens"] > 0
    sent = time.monotonic()
    # The engines and the door are scraped separately: wait until both scrapes saw all N.
    (after, door_after), seen_s = wait_for(
        "success counters + %d" % N_REQUESTS,
        lambda: (
            (value(counter), value(door_2xx))
            if (value(counter) or 0) >= before + N_REQUESTS and (value(door_2xx) or 0) >= door_before + N_REQUESTS
            else None
        ),
        60,
    )
    assert (after, door_after) == (before + N_REQUESTS, door_before + N_REQUESTS)
    TIMINGS["requests_s"] = round(sent - t0, 1)
    TIMINGS["counter_seen_after_s"] = seen_s


def test_fleet_page_renders_in_chromium(stack):
    for need, why in (
        (Path("/usr/bin/chromium"), "Debian's chromium"),
        (HERE / "node_modules" / "playwright-core", "playwright-core"),
    ):
        if not need.exists():
            pytest.fail("%s missing (%s): run tests/monitoring/setup.sh" % (why, need))
    # The TTFT p99 and the request rate need a rate window with requests in it: the previous test's.
    res = playbook(stack, "--tags", "monitoring_check")
    assert res.returncode == 0, res.stdout[-5000:]
    page = RESULTS / "fleet.html"
    html = page.read_text()
    # Self-contained: nothing to fetch (the browser below also records every request the page makes).
    assert not any(tag in html for tag in ("<script", "<link", "<img", " src=", "@import", "url(")), "an external asset"
    shot = RESULTS / "fleet.png"
    t0 = time.monotonic()
    res = run(
        ["node", str(HERE / "fleet_page.mjs")],
        check=False,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "FLEET_PAGE": str(page),
            "FLEET_SCREENSHOT": str(shot),
            "FLEET_PANELS": "targets-up,running,ttft-p99,kv-cache,success-rate",
        },
    )
    TIMINGS["browser_s"] = round(time.monotonic() - t0, 1)
    seen = json.loads(res.stdout.strip().splitlines()[-1])
    assert res.returncode == 0 and seen["ok"], seen
    assert seen["requests"] == [] and seen["targets_summary"] == "5 of 5 targets up"
    assert shot.stat().st_size > 20000
    shutil.copy(RESULTS / "fleet.json", RESULTS / "fleet-healthy.json")  # the API answers, for the unit tests


def test_dashboard_queries_are_valid_promql(stack):
    dashboard = json.loads((ROOT / "roles/monitoring/files/grafana/vacc-qwen3-fleet.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    exprs += [v["query"]["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    with_data = 0
    for expr in exprs:
        concrete = expr.replace("$__rate_interval", "1m").replace("$host", ".*").replace("$instance_name", ".*")
        if concrete.startswith("label_values("):  # Grafana's function: the series selector inside
            concrete = "count by (%s) (%s)" % (concrete.rsplit(",", 1)[1].strip(" )"), concrete[13:].rsplit(",", 1)[0])
        body = api("/api/v1/query", {"query": concrete})
        assert body["status"] == "success", (expr, body)
        with_data += bool(body["data"]["result"])
    assert with_data >= len(exprs) - 5, "most panels should show data here (vasmi's cannot)"


def test_existing_prometheus_gets_rules_and_targets_only(stack, tmp_path):
    """monitoring_prometheus_url: the running Prometheus stands in for one of yours."""

    # Others share this Docker engine: look only at this test's containers and at any Prometheus.
    def ours():
        return sorted(
            run(["docker", "ps", "-aq", "--filter", "name=vacc-mon"]).stdout.split()
            + run(["docker", "ps", "-aq", "--filter", "label=vacc.qwen3.component=prometheus"]).stdout.split()
        )

    containers = ours()
    res = playbook(
        stack,
        "-e",
        "monitoring_prometheus_url=%s" % PROM_URL,
        "-e",
        "monitoring_config_dir=%s" % tmp_path,
        "-e",
        "monitoring_fleet_page_dir=%s" % tmp_path,
        "--skip-tags",
        "monitoring_exporter",
    )
    assert res.returncode == 0, res.stdout[-5000:]
    assert ours() == containers
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "fleet.html",
        "fleet.json",
        "planned_images.json",
        "rules",
        "scrape_configs.yml",
        "targets",
    ]
    snippet = yaml.safe_load((tmp_path / "scrape_configs.yml").read_text())
    assert [j["job_name"] for j in snippet["scrape_configs"]] == [
        "vacc_qwen3_engine",
        "vacc_qwen3_door",
        "vacc_qwen3_gateway",
        "vacc_qwen3_node",
    ]
    assert json.loads((tmp_path / "targets" / "engine.json").read_text()) == json.loads(
        (stack["tmp"] / "prometheus" / "targets" / "engine.json").read_text()
    )


def test_stopped_instance_goes_down_and_its_alert_fires(stack):
    """Last: it stops an engine of the live service. Down within a few scrapes; firing within `for` plus two
    evaluations; then the engine is started again and the door sees it UP before the next suite."""
    run(["docker", "stop", "vllm_service_1"])
    stopped = time.monotonic()
    try:
        stopped_instance_checks(stack, stopped)
    finally:
        run(["docker", "start", "vllm_service_1"])
        wait_for("vllm_service_1 UP at the door again", lambda: door_sees_up(ENGINES), 300)


def stopped_instance_checks(stack, stopped):

    def health(name):
        return {t["labels"].get("instance_name"): t for t in active_targets()}.get(name, {}).get("health")

    dummy, down_s = wait_for("engine 1's target down", lambda: health("vllm_service_1") == "down", 6 * SCRAPE_S + 10)

    def firing():
        alerts = api("/api/v1/alerts")["data"]["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == "Qwen3InstanceDown" and a["state"] == "firing"]

    alerts, dummy = wait_for("Qwen3InstanceDown firing", firing, DOWN_FOR_S + 6 * EVAL_S + 4 * SCRAPE_S + 10)
    fire_s = round(time.monotonic() - stopped, 1)
    assert [a["labels"]["instance"] for a in alerts] == ["localhost/vllm_service_1"]
    assert alerts[0]["labels"]["severity"] == "critical"
    assert health("vllm_service_0") == "up"
    # Down is noticed at the next scrape; the alert fires once it has been down for `for`.
    assert fire_s <= down_s + DOWN_FOR_S + 2 * EVAL_S + 2 * SCRAPE_S + 5, (down_s, fire_s)
    TIMINGS["target_down_after_s"], TIMINGS["alert_firing_after_s"] = down_s, fire_s
    # The fleet page shows it; its screenshot is kept beside the healthy one.
    res = playbook(stack, "--tags", "monitoring_check", "-e", "monitoring_wait_targets_up=false")
    assert res.returncode == 0, res.stdout[-4000:]
    html = (RESULTS / "fleet.html").read_text()
    assert "4 of 5 targets up" in html and "firing: Qwen3InstanceDown" in html
    for suffix in (".html", ".json"):
        shutil.copy(RESULTS / ("fleet" + suffix), RESULTS / ("fleet-instance-down" + suffix))
