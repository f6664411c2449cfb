"""Strategy broadcast, the parts that need no fleet: the chain (download_topology), the relay's piece
math, manifest, journal and carry-over, a whole chain of relays on this machine (upstreams run locally,
no ssh), the watcher's reading of probes, and the benchmark's arithmetic. The fleet test
(tests/fleet/test_distribution.py) runs the same relay over SSH with shaped links."""

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _broadcast, _download

ROOT = Path(__file__).resolve().parents[2]
RELAY_PATH = ROOT / "roles" / "model_download" / "files" / "vacc_weights_relay.py"


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


relay = _load("vacc_weights_relay", RELAY_PATH)
bench = _load("bench_distribution", ROOT / "tools" / "bench_distribution.py")


# ---------------------------------------------------------------- the chain
HOSTS = {
    "a": {"model": "M1", "dest": "/w/a", "address": "10.0.0.1"},
    "b": {"model": "M1", "dest": "/w/b"},
    "c": {"model": "M2", "dest": "/w/c"},
    "d": {"model": "M1", "dest": "/w/d", "address": "10.0.0.4"},
}


def test_broadcast_chains_each_model_in_play_order_seed_first():
    layout = _download.topology(HOSTS, strategy="broadcast")
    assert layout["seeds"] == {"M1": "a", "M2": "c"}
    assert [h["name"] for h in layout["chains"]["M1"]] == ["a", "b", "d"]
    assert layout["chains"]["M1"][0] == {"name": "a", "address": "10.0.0.1", "dir": "/w/a"}
    d = layout["hosts"]["d"]
    assert d["broadcast"] and not d["once"] and not d["fetch"] and d["source"] is None
    # Predecessors nearest first, the seed last: a failed b is skipped for a.
    assert d["upstreams"] == [
        {"name": "b", "address": "b", "dir": "/w/b"},
        {"name": "a", "address": "10.0.0.1", "dir": "/w/a"},
    ]
    assert layout["hosts"]["a"]["fetch"] and layout["hosts"]["a"]["upstreams"] == []
    assert layout["hosts"]["c"]["chain"] == ["c"] and layout["hosts"]["c"]["upstreams"] == []


def test_a_named_seed_heads_the_chain():
    one_model = {k: v for k, v in HOSTS.items() if v["model"] == "M1"}
    layout = _download.topology(one_model, strategy="broadcast", seed_host="d")
    assert [h["name"] for h in layout["chains"]["M1"]] == ["d", "a", "b"]
    assert [u["name"] for u in layout["hosts"]["b"]["upstreams"]] == ["a", "d"]


def test_chain_upstreams():
    assert _download.chain_upstreams(["s", "x", "y", "z"], "z") == ["y", "x", "s"]
    assert _download.chain_upstreams(["s"], "s") == []


@pytest.mark.parametrize(
    "kwargs,sentence",
    [
        (
            {"strategy": "broadcast", "seed_host": "localhost"},
            "model_download_strategy: broadcast starts its chain on a host of the play, not on the controller",
        ),
        (
            {"strategy": "broadcast", "shared_path": True},
            "model_download_shared_path: true copies nothing, so there is nothing to broadcast",
        ),
        ({"strategy": "p2p"}, "model_download_strategy must be each, once or broadcast, not 'p2p'."),
    ],
)
def test_broadcast_layouts_that_cannot_work(kwargs, sentence):
    with pytest.raises(_download.DownloadError) as info:
        _download.topology(HOSTS, **kwargs)
    assert sentence in str(info.value)


# ---------------------------------------------------------------- pieces and the manifest
FILES = [
    {"path": "a.safetensors", "size": 10, "mode": 0o644, "mtime_ns": 1},
    {"path": "empty.txt", "size": 0, "mode": 0o644, "mtime_ns": 2},
    {"path": "sub/b.json", "size": 4, "mode": 0o600, "mtime_ns": 3},
]


