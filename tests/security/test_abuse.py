"""The door under abuse, against the live local service (two instances of the CPU stand-in): slow and idle
connections from another address do not keep a keyed client out; /health is the door's own answer;
clients that give up take their requests with them; each limit answers at once with an OpenAI-shaped
error, which the official SDK reads as such. Every loop is bounded; only 127.0.0.1 and the door's own
container on the service's network are contacted."""

import http.client
import importlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import httpx2
import local_service
import openai
import pytest
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

ROOT = Path(__file__).resolve().parents[2]
# The collection's own runtime API command line, imported as Ansible loads it (as in tests/unit).
_AnsibleCollectionFinder(paths=[str(ROOT / "collections")], scan_sys_paths=True)._install()
haproxy_runtime = importlib.import_module("ansible_collections.vacc.qwen3.plugins.plugin_utils._haproxy_runtime")
KEY_FILE = ROOT / "inventories" / "local" / ".secrets" / "api_key"
DOOR = ("127.0.0.1", 8000)
MONITOR = "http://127.0.0.1:9000"
MODEL = "qwen3-tiny"
# The role's defaults (vllm_service_door_*), which the local inventory keeps.
SOURCE_CONNECTIONS, SOURCE_RATE, MAX_BODY, HEADER_TIMEOUT = 64, 300, 4194304, 10
# After their clients left, abandoned requests are aborted on the engines within this many seconds.
ENGINE_IDLE_BOUND = 5


def raw(payload, timeout=30.0):
    """Send bytes on a new connection to the door; (status, headers, body) of its answer."""
    with socket.create_connection(DOOR, timeout=timeout) as s:
        s.sendall(payload)
        return read_answer(s, head_only=payload.startswith(b"HEAD "))


def read_answer(s, head_only=False):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length: *(\d+)", head)
    while length and not head_only and len(body) < int(length.group(1)):
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, head.decode(errors="replace"), body.decode(errors="replace")


def assert_openai_error(status, body):
    """The shape OpenAI's API (and the official SDK) uses: {"error": {"message", "type", "param", "code"}}."""
    err = json.loads(body)["error"]
    assert isinstance(err["message"], str) and err["message"].endswith(".") and err["type"] and err["code"] == status, (
        body
    )
    return err


def sdk_error(client, status, body):
    """What the official SDK makes of an answer with this status and body."""
    response = httpx2.Response(
        status, content=body.encode(), request=httpx2.Request("POST", "http://127.0.0.1:8000/v1/x")
    )
    return client._make_status_error_from_response(response)  # pylint: disable=protected-access


