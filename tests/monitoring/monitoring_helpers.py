"""Helpers of tests/monitoring: ansible-playbook runs, Prometheus's HTTP API, polling with a deadline
(never a bare sleep as synchronisation), and the test's own containers (all named vacc-mon-*)."""

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
PROMETHEUS_IMAGE = "vacc-qwen3/prometheus:bookworm"
NODE_EXPORTER_IMAGE = "vacc-qwen3/node-exporter:bookworm"
SERVED = "qwen3-tiny"
# The live local service (inventories/local, deployed by vacc.qwen3.deploy): its door and its key.
INVENTORY = ROOT / "inventories" / "local"
KEY_FILE = INVENTORY / ".secrets" / "api_key"
DOOR_PUBLIC, DOOR_MONITOR = 8000, 9000
ENGINES = ("vllm_service_0", "vllm_service_1")
# This test's own Prometheus and node exporter, beside a demo's (127.0.0.1:9090): other names and ports.
PROM_PORT, NODE_PORT = 19390, 19391
PROM_URL = "http://127.0.0.1:%d" % PROM_PORT
CONTAINERS = ("vacc-mon-prometheus", "vacc-mon-node-exporter")
VOLUME = "vacc-mon-prometheus"


def run(cmd, timeout=600, check=True, **kw):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, **kw)
    if check and res.returncode:
        raise AssertionError(
            "%s failed (rc %d):\n%s\n%s"
            % (" ".join(map(str, cmd)), res.returncode, res.stdout[-3000:], res.stderr[-3000:])
        )
    return res


def ansible_playbook(playbook, *args, inventory=None, timeout=1800):
    """ansible-playbook from the venv in the repository root; returns the result with .seconds and .recap."""
    cmd = [str(BIN / "ansible-playbook")] + (["-i", str(inventory)] if inventory else []) + [str(playbook)] + list(args)
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    t0 = time.monotonic()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    res.seconds = round(time.monotonic() - t0, 1)
    res.recap = recap(res.stdout)
    return res


def recap(stdout):
    found = {}
    for m in re.finditer(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", stdout, re.M):
        found[m.group(1)] = dict(zip(("ok", "changed", "unreachable", "failed"), map(int, m.groups()[1:])))
    return found


def api(path, params=None, base=PROM_URL, timeout=10):
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        return json.loads(e.read() or b"null")


def query(expr, base=PROM_URL):
    body = api("/api/v1/query", {"query": expr}, base=base)
    assert body["status"] == "success", body
    return body["data"]["result"]


def value(expr, base=PROM_URL):
    """The single value of an instant query, or None when it returns nothing."""
    result = query(expr, base=base)
    assert len(result) <= 1, result
    return float(result[0]["value"][1]) if result else None


def wait_for(what, probe, timeout, interval=0.5):
    """Poll probe() until it returns something truthy; returns (result, seconds). A deadline, not a sleep:
    the wait ends as soon as the condition holds."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        try:
            last = probe()
        except (OSError, ValueError, AssertionError, KeyError) as exc:  # not up yet
            last = exc
        if last and not isinstance(last, Exception):
            return last, round(time.monotonic() - t0, 1)
        time.sleep(interval)  # the polling period, not a guess at how long the condition takes
    raise AssertionError("%s: not within %s s (last: %r)" % (what, timeout, last))


def http_ok(url, headers=None, timeout=5):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def chat(port, max_tokens=8, timeout=300):
    body = json.dumps(
        {"model": SERVED, "messages": [{"role": "user", "content": "hi"}], "max_tokens": max_tokens}
    ).encode()
    req = urllib.request.Request(
        "http://127.0.0.1:%d/v1/chat/completions" % port,
        data=body,
        headers={"Authorization": "Bearer " + KEY_FILE.read_text().strip(), "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, json.loads(r.read())


def remove_containers():
    for name in CONTAINERS:
        run(["docker", "rm", "-f", name], check=False)
    run(["docker", "volume", "rm", "-f", VOLUME], check=False)
