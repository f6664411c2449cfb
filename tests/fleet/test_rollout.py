"""The fleet as one service, on the fleet lab (3 servers over real SSH, a gateway): what clients of the
gateway see while vacc.qwen3.deploy rolls a change out server by server, and what happens when it
cannot. Streamed chat completions run through the gateway during every rollout and none may fail or
be cut short.

- A change of every server's args, with one server's checkpoint corrupted: zero failed or truncated
  requests, every server ends on the new args, the corrupted shard re-fetched from a good peer.
- An engine image whose vllm exits at start: the first server fails its gate, is rolled back and
  serves again on the old image; the other servers are not touched; the gateway keeps answering.
- A server made unreachable mid-rollout: the rollout stops there; status says which server and why;
  the rest keeps serving.
- A canary server whose benchmark misses the SLO is rolled back before any other server is touched.

ROLLOUT_SERVERS (default 3) sizes the fleet and ROLLOUT_PACE_S (default 1) the clients' pause: make test
runs all but the canary on 2 servers with a 3 s pause (its `test-fleet` stage); make test-rollout runs all
of them on 3.
"""

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from fleet_helpers import INVENTORY, fleet_as_it_was
from stub_engine import build_stub_engine

ROOT = Path(__file__).resolve().parents[2]
SERVERS = tuple("fleet-%d" % i for i in range(1, 1 + max(2, int(os.environ.get("ROLLOUT_SERVERS", "3")))))
MODEL = "qwen3-tiny"
BROKEN_IMAGE = "vacc-qwen3/broken-engine:test"
PACE_S = float(os.environ.get("ROLLOUT_PACE_S", "1.0"))  # a client's think time between requests
TIMINGS = {}


def run(cmd, check=True, timeout=1800, **kw):
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False, **kw)
    if check and res.returncode:
        raise AssertionError(
            "%s failed (rc %d):\n%s\n%s"
            % (" ".join(map(str, cmd)), res.returncode, res.stdout[-6000:], res.stderr[-2000:])
        )
    return res


def playbook(name, *args, check=True):
    exe = str(Path(sys.executable).with_name("ansible-playbook"))
    t0 = time.monotonic()
    res = run([exe, "-i", str(INVENTORY), str(ROOT / "playbooks" / name), *args], check=check)
    res.seconds = round(time.monotonic() - t0, 1)
    return res


def hostvars():
    exe = str(Path(sys.executable).with_name("ansible-inventory"))
    return json.loads(run([exe, "-i", str(INVENTORY), "--list"]).stdout)["_meta"]["hostvars"]


def containers(label):
    out = run(["docker", "ps", "-q", "--filter", "label=" + label]).stdout.split()
    return json.loads(run(["docker", "inspect", *out]).stdout) if out else []


def instance_of(server):
    [c] = [
        c
        for c in containers("vacc.qwen3.host=" + server)
        if c["Config"]["Labels"].get("vacc.qwen3.component") == "instance"
    ]
    return c


class Clients(object):
    """Streamed chat completions through the gateway on a few threads until stopped, each client pausing
    PACE_S between requests: an engine of the CPU stand-in serving without pause takes about 1.5 of this
    machine's 2 cores (its worker and engine core poll busily), which would starve the engines a rollout
    starts. Every pause is a client's think time, not a wait for anything."""

    def __init__(self, url, key, threads=1):  # one stream: this machine's 2 cores also start the new engines
        self.url, self.key, self.stop = url, key, threading.Event()
        self.ok, self.failed = 0, []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.loop, daemon=True) for dummy in range(threads)]

    def one(self):
        body = json.dumps(
            {
                "model": MODEL,
                "stream": True,
                "max_tokens": 12,
                "messages": [{"role": "user", "content": "Count to ten."}],
                "chat_template_kwargs": {"enable_thinking": False},
            }
        ).encode()
        req = urllib.request.Request(
            self.url + "/v1/chat/completions",
            data=body,
            method="POST",
            headers={"Authorization": "Bearer " + self.key, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=300) as resp:
            chunks, done = 0, False
            for raw in resp:
                line = raw.decode().strip()
                if line == "data: [DONE]":
                    done = True
                elif line.startswith("data: "):
                    json.loads(line[6:])
                    chunks += 1
            if not done or chunks == 0:
                raise AssertionError("cut short after %d chunks" % chunks)

    def loop(self):
        while not self.stop.is_set():
            try:
                self.one()
                with self.lock:
                    self.ok += 1
            except (urllib.error.URLError, OSError, ValueError, AssertionError) as exc:
                with self.lock:
                    self.failed.append("%s: %s" % (time.strftime("%H:%M:%S"), exc))
            self.stop.wait(PACE_S)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=300)