def wait_for_rate_to_clear(key, bound=40):
    """The per-source request rate is over 10 s: poll (bounded) until a keyed request passes again."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        req = urllib.request.Request("http://127.0.0.1:8000/v1/models", headers={"Authorization": "Bearer " + key})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                if resp.status == 200:
                    return
        except urllib.error.HTTPError as err:
            assert err.code == 429, err.code
        time.sleep(1)  # the polling period; the loop ends when the condition holds
    raise AssertionError("still rate-limited %d s after the flood" % bound)


def runtime(command):
    """One runtime API command at the door, the way vacc.qwen3.haproxy_server sends it (no socat in the image)."""
    return subprocess.run(
        ["docker", "exec", "vllm_service_lb", *haproxy_runtime.cli(command)], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture(scope="module")
def key():
    key = local_service.ensure()
    wait_for_rate_to_clear(key)
    return key


@pytest.fixture(scope="module")
def client(key):
    # No retries: each test sees the door's first answer (the SDK retries 429 and 5xx twice by default).
    return openai.OpenAI(base_url="http://127.0.0.1:8000/v1", api_key=key, max_retries=0, timeout=60)


def chat(key, max_tokens=4, timeout=30.0):
    body = json.dumps({"model": MODEL, "max_tokens": max_tokens, "messages": [{"role": "user", "content": "hi"}]})
    conn = http.client.HTTPConnection(*DOOR, timeout=timeout)
    try:
        conn.request(
            "POST", "/v1/chat/completions", body, {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
        )
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_health_is_the_doors_own_answer(key):
    status, head, body = raw(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200 and json.loads(body) == {"status": "ok"}  # vLLM's own /health has an empty body
    status, head, body = raw(b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200
    for method in (b"POST", b"PUT", b"DELETE", b"OPTIONS"):
        status, head, body = raw(method + b" /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        assert status == 405, (method, status)
        assert_openai_error(405, body)
    # A body, announced or chunked (the slow-body attack on /health): refused at once, nothing read or forwarded.
    t0 = time.monotonic()
    status, head, body = raw(b"GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n")
    assert status == 400 and time.monotonic() - t0 < 2, status
    status, head, body = raw(b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
    assert status == 400
    assert_openai_error(400, body)


def test_no_instance_up_is_a_503_in_openai_shape(key, client):
    servers = ["vllm_service_0", "vllm_service_1"]
    try:
        for s in servers:
            runtime("set server instances/%s state maint" % s)
        status, head, body = raw(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 503
        assert_openai_error(503, body)
        t0 = time.monotonic()
        with pytest.raises(openai.InternalServerError) as err:
            client.chat.completions.create(model=MODEL, max_tokens=4, messages=[{"role": "user", "content": "hi"}])
        assert time.monotonic() - t0 < 5 and err.value.status_code == 503
        assert err.value.type == "service_unavailable" and "retry later" in err.value.body["message"]
    finally:
        for s in servers:
            runtime("set server instances/%s state ready" % s)
    assert chat(key)[0] == 200


def test_the_key_one_header_compared_whole(key, client):
    wrong = openai.OpenAI(base_url="http://127.0.0.1:8000/v1", api_key=key[:-1] + "x", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        wrong.models.list()
    assert (
        err.value.code == "401" and err.value.type == "authentication_error" and "API key" in err.value.body["message"]
    )
    # Two Authorization headers (the right key in one of them): refused at the door, whatever their order.
    for first, second in ((key, "wrong"), ("wrong", key), (key, key)):
        status, head, body = raw(
            (
                "GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                "Authorization: Bearer %s\r\n\r\n" % (first, second)
            ).encode()
        )
        assert status == 401 and "exactly one" in assert_openai_error(401, body)["message"]
    # The key with a comma after it is not the key (a whole-line match, not a list of values).
    status, head, body = raw(
        ("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s, x\r\n\r\n" % key).encode()
    )
    assert status == 401
    with pytest.raises(openai.NotFoundError) as err:
        client.files.list()
    assert err.value.type == "not_found_error"
    assert client.models.list().data[0].id == MODEL


def test_body_limits_answer_at_once(key, client):
    auth = ("Authorization: Bearer %s\r\n" % key).encode()
    # Announced too large: 413 before a byte of the body is sent.
    t0 = time.monotonic()
    status, head, body = raw(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
        + auth
        + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1)
    )
    assert status == 413 and time.monotonic() - t0 < 2
    assert_openai_error(413, body)
    # Through the SDK: a prompt over the limit.
    with pytest.raises(openai.APIStatusError) as err:
        client.chat.completions.create(
            model=MODEL, max_tokens=4, messages=[{"role": "user", "content": "x" * (MAX_BODY + 10)}]
        )
    assert err.value.status_code == 413 and err.value.type == "invalid_request_error"
    # A body of unknown length (chunked) cannot be held to the limit: 411.
    status, head, body = raw(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
        + auth
        + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    )
    assert status == 411
    assert_openai_error(411, body)


def test_slow_clients_get_408(key, client):
    """Headers that never end, then a keyed body that never ends: each cut after its timeout with a 408. The
    body's is an OpenAI error; the headers' is HAProxy 2.6's own (written before there is a request to answer)."""
    auth = ("Authorization: Bearer %s\r\n" % key).encode()
    heads = []
    for payload in (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + auth + b"Content-Length: 100\r\n\r\n{",
    ):
        t0 = time.monotonic()
        status, head, body = raw(payload, timeout=HEADER_TIMEOUT + 20)
        took = time.monotonic() - t0
        assert status == 408 and HEADER_TIMEOUT - 1 < took < HEADER_TIMEOUT + 5, (status, took)
        heads.append(head.lower())
    # As the README says: the headers' 408 (and a malformed request's 400) in HAProxy 2.6's HTML, which its
    # HTTP/1 layer writes from a built-in table (no errorfile applies there); from the body on, JSON.
    assert "content-type: text/html" in heads[0] and "content-type: application/json" in heads[1], heads
    bad_status, bad_head, dummy = raw(b"GET\x01 / HTTP/1.1\r\n\r\n")
    assert bad_status == 400 and "content-type: text/html" in bad_head.lower(), (bad_status, bad_head)
    err = sdk_error(client, status, body)
    assert err.status_code == 408 and err.type == "timeout_error" and "too slowly" in err.body["message"], err


