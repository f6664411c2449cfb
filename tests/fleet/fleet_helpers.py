"""The fleet lab as the fleet tests find and leave it (tools/fleet_lab.py)."""

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FLEET_LAB = ROOT / "tools" / "fleet_lab.py"
INVENTORY = ROOT / "inventories" / "fleet"


def _out(*cmd, check=True):
    res = subprocess.run([str(c) for c in cmd], cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert not check or res.returncode == 0, "%s\n%s\n%s" % (
        " ".join(map(str, cmd)),
        res.stdout[-4000:],
        res.stderr[-2000:],
    )
    return res.stdout.strip()


def fleet(*args):
    return _out(sys.executable, FLEET_LAB, *args)


def fleet_servers():
    names = _out("docker", "ps", "-a", "--filter", "label=vacc.qwen3.lab=fleet-host", "--format", "{{.Names}}").split()
    return sorted(n[len("vacc-") :] for n in names if n != "vacc-fleet-gw")


def fleet_link():
    if _out("docker", "inspect", "-f", "{{.State.Running}}", "vacc-fleet-1", check=False) != "true":
        return ""  # stopped (e.g. after the engine restarted): `up` starts it again
    out = _out("docker", "exec", "vacc-fleet-1", "tc", "-j", "qdisc", "show", "dev", "eth0")
    root = next((q for q in json.loads(out or "[]") if q.get("root")), {})
    return str(round(root["options"]["rate"] * 8 / 1e6)) if root.get("kind") == "tbf" else ""


@contextlib.contextmanager
def fleet_as_it_was(hosts, mbit, fresh=False):
    """This checkout's fleet with `hosts` servers at `mbit` (a fleet of another checkout is refused);
    afterwards no fleet when none was up, else the size and link it had; `fresh`: recreated (what the
    test deployed on it goes)."""
    servers = fleet_servers()
    if servers and not (INVENTORY / "hosts.yml").exists():
        pytest.fail("a fleet started by another checkout is up (make fleet-status); wait until it is down")
    before = (str(len(servers)), fleet_link()) if servers else None
    fleet("up", "--hosts", str(hosts), "--link-mbit", str(mbit))
    yield
    if before is None or fresh:
        fleet("down")
    if before is not None:
        fleet("up", "--hosts", before[0], "--link-mbit", before[1])
