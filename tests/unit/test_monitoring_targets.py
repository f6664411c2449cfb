"""Scrape targets from the inventory (plugins/plugin_utils/_monitoring_targets.py, filter
vacc.qwen3.monitoring_targets): engines through their door's monitor listener, doors, gateways and node
exporters, with the labels the rules and the dashboard select on; loopback listeners refused where
Prometheus cannot reach them; a --limit run keeps the other hosts' targets."""

import base64
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vacc.qwen3.plugins.filter import monitoring as filters
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _monitoring_targets as mt


def service(host, instances=2, bind="127.0.0.1", port=9000, name="vllm_service", image="img:1"):
    return {
        "name": name,
        "host": host,
        "image": image,
        "instances": [{"name": "%s_%d" % (name, i), "index": i, "port": 8000 + i} for i in range(instances)],
        "door": {"name": name + "_lb", "port": 8000, "address": host, "monitor": {"bind": bind, "port": port}},
    }


def local_lab():
    return {
        "localhost": {
            "ansible_connection": "local",
            "qwen3_service": service("localhost"),
            "monitoring_node_exporter_target": {"address": "127.0.0.1", "port": 9100},
        }
    }


def test_the_local_lab():
    out = mt.fleet_targets(local_lab(), ["localhost"], prometheus_host="localhost")
    assert out["counts"] == {"engine": 2, "door": 1, "gateway": 0, "node": 1}
    assert out["files"]["engine"] == [
        {
            "targets": ["127.0.0.1:9000"],
            "labels": {
                "__metrics_path__": "/engine/%d/metrics" % i,
                "host": "localhost",
                "service": "vllm_service",
                "instance": "localhost/vllm_service_%d" % i,
                "instance_name": "vllm_service_%d" % i,
                "instance_index": str(i),
            },
        }
        for i in range(2)
    ]
    assert out["files"]["door"] == [
        {
            "targets": ["127.0.0.1:9000"],
            "labels": {
                "__metrics_path__": "/metrics",
                "host": "localhost",
                "service": "vllm_service",
                "instance": "localhost/vllm_service_lb",
                "door": "vllm_service_lb",
            },
        }
    ]
    assert out["files"]["node"] == [
        {"targets": ["127.0.0.1:9100"], "labels": {"host": "localhost", "instance": "localhost"}}
    ]
    assert out["planned_images"] == [{"host": "localhost", "service": "vllm_service", "image": "img:1"}]
    assert out["covered"] == ["localhost"] and out["kept"] == [] and out["removed"] == []


def fleet():
    hv = {"mon": {"ansible_host": "10.0.0.1"}}
    for i in (1, 2):
        h = "srv%d" % i
        hv[h] = {
            "ansible_host": "10.0.0.1%d" % i,
            "qwen3_service": service(h, bind="10.1.0.1%d" % i),
            "monitoring_node_exporter_target": {"address": "0.0.0.0", "port": 9100},
        }
    return hv


def test_a_fleet_is_scraped_on_internal_addresses():
    out = mt.fleet_targets(fleet(), ["mon", "srv1", "srv2"], prometheus_host="mon")
    assert [g["targets"] for g in out["files"]["door"]] == [["10.1.0.11:9000"], ["10.1.0.12:9000"]]
    # A wildcard listener is reached at the host's address.
    assert [g["targets"] for g in out["files"]["node"]] == [["10.0.0.11:9100"], ["10.0.0.12:9100"]]
    assert out["covered"] == ["srv1", "srv2"]  # mon has no service and no exporter in this run


def test_a_loopback_listener_on_another_machine_is_refused():
    hv = fleet()
    hv["srv2"]["qwen3_service"] = service("srv2", bind="127.0.0.1")
    with pytest.raises(mt.MonitoringTargetsError) as err:
        mt.fleet_targets(hv, ["srv1", "srv2"], prometheus_host="mon")
    assert str(err.value) == (
        "The door's monitor listener of srv2 listens on 127.0.0.1 only, which Prometheus on mon cannot reach: "
        "bind it to an address of srv2 that mon reaches (an internal interface), or run Prometheus on srv2."
    )
    # The filter says the same sentence as an AnsibleFilterError.
    with pytest.raises(AnsibleFilterError, match="^The door's monitor listener of srv2"):
        filters.monitoring_targets(hv, ["srv1", "srv2"], prometheus_host="mon")


@pytest.mark.parametrize(
    "prom_vars, server_vars, same",
    [
        ({"ansible_connection": "local"}, {"ansible_host": "127.0.0.1"}, True),
        ({"ansible_host": "localhost"}, {"ansible_connection": "local"}, True),
        ({"ansible_host": "10.0.0.1"}, {"ansible_host": "10.0.0.1"}, True),
        ({"ansible_host": "10.0.0.1"}, {"ansible_host": "10.0.0.2"}, False),
        ({}, {}, False),
    ],
)
def test_same_machine(prom_vars, server_vars, same):
    assert mt.same_machine("a", server_vars, "b", prom_vars) is same


def test_wildcard_on_the_prometheus_machine_is_loopback_and_ipv6_is_bracketed():
    hv = {"srv": {"ansible_connection": "local", "qwen3_service": service("srv", bind="0.0.0.0")}}
    out = mt.fleet_targets(hv, ["srv"], prometheus_host="srv")
    assert out["files"]["door"][0]["targets"] == ["127.0.0.1:9000"]
    hv = {"srv": {"ansible_host": "fd00::5", "qwen3_service": service("srv", bind="::")}, "mon": {}}
    out = mt.fleet_targets(hv, ["srv"], prometheus_host="mon")
    assert out["files"]["door"][0]["targets"] == ["[fd00::5]:9000"]


