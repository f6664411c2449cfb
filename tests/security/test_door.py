"""The front door, tried as an attacker on the LAN would, against the live local service (the CPU
stand-in behind its door; two instances, then one): every path vLLM serves, without the key, with a
wrong key and with the right one, through every port the service publishes; the key on no command
line, in no container's configuration, in no plan file; a failing health gate's output redacted."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import local_service
import pytest
from stub_engine import build_stub_engine

ROOT = Path(__file__).resolve().parents[2]
KEY_FILE = ROOT / "inventories" / "local" / ".secrets" / "api_key"
DOOR_PATHS = {"/v1/models", "/v1/chat/completions", "/v1/completions"}  # vllm_service_door_paths
MODEL = "qwen3-tiny"
BODIES = {
    "/v1/chat/completions": {"model": MODEL, "max_tokens": 4, "messages": [{"role": "user", "content": "hi"}]},
    "/v1/completions": {"model": MODEL, "max_tokens": 4, "prompt": "hi"},
}


def playbook(name, *extra, timeout=1200):
    exe = Path(sys.executable).with_name("ansible-playbook")
    exe = str(exe) if exe.exists() else shutil.which("ansible-playbook")
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return subprocess.run(
        [exe, "-i", "inventories/local", "playbooks/" + name, *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def docker_json(*args):
    return json.loads(subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout)


def service_containers():
    ids = subprocess.run(
        [
            "docker",
            "ps",
            "-q",
            "--filter",
            "label=vacc.qwen3.host=localhost",
            "--filter",
            "label=vacc.qwen3.service=vllm_service",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    # Open WebUI carries the service's labels too; it is not part of the service's shape.
    return [
        c
        for c in (docker_json("inspect", *ids) if ids else [])
        if c["Config"]["Labels"].get("vacc.qwen3.component") != "webui"
    ]


def request(url, method="GET", key=None, body=None):
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = "Bearer " + key
    data = json.dumps(body).encode() if body is not None else (b"{}" if method == "POST" else None)
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except (urllib.error.URLError, OSError):
        # Nothing listening (a fresh machine before the first deploy): status 0, never an error.
        return 0, b""


def deploy(*extra):
    res = playbook("deploy.yml", *extra)
    assert res.returncode == 0, res.stdout[-5000:]
    return res


@pytest.fixture(scope="module")
def key():
    return local_service.ensure()


@pytest.fixture(scope="module")
def vllm_paths(key):
    """Every (method, path) the engine itself serves, from its own OpenAPI document (read inside it)."""
    script = (
        "import json,urllib.request;d=json.load(urllib.request.urlopen('http://127.0.0.1:8000/openapi.json'));"
        "print(json.dumps(sorted([m.upper(),p] for p,ms in d['paths'].items() for m in ms)))"
    )
    out = subprocess.run(
        ["docker", "exec", "vllm_service_0", "python3", "-c", script], capture_output=True, text=True, check=True
    ).stdout
    paths = [tuple(x) for x in json.loads(out)]
    assert ("POST", "/invocations") in paths and ("GET", "/metrics") in paths and len(paths) > 15
    # Path parameters filled in; the docs pages vLLM serves besides its API.
    return [(m, re.sub(r"\{[^}]+\}", "x", p)) for m, p in paths] + [("GET", "/docs"), ("GET", "/openapi.json")]


def published(containers):
    """(host ip, port, container name) of every port any of the service's containers publishes."""
    out = []
    for c in containers:
        for bindings in (c["HostConfig"]["PortBindings"] or {}).values():
            for b in bindings or []:
                out.append((b["HostIp"] or "0.0.0.0", int(b["HostPort"]), c["Name"].lstrip("/")))
    return out


