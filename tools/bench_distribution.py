"""How fast the weights reach every server: strategy once vs broadcast, on the fleet lab, measured.

    python tools/bench_distribution.py [--hosts 2,4,6] [--strategies once,broadcast] [--link-mbit 50]
                                       [--piece-mib 1] [--streams 1] [--out results/distribution]

(`make bench-distribution`.) For every N and strategy: the N servers fleet-1..N start without weights,
`playbooks/download.yml` runs on them (the hub: the lab's checkpoint on this machine, read by the seed),
and the run is measured, never modelled:
  - wall time: the playbook from start to end (epoch seconds);
  - bytes each server sent: eth0's tx_bytes in the server before and after (docker exec);
  - what the hub served: tx_bytes of the fleet network's bridge on this machine (the controller's side:
    the seed's download and Ansible's own traffic to the servers);
  - when host-to-host bytes flowed: every server's egress sampled ten times a second (the host side of
    its veth), which splits the wall time into start-up (play start to the first transfer), transfer and
    tail (verification after the last byte).
Every copy is then checked against the hub: model_verify's fingerprint and every file's sha256.

Writes results/distribution/summary.json (one record per strategy and N, exactly the issue's keys),
details.json (the same runs with the derived columns, each server's bytes, the logs) and table.md, atomically.
The fleet: one of this checkout's is used with the wanted size and link (settings restored afterwards);
without one, the benchmark starts it and removes it at the end; a fleet of another checkout is refused.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


fleet_lab = _load("fleet_lab", ROOT / "tools" / "fleet_lab.py")
ACTIVE_SHARE = 0.2  # a server sending faster than this share of the link is transferring weights
SAMPLE_S = 0.1
# summary.json: exactly the record, measured; the derived columns and each server's bytes go to details.json.
SUMMARY_KEYS = (
    "strategy",
    "hosts",
    "bytes",
    "link_mbit",
    "wall_s",
    "max_host_tx_bytes",
    "hub_bytes",
    "started_at",
    "ended_at",
)
WINDOW_S = 0.5


class BenchError(Exception):
    """One sentence: why the benchmark cannot go on, and what to do."""


# --------------------------------------------------------------------------------- pure parts
def link_bytes_per_s(mbit):
    return mbit * 1_000_000 / 8


def transfer_window(samples, link_bps, share=ACTIVE_SHARE, window=WINDOW_S):
    """(first, last) epoch second of host-to-host transfer in `samples` [(t, {host: cumulative tx bytes})]:
    a step between two samples where a server sent faster than `share` of the link, sustained over the
    `window` seconds after it (for the first) or before it (for the last); (None, None) if there is none."""

    def fast(a, b):
        if samples[b][0] <= samples[a][0]:
            return False
        return max(
            samples[b][1][h] - samples[a][1].get(h, samples[b][1][h]) for h in samples[b][1]
        ) > share * link_bps * (samples[b][0] - samples[a][0])

    def reach(i, seconds):
        """The sample index `seconds` away from i (forward when positive), clamped to the samples."""
        j = i
        step = 1 if seconds > 0 else -1
        while 0 <= j + step < len(samples) and abs(samples[j + step][0] - samples[i][0]) <= abs(seconds):
            j += step
        return j

    first = last = None
    for i in range(1, len(samples)):
        if fast(i - 1, i):
            if first is None and fast(i - 1, reach(i - 1, window)):
                first = samples[i - 1][0]
            if fast(reach(i, -window), i):
                last = samples[i][0]
    return first, last


def record(strategy, hosts, size, mbit, started, ended, tx, hub, window, extra=None):
    """The summary record of one run (epoch seconds, bytes as measured)."""
    sb = size / link_bytes_per_s(mbit)
    first, last = window
    rec = {
        "strategy": strategy,
        "hosts": hosts,
        "bytes": size,
        "link_mbit": mbit,
        "wall_s": round(ended - started, 2),
        "max_host_tx_bytes": max(tx.values()),
        "hub_bytes": hub,
        "started_at": round(started, 3),
        "ended_at": round(ended, 3),
        # Derived from the measurements above, for the table:
        "s_over_b_s": round(sb, 2),
        "startup_s": round(first - started, 2) if first else None,
        "transfer_s": round(last - first, 2) if first else None,
        "tail_s": round(ended - last, 2) if last else None,
        "host_tx_bytes": dict(sorted(tx.items())),
    }
    rec.update(extra or {})
    return rec


def summary(records):
    """summary.json's records: the issue's keys only, in its order."""
    return [{k: r[k] for k in SUMMARY_KEYS} for r in records]


def verdict(rec, fixed_limit_s=20.0):
    """The issue's bar for broadcast: wall within 2 x S/B plus a fixed start-up under 20 s; no server sends
    more than 2 x S. Returns {check: (ok, text)}."""
    sb = rec["s_over_b_s"]
    limit = 2 * sb + fixed_limit_s
    out = {
        "wall": (
            rec["wall_s"] <= limit,
            "wall %.1f s <= 2 x S/B + %d s = %.1f s" % (rec["wall_s"], fixed_limit_s, limit),
        ),
        "egress": (
            rec["max_host_tx_bytes"] <= 2 * rec["bytes"],
            "max egress %.2f x S <= 2 x S" % (rec["max_host_tx_bytes"] / rec["bytes"]),
        ),
    }
    if rec.get("transfer_s") is not None:
        out["transfer"] = (
            rec["transfer_s"] <= 2 * sb,
            "transfer %.1f s <= 2 x S/B = %.1f s" % (rec["transfer_s"], 2 * sb),
        )
        out["startup"] = (
            rec["startup_s"] < fixed_limit_s,
            "start-up %.1f s < %d s" % (rec["startup_s"], fixed_limit_s),
        )
    return out


def _f(value, fmt="%.1f"):
    return "-" if value is None else fmt % value


def table(records):
    """The Markdown table: one row per run, times against S/B, bytes against S."""
    head = (
        "| strategy | N | wall s | wall / (S/B) | start-up s | transfer s | transfer / (S/B) | tail s "
        "| max tx / S | hub / S |"
    )
    lines = [head, "|" + "---|" * 10]
    for r in sorted(records, key=lambda r: (r["hosts"], r["strategy"] != "once", r["strategy"])):
        sb = r["s_over_b_s"]
        lines.append(
            "| %s | %d | %.1f | %.2f | %s | %s | %s | %s | %.2f | %.2f |"
            % (
                r["strategy"],
                r["hosts"],
                r["wall_s"],
                r["wall_s"] / sb,
                _f(r.get("startup_s")),
                _f(r.get("transfer_s")),
                _f(r["transfer_s"] / sb if r.get("transfer_s") is not None else None, "%.2f"),
                _f(r.get("tail_s")),
                r["max_host_tx_bytes"] / r["bytes"],
                r["hub_bytes"] / r["bytes"],
            )
        )
    return lines


def markdown(records, meta):
    r0 = records[0]
    out = [
        "# Weights distribution on the fleet lab",
        "",
        "Measured %s on %s (%s); load average before the runs %s."
        % (meta["date"], meta["machine"], meta["cpus"], meta["load"]),
        "S = %d bytes (%s), B = %d Mbit/s per server (tc egress limit), S/B = %.2f s; pieces %d MiB, %d ssh "
        "stream(s) per hop."
        % (r0["bytes"], meta["checkpoint"], r0["link_mbit"], r0["s_over_b_s"], meta["piece_mib"], meta["streams"]),
        "",
        "wall: the playbook, start to end (hub read, preflight, transfer, verification). start-up / transfer / "
        "tail: before, while and after any server sent faster than %d%% of B (egress sampled every %.1f s). "
        "max tx: the most bytes one server's eth0 sent. hub: what the controller sent into the fleet "
        "network (the seed's download, rsync -z, and Ansible's own traffic)." % (ACTIVE_SHARE * 100, SAMPLE_S),
        "",
    ]
    out += table(records)
    for r in records:
        if r["strategy"] == "broadcast" and r["hosts"] == max(x["hosts"] for x in records):
            out += ["", "broadcast at N = %d against the issue's bar:" % r["hosts"]]
            out += ["- %s: %s" % ("yes" if ok else "NO", text) for ok, text in verdict(r).values()]
    return "\n".join(out) + "\n"


def write_atomic(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, prefix="." + path.name) as f:
        f.write(text)
    os.chmod(f.name, 0o644)
    os.replace(f.name, path)


# --------------------------------------------------------------------------------- measuring
def docker(*args, check=True):
    res = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    if check and res.returncode != 0:
        raise BenchError("docker %s failed: %s" % (" ".join(args[:3]), (res.stderr or res.stdout).strip()[-300:]))
    return res.stdout.strip()


def eth0_tx(host):
    return int(docker("exec", fleet_lab.CONTAINER_PREFIX + host, "cat", "/sys/class/net/eth0/statistics/tx_bytes"))


def veth_of(host):
    """The host-side end of the server's eth0: what it receives is what the server sends."""
    iflink = docker("exec", fleet_lab.CONTAINER_PREFIX + host, "cat", "/sys/class/net/eth0/iflink")
    for dev in Path("/sys/class/net").iterdir():
        try:
            if (dev / "ifindex").read_text().strip() == iflink:
                return dev / "statistics" / "rx_bytes"
        except OSError:
            continue
    raise BenchError("no interface of this machine is the other end of %s's eth0" % host)


