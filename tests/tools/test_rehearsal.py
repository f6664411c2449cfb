"""tools/rehearsal.py's own logic, without Docker: the recap it reads, the image check it applies after each
playbook, and the customer's inventory it writes (nothing in it points into the clone or names a lab image)."""

import importlib.util
import json
import os
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
SPEC = importlib.util.spec_from_file_location("rehearsal", os.path.join(ROOT, "tools", "rehearsal.py"))
rehearsal = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(rehearsal)

REG = "172.18.0.1:40123"


def test_recap_counts_changed_per_host():
    out = (
        "PLAY RECAP *********\n"
        "fleet-1                    : ok=40   changed=3    unreachable=0    failed=0    skipped=9\n"
        "fleet-2                    : ok=38   changed=0    unreachable=0    failed=1    skipped=9\n"
    )
    rows = rehearsal.RECAP.findall(out)
    assert [(r[0], int(r[2]), int(r[4])) for r in rows] == [("fleet-1", 3, 0), ("fleet-2", 0, 1)]


def test_image_check_wants_the_registry_and_refuses_lab_images():
    good = {"container": "fleet1_vllm_0", "image": REG + "/ai_deliver/vllm_vacc:AI3.2_GR_1202", "digest": "x@sha256:1"}
    assert not rehearsal.check_images([good], REG)
    lab = dict(good, image="vacc-qwen3/vllm-cpu-standin:0.32.0")
    assert rehearsal.check_images([lab], REG) == ["fleet1_vllm_0 runs the lab image vacc-qwen3/vllm-cpu-standin:0.32.0"]
    # Named after the registry but never pulled from it (no RepoDigest there): refused too.
    unpulled = dict(good, digest=None)
    assert rehearsal.check_images([unpulled], REG) == [
        "fleet1_vllm_0 runs %s/ai_deliver/vllm_vacc:AI3.2_GR_1202, not an image pulled from %s" % (REG, REG)
    ]
    hub = dict(good, image="haproxy:3.0.8")
    assert "not an image pulled from" in rehearsal.check_images([hub], REG)[0]


def test_the_mirror_holds_the_vendor_paths_and_the_published_names():
    assert rehearsal.MIRRORED["engine"][1] == "ai_deliver/vllm_vacc:AI3.2_GR_1202"
    assert all(not path.startswith("vacc-qwen3/") for _local, path in rehearsal.MIRRORED.values())
    # The playbooks in a customer's order (the issue's), the second deploy right before the teardown.
    names = [name for name, _args in rehearsal.STEPS]
    assert names == [
        "plan", "download", "deploy", "gateway", "smoke", "benchmark", "evaluate", "webui", "monitoring", "status",
        "deploy", "teardown",
    ]  # fmt: skip


def _defaults(role):
    with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_the_mirror_holds_what_the_shipped_defaults_pull_on_a_real_fleet():
    webui, monitoring = _defaults("webui"), _defaults("monitoring")
    # The vendor's Open WebUI path in their Harbor, at the tag the role picks on x86_64 (webui_vendor_tag empty).
    assert webui["webui_image_source"].strip("{} ").endswith("'vendor'") and webui["webui_vendor_tag"] == ""
    vendor_path = webui["webui_vendor_image"].split("/", 1)[1]
    assert rehearsal.MIRRORED["webui"][1] == vendor_path + ":latest"
    # Monitoring pulls the published Prometheus and node exporter by default: the mirror has them by those names.
    assert monitoring["monitoring_image_source"] == "pull"
    assert rehearsal.MIRRORED["prometheus"][1] == monitoring["monitoring_prometheus_image"]
    assert rehearsal.MIRRORED["node_exporter"][1] == monitoring["monitoring_node_exporter_image"]


