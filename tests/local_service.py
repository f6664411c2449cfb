"""The local service of this checkout (inventories/local, two stand-in vLLM instances behind the door on port
8000), answering with this checkout's key. Every live-service suite asks for it through `ensure()`.

Answering on the port is not enough: the containers are found by name and label on the machine's Docker engine,
so a service another checkout deployed (another clone, a CI run beside a developer's `make demo`) answers with
that checkout's key and every authenticated request of ours gets 401. One authenticated request decides; when
it fails, playbooks/deploy.yml makes the service this checkout's (idempotent when it already is)."""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY_FILE = ROOT / "inventories" / "local" / ".secrets" / "api_key"
BASE = "http://127.0.0.1:8000/v1"
MODEL = "qwen3-tiny"


def answering_key():
    """This checkout's key when the door serves MODEL to it, else None (no key yet, nothing answers, 401)."""
    if not KEY_FILE.exists():
        return None
    key = KEY_FILE.read_text().strip()
    req = urllib.request.Request(BASE + "/models", headers={"Authorization": "Bearer " + key})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            served = [m.get("id") for m in json.load(resp).get("data", [])]
    except (urllib.error.URLError, OSError, ValueError, AttributeError):
        return None
    return key if MODEL in served else None


def ensure(timeout=1800):
    """This checkout's key, after deploying the local service when it does not answer to it."""
    key = answering_key()
    if key:
        return key
    exe = Path(sys.executable).with_name("ansible-playbook")
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    res = subprocess.run(
        [str(exe), "-i", "inventories/local", "playbooks/deploy.yml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert res.returncode == 0, "deploy.yml failed (run make lab first?):\n" + res.stdout[-5000:]
    key = answering_key()
    assert key, "the local service does not serve %s to this checkout's key after deploy.yml" % MODEL
    return key