def check_door(key, vllm_paths, instances):
    containers = service_containers()
    names = sorted(c["Name"].lstrip("/") for c in containers)
    assert names == sorted(["vllm_service_%d" % i for i in range(instances)] + ["vllm_service_lb"])
    ports = published(containers)
    # Only the door publishes: the API on all addresses, the monitor listener on 127.0.0.1 only.
    assert sorted((ip, port, name) for ip, port, name in ports) == [
        ("0.0.0.0", 8000, "vllm_service_lb"),
        ("127.0.0.1", 9000, "vllm_service_lb"),
    ]
    for method, path in vllm_paths:
        for who, auth in (("no key", None), ("wrong key", "not-the-key"), ("the key", key)):
            status, body = request("http://127.0.0.1:8000" + path, method, auth, BODIES.get(path))
            if path == "/health" and method == "GET":
                assert status == 200, (path, who)
            elif path in DOOR_PATHS and auth == key:
                assert status == 200, (method, path, who, status, body[:200])
            elif path in DOOR_PATHS:
                assert status == 401, (method, path, who, status)
            else:
                assert status in (404, 405), (method, path, who, status, body[:200])
            if path.startswith("/v1/") and path not in DOOR_PATHS:
                assert status == 404, (method, path, who, status)
    # The monitor listener: statistics and metrics only (each engine's /metrics under /engine/<i>/).
    for method, path in vllm_paths:
        status, dummy = request("http://127.0.0.1:9000" + path, method, key, BODIES.get(path))
        if path == "/metrics":
            assert status == 200  # HAProxy's own exporter, not an engine's
        else:
            assert status != 200 or path == "/health", (path, status)
    for i in range(instances):
        # The door checks each engine's metrics backend on its own clock: a just-started one within seconds.
        deadline = time.monotonic() + 60
        while True:
            status, body = request("http://127.0.0.1:9000/engine/%d/metrics" % i)
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(1)  # the polling period; the loop ends when the condition holds
        assert status == 200 and b"vllm:" in body
    assert request("http://127.0.0.1:9000/haproxy;csv")[0] == 200


def test_two_instances_behind_the_door(key, vllm_paths):
    check_door(key, vllm_paths, 2)


def test_one_instance_behind_the_door(key, vllm_paths):
    deploy("-e", "qwen3_instances=1")
    try:
        check_door(key, vllm_paths, 1)
    finally:
        deploy()  # back to the demo's two instances
    check_door(key, vllm_paths, 2)


def every_container():
    """Every container on this machine's Docker engine: the collection's (engines, doors, Open WebUI, gateway,
    monitoring) and anything else; none may carry a secret in its configuration."""
    ids = subprocess.run(["docker", "ps", "-aq"], capture_output=True, text=True, check=True).stdout.split()
    return docker_json("inspect", *ids) if ids else []


SEC_WEBUI = "vacc-sec-webui"  # an Open WebUI of this test's own (container, data volume), on port 18082


def remove_sec_webui():
    subprocess.run(["docker", "rm", "-f", SEC_WEBUI], capture_output=True, check=False)
    subprocess.run(["docker", "volume", "rm", "-f", SEC_WEBUI], capture_output=True, check=False)


@pytest.fixture(scope="module")
def webui(key):
    """An Open WebUI (it holds three secrets) set up by playbooks/webui.yml with this checkout's secrets, under
    names of its own: a UI another checkout left on this machine holds another admin, which the role refuses."""
    remove_sec_webui()
    res = playbook(
        "webui.yml",
        "-e",
        "webui_container_name=%s" % SEC_WEBUI,
        "-e",
        "webui_data_volume=%s" % SEC_WEBUI,
        "-e",
        "webui_port=18082",
    )
    assert res.returncode == 0, res.stdout[-5000:]
    yield SEC_WEBUI
    remove_sec_webui()


def test_no_secret_on_a_command_line_or_in_any_container_configuration(key, webui):
    # Every secret the local inventory generated: the service key, Open WebUI's admin password and secret key,
    # and the admin's generated e-mail (a name, not a secret, but half of the sign-in: kept out as well).
    secrets = {p.name: p.read_text().strip() for p in KEY_FILE.parent.iterdir() if p.is_file()}
    secrets = {name: value for name, value in secrets.items() if len(value) >= 12}
    assert {"api_key", "webui_admin_email", "webui_admin_password", "webui_secret_key"} <= set(secrets), sorted(secrets)
    containers = every_container()
    names = {c["Name"].lstrip("/") for c in containers}
    assert {"vllm_service_0", "vllm_service_1", "vllm_service_lb", webui} <= names, names
    for c in containers:
        config = json.dumps(
            [
                c["Config"].get("Cmd"),
                c["Config"].get("Entrypoint"),
                c.get("Args"),
                c["Config"].get("Env"),
                c["Config"].get("Labels"),
                c.get("HostConfig"),
            ]
        )
        for name, value in secrets.items():
            assert value not in config, (c["Name"], name)
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes()
        except OSError:  # a process that ended meanwhile
            continue
        for name, value in secrets.items():
            assert value.encode() not in argv, (cmdline, name)
    # The engines got it nonetheless: the door lets an authorized request through to vLLM, which checks it too.
    assert request("http://127.0.0.1:8000/v1/models", key=key)[0] == 200