def test_pieces_cover_every_byte_once_the_last_of_a_file_shorter():
    assert relay.pieces_of(FILES, 4) == [(0, 0, 4), (0, 4, 4), (0, 8, 2), (2, 0, 4)]
    assert sum(p[2] for p in relay.pieces_of(FILES, 3)) == 14
    assert relay.pieces_of(FILES, 100) == [(0, 0, 10), (2, 0, 4)]
    with pytest.raises(relay.RelayError, match="at least 1 byte"):
        relay.pieces_of(FILES, 0)


def test_the_manifest_id_covers_names_sizes_mtimes_and_piece_size():
    m = relay.build_manifest(FILES, 4)
    assert m["bytes"] == 14 and m["pieces"] == 4 and relay.manifest_id(m) == m["id"]
    touched = [dict(FILES[0], mtime_ns=9)] + FILES[1:]
    assert relay.build_manifest(touched, 4)["id"] != m["id"]
    assert relay.build_manifest(FILES, 8)["id"] != m["id"]
    relay.check_manifest(m)


@pytest.mark.parametrize("path", ["../escape", "/etc/passwd", "a/../../b", ".vacc-relay/journal", "a//b", ""])
def test_a_manifest_naming_a_path_outside_the_copy_is_refused(path):
    m = relay.build_manifest([{"path": path, "size": 1, "mode": 0o644, "mtime_ns": 1}], 4)
    with pytest.raises(relay.RelayError, match="not a plain path inside the checkpoint"):
        relay.check_manifest(m)


def test_a_manifest_whose_content_does_not_match_its_id_is_refused():
    m = relay.build_manifest(FILES, 4)
    m["files"][0]["size"] = 11
    with pytest.raises(relay.RelayError, match="does not match its id"):
        relay.check_manifest(m)


def test_a_new_manifest_keeps_the_pieces_of_unchanged_files():
    old = relay.build_manifest(FILES, 4)
    verified = {0: "s0", 1: "s1", 2: "s2", 3: "s3"}
    new_files = [
        FILES[0],
        FILES[1],
        dict(FILES[2], mtime_ns=99),
        {"path": "z.bin", "size": 4, "mode": 0o644, "mtime_ns": 5},
    ]
    new = relay.build_manifest(new_files, 4)
    assert relay.carry(old, new, verified) == {0: "s0", 1: "s1", 2: "s2"}  # sub/b.json changed: fetched again
    assert relay.carry(old, relay.build_manifest(FILES, 3), verified) == {}  # other offsets: nothing carries
    # A piece at the same offset with the same length carries, whatever the piece size: the tail of a.safetensors.
    assert relay.carry(old, relay.build_manifest(FILES, 2), verified) == {4: "s2"}
    assert relay.carry(None, new, verified) == {} and relay.carry(old, old, verified) == verified


def test_the_journal_is_read_as_written_a_torn_line_ignored():
    lines = [
        '{"manifest": "m1"}',
        '{"k": 0, "sha": "a"}',
        '{"k": 1, "sha": "b"}',
        '{"end": "done", "stats": {}}',
        '{"bad": 1}',
        '{"k": 2, "sh',
    ]
    manifest, verified, end, bad_after_end = relay.read_journal_lines(lines)
    assert manifest == "m1" and verified == {0: "a"} and end["end"] == "done" and bad_after_end
    _m, _v, end, _b = relay.read_journal_lines(lines[:4] + ['{"start": "r2"}'])
    assert end is None  # a relay started after that end: it has not ended (killed?) until its own end record
    _m, verified, _e, _b = relay.read_journal_lines(lines + ['{"manifest": "m2"}', '{"k": 5, "sha": "x"}'])
    assert verified == {5: "x"}


def test_rate_over_the_last_seconds():
    assert relay.rate([(0, 0), (1, 10), (2, 30)], 2) == 15
    assert relay.rate([(0, 0), (10, 100), (11, 110)], 11, window=5) == 10
    assert relay.rate([(0, 0)], 0) == 0


