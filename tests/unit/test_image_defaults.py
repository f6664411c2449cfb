"""A real fleet pulls published images, pinned by tag; the lab's offline Debian builds are what the lab selects.

The door and the gateway (HAProxy), Prometheus and the node exporter: each role's default outside a lab
(qwen3_lab unset) is a published image with a pinned version and no build; inside the lab (qwen3_lab, set by
inventories/local) the offline builds. The fleet lab, the molecule scenario and the monitoring tests select
the builds explicitly."""

import os
import re
import sys

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import fleet_lab  # noqa: E402

PUBLISHED = {
    ("vllm_service", "vllm_service_lb_image"): r"^haproxy:3\.0\.\d+$",
    ("gateway", "gateway_image"): r"^haproxy:3\.0\.\d+$",
    ("monitoring", "monitoring_prometheus_image"): r"^prom/prometheus:v3\.\d+\.\d+$",
    ("monitoring", "monitoring_node_exporter_image"): r"^prom/node-exporter:v1\.\d+\.\d+$",
    ("monitoring", "monitoring_vasmi_collector_image"): r"^python:3\.\d+-slim-bookworm$",
}
SWITCHES = {
    ("vllm_service", "vllm_service_lb_build"): (False, True),
    ("gateway", "gateway_image_build"): (False, True),
    ("monitoring", "monitoring_image_source"): ("pull", "build"),
}


def defaults(role, **variables):
    with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml"), encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    raw = {k: trust_as_template(v) if isinstance(v, str) else v for k, v in raw.items()}  # as role defaults are
    templar = Templar(loader=DataLoader(), variables=dict(raw, **variables))
    return {k: templar.template(v) for k, v in raw.items()}


@pytest.mark.parametrize("role,name", sorted(PUBLISHED))
def test_a_real_fleet_pulls_a_published_pinned_image(role, name):
    value = defaults(role)[name]
    assert re.match(PUBLISHED[(role, name)], value), "%s defaults to %r outside a lab" % (name, value)
    assert "vacc-qwen3/" not in value and ":latest" not in value


@pytest.mark.parametrize("role,name", sorted(SWITCHES))
def test_the_lab_selects_the_offline_builds(role, name):
    real, lab = SWITCHES[(role, name)]
    assert defaults(role)[name] == real
    assert defaults(role, qwen3_lab=True)[name] == lab
    assert defaults(role, qwen3_lab="true")[name] == lab  # -e qwen3_lab=true arrives as a string


def test_the_lab_images_are_the_offline_builds():
    assert defaults("vllm_service", qwen3_lab=True)["vllm_service_lb_image"] == "vacc-qwen3/haproxy:bookworm"
    assert defaults("gateway", qwen3_lab=True)["gateway_image"] == "vacc-qwen3/haproxy:bookworm"
    mon = defaults("monitoring", qwen3_lab=True)
    assert (
        mon["monitoring_prometheus_image"],
        mon["monitoring_node_exporter_image"],
        mon["monitoring_image_base"],
    ) == ("vacc-qwen3/prometheus:bookworm", "vacc-qwen3/node-exporter:bookworm", "vacc-qwen3/debian-base:bookworm")


def test_the_spec_defaults_say_the_same():
    for role in ("vllm_service", "gateway", "monitoring"):
        with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
            specs = yaml.safe_load(handle)["argument_specs"]
        raw = yaml.safe_load(open(os.path.join(ROOT, "roles", role, "defaults", "main.yml"), encoding="utf-8"))
        for entry in specs.values():
            for name, spec in (entry.get("options") or {}).items():
                if (role, name) in PUBLISHED or (role, name) in SWITCHES:
                    assert str(spec.get("default")) == str(raw[name]), (role, name)


def test_every_lab_selects_the_builds_explicitly():
    local = yaml.safe_load(open(os.path.join(ROOT, "inventories", "local", "group_vars", "all.yml"), encoding="utf-8"))
    assert local["qwen3_lab"] is True
    servers = {k: v for dummy, block in fleet_lab.SERVER_GROUP_VARS for k, v in block.items()}
    assert (
        servers["vllm_service_lb_image"] == "vacc-qwen3/haproxy:bookworm" and servers["vllm_service_lb_build"] is True
    )
    assert servers["monitoring_image_source"] == "build"
    gateway = {
        k: v
        for dummy, block in fleet_lab.gateway_host_vars(type("H", (), {"data_dir": "/d"})(), "10.0.0.1")
        for k, v in block.items()
    }
    assert gateway["gateway_image"] == "vacc-qwen3/haproxy:bookworm" and gateway["gateway_image_build"] is True
    assert gateway["monitoring_image_source"] == "build"
    molecule = yaml.safe_load(open(os.path.join(ROOT, "molecule", "service", "molecule.yml"), encoding="utf-8"))
    group = molecule["provisioner"]["inventory"]["group_vars"]["all"]
    assert group["vllm_service_lb_image"] == "vacc-qwen3/haproxy:bookworm" and group["vllm_service_lb_build"] is True
    mon = yaml.safe_load(open(os.path.join(ROOT, "tests", "monitoring", "inventory-localhost.yml"), encoding="utf-8"))
    assert mon["all"]["hosts"]["localhost"]["qwen3_lab"] is True