def test_per_source_limits_answer_429(key, client):
    # Connections held at once: past SOURCE_CONNECTIONS each request is refused with 429.
    socks, statuses = [], []
    try:
        for _ in range(SOURCE_CONNECTIONS + 8):
            s = socket.create_connection(DOOR, timeout=10)
            socks.append(s)
            s.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
            statuses.append(read_answer(s)[0])
    finally:
        for s in socks:
            s.close()
    assert set(statuses[: SOURCE_CONNECTIONS - 4]) == {401} and set(statuses[SOURCE_CONNECTIONS + 2 :]) == {429}, (
        statuses
    )
    # Requests per 10 s, on one kept-alive connection: past SOURCE_RATE, 429 at once.
    conn = http.client.HTTPConnection(*DOOR, timeout=10)
    codes = []
    try:
        for _ in range(SOURCE_RATE + 20):
            conn.request("GET", "/v1/models")
            resp = conn.getresponse()
            body = resp.read().decode()
            codes.append(resp.status)
            if resp.status == 429:
                assert "Too many requests" in assert_openai_error(429, body)["message"]
                break
    finally:
        conn.close()
    assert codes[-1] == 429 and set(codes[:-1]) == {401}, codes
    with pytest.raises(openai.RateLimitError) as err:
        client.models.list()
    assert err.value.type == "rate_limit_error"
    wait_for_rate_to_clear(key)


ATTACK = r"""
import socket, sys, time
door, seconds = sys.argv[1], float(sys.argv[2])
def connect():
    try:
        return socket.create_connection((door, 8000), timeout=5)
    except OSError:
        return None
slow_body = b"GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
slow_head = b"GET /v1/models HTTP/1.1\r\nHost: x\r\n"
conns, opened, end = [], 0, time.monotonic() + seconds
while time.monotonic() < end:
    # Keep 8 slow-body and 400 slow-header connections open, reconnecting those the door closed.
    want = [slow_body] * 8 + [slow_head] * 400
    alive = []
    for kind, s in conns:
        try:
            s.sendall(b"1" if kind is slow_body else b"X-A: b\r\n")
            alive.append((kind, s))
        except OSError:
            s.close()
    conns = alive
    for kind in want[len(conns):]:
        s = connect()
        if s is not None:
            opened += 1
            try:
                s.sendall(kind)
                conns.append((kind, s))
            except OSError:
                s.close()
    print("open", len(conns), "opened", opened, flush=True)
    time.sleep(1)
"""