@pytest.fixture(scope="module")
def fleet():
    """len(SERVERS) servers and a gateway; afterwards no fleet, or a fresh one of the size that was up."""
    with fleet_as_it_was(len(SERVERS), "", fresh=True):
        t0 = time.monotonic()
        # Nothing runs yet: every server at once (the rolling order matters only when something serves).
        playbook("deploy.yml", "-e", "qwen3_deploy_serial=100%")
        playbook("gateway.yml")
        TIMINGS["bring_up_s"] = round(time.monotonic() - t0, 1)
        hv = hostvars()
        gw = hv["fleet-gw"]
        url = "http://%s:%s" % (gw["gateway_bind_address"], gw["gateway_port"])
        key = (INVENTORY / ".secrets" / "api_key").read_text().strip()
        yield {"url": url, "key": key, "hostvars": hv}
        results = ROOT / "results" / "fleet"
        results.mkdir(parents=True, exist_ok=True)
        TIMINGS["servers"] = len(SERVERS)
        (results / ("timings-%d-servers.json" % len(SERVERS))).write_text(
            json.dumps(TIMINGS, indent=2, sort_keys=True) + "\n"
        )


def models(fleet, full=False):
    req = urllib.request.Request(fleet["url"] + "/v1/models", headers={"Authorization": "Bearer " + fleet["key"]})
    with urllib.request.urlopen(req, timeout=10) as resp:
        data = json.load(resp)["data"]
    return data if full else [m["id"] for m in data]


