"""A real fleet pulls published images, pinned by tag; the lab's offline Debian builds are what the lab selects.

The door and the gateway (HAProxy), Prometheus and the node exporter: each shipped role's default is a
published image with a pinned version and no build, whatever else the inventory says (no lab switch in the
defaults). Every image a shipped role defaults to is a registry reference with a tag or digest, and none is
one of the lab's vacc-qwen3/* images, which exist only where the clone's lab made them. The labs
(inventories/local, the fleet lab, the molecule scenario, the monitoring tests' inventory) name their
offline builds themselves."""

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
    ("vllm_service", "vllm_service_lb_build"): False,
    ("gateway", "gateway_image_build"): False,
    ("monitoring", "monitoring_image_source"): "pull",
}
# Image variables whose default is not a whole reference: the tag is a variable of its own (the vendor's
# guide tags, upstream's pinned release), or the name is the one the role's own build gives its result.
NOT_A_REFERENCE = {
    "webui_vendor_image": "webui_vendor_tag",
    "webui_upstream_image": "webui_upstream_tag",
    "webui_build_image": "webui_build_version",
}
IMAGE_VAR = re.compile(r"(_image|_image_base|_base_image|_build_base)$")
# registry/path:tag or registry/path@sha256:<64 hex>, tag not latest (Docker's reference grammar, simplified).
REFERENCE = re.compile(
    r"^(?:[a-z0-9.-]+(?::\d+)?/)?[a-z0-9]+(?:[._/-][a-z0-9]+)*(?::(?!latest$)[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})$"
)
LAB_IMAGE = re.compile(r"(?<![\w/.-])vacc-qwen3/[a-z0-9._-]+")


def shipped_roles():
    return sorted(r for r in os.listdir(os.path.join(ROOT, "roles")) if not r.startswith(("lab_", ".")))


def raw_defaults(role):
    path = os.path.join(ROOT, "roles", role, "defaults", "main.yml")
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def spec_defaults(role):
    """(entry point, name, default) of every option the role's argument spec declares."""
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        specs = yaml.safe_load(handle)["argument_specs"] or {}
    for entry, body in specs.items():
        for name, spec in ((body or {}).get("options") or {}).items():
            yield entry, name, spec.get("default")


def defaults(role, **variables):
    raw = raw_defaults(role)
    raw = {k: trust_as_template(v) if isinstance(v, str) else v for k, v in raw.items()}  # as role defaults are
    templar = Templar(loader=DataLoader(), variables=dict(raw, **variables))
    return {k: templar.template(v) for k, v in raw.items()}


@pytest.mark.parametrize("role,name", sorted(PUBLISHED))
def test_a_real_fleet_pulls_a_published_pinned_image(role, name):
    value = defaults(role)[name]
    assert re.match(PUBLISHED[(role, name)], value), "%s defaults to %r" % (name, value)
    # A lab switch does not bring the lab's images back: the default is the same everywhere.
    assert defaults(role, qwen3_lab=True)[name] == value


@pytest.mark.parametrize("role,name", sorted(SWITCHES))
def test_nothing_is_built_by_default(role, name):
    assert defaults(role)[name] == SWITCHES[(role, name)]
    assert defaults(role, qwen3_lab=True)[name] == SWITCHES[(role, name)]


@pytest.mark.parametrize("role", shipped_roles())
def test_every_image_default_is_a_pinned_registry_reference(role):
    found = {}
    for name, value in raw_defaults(role).items():
        found[name] = value
    for dummy, name, value in spec_defaults(role):
        found.setdefault(name, value)
    wrong = {}
    for name, value in sorted(found.items()):
        if not IMAGE_VAR.search(name) or value is None or name in NOT_A_REFERENCE:
            continue
        if not isinstance(value, str) or "{{" in value or not REFERENCE.match(value) or LAB_IMAGE.search(value):
            wrong[name] = value
    assert not wrong, "image defaults that are not a published reference with a pinned tag or digest: %s" % wrong


def test_the_reference_check_can_fail():
    for bad in ("vacc-qwen3/haproxy", "haproxy", "haproxy:latest", "prom/prometheus@sha256:abc", "{{ x }}"):
        assert not REFERENCE.match(bad) or LAB_IMAGE.search(bad), bad
    assert LAB_IMAGE.search("vacc-qwen3/haproxy:bookworm") and not LAB_IMAGE.search("/etc/vacc-qwen3/gateway")
    for good in ("haproxy:3.0.8", "harbor.vastaitech.com/ai_deliver/vllm_vacc:AI3.2_GR_1202", "x/y@sha256:" + "0" * 64):
        assert REFERENCE.match(good), good


@pytest.mark.parametrize("role", shipped_roles())
def test_no_shipped_default_names_a_lab_image(role):
    """Only the name the webui build gives its own result may carry the vacc-qwen3/ prefix."""
    texts = {n: v for n, v in raw_defaults(role).items() if n not in NOT_A_REFERENCE}
    texts.update({"%s:%s" % (e, n): v for e, n, v in spec_defaults(role) if n not in NOT_A_REFERENCE})
    wrong = {n: v for n, v in texts.items() if LAB_IMAGE.search(yaml.safe_dump(v))}
    assert not wrong, wrong


def test_the_spec_defaults_say_the_same():
    for role in ("vllm_service", "gateway", "monitoring", "webui"):
        raw = raw_defaults(role)
        for dummy, name, value in spec_defaults(role):
            if (
                (role, name) in PUBLISHED
                or (role, name) in SWITCHES
                or name in ("monitoring_image_base", "webui_build_base")
            ):
                assert str(value) == str(raw[name]), (role, name)


LAB_SELECTION = {
    "vllm_service_lb_image": "vacc-qwen3/haproxy:bookworm",
    "vllm_service_lb_build": True,
    "monitoring_image_source": "build",
    "monitoring_prometheus_image": "vacc-qwen3/prometheus:bookworm",
    "monitoring_node_exporter_image": "vacc-qwen3/node-exporter:bookworm",
    "monitoring_image_base": "vacc-qwen3/debian-base:bookworm",
}


def test_every_lab_selects_the_builds_explicitly():
    local = yaml.safe_load(open(os.path.join(ROOT, "inventories", "local", "group_vars", "all.yml"), encoding="utf-8"))
    assert {k: local.get(k) for k in LAB_SELECTION} == LAB_SELECTION
    assert local["gateway_image"] == "vacc-qwen3/haproxy:bookworm" and local["gateway_image_build"] is True
    assert local["webui_build_base"] == "vacc-qwen3/debian-base:bookworm"
    servers = {k: v for dummy, block in fleet_lab.SERVER_GROUP_VARS for k, v in block.items()}
    assert {k: servers.get(k) for k in LAB_SELECTION} == LAB_SELECTION
    assert servers["webui_build_base"] == "vacc-qwen3/debian-base:bookworm"
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
    host = mon["all"]["hosts"]["localhost"]
    assert {k: host.get(k) for k in LAB_SELECTION if k.startswith("monitoring_")} == {
        k: v for k, v in LAB_SELECTION.items() if k.startswith("monitoring_")
    }