def bridge_tx():
    net = fleet_lab.inspect("network", fleet_lab.NETWORK)
    name = (net.get("Options") or {}).get("com.docker.network.bridge.name") or "br-" + net["Id"][:12]
    return int(Path("/sys/class/net", name, "statistics", "tx_bytes").read_text())


class Sampler(threading.Thread):
    """Every server's cumulative egress, ten times a second, while a run lasts."""

    def __init__(self, hosts):
        super().__init__(daemon=True)
        self.files = {h: veth_of(h) for h in hosts}
        self.samples = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            now = time.time()
            self.samples.append((now, {h: int(f.read_text()) for h, f in self.files.items()}))
            self.stop.wait(SAMPLE_S)  # the sampling period; the run's end stops it


def checkpoint_files(path):
    out = {}
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            full = Path(dirpath, name)
            out[str(full.relative_to(path))] = full
    return out


def sha256_tree(path):
    return {
        rel: hashlib.sha256(p.read_bytes()).hexdigest()
        for rel, p in checkpoint_files(path).items()
        if not rel.endswith(".aria2")
    }


# --------------------------------------------------------------------------------- the fleet
def fleet_state():
    """(servers, link mbit or None) of the fleet on this machine's engine; (0, None) when there is none."""
    hosts = fleet_lab.lab_containers()
    servers = sorted(h for h in hosts if h != "fleet-gw")
    if not servers:
        return 0, None
    meta = fleet_lab.inspect("container", fleet_lab.CONTAINER_PREFIX + servers[0]) or {}
    if not (meta.get("State") or {}).get("Running"):
        return len(servers), None  # a stopped fleet (e.g. after the engine restarted): `up` starts it again
    root = fleet_lab.root_qdisc(fleet_lab.CONTAINER_PREFIX + servers[0])
    mbit = round(root["options"]["rate"] * 8 / 1e6) if root.get("kind") == "tbf" else None
    return len(servers), mbit