def test_the_gateway_is_one_endpoint_with_the_key(fleet):
    assert models(fleet) == [MODEL]
    # vLLM's own field, so clients can size prompts: the smallest of the servers' max-model-len.
    [entry] = models(fleet, full=True)
    assert isinstance(entry["max_model_len"], int) and entry["max_model_len"] >= 4096, entry
    for path, key, status in (
        ("/v1/models", None, 401),
        ("/v1/models", "wrong", 401),
        ("/metrics", fleet["key"], 404),
        ("/invocations", fleet["key"], 404),
    ):
        req = urllib.request.Request(fleet["url"] + path, headers={"Authorization": "Bearer " + key} if key else {})
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(req, timeout=10)
        assert info.value.code == status, path
    body = json.dumps({"model": "no-such-model", "messages": [{"role": "user", "content": "hi"}]}).encode()
    req = urllib.request.Request(
        fleet["url"] + "/v1/chat/completions",
        data=body,
        headers={"Authorization": "Bearer " + fleet["key"], "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=10)
    assert info.value.code == 404 and b"not served by this fleet" in info.value.read()


def test_rolling_change_under_load_with_a_corrupted_checkpoint(fleet):
    weights = Path("/var/lib/vacc-qwen3-fleet/fleet-2/weights/qwen3-tiny")
    shard = sorted(weights.glob("*.safetensors"))[-1]
    with open(shard, "r+b") as handle:
        handle.truncate(shard.stat().st_size - 4096)
    args = json.dumps({"qwen3_service_extra_args": ["--dtype", "bfloat16", "--seed", "7"]})
    with Clients(fleet["url"], fleet["key"]) as clients:
        res = playbook("deploy.yml", "-e", args, "-e", "model_download_strategy=once")
    TIMINGS["rolling_upgrade_s"] = res.seconds
    assert clients.failed == [] and clients.ok > 0, clients.failed[:5]
    for server in SERVERS:
        cmd = instance_of(server)["Config"]["Cmd"]
        assert cmd[cmd.index("--seed") + 1] == "7", server
    # Server by server: each was taken out of the gateway, replaced and taken back before the next.
    order = [line for line in res.stdout.splitlines() if line.startswith("TASK [Take the server")]
    assert len(order) == 2 * len(SERVERS)
    # The corrupted shard came back whole from the seed (fleet-1): verified on fleet-2, the seed's fingerprint.
    fingerprints = {}
    for server in ("fleet-1", "fleet-2"):
        out = run(
            [
                str(Path(sys.executable).with_name("ansible")),
                "-i",
                str(INVENTORY),
                server,
                "-m",
                "vacc.qwen3.model_verify",
                "-a",
                "path=/var/lib/vacc-qwen3-fleet/%s/weights/qwen3-tiny" % server,
                "-o",
            ]
        ).stdout
        fingerprints[server] = json.loads(out.split("=>", 1)[1])["fingerprint"]
    assert fingerprints["fleet-1"] == fingerprints["fleet-2"]
    TIMINGS["requests_during_upgrade"] = clients.ok


def test_a_broken_image_is_rolled_back_on_the_first_server_only(fleet):
    build_stub_engine(BROKEN_IMAGE, "echo this engine does not start >&2", "exit 1")
    before = {s: instance_of(s)["Id"] for s in SERVERS}
    old_image = instance_of("fleet-1")["Config"]["Image"]
    # Asked first, the image that cannot run `vllm --version` is refused before any server is drained or changed.
    probed = playbook("deploy.yml", "-e", "qwen3_service_image=" + BROKEN_IMAGE, check=False)
    assert probed.returncode != 0
    assert "did not answer `vllm --version` and `vllm serve --help`" in " ".join(probed.stdout.split()), probed.stdout[
        -4000:
    ]
    assert {s: instance_of(s)["Id"] for s in SERVERS} == before, "a refused image changed a server"
    # Unprobed (an engine that breaks only when it starts: memory, the card), the health gate and the rollback catch it.
    with Clients(fleet["url"], fleet["key"]) as clients:
        res = playbook(
            "deploy.yml",
            "-e",
            "qwen3_service_image=" + BROKEN_IMAGE,
            "-e",
            "vllm_service_wait_timeout=300",
            "-e",
            "vllm_service_probe=false",
            check=False,
        )
    TIMINGS["rollback_s"] = res.seconds
    assert res.returncode != 0
    flat = " ".join(res.stdout.split())
    assert "fleet-1 did not take the new spec and was rolled back to what ran before" in flat, res.stdout[-6000:]
    # The engine exits at once: the gate says so without waiting for its timeout (vacc.qwen3.haproxy_server).
    assert re.search(r"exited( with exit code 1)? and was restarted", flat), res.stdout[-6000:]
    assert clients.failed == [] and clients.ok > 0, clients.failed[:5]
    assert instance_of("fleet-1")["Config"]["Image"] == old_image
    assert {s: instance_of(s)["Id"] for s in SERVERS[1:]} == {s: before[s] for s in SERVERS[1:]}, "others touched"
    assert models(fleet) == [MODEL]


def test_an_unreachable_server_stops_the_rollout_and_status_says_so(fleet, tmp_path):
    """fleet-2 paused (its sshd, like all of the test host, stops answering; its engines, siblings on this
    machine's Docker engine, keep serving as a server's would whose management network failed)."""
    before = {s: instance_of(s)["Id"] for s in SERVERS}
    run(["docker", "pause", "vacc-fleet-2"])
    try:
        args = json.dumps({"qwen3_service_extra_args": ["--dtype", "bfloat16", "--seed", "8"]})
        with Clients(fleet["url"], fleet["key"]) as clients:
            res = playbook("deploy.yml", "-e", args, "-e", "ansible_ssh_timeout=5", check=False)
            # Against the plan the rollout applied (seed 8): what a server still runs otherwise is drift.
            playbook("status.yml", "-e", args, "-e", "qwen3_results_dir=%s" % tmp_path, "-e", "ansible_ssh_timeout=5")
        assert res.returncode != 0 and "fleet-2" in res.stdout and "UNREACHABLE" in res.stdout
        assert instance_of("fleet-1")["Id"] != before["fleet-1"], "the first batch ran"
        rest = SERVERS[1:]  # fleet-2 and every server after it: the rollout stopped at fleet-2
        assert {s: instance_of(s)["Id"] for s in rest} == {s: before[s] for s in rest}, "the rollout went on"
        assert clients.failed == [] and clients.ok > 0, clients.failed[:5]
        rows = {r["host"]: r for r in json.loads((tmp_path / "status" / "fleet.json").read_text())["servers"]}
        assert rows["fleet-2"]["state"].startswith("unreachable: ")
        assert all(rows[s]["state"] == "serving" for s in SERVERS if s != "fleet-2"), rows
        # The servers after fleet-2 still run what the plan (now seed 8) no longer says: drift.
        assert all("command" in rows[s]["drift"] for s in SERVERS[2:]) and rows["fleet-1"]["drift"] == "-", rows
        assert "fleet-2" in (tmp_path / "status" / "fleet.md").read_text()
    finally:
        run(["docker", "unpause", "vacc-fleet-2"])


def test_a_canary_that_misses_the_slo_is_rolled_back_before_any_other_server(fleet, tmp_path):
    before = {s: instance_of(s)["Id"] for s in SERVERS}
    seed_before = instance_of("fleet-1")["Config"]["Cmd"]
    args = json.dumps(
        {
            "qwen3_service_extra_args": ["--dtype", "bfloat16", "--seed", "9"],
            "qwen3_deploy_canary_benchmark": True,
            "qwen3_results_dir": str(tmp_path),
            "benchmark_cases": [
                {"name": "canary", "input_len": 16, "output_len": 4, "max_concurrency": 1, "num_prompts": 2}
            ],
            "benchmark_slo": {"p99_ttft_ms": 0.001},
        }
    )  # no engine answers in a microsecond
    with Clients(fleet["url"], fleet["key"]) as clients:
        res = playbook("deploy.yml", "-e", args, check=False)
    TIMINGS["canary_rollback_s"] = res.seconds
    assert res.returncode != 0
    flat = " ".join(res.stdout.split())
    assert "fleet-1 did not take the new spec and was rolled back to what ran before" in flat
    assert "p99_ttft_ms" in flat, "the reason is the SLO table"
    assert clients.failed == [] and clients.ok > 0, clients.failed[:5]
    # The canary measured for real: its case's JSON reached the controller.
    assert list(tmp_path.glob("benchmark/*/fleet-1/canary.json"))
    assert instance_of("fleet-1")["Config"]["Cmd"] == seed_before
    assert {s: instance_of(s)["Id"] for s in SERVERS[1:]} == {s: before[s] for s in SERVERS[1:]}, "others touched"
    assert models(fleet) == [MODEL]