# ---------------------------------------------------------------- a chain of relays on this machine
def checkpoint(path, size=5 * 1024 * 1024 + 123):
    path.mkdir(parents=True)
    (path / "model.safetensors").write_bytes(os.urandom(size))
    (path / "config.json").write_text('{"model_type": "qwen3"}')
    (path / "empty.txt").write_text("")
    (path / "sub").mkdir()
    (path / "sub" / "tok.json").write_bytes(os.urandom(70_000))
    (path / ".cache").mkdir()
    (path / ".cache" / "download-state").write_text("the hub's, not the model's")
    return path


def tree(path):
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file() and not any(x.startswith(".") for x in p.relative_to(path).parts)
    }


def cli(*args, stdin=None):
    res = subprocess.run(
        [sys.executable, str(RELAY_PATH), *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return res.returncode, (json.loads(res.stdout.splitlines()[-1]) if res.stdout.strip() else {}), res.stderr


class Chain:
    """seed -> b -> c in a temporary directory; 64 KiB pieces; upstreams run locally (no ssh)."""

    def __init__(self, base):
        self.base = base
        self.seed = checkpoint(base / "seed")
        self.dirs = {"seed": self.seed, "b": base / "b", "c": base / "c"}
        self.run_no = 0

    def ups(self, host):
        order = ["seed", "b", "c"]
        return [{"name": n, "address": "", "dir": str(self.dirs[n])} for n in reversed(order[: order.index(host)])]

    def broadcast(self, *hosts, extra=()):
        """prepare everywhere, then the seed and `hosts` relays at once; their final records."""
        self.run_no += 1
        run = "r%d" % self.run_no
        rc, seed, err = cli("prepare", self.seed, "--run", run, "--seed", "--piece-bytes", 65536)
        assert rc == 0, err
        for h in ("b", "c"):
            assert cli("prepare", self.dirs[h], "--run", run)[0] == 0
        procs = {
            "seed": subprocess.Popen(
                [sys.executable, str(RELAY_PATH), "run", str(self.seed), "--run", run, "--host", "seed", "--seed"],
                stdout=subprocess.PIPE,
                text=True,
            )
        }
        for h in hosts:
            procs[h] = subprocess.Popen(
                [
                    sys.executable,
                    str(RELAY_PATH),
                    "run",
                    str(self.dirs[h]),
                    "--run",
                    run,
                    "--host",
                    h,
                    "--manifest-id",
                    seed["manifest"],
                    "--upstreams",
                    json.dumps(self.ups(h)),
                    "--streams",
                    "2",
                    "--stall-timeout",
                    "10",
                    *extra,
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        out = {}
        for h, p in procs.items():
            stdout, _err = p.communicate(timeout=120)
            out[h] = json.loads(stdout.splitlines()[-1])
        return out


def test_a_chain_of_relays_gives_every_copy_the_seeds_bytes_then_nothing_to_do(tmp_path):
    chain = Chain(tmp_path)
    out = chain.broadcast("b", "c")
    total = sum(
        f.stat().st_size
        for f in chain.seed.rglob("*")
        if f.is_file() and not any(x.startswith(".") for x in f.relative_to(chain.seed).parts)
    )
    for h in ("b", "c"):
        assert out[h]["state"] == "done" and out[h]["bytes_received"] == total, out[h]
        assert tree(chain.dirs[h]) == tree(chain.seed)
        assert not (chain.dirs[h] / ".cache").exists()  # download state is not the model's
        assert os.listdir(chain.dirs[h] / ".vacc-relay" / "partial") == []
        assert cli("check", chain.dirs[h], "--manifest-id", out["seed"]["manifest"])[1]["complete"]
    assert (chain.dirs["c"] / "empty.txt").read_bytes() == b""
    assert cli("check", chain.seed, "--manifest-id", out["seed"]["manifest"])[1]["complete"]
    again = chain.broadcast("b", "c")
    assert again["b"]["bytes_received"] == 0 and again["b"]["bytes_reused"] == total


def test_a_corrupt_piece_is_refetched_alone_on_the_disk_and_from_further_up_when_forwarded(tmp_path):
    chain = Chain(tmp_path)
    first = chain.broadcast("b", "c")
    manifest = first["seed"]["manifest"]
    shard_b, shard_c = chain.dirs["b"] / "model.safetensors", chain.dirs["c"] / "model.safetensors"
    # b's bytes rot (size and mtime unchanged); c's file is written to (its mtime changes).
    st = shard_b.stat()
    with open(shard_b, "r+b") as f:
        f.seek(200_000)
        f.write(b"rot")
    os.utime(shard_b, ns=(st.st_atime_ns, st.st_mtime_ns))
    with open(shard_c, "r+b") as f:
        f.seek(200_000)
        f.write(b"bad")
    assert cli("check", chain.dirs["b"], "--manifest-id", manifest)[1]["complete"], "rot is not seen by a stat"
    assert (
        cli("check", chain.dirs["c"], "--manifest-id", manifest)[1]["reason"]
        == "model.safetensors changed since it was verified"
    )
    out = chain.broadcast("c")
    # c found its piece bad, asked b, whose own check before forwarding failed (BAD), and took it from the seed.
    assert out["c"]["bytes_received"] == 65536 and out["c"]["refetched"] == 1, out["c"]
    assert tree(chain.dirs["c"]) == tree(chain.seed)
    assert (
        cli("check", chain.dirs["b"], "--manifest-id", manifest)[1]["reason"]
        == "a piece failed verification while it was being forwarded"
    )
    repaired = chain.broadcast("b")
    assert repaired["b"]["bytes_received"] == 65536 and tree(chain.dirs["b"]) == tree(chain.seed)


def test_a_receiver_without_a_live_upstream_says_which_and_what_to_do(tmp_path):
    chain = Chain(tmp_path)
    rc, seed, _err = cli("prepare", chain.seed, "--run", "r1", "--seed", "--piece-bytes", 65536)
    assert cli("prepare", chain.dirs["b"], "--run", "r1")[0] == 0
    # The seed holds this manifest but no relay ran there: nothing is verified, and the start grace is over.
    rc, out, _err = cli(
        "run",
        chain.dirs["b"],
        "--run",
        "r1",
        "--host",
        "b",
        "--manifest-id",
        seed["manifest"],
        "--upstreams",
        json.dumps(chain.ups("b")),
        "--start-grace",
        "0",
        "--stall-timeout",
        "5",
    )
    assert rc == 1 and out["state"] == "failed"
    assert out["error"].startswith("no upstream can give the missing pieces (seed: seed: its relay is not running")
    assert out["error"].endswith("rerun when the seed seed answers")
    assert not (chain.dirs["b"] / "model.safetensors").exists(), "an incomplete copy is never in place"


def test_a_detached_relay_answers_at_once_and_its_progress_says_how_it_ended(tmp_path):
    chain = Chain(tmp_path)
    _rc, seed, _err = cli("prepare", chain.seed, "--run", "r1", "--seed", "--piece-bytes", 65536)
    assert cli("prepare", chain.dirs["b"], "--run", "r1")[0] == 0
    progress = {h: chain.dirs[h] / ".vacc-relay" / "progress.json" for h in ("seed", "b")}

    def ended(h):
        try:
            p = json.loads(progress[h].read_text())
        except (OSError, ValueError):
            return None
        return (
            p
            if p.get("run") == "r1"
            and p.get("state") in ("done", "failed")
            and not relay.relay_alive(str(chain.dirs[h]))
            else None
        )

    rc, started, _err = cli("run", chain.seed, "--run", "r1", "--host", "seed", "--seed", "--detach")
    assert rc == 0 and started["state"] == "started"
    rc, started, _err = cli(
        "run",
        chain.dirs["b"],
        "--run",
        "r1",
        "--host",
        "b",
        "--manifest-id",
        seed["manifest"],
        "--upstreams",
        json.dumps(chain.ups("b")),
        "--detach",
    )
    assert rc == 0 and started["state"] == "started"
    deadline = time.monotonic() + 60
    while not (ended("seed") and ended("b")):
        assert time.monotonic() < deadline, "the detached relays did not end"
        time.sleep(0.05)  # poll interval of the wait for both relays to end
    assert ended("b")["state"] == "done" and tree(chain.dirs["b"]) == tree(chain.seed)
    # A receiver that cannot even take the manifest leaves a failed record of its run, with the reason.
    rc, _out, _err = cli(
        "run",
        chain.dirs["c"],
        "--run",
        "r1",
        "--host",
        "c",
        "--manifest-id",
        "0" * 64,
        "--upstreams",
        json.dumps(chain.ups("c")),
        "--start-grace",
        "0",
        "--stall-timeout",
        "2",
        "--detach",
    )
    assert rc == 0
    c_progress = chain.dirs["c"] / ".vacc-relay" / "progress.json"
    deadline = time.monotonic() + 60
    while not (c_progress.exists() and json.loads(c_progress.read_text()).get("state") == "failed"):
        assert time.monotonic() < deadline, "the detached relay of c left no record"
        time.sleep(0.05)  # poll interval of the wait for c's relay to give up
    record = json.loads(c_progress.read_text())
    assert record["run"] == "r1" and record["error"].startswith("no upstream gave manifest"), record


def test_prepare_installs_the_relay_once_and_says_so(tmp_path):
    target = tmp_path / "bin" / "vacc-weights-relay"
    args = ("prepare", tmp_path / "copy", "--run", "r1", "--install", target)
    assert cli(*args)[1]["relay_installed"] and target.read_bytes() == RELAY_PATH.read_bytes()
    assert os.stat(target).st_mode & 0o777 == 0o755
    assert not cli(*args)[1]["relay_installed"]


def test_a_second_relay_on_the_same_copy_is_refused(tmp_path):
    import fcntl

    chain = Chain(tmp_path)
    cli("prepare", chain.seed, "--run", "r1", "--seed", "--piece-bytes", 65536)
    with open(chain.seed / ".vacc-relay" / "lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        rc, out, _err = cli("run", chain.seed, "--run", "r1", "--host", "seed", "--seed")
    assert rc == 1 and "is still running on" in out["error"] and out["error"].endswith("stop it and rerun")


# ---------------------------------------------------------------- the watcher
def probe(run, state="running", alive=True, **progress):
    return {"alive": alive, "prepared": run, "progress": dict({"run": run, "state": state}, **progress)}


@pytest.mark.parametrize(
    "p,takes_part,waited,unreach,expected",
    [
        (probe("r1"), True, 0, 0, _broadcast.RUNNING),
        (probe("r1", "done", alive=False), True, 0, 0, _broadcast.DONE),
        (probe("r1", "failed", alive=False), True, 0, 0, _broadcast.FAILED),
        (probe("r1", "running", alive=False), True, 0, 0, _broadcast.STOPPED),  # killed: no end record
        (probe("r0", "done", alive=False), False, 0, 0, _broadcast.HAD_IT),
        (probe("r0", "done", alive=False), True, 5, 0, _broadcast.PENDING),  # its relay not started yet
        (probe("r0", "done", alive=False), True, 200, 0, _broadcast.NEVER_STARTED),
        ({"unreachable": "no route"}, True, 0, 3, _broadcast.PENDING),
        ({"unreachable": "no route"}, True, 0, 40, _broadcast.UNREACHABLE),
    ],
)
def test_the_watcher_reads_each_server(p, takes_part, waited, unreach, expected):
    assert _broadcast.classify(p, "r1", takes_part, waited, 120, unreach, 30) == expected


def test_the_watcher_prints_bytes_rate_and_upstream():
    p = probe(
        "r1",
        role="receiver",
        bytes_total=95_000_000,
        bytes_done=47_500_000,
        bytes_received=40_000_000,
        bytes_reused=7_500_000,
        rate_bps=12_000_000,
        eta_s=4,
        upstream="fleet-2",
        skipped=["fleet-2: gone"],
    )
    line = _broadcast.line("fleet-3", _broadcast.RUNNING, p)
    assert line.split() == [
        "fleet-3",
        "running",
        "50%",
        "47.5/95.0",
        "MB",
        "received",
        "40.0",
        "MB",
        "kept",
        "7.5",
        "MB",
        "12.0",
        "MB/s",
        "eta",
        "4s",
        "<-",
        "fleet-2",
        "(skipped",
        "fleet-2:",
        "gone)",
    ]
    assert _broadcast.over({"a": _broadcast.DONE, "b": _broadcast.HAD_IT})
    assert not _broadcast.over({"a": _broadcast.DONE, "b": _broadcast.PENDING})


# ---------------------------------------------------------------- the benchmark's arithmetic
def test_the_transfer_window_is_when_any_server_sends_at_link_speed():
    b = 1_000_000  # bytes/s
    samples = [(t / 10, {"s1": 0, "s2": 0}) for t in range(10)]  # 1 s idle
    samples += [(1 + t / 10, {"s1": t * 100_000, "s2": 0}) for t in range(1, 31)]  # 3 s at B
    samples += [(4 + t / 10, {"s1": 3_000_000, "s2": 1_000}) for t in range(1, 11)]  # idle again
    first, last = bench.transfer_window(samples, b)
    assert first == pytest.approx(1.0, abs=0.11) and last == pytest.approx(4.0, abs=0.11)
    assert bench.transfer_window(samples[:10], b) == (None, None)


def test_records_and_the_issues_bar():
    rec = bench.record(
        "broadcast",
        6,
        95_000_000,
        50,
        100.0,
        140.0,
        {"fleet-1": 98_000_000, "fleet-6": 1_000},
        70_000_000,
        (110.0, 130.0),
    )
    assert {k: rec[k] for k in ("wall_s", "max_host_tx_bytes", "hub_bytes", "startup_s", "transfer_s", "tail_s")} == {
        "wall_s": 40.0,
        "max_host_tx_bytes": 98_000_000,
        "hub_bytes": 70_000_000,
        "startup_s": 10.0,
        "transfer_s": 20.0,
        "tail_s": 10.0,
    }
    assert rec["s_over_b_s"] == pytest.approx(15.2)
    assert set(rec) >= {
        "strategy",
        "hosts",
        "bytes",
        "link_mbit",
        "wall_s",
        "max_host_tx_bytes",
        "hub_bytes",
        "started_at",
        "ended_at",
    }
    assert bench.summary([rec]) == [
        {
            "strategy": "broadcast",
            "hosts": 6,
            "bytes": 95_000_000,
            "link_mbit": 50,
            "wall_s": 40.0,
            "max_host_tx_bytes": 98_000_000,
            "hub_bytes": 70_000_000,
            "started_at": 100.0,
            "ended_at": 140.0,
        }
    ]
    v = bench.verdict(rec)
    assert all(ok for ok, _text in v.values()), v
    slow = dict(rec, wall_s=60.0, max_host_tx_bytes=200_000_000)
    assert not bench.verdict(slow)["wall"][0] and not bench.verdict(slow)["egress"][0]
    lines = bench.table([rec, dict(rec, strategy="once", wall_s=90.0)])
    assert lines[2].startswith("| once | 6 | 90.0 | 5.92 |") and lines[3].startswith(
        "| broadcast | 6 | 40.0 | 2.63 | 10.0 | 20.0 | 1.32 |"
    )
