"""model_download_strategy: broadcast on the fleet lab, for real: three servers over SSH with each one's
egress shaped (tc), the lab's 95 MB checkpoint read from the hub (this machine) once.

Checks every server ends with the hub's copy (model_verify's fingerprint and every file's sha256), no
server sends more than 2 x S (its eth0 counters), a relay killed mid-transfer resumes without anything it
had being sent again (bytes counted), corrupt pieces are found and fetched again (on the disk of a
receiver, and on an upstream as it forwards them), and a server that dies mid-transfer is skipped: its
successor is fed from the seed, and once restarted it resumes.

Uses this checkout's fleet when one is up (its link set to TEST_MBIT, put back afterwards), else starts
three servers and removes them at the end; a fleet started by another checkout is refused.
"""

import contextlib
import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
from fleet_helpers import INVENTORY, fleet, fleet_as_it_was, fleet_servers

ROOT = Path(__file__).resolve().parents[2]
# model_verify as Ansible loads it (it imports the collection's module_utils), as in tests/unit.
_AnsibleCollectionFinder(paths=[str(ROOT / "collections")], scan_sys_paths=True)._install()
mv = importlib.import_module("ansible_collections.vacc.qwen3.plugins.modules.model_verify")
_SPEC = importlib.util.spec_from_file_location(
    "relay", ROOT / "roles" / "model_download" / "files" / "vacc_weights_relay.py"
)
relay = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(relay)
BIN = Path(sys.executable).parent
DATA_ROOT = Path("/var/lib/vacc-qwen3-fleet")
HUB = Path("/var/lib/vacc-qwen3/weights/qwen3-tiny")  # the lab's checkpoint (group_vars: model_download_local_path)
MODEL_DIR = "qwen3-tiny"
SERVERS = ["fleet-1", "fleet-2", "fleet-3"]
TEST_MBIT = 200  # S/B = 3.8 s: long enough to act mid-transfer (progress is read every 20 ms), short for a fast test
PIECE = 1 << 20
# SSH from the controller notices a dead server within seconds (Ansible's default master has no keepalive).
ENV = dict(
    os.environ,
    ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
    ANSIBLE_NOCOLOR="1",
    ANSIBLE_FORKS="4",
    ANSIBLE_DEPRECATION_WARNINGS="0",
    ANSIBLE_SSH_ARGS="-C -o ControlMaster=auto -o ControlPersist=60s -o ServerAliveInterval=2 -o ServerAliveCountMax=3",
)
BROADCAST = [
    "-e",
    "model_download_strategy=broadcast",
    "-e",
    "model_download_broadcast_piece_mib=1",
    "-e",
    "model_download_broadcast_streams=1",
    "-e",
    "model_download_broadcast_poll=1",
    "-e",
    "model_download_broadcast_stall_timeout=5",
    "-e",
    "model_download_broadcast_start_grace=30",
]


def run(cmd, timeout=300, check=True):
    res = subprocess.run(
        [str(c) for c in cmd], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check:
        assert res.returncode == 0, "%s\n%s\n%s" % (" ".join(map(str, cmd)), res.stdout[-4000:], res.stderr[-2000:])
    return res


def docker(*args, check=True):
    return run(["docker", *args], check=check).stdout.strip()


@pytest.fixture(scope="module")
def lab():
    """Three servers at TEST_MBIT; the fleet as it was afterwards."""
    with fleet_as_it_was(max(len(fleet_servers()), len(SERVERS)), TEST_MBIT):
        yield


def play(*extra, background=False, log=None):
    cmd = [
        BIN / "ansible-playbook",
        "-i",
        INVENTORY,
        ROOT / "playbooks" / "download.yml",
        "--limit",
        ":".join(SERVERS),
        *BROADCAST,
        *extra,
    ]
    if background:
        with open(log, "w") as out:
            return subprocess.Popen(
                [str(c) for c in cmd],
                cwd=ROOT,
                env=ENV,
                stdout=out,  # pylint: disable=consider-using-with
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
    return run(cmd, check=False)


@contextlib.contextmanager
def background_play(log):
    """The play running in the background; stopped (its process group) if the test leaves early."""
    job = play(background=True, log=log)
    try:
        yield job
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGTERM)
            job.wait(timeout=60)


def ok(res):
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-2000:]
    return res