def test_a_limited_run_keeps_the_other_hosts_and_drops_removed_ones():
    before = mt.fleet_targets(fleet(), ["srv1", "srv2"], prometheus_host="mon")
    existing = dict(before["files"], planned_images=before["planned_images"])
    existing["engine"].append({"targets": ["10.9.9.9:9000"], "labels": {"host": "gone", "instance": "gone/x"}})
    hv = fleet()
    del hv["srv2"]["qwen3_service"], hv["srv2"]["monitoring_node_exporter_target"]  # not in this run (--limit srv1)
    hv["srv1"]["qwen3_service"] = service("srv1", bind="10.1.0.11", instances=1, image="img:2")
    after = mt.fleet_targets(hv, ["srv1", "srv2"], prometheus_host="mon", existing=existing)
    assert after["covered"] == ["srv1"] and after["kept"] == ["srv2"] and after["removed"] == ["gone"]
    assert [g["labels"]["instance"] for g in after["files"]["engine"]] == [
        "srv1/vllm_service_0",
        "srv2/vllm_service_0",
        "srv2/vllm_service_1",
    ]
    assert after["planned_images"] == [
        {"host": "srv1", "service": "vllm_service", "image": "img:2"},
        {"host": "srv2", "service": "vllm_service", "image": "img:1"},
    ]
    # The same facts again give the same bytes (a rerun writes nothing).
    again = mt.fleet_targets(
        hv,
        ["srv2", "srv1"],
        prometheus_host="mon",
        existing=dict(after["files"], planned_images=after["planned_images"]),
    )
    assert json.dumps(again["files"]) == json.dumps(after["files"])


def test_existing_files_from_slurp():
    groups = [{"targets": ["10.0.0.1:9000"], "labels": {"host": "srv9"}}]
    results = [
        {"item": "targets/engine.json", "content": base64.b64encode(json.dumps(groups).encode()).decode()},
        {"item": "targets/door.json", "failed": True, "msg": "file not found"},
        {"item": "targets/node.json", "content": base64.b64encode(b"{broken").decode()},
    ]
    assert mt.existing_entries(results) == {"engine": groups}
    out = mt.fleet_targets({}, ["srv9"], prometheus_host="mon", existing=results)
    assert out["files"]["engine"] == groups and out["kept"] == ["srv9"]


def test_gateways():
    hv = {
        "gw1": {"ansible_host": "10.0.0.50", "gateway_monitor_bind": "10.1.0.50", "gateway_monitor_port": 9001},
        "gw2": {"ansible_host": "10.0.0.51", "gateway_monitor_bind": "0.0.0.0"},
        "mon": {},
    }
    out = mt.fleet_targets(hv, [], gateways=["gw1", "gw2"], prometheus_host="mon", gateway_port=9101)
    assert out["files"]["gateway"] == [
        {
            "targets": ["10.1.0.50:9001"],
            "labels": {"host": "gw1", "instance": "gw1/gateway", "__metrics_path__": "/metrics"},
        },
        {
            "targets": ["10.0.0.51:9101"],
            "labels": {"host": "gw2", "instance": "gw2/gateway", "__metrics_path__": "/metrics"},
        },
    ]
    with pytest.raises(mt.MonitoringTargetsError, match="^gateway host gw2 has no gateway_monitor_port"):
        mt.fleet_targets(hv, [], gateways=["gw2"], prometheus_host="mon")


@pytest.mark.parametrize(
    "broken, message",
    [
        (lambda s: s.pop("door"), "qwen3_service of srv has no door: rerun the service role"),
        (lambda s: s["door"].pop("monitor"), "qwen3_service of srv has no door.monitor:"),
        (
            lambda s: s["door"]["monitor"].update(port="http"),
            "the door's monitor port of srv must be a TCP port (1-65535), not 'http'.",
        ),
        (lambda s: s.update(instances=[]), "qwen3_service of srv lists no instances: rerun the service role on it."),
        (lambda s: s["instances"][1].pop("name"), "instance 1 of qwen3_service on srv has no name."),
    ],
)
def test_an_incomplete_service_is_one_sentence(broken, message):
    svc = service("srv")
    broken(svc)
    with pytest.raises(mt.MonitoringTargetsError) as err:
        mt.fleet_targets({"srv": {"ansible_connection": "local", "qwen3_service": svc}}, ["srv"], prometheus_host="srv")
    assert message in str(err.value)


def test_targets_health_names_each_target_not_up():
    active = [
        {"labels": {"instance": "h1:9000", "job": "vacc_qwen3_door"}, "health": "up", "lastError": ""},
        {"labels": {"instance": "h2:9100"}, "health": "down", "lastError": "connection refused"},
        {"labels": {"instance": "h3:9100"}, "health": "unknown", "lastError": ""},
    ]
    assert filters.prometheus_targets_health(active) == {
        "total": 3,
        "up": 1,
        "down": ["h2:9100 (connection refused)", "h3:9100 ()"],
    }
    assert filters.prometheus_targets_health(active[:1]) == {"total": 1, "up": 1, "down": []}
    assert filters.prometheus_targets_health([]) == {"total": 0, "up": 0, "down": []}
    # no answer to read (the wait skipped): nothing to report, not "0 of 0"
    assert filters.prometheus_targets_health(None) is None
