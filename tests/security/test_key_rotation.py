"""A client key change is a rollout, on the live local service (two CPU stand-in engines behind the door):
playbooks/deploy.yml with a new qwen3_api_key while clients stream completions through the door. The door
accepts the old key next to the new one while the deploy runs and the new key alone at its end; no stream is
cut, no request fails but an old-key one after that end, the engines are not restarted (they never hold a
client key: the door sends them their own), and the key is put back afterwards the same way."""

import http.client
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import local_service
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOOR = ("127.0.0.1", 8000)
DOOR_DIR = Path("/etc/vacc-qwen3/vllm_service")
# Open WebUI's copy of the service key, where the demo's runs (webui_secrets_dir of container vast-webui).
WEBUI_KEY = Path("/etc/vacc-qwen3/webui/vast-webui/openai_api_keys")
ENGINE_KEY_PATH = "/run/secrets/vacc-qwen3/api_key"
CLIENTS = 3


def deploy(*extra):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    exe = str(Path(sys.executable).with_name("ansible-playbook"))
    began = time.monotonic()
    res = subprocess.run(
        [exe, "-i", "inventories/local", "playbooks/deploy.yml", *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    res.seconds = time.monotonic() - began
    return res


def stream(key, max_tokens=24, retried=None):
    """One streamed chat completion through the door: (status, finished) - finished: the stream ended with
    [DONE] after at least one chunk; an error answer's status with finished False; status 0 and what went
    wrong when the connection failed after the door had answered. A connection that fails before any answer
    (nothing reached an engine) is tried once more, as the OpenAI SDKs do, and counted in `retried`."""
    body = json.dumps(
        {
            "model": local_service.MODEL,
            "max_tokens": max_tokens,
            "stream": True,
            "messages": [{"role": "user", "content": "count"}],
        }
    )
    for attempt in (1, 2):
        conn = http.client.HTTPConnection(*DOOR, timeout=120)
        try:
            try:
                conn.request(
                    "POST",
                    "/v1/chat/completions",
                    body,
                    {"Authorization": "Bearer " + key, "Content-Type": "application/json"},
                )
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                if attempt == 2:
                    return 0, "no answer twice: %s: %s" % (type(exc).__name__, exc)
                if retried is not None:
                    retried.append("%s: %s" % (type(exc).__name__, exc))
                continue
            if resp.status != 200:
                resp.read()
                return resp.status, False
            chunks, done = 0, False
            for line in resp:
                line = line.strip()
                if line == b"data: [DONE]":
                    done = True
                elif line.startswith(b"data: "):
                    chunks += 1
            return 200, done and chunks > 0
        except (OSError, http.client.HTTPException) as exc:
            return 0, "cut after the answer began: %s: %s" % (type(exc).__name__, exc)
        finally:
            conn.close()
    return 0, "unreachable"


def models_status(key):
    conn = http.client.HTTPConnection(*DOOR, timeout=30)
    try:
        conn.request("GET", "/v1/models", headers={"Authorization": "Bearer " + key})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def engines():
    out = subprocess.run(
        [
            "docker",
            "ps",
            "-q",
            "--no-trunc",
            "--filter",
            "label=vacc.qwen3.component=instance",
            "--filter",
            "label=vacc.qwen3.host=localhost",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return sorted(out)


def engine_holds(name, key):
    held = subprocess.run(["docker", "exec", name, "cat", ENGINE_KEY_PATH], capture_output=True, text=True, check=True)
    return held.stdout.strip() == key


class Clients:
    """CLIENTS threads streaming completions one after another with the key they know; a client whose old
    key is refused (the end of the rollout) takes the new one, as a client given the new key would."""

    def __init__(self, old, new):
        self.old, self.new = old, new
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.log = []  # (monotonic, client, key name, status, finished)
        self.retried = []  # connections that failed before any answer, each tried again

    def run(self, client):
        key = "old"
        while not self.stop.is_set():
            status, finished = stream(self.old if key == "old" else self.new, retried=self.retried)
            with self.lock:
                self.log.append((time.monotonic(), client, key, status, finished))
            if status == 401 and key == "old":
                key = "new"

    def __enter__(self):
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(CLIENTS)]
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=180)


@pytest.fixture(scope="module")
def old_key():
    return local_service.ensure()


def test_a_new_key_rolls_out_under_streamed_load(old_key):
    new_key = secrets.token_urlsafe(32)
    before = engines()
    assert len(before) == 2, before
    try:
        with Clients(old_key, new_key) as clients:
            # Streams already flowing before the change.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not any(r[3] == 200 for r in clients.log):
                time.sleep(0.5)
            res = deploy("-e", "qwen3_api_key=%s" % new_key)
            # Every client on the new key after the change (each took it at its first 401).
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and {r[1] for r in clients.log if r[2] == "new"} != set(range(CLIENTS)):
                time.sleep(0.5)
        assert res.returncode == 0, res.stdout[-5000:]
        assert new_key not in res.stdout + res.stderr
        log = clients.log
        bad = [r for r in log if not (r[3] == 200 and r[4]) and not (r[3] == 401 and r[2] == "old")]
        assert not bad, "requests lost during the key rollout: %s" % bad
        # Each client: old-key streams until its first 401, new-key streams after it, never back.
        for client in range(CLIENTS):
            mine = [r for r in log if r[1] == client]
            refused = [i for i, r in enumerate(mine) if r[3] == 401]
            assert len(refused) == 1, mine
            assert all(r[2] == "old" and r[3] == 200 for r in mine[: refused[0]])
            assert mine[refused[0] + 1 :] and all(r[2] == "new" and r[3] == 200 for r in mine[refused[0] + 1 :])
        ok = sum(1 for r in log if r[3] == 200)
        print(
            "key rollout: deploy %.1f s, %d streams completed (%d old key, %d new), %d old-key 401 after the end; "
            "connections retried before any answer: %s"
            % (
                res.seconds,
                ok,
                sum(1 for r in log if r[3] == 200 and r[2] == "old"),
                sum(1 for r in log if r[3] == 200 and r[2] == "new"),
                sum(1 for r in log if r[3] == 401),
                clients.retried or "none",
            )
        )
        # The end: the new key alone; no engine was restarted, and none holds a client key it was not given.
        assert models_status(new_key) == 200 and models_status(old_key) == 401
        assert engines() == before
        assert not engine_holds("vllm_service_0", new_key)
        assert len((DOOR_DIR / "bearer.sha256").read_text().split()) == 1
        # What reads the key changed with it: a running Open WebUI got the new one before the old was dropped.
        if WEBUI_KEY.exists():
            assert WEBUI_KEY.read_text().strip() == new_key
        # A rerun with the same key changes nothing.
        again = deploy("-e", "qwen3_api_key=%s" % new_key)
        assert again.returncode == 0 and "changed=0" in again.stdout.split("PLAY RECAP")[-1], again.stdout[-3000:]
    finally:
        back = deploy()
        assert back.returncode == 0, back.stdout[-5000:]
        assert models_status(old_key) == 200 and models_status(new_key) == 401
        assert engines() == before
        if WEBUI_KEY.exists():
            assert WEBUI_KEY.read_text().strip() == old_key