def recap(text):
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) > 3 and parts[0] in SERVERS and parts[1] == ":":
            out[parts[0]] = {k: int(v) for k, v in (p.split("=") for p in parts[2:] if "=" in p)}
    return out


def copy(host):
    return DATA_ROOT / host / "weights" / MODEL_DIR


def progress(host):
    try:
        return json.loads((copy(host) / ".vacc-relay" / "progress.json").read_text())
    except (OSError, ValueError):
        return {}


def tx(host):
    return int(docker("exec", "vacc-" + host, "cat", "/sys/class/net/eth0/statistics/tx_bytes"))


def wipe(*hosts):
    for host in hosts:
        run(["rm", "-rf", DATA_ROOT / host / "weights"])


def sha_tree(path):
    out = {}
    for p in sorted(Path(path).rglob("*")):
        rel = p.relative_to(path)
        if p.is_file() and not any(part.startswith(".") for part in rel.parts):
            out[str(rel)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


HUB_SHA = None


def assert_hubs_copy(*hosts):
    global HUB_SHA  # pylint: disable=global-statement
    HUB_SHA = HUB_SHA or sha_tree(HUB)
    seed = mv.verify(str(copy("fleet-1")))
    for host in hosts:
        got = mv.verify(str(copy(host)))
        assert got["verified"] and got["fingerprint"] == seed["fingerprint"], (host, got["problems"])
        assert sha_tree(copy(host)) == HUB_SHA, "%s's copy is not the hub's" % host


def wait_for(condition, seconds, what):
    """Poll a condition (every 20 ms) until it holds; fail with `what` at the deadline."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("waited %ds for %s" % (seconds, what))
        time.sleep(0.02)  # poll interval of the condition above


def size():
    return sum(p.stat().st_size for p in HUB.rglob("*") if p.is_file())


def test_broadcast_gives_every_server_the_hubs_copy_and_a_rerun_changes_nothing(lab, tmp_path):  # pylint: disable=unused-argument
    wipe(*SERVERS)
    before = {h: tx(h) for h in SERVERS}
    first = ok(play())
    sent = {h: tx(h) - before[h] for h in SERVERS}
    assert_hubs_copy(*SERVERS)
    s = size()
    assert max(sent.values()) <= 2 * s, sent
    # A chain: the seed and the middle server each send one copy (plus SSH's and TCP's ~4 %), the last none.
    assert sent["fleet-1"] >= s and sent["fleet-2"] >= s and sent["fleet-3"] < 0.1 * s, sent
    # Progress was printed while it ran, a line per server, and kept on each server.
    assert "fleet-3    running" in first.stdout and "<- fleet-2" in first.stdout, first.stdout[-3000:]
    for host in SERVERS[1:]:
        p = progress(host)
        assert p["state"] == "done" and p["bytes_done"] == p["bytes_total"] == s and p["bytes_received"] == s, p
        assert p["pieces_total"] == sum(-(-f.stat().st_size // PIECE) for f in HUB.iterdir() if f.is_file()), p
    # vacc.qwen3.status shows each server's copy.
    run(
        [
            BIN / "ansible-playbook",
            "-i",
            INVENTORY,
            ROOT / "playbooks" / "status.yml",
            "-e",
            "qwen3_results_dir=%s" % tmp_path,
        ]
    )
    rows = {r["host"]: r for r in json.loads((tmp_path / "status" / "fleet.json").read_text())["servers"]}
    assert all(rows[h]["weights"].startswith("broadcast done, ") for h in SERVERS[1:]), rows
    second = ok(play())
    assert all(r["changed"] == 0 for r in recap(second.stdout).values()), second.stdout[-3000:]


def test_a_killed_relay_resumes_and_its_successor_is_fed_from_further_up(lab, tmp_path):  # pylint: disable=unused-argument
    wipe("fleet-2", "fleet-3")
    s = size()
    with background_play(tmp_path / "killed.log") as job:
        wait_for(
            lambda: progress("fleet-2").get("state") == "running" and progress("fleet-2")["bytes_done"] >= 0.3 * s,
            120,
            "fleet-2 to hold 30 % of the checkpoint",
        )
        docker("exec", "vacc-fleet-2", "kill", "-9", str(progress("fleet-2")["pid"]))
        job.wait(timeout=240)
    log = (tmp_path / "killed.log").read_text()
    assert job.returncode != 0 and "The broadcast relay on fleet-2 did not complete its copy" in log, log[-3000:]
    # fleet-3's upstream was gone: it took the rest from the seed.
    p3 = progress("fleet-3")
    assert p3["state"] == "done" and any(s_.startswith("fleet-2") for s_ in p3["skipped"]), p3
    assert_hubs_copy("fleet-3")
    had = verified_bytes("fleet-2")  # what fleet-2 had verified when it was killed
    assert 0.3 * s <= had < s
    seed_before = tx("fleet-1")
    ok(play())
    p2 = progress("fleet-2")
    assert p2["state"] == "done" and p2["bytes_reused"] == had and p2["bytes_received"] == s - had, (had, p2)
    sent = tx("fleet-1") - seed_before
    assert sent <= p2["bytes_received"] * 1.06 + 3_000_000, (sent, p2)  # the seed sent only what was missing
    assert_hubs_copy("fleet-2", "fleet-3")


def verified_bytes(host):
    """Bytes of the pieces the host's journal lists as verified (its relay's own accounting)."""
    state = copy(host) / ".vacc-relay"
    manifest = json.loads((state / "manifest.json").read_text())
    pieces = relay.pieces_of(manifest["files"], manifest["piece_bytes"])
    _m, verified, _end, _bad = relay.read_journal_lines((state / "journal").read_text().splitlines())
    return sum(pieces[k][2] for k in verified)


def corrupt(host, offset, keep_mtime):
    path = copy(host) / "model.safetensors"
    st = path.stat()
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(os.urandom(4096))
    if keep_mtime:  # bit rot: the bytes change, the file's size and mtime do not
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_corrupt_pieces_are_found_and_fetched_again(lab):  # pylint: disable=unused-argument
    if not all(mv.verify(str(copy(h)))["verified"] for h in SERVERS):
        ok(play())
    offset = 40 * PIECE + 123
    corrupt("fleet-2", offset, keep_mtime=True)  # rot on the upstream: found when it forwards the piece
    corrupt("fleet-3", offset, keep_mtime=False)  # a changed file on the receiver: found when it starts
    res = ok(play())
    p3 = progress("fleet-3")
    assert p3["state"] == "done" and p3["bytes_received"] == PIECE and p3["refetched"] == 1, p3
    assert "Repair the pieces found corrupt here while forwarding" in res.stdout
    assert "changed: [fleet-2]" in res.stdout.split("Repair the pieces found corrupt here while forwarding")[1][:400]
    p2 = progress("fleet-2")
    assert p2["state"] == "done" and p2["bytes_received"] == PIECE, p2
    assert_hubs_copy("fleet-2", "fleet-3")


def test_a_dead_middle_server_is_skipped_and_resumes_when_it_is_back(lab, tmp_path):  # pylint: disable=unused-argument
    wipe("fleet-2", "fleet-3")
    s = size()
    seed_before = tx("fleet-1")
    try:
        with background_play(tmp_path / "dead.log") as job:
            wait_for(
                lambda: progress("fleet-3").get("state") == "running" and progress("fleet-3")["bytes_done"] >= 0.2 * s,
                120,
                "fleet-3 to hold 20 % of the checkpoint",
            )
            docker("kill", "vacc-fleet-2")  # the server dies: no FIN, no RST, silence
            job.wait(timeout=240)
        log = (tmp_path / "dead.log").read_text()
        assert job.returncode != 0, log[-3000:]
        p3 = progress("fleet-3")
        assert p3["state"] == "done", (p3, log[-3000:])
        assert any(x.startswith("fleet-2") for x in p3["skipped"]), p3
        assert_hubs_copy("fleet-3")
        assert tx("fleet-1") - seed_before <= 2 * s
        had = verified_bytes("fleet-2")
    finally:
        docker("start", "vacc-fleet-2")
        fleet("up", "--hosts", str(max(len(fleet_servers()), len(SERVERS))), "--link-mbit", str(TEST_MBIT))
    assert had > 0
    ok(play())
    p2 = progress("fleet-2")
    assert p2["state"] == "done" and p2["bytes_reused"] == had and p2["bytes_received"] == s - had, (had, p2)
    assert_hubs_copy("fleet-2", "fleet-3")