def fleet(*args):
    res = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "fleet_lab.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        raise BenchError(
            "tools/fleet_lab.py %s failed: %s" % (" ".join(args), (res.stderr or res.stdout).strip()[-400:])
        )
    return res.stdout


def group_vars():
    import yaml  # the venv's (ansible's dependency)

    return yaml.safe_load((fleet_lab.INVENTORY / "group_vars" / "vacc_servers.yml").read_text())


# --------------------------------------------------------------------------------- one run
def run_once(strategy, n, args, size, source, log_dir):
    hosts = ["fleet-%d" % i for i in range(1, n + 1)]
    gv = group_vars()
    model_dir = gv.get("qwen3_model_dir") or gv["qwen3_model"]
    for h in hosts:  # every server starts without weights (the installed relay, like hfd.sh, stays)
        weights = fleet_lab.DATA_ROOT / h / "weights"
        subprocess.run(["rm", "-rf", str(weights)], check=True)
    tx0 = {h: eth0_tx(h) for h in hosts}
    hub0 = bridge_tx()
    sampler = Sampler(hosts)
    load = os.getloadavg()[0]
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORKS=str(n + 1),
        ANSIBLE_DEPRECATION_WARNINGS="0",
    )
    cmd = [
        str(BIN / "ansible-playbook"),
        "-i",
        str(fleet_lab.INVENTORY),
        str(ROOT / "playbooks" / "download.yml"),
        "--limit",
        ":".join(hosts),
        "-e",
        "model_download_strategy=" + strategy,
        "-e",
        "model_download_broadcast_piece_mib=%d" % args.piece_mib,
        "-e",
        "model_download_broadcast_streams=%d" % args.streams,
        "-e",
        "model_download_broadcast_poll=5",
    ]
    log = log_dir / ("%s-%d.log" % (strategy, n))
    sampler.start()
    started = time.time()
    with open(log, "w") as out:
        res = subprocess.run(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    ended = time.time()
    sampler.stop.set()
    sampler.join()
    tx = {h: eth0_tx(h) - tx0[h] for h in hosts}
    hub = bridge_tx() - hub0
    if res.returncode != 0:
        raise BenchError("%s on %d servers failed (exit %d); see %s" % (strategy, n, res.returncode, log))
    want = sha256_tree(source)
    for h in hosts:
        got = sha256_tree(fleet_lab.DATA_ROOT / h / "weights" / model_dir)
        if got != want:
            raise BenchError(
                "%s on %d servers: %s's copy differs from the hub's (%s); see %s"
                % (
                    strategy,
                    n,
                    h,
                    ", ".join(sorted(set(want) ^ set(got)) or [k for k in want if want[k] != got.get(k)]),
                    log,
                )
            )
    window = transfer_window(sampler.samples, link_bytes_per_s(args.link_mbit))
    return record(
        strategy,
        n,
        size,
        args.link_mbit,
        started,
        ended,
        tx,
        hub,
        window,
        {
            "piece_mib": args.piece_mib,
            "streams": args.streams,
            "load_1m_before": round(load, 2),
            "copies_identical": True,
            "log": os.path.relpath(log, ROOT),
        },
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--hosts", default="2,4,6")
    parser.add_argument("--strategies", default="once,broadcast")
    parser.add_argument("--link-mbit", type=int, default=50)
    parser.add_argument("--piece-mib", type=int, default=1)
    parser.add_argument("--streams", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "results" / "distribution"))
    args = parser.parse_args(argv)
    counts = sorted({int(x) for x in args.hosts.split(",")})
    strategies = [s for s in args.strategies.split(",") if s]
    out = Path(args.out)
    log_dir = out / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        fleet_lab.require_engine()
        servers, mbit = fleet_state()
        if servers and not (fleet_lab.INVENTORY / "hosts.yml").exists():
            raise BenchError(
                "a fleet of %d servers is up that another checkout started (no inventories/fleet here); "
                "wait until it is down, or run the benchmark in that checkout" % servers
            )
        started_fleet = servers == 0
        before = (servers, mbit)
        if (servers, mbit) != (max(counts[-1], servers), args.link_mbit):
            print(
                "bench: fleet of %d servers at %d mbit (was %s)"
                % (max(counts[-1], servers), args.link_mbit, "none" if started_fleet else "%d at %s" % before)
            )
            fleet("up", "--hosts", str(max(counts[-1], servers)), "--link-mbit", str(args.link_mbit))
        source = Path(group_vars()["model_download_local_path"])
        size = sum(p.stat().st_size for p in checkpoint_files(source).values())
        if size < 90_000_000:
            raise BenchError(
                "the lab checkpoint %s holds %d bytes, under the 90 MB the benchmark needs; rebuild it "
                "with `make lab`" % (source, size)
            )
        records = []
        try:
            for n in counts:
                for strategy in strategies:
                    print("bench: %s on %d servers ..." % (strategy, n), flush=True)
                    rec = run_once(strategy, n, args, size, source, log_dir)
                    records.append(rec)
                    print(
                        "bench: %s N=%d wall %.1f s (S/B %.1f s), max tx %.2f x S, hub %.2f x S"
                        % (
                            strategy,
                            n,
                            rec["wall_s"],
                            rec["s_over_b_s"],
                            rec["max_host_tx_bytes"] / size,
                            rec["hub_bytes"] / size,
                        ),
                        flush=True,
                    )
        finally:
            if started_fleet:
                fleet("down")
            elif (servers, mbit) != fleet_state():
                fleet("up", "--hosts", str(before[0]), "--link-mbit", "" if before[1] is None else str(before[1]))
        meta = {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": platform.node() or "this machine",
            "cpus": "%d CPUs" % os.cpu_count(),
            "load": "%.2f" % records[0]["load_1m_before"],
            "checkpoint": source.name,
            "piece_mib": args.piece_mib,
            "streams": args.streams,
        }
        write_atomic(out / "summary.json", json.dumps(summary(records), indent=2) + "\n")
        write_atomic(out / "details.json", json.dumps({"meta": meta, "runs": records}, indent=2) + "\n")
        text = markdown(records, meta)
        write_atomic(out / "table.md", text)
        print(text)
        return 0
    except (BenchError, fleet_lab.FleetError) as exc:
        print("bench: %s" % exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
