"""The deployed service, checked from the test host and from this machine (the same Docker engine)."""

import json
import os
import subprocess
import threading
import urllib.request

import pytest

SERVICE = "molecule_vllm"
PORT = 18000
STATS = "http://127.0.0.1:19000/haproxy;csv"  # the door's monitor listener, on 127.0.0.1 only
MODEL = "qwen3-tiny"


@pytest.fixture(scope="module")
def key():
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "secrets", "api_key")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    return open(path).read().strip()


def inspect(name):
    out = subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0]


def chat(key, content="Hello", max_tokens=16):
    body = json.dumps(
        {
            "model": MODEL,
            "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": content}],
            "chat_template_kwargs": {"enable_thinking": False},
        }
    ).encode()
    req = urllib.request.Request(
        "http://127.0.0.1:%d/v1/chat/completions" % PORT,
        data=body,
        headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=300) as res:
        return res.status, json.loads(res.read())


@pytest.mark.parametrize("instance,dies", [(0, "0,1"), (1, "2,3")])
def test_instance_runs_the_plan(instance, dies):
    c = inspect("%s_%d" % (SERVICE, instance))
    assert c["State"]["Running"] is True
    env = dict(e.split("=", 1) for e in c["Config"]["Env"])
    assert env["VACC_VISIBLE_DEVICES"] == dies
    assert "LLM_MAX_PREFILL_SEQ_LEN" not in env  # the guide gives no max-input-len for 0.6B
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "1"
    assert not any(e.startswith("VLLM_API_KEY=") for e in c["Config"]["Env"])
    wrapper, cmd = c["Config"]["Cmd"][:4], c["Config"]["Cmd"][4:]
    assert wrapper[:2] == ["sh", "-c"] and "/run/secrets/vacc-qwen3/api_key" in wrapper[2]  # the key from a file
    assert cmd[:3] == ["vllm", "serve", "/weights/qwen3-tiny"]
    assert cmd[cmd.index("--max-model-len") + 1] == "32768"
    assert cmd[cmd.index("--port") + 1] == str(PORT + instance)
    assert cmd[cmd.index("--served-model-name") + 1] == MODEL
    assert cmd[cmd.index("--reasoning-parser") + 1] == "qwen3"
    assert "--enforce-eager" in cmd and "--api-key" not in cmd
    assert cmd[cmd.index("--max-num-seqs") + 1] == "4"
    mounts = {m["Destination"]: m for m in c["Mounts"]}
    assert mounts["/weights/qwen3-tiny"]["RW"] is False and mounts["/run/secrets/vacc-qwen3/api_key"]["RW"] is False
    assert c["HostConfig"]["IpcMode"] == "host"
    assert c["HostConfig"]["PortBindings"] in ({}, None), "instances stay behind the door"
    assert "molecule_vllm" in c["NetworkSettings"]["Networks"]
    assert c["Config"]["Labels"]["vacc.qwen3.managed"] == "true"
    assert c["Config"]["Labels"]["vacc.qwen3.host"] == "svc-a"


def test_the_door_runs_and_publishes_only_the_api_and_a_local_monitor():
    c = inspect(SERVICE + "_lb")
    assert c["State"]["Running"] is True
    ports = c["HostConfig"]["PortBindings"]
    assert ports["%d/tcp" % PORT][0]["HostPort"] == str(PORT)
    assert ports["19000/tcp"][0] == {"HostIp": "127.0.0.1", "HostPort": "19000"}
    assert set(ports) == {"%d/tcp" % PORT, "19000/tcp"}


def test_port_answers_on_the_test_host(host, key):
    # The test host is a client on this machine's network, as any host of the fleet would be.
    script = (
        "import json,urllib.request;r=urllib.request.urlopen(urllib.request.Request("
        "'http://127.0.0.1:%d/v1/models',headers={'Authorization':'Bearer %s'}),timeout=30);"
        "print(r.status, json.dumps([m['id'] for m in json.load(r)['data']]))" % (PORT, key)
    )
    out = host.check_output('python3 -c "%s"' % script)
    assert out.startswith("200 ") and MODEL in out


def test_key_is_required(host):
    res = host.run(
        "python3 -c \"import urllib.request;urllib.request.urlopen('http://127.0.0.1:%d/v1/models')\"" % PORT
    )
    assert res.rc != 0 and "401" in res.stderr


def test_chat_completion_with_usage(key):
    status, body = chat(key)
    assert status == 200
    assert body["model"] == MODEL and body["choices"]
    assert body["usage"]["prompt_tokens"] > 0 and body["usage"]["completion_tokens"] > 0


def _fire(key, n, max_tokens):
    barrier = threading.Barrier(n)
    results = [None] * n

    def one(i):
        barrier.wait(timeout=30)
        try:
            results[i] = chat(key, "request %d" % i, max_tokens)[0]
        except Exception as exc:  # recorded, asserted below
            results[i] = repr(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    return results


def test_six_concurrent_requests_all_succeed(key):
    assert _fire(key, 6, 32) == [200] * 6


def test_requests_beyond_capacity_wait_in_the_queue(key):
    # 2 instances x max-concurrency 4 = 8 at once; 12 at once: 4 wait in HAProxy's queue, none fail.
    assert _fire(key, 12, 64) == [200] * 12
    rows = urllib.request.urlopen(STATS, timeout=10).read().decode().splitlines()
    header = rows[0].lstrip("# ").split(",")
    servers = [dict(zip(header, r.split(","))) for r in rows[1:] if r.startswith("instances,%s_" % SERVICE)]
    assert len(servers) == 2 and all(s["status"] == "UP" for s in servers)
    assert all(int(s["smax"]) <= 4 for s in servers), "an instance got more than max-concurrency at once"
    backend = [dict(zip(header, r.split(","))) for r in rows[1:] if r.startswith("instances,BACKEND")][0]
    assert int(backend["qmax"]) + sum(int(s["qmax"]) for s in servers) > 0, "nothing waited in the queue"