def test_slow_connections_from_another_address_do_not_keep_a_keyed_client_out(key):
    """8 slow-body and 400 slow-header connections (the issue's attack), from a container on the service's
    network (another source address than this machine's clients, which the door sees as one): a keyed chat
    completion from here answers within 2 s all along, and the monitor listener answers too."""
    door = docker_inspect("vllm_service_lb")
    network = next(iter(door["NetworkSettings"]["Networks"]))
    image = docker_inspect("vllm_service_0")["Config"]["Image"]
    name = "vacc_abuse_attacker"
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    attacker = subprocess.Popen(
        [
            "docker",
            "run",
            "--rm",
            "--name",
            name,
            "--network",
            network,
            "--entrypoint",
            "python3",
            image,
            "-c",
            ATTACK,
            "vllm_service_lb",
            "40",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the attacker has its connections up
            lines.append(attacker.stdout.readline())
            if lines[-1].startswith("open") and int(lines[-1].split()[1]) >= 8 or not lines[-1]:
                break
        assert lines[-1].startswith("open"), lines
        timings = []
        for _ in range(10):
            t0 = time.monotonic()
            status, body = chat(key, timeout=10)
            timings.append(time.monotonic() - t0)
            assert status == 200, (status, body[:200])
            with urllib.request.urlopen(MONITOR + "/haproxy;csv", timeout=5) as resp:
                assert resp.status == 200
        assert max(timings) < 2, timings
        assert attacker.poll() is None, "the attack ended before the keyed requests did"
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
        attacker.wait(timeout=60)


def docker_inspect(name):
    return json.loads(subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=True).stdout)[0]


def door_busy():
    """(requests queued at the door, connections the door holds to the engines), from its runtime API."""
    queued, held = door_load()
    return queued, sum(held.values())


def door_load():
    """(requests queued at the door, {engine: connections the door holds to it}), from its runtime API."""
    rows = [row.split(",") for row in runtime("show stat").splitlines() if row.startswith("instances,")]
    queued = sum(int(r[2] or 0) for r in rows if r[1] != "FRONTEND")  # the backend's queue and each server's
    return queued, {r[1]: int(r[4] or 0) for r in rows if r[1] not in ("BACKEND", "FRONTEND")}


def engine_metrics(name):
    """{series: value} of one engine's own /metrics, through the door's monitor listener. An engine generating
    for 4 clients on 2 cores answers slowly, so each read gets 30 s: a slow answer is not a busy engine."""
    index = int(name.rsplit("_", 1)[1])
    with urllib.request.urlopen("%s/engine/%d/metrics" % (MONITOR, index), timeout=30) as resp:
        text = resp.read().decode()
    series = {}
    for name_, labels, value in re.findall(r"^(vllm:\w+)(\{[^}]*\})? (\S+)$", text, re.M):
        reason = re.search(r'finished_reason="(\w+)"', labels or "")
        key = name_ + ("/" + reason.group(1) if reason else "")
        series[key] = series.get(key, 0.0) + float(value)
    return series


def busy(series, *gauges):
    """Requests an engine runs or queues now (its running and waiting gauges, or those named)."""
    return sum(series.get("vllm:num_requests_" + gauge, 0.0) for gauge in gauges or ("running", "waiting"))


def wait_for_engines(engines, done, bound, since=None):
    """Each engine's metrics once done(series) holds for it, or the last read after bound seconds (from since,
    a time.monotonic(), or now); with the seconds from since to each. One read at most starts after the bound."""
    t0, seen, seconds = since or time.monotonic(), {}, {}
    for name in engines:
        while True:
            seen[name] = engine_metrics(name)
            if done(seen[name]) or time.monotonic() - t0 > bound:
                break
            time.sleep(0.2)  # the polling period; the loop ends when the condition holds or the bound passes
        seconds[name] = round(time.monotonic() - t0, 2)
    return seen, seconds


def first_engine(engines, done, bound):
    """(the first engine whose metrics satisfy done(series), seconds), reading them in turn; (None, bound) after
    bound seconds."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < bound:
        for name in engines:
            if done(engine_metrics(name)):
                return name, time.monotonic() - t0
        time.sleep(0.2)  # the polling period; the loop ends when the condition holds or the bound passes
    return None, bound


def test_abandoned_requests_stop_on_the_engines(key):
    """40 clients ask for 1500 tokens each and leave while the engines generate for them and the door queues
    the rest. Within 5 s the door queues nothing and holds no connection to an engine (abortonclose: it resets
    the engine connection), and within ENGINE_IDLE_BOUND s each engine runs and queues nothing (its own
    num_requests_running and num_requests_waiting gauges, through the monitor listener) and has finished none of
    them by length: vLLM aborted them. Every read is a bounded poll for a condition, never a single racy read."""
    body = json.dumps(
        {
            "model": MODEL,
            "max_tokens": 1500,
            "ignore_eos": True,
            "messages": [{"role": "user", "content": "Tell me a long story."}],
        }
    ).encode()
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
        "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (key, len(body))
    ).encode()
    engines = sorted(door_load()[1])  # the door's servers: vllm_service_0, vllm_service_1
    assert engines, "the door lists no engine"
    before, _ = wait_for_engines(engines, lambda series: busy(series) == 0, 60)  # earlier tests' requests done
    assert all(busy(series) == 0 for series in before.values()), before
    socks = []
    try:
        for _ in range(40):
            s = socket.create_connection(DOOR, timeout=10)
            s.sendall(head + body)
            socks.append(s)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            queued, held = door_load()
            if queued > 0 and all(held.values()):
                break
            time.sleep(0.2)  # the polling period; until the door queues the requests beyond the engines' slots
        assert queued > 0 and all(held.values()), (queued, held)
        # One engine generating is enough to show running requests aborted; the other's are queued or arriving.
        # (Both were asked at first: in 1 run of 6, one engine's API server had not started its 4 for 60 s.)
        generating, seconds = first_engine(engines, lambda series: busy(series, "running") > 0, 60)
        assert generating, "no engine runs the requests the door gave them within 60 s: %s" % (door_load(),)
        print("%s generating after %.2f s" % (generating, seconds))
    finally:
        for s in socks:  # the clients give up
            s.close()
    t0 = time.monotonic()
    while door_busy() != (0, 0) and time.monotonic() - t0 < 5:
        time.sleep(0.2)  # the polling period; the loop ends when the condition holds
    assert door_busy() == (0, 0), "the door still queues or holds requests 5 s after the clients left: %s" % (
        door_busy(),
    )
    after, seconds = wait_for_engines(engines, lambda series: busy(series) == 0, ENGINE_IDLE_BOUND, since=t0)
    print("engines idle after the clients left (s):", seconds)
    for name in engines:
        assert busy(after[name]) == 0, "%s still runs or queues %d requests %d s after their clients left" % (
            name,
            busy(after[name]),
            ENGINE_IDLE_BOUND,
        )
        finished = after[name].get("vllm:request_success_total/length", 0) - before[name].get(
            "vllm:request_success_total/length", 0
        )
        assert finished == 0, "%s generated %d abandoned requests to their 1500 tokens" % (name, finished)


def test_a_limit_that_is_not_a_number_is_refused_before_any_change(key):
    config = ROOT / "inventories" / "local"
    before = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.StartedAt}}", "vllm_service_lb"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    res = subprocess.run(
        [
            str(Path(sys.executable).with_name("ansible-playbook")),
            "-i",
            str(config),
            "playbooks/deploy.yml",
            "-e",
            "vllm_service_door_source_rate=lots",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1"),
        check=False,
    )
    assert res.returncode != 0
    # The role's argument spec refuses it first, naming the variable and the type it needs.
    assert (
        "argument 'vllm_service_door_source_rate' is of type str and we were unable to convert to int" in res.stdout
    ), res.stdout[-3000:]
    assert "changed=0" in res.stdout, res.stdout[-2000:]
    after = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.StartedAt}}", "vllm_service_lb"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert before == after and chat(key)[0] == 200