def test_results_are_looked_for_per_server_in_the_project(tmp_path):
    results = tmp_path / "results"
    (results / "benchmark" / "20261207T180000Z" / "fleet-1").mkdir(parents=True)
    (results / "benchmark" / "20261207T180000Z" / "fleet-1" / "c1.json").write_text("{}")
    (results / "report").mkdir()
    (results / "report" / "report.md").write_text("x")
    found, missing = rehearsal.check_results(results, "benchmark", ["fleet-1", "fleet-2"])
    assert found["benchmark/*/fleet-1/*.json"] == 1 and missing == ["no results/benchmark/*/fleet-2/*.json"]
    (results / "accuracy" / "20261207T180100Z-fleet-1").mkdir(parents=True)
    (results / "accuracy" / "20261207T180100Z-fleet-1" / "summary.json").write_text("{}")
    assert rehearsal.check_results(results, "evaluate", ["fleet-1"]) == (
        {"accuracy/*-fleet-1/summary.json": 1},
        [],
    )
    assert rehearsal.check_results(results, "monitoring", ["fleet-1"])[1] == ["no results/monitoring/fleet.html"]
    assert rehearsal.check_results(results, "webui", ["fleet-1"]) == ({}, [])


def test_the_customer_inventory_has_nothing_of_the_lab_or_the_clone(tmp_path):
    hosts = rehearsal.fleet_lab.fleet_hosts(2)
    project = tmp_path / "project"
    vault = rehearsal.write_inventory(
        project, hosts, {h.name: "172.18.0.%d" % (h.index + 2) for h in hosts}, "172.18.0.1", REG, "pw-x", "CA"
    )
    texts = {str(p.relative_to(project)): p.read_text() for p in project.rglob("*") if p.is_file()}
    assert sorted(texts) == [
        "inventory/group_vars/all/customer.json",
        "inventory/group_vars/all/registry.yml",
        "inventory/group_vars/all/this_machine.json",
        "inventory/host_vars/fleet-1.json",
        "inventory/host_vars/fleet-2.json",
        "inventory/host_vars/fleet-gw.json",
        "inventory/hosts.yml",
    ]
    for name, text in texts.items():
        assert ROOT not in text and "qwen3_lab" not in text and "vacc-qwen3/" not in text, name
        assert "model_download_source" not in text or name.endswith("customer.json"), name
    # Only the credentials' file holds the password (it is encrypted next), readable by its owner alone.
    assert [name for name, text in texts.items() if "pw-x" in text] == [str(vault.relative_to(project))]
    assert vault.stat().st_mode & 0o777 == 0o600
    customer = json.loads(texts["inventory/group_vars/all/customer.json"])
    assert customer["qwen3_service_image"] == REG + "/ai_deliver/vllm_vacc:AI3.2_GR_1202"
    assert customer["vllm_service_lb_image"] == customer["gateway_image"] == REG + "/library/haproxy:3.0.8"
    assert customer["webui_vendor_image"] == REG + "/ai_deliver/vast-webui"
    assert customer["monitoring_prometheus_image"] == REG + "/prom/prometheus:v3.5.0"
    assert customer["monitoring_node_exporter_image"] == REG + "/prom/node-exporter:v1.8.2"
    # Offline EvalScope datasets from the project itself; no preset or image source of the lab's.
    assert customer["accuracy_dataset_dir"] == str(project / "datasets") and customer["accuracy_offline"] is True
    assert not [
        k for t in texts.values() for k in ("accuracy_preset", "_image_source", "_image_build", '_lb_build"') if k in t
    ]
    # Per-host names and ports (one shared engine) but no lab image choice in the host_vars.
    gw = json.loads(texts["inventory/host_vars/fleet-gw.json"])
    assert gw["gateway_port"] == 18100 and not [k for k in gw if "image" in k]


def test_what_a_host_mounts_into_its_containers_is_in_its_data_directory(tmp_path):
    """The engine resolves bind mounts on this machine: a host's files it mounts must be in the host's data
    directory (the same path inside and outside). Open WebUI's secrets under /etc/vacc-qwen3/webui/ reached the UI
    as empty directories, and it never answered (the rehearsal's webui step)."""
    hosts = rehearsal.fleet_lab.fleet_hosts(1)
    server = [h for h in hosts if h.role == "server"][0]
    variables = {}
    for _comment, block in rehearsal.fleet_lab.server_host_vars(server, "172.18.0.1"):
        variables.update(block)
    for name in ("webui_secrets_dir", "qwen3_service_config_dir", "monitoring_textfile_dir"):
        assert variables[name].startswith(str(server.data_dir) + "/"), name
