"""Testinfra checks of molecule/default: the plan each host got, and what preflight relied on."""

import json

import pytest

# The guide's limits: TP4 allows up to 128k (131072); unset, the native 40960 is served (no YaRN).
# One VA16 gives dies 0-3, two VA10L 0-7.
EXPECTED = {
    "va16-a": {
        "model": "Qwen3-8B-AWQ",
        "tp": 4,
        "instances": 1,
        "die_slices": ["0,1,2,3"],
        "max_model_len": 40960,
        "max_model_len_ceiling": 131072,
        "rope_scaling": None,
    },
    "va10l-b": {
        "model": "Qwen3-30B-A3B-FP8",
        "tp": 4,
        "instances": 2,
        "die_slices": ["0,1,2,3", "4,5,6,7"],
        "max_model_len": 40960,
        "max_model_len_ceiling": 131072,
        "rope_scaling": None,
    },
}

PING = (
    "import socket; s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect('/var/run/docker.sock'); "
    "s.sendall(b'GET /_ping HTTP/1.0\\r\\nHost: docker\\r\\n\\r\\n'); print(s.recv(4096).decode())"
)


@pytest.fixture
def name(host):
    return host.ansible.get_variables()["inventory_hostname"]


@pytest.fixture
def plan(host):
    f = host.file("/etc/vacc-qwen3/plan.json")
    assert f.is_file
    assert f.mode == 0o600
    return json.loads(f.content_string)


def test_plan_matches_host(name, plan):
    want = EXPECTED[name]
    assert {k: plan[k] for k in want} == want
    assert plan["dies_used"] == plan["tp"] * plan["instances"]
    assert plan["weights_disk_gb"] > 0
    assert plan["service"]["door"]["name"] == "vllm_service_lb"


def test_plan_docker_run_per_instance(name, plan):
    runs = plan["docker_runs"]
    assert len(runs) == EXPECTED[name]["instances"]
    for run, slice_ in zip(runs, EXPECTED[name]["die_slices"]):
        assert "VACC_VISIBLE_DEVICES=" + slice_ in run
        assert "--max-model-len 40960" in run and "--max-num-seqs 4" in run and "--api-key" not in run


def test_python3_present(host):
    assert host.exists("python3")
    assert host.run("python3 --version").rc == 0


def test_docker_socket_reachable(host):
    assert host.file("/var/run/docker.sock").is_socket
    out = host.check_output("python3 -c %s", PING)
    assert out.startswith("HTTP/1.") and " 200 " in out.splitlines()[0]
    assert out.rstrip().endswith("OK")