def test_the_key_is_in_no_plan_file(key, tmp_path):
    res = playbook("plan.yml", "-e", "qwen3_plan_dir=%s" % tmp_path)
    assert res.returncode == 0, res.stdout[-3000:]
    text = (tmp_path / "localhost.json").read_text()
    assert key not in text and "VLLM_API_KEY" in text  # the engine reads it from the mounted file
    assert key not in res.stdout


HANGING_IMAGE = "vacc-qwen3/hanging-engine:test"


@pytest.fixture(scope="module")
def hanging_image():
    """An engine that prints its arguments (as vLLM logs its non-default ones) and never answers; it stops on
    SIGTERM (a bare `sleep` as PID 1 would not, and each teardown would wait for the stop timeout)."""
    return build_stub_engine(HANGING_IMAGE, 'echo "args: $*"', 'trap "exit 0" TERM INT', "sleep infinity & wait")


@pytest.mark.parametrize("engine", ["exits", "hangs"])
def test_a_failing_health_gate_shows_redacted_logs(key, tmp_path, engine, request):
    """An engine that never comes up: the gate fails with each container's log tail, the key taken out.
    This one gets the key on its argv on purpose (vLLM logs its non-default arguments), to prove the
    redaction; it is a separate service, removed afterwards. The real vLLM refusing an impossible
    --max-model-len exits, and the gate says so within seconds, not at its timeout; an engine that just
    never answers fails at the timeout, each instance listed with the door's check."""
    name = "vacc_gate_test"
    extra = [
        "-e",
        "qwen3_service_name=%s" % name,
        "-e",
        "qwen3_service_port=18290",
        "-e",
        "qwen3_service_monitor_port=19290",
        "-e",
        "qwen3_service_config_dir=%s" % (tmp_path / "etc"),
        "-e",
        "vllm_service_wait_timeout=%d" % (300 if engine == "exits" else 12),
        "-e",
        "vllm_service_wait_delay=2",
        "-e",
        "vllm_service_log_tail=400",
    ]
    if engine == "exits":
        # One real vLLM failing is the proof; a second one loading beside it only doubled the wait (~100 s).
        extra += ["-e", "qwen3_instances=1"]
    if engine == "hangs":
        # An image that cannot be asked (its `vllm` never answers) is not probed: this is the gate's test.
        extra += [
            "-e",
            "qwen3_service_image=%s" % request.getfixturevalue("hanging_image"),
            "-e",
            "vllm_service_probe=false",
        ]
    try:
        t0 = time.monotonic()
        res = playbook(
            "deploy.yml",
            *extra,
            "-e",
            json.dumps(
                {"qwen3_service_extra_args": ["--dtype", "bfloat16", "--api-key", key, "--max-model-len", "999999999"]}
            ),
        )
        seconds = time.monotonic() - t0
        assert res.returncode != 0
        out = res.stdout + res.stderr
        flat = " ".join(out.split())
        assert "did not come up behind" in out and "the containers' last log lines follow" in out
        if engine == "exits":
            assert re.search(r"vacc_gate_test_\d exited( with exit code 1)? and was restarted \d+ time", flat), flat[
                -3000:
            ]
            assert seconds < 240, "the gate waited for its timeout: %ds" % seconds
        else:
            assert re.search(r"not UP at the door vacc_gate_test_lb within 12 s: vacc_gate_test_0 \(\w+", flat), flat[
                -3000:
            ]
        assert "<redacted>" in out, "the log tail should have shown the key, redacted"
        assert key not in out
    finally:
        playbook("teardown.yml", *extra)
