"""How fast the fleet is planned: playbooks/plan.yml on generated inventories of never-contacted hosts.

    python tools/bench_plan.py [--hosts 10,100,1000] [--limit 60]

Each inventory mixes the three kinds of server of inventories/lab (VA16 servers with the 235B at
TP16, one-card VA16 hosts with two 30B-A3B instances, two-card VA10L hosts with the 32B at TP8 and
YaRN); every run writes a plan file per host. Prints hosts per second for each size and exits 1 when
the largest takes longer than --limit seconds (the goal: 1000 hosts in under 60 s on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GROUPS = {
    "va16_servers": {"qwen3_model": "Qwen3-235B-A22B-Instruct-2507-FP8", "vacc_cards": 4, "qwen3_tp": 16},
    "va16_cards": {"qwen3_model": "Qwen3-30B-A3B-FP8", "qwen3_tp": 2, "qwen3_instances": 2},
    "va10l_pairs": {
        "qwen3_model": "Qwen3-32B-AWQ",
        "vacc_card": "VA10L",
        "vacc_cards": 2,
        "qwen3_tp": 8,
        "qwen3_max_model_len": 131072,
    },
}


def inventory(n):
    names = list(GROUPS)
    children = {g: {"vars": v, "hosts": {}} for g, v in GROUPS.items()}
    for i in range(n):
        children[names[i % len(names)]]["hosts"]["srv%05d.fleet.example" % i] = {}
    return {"all": {"vars": {"qwen3_api_key": "bench-plan-key"}, "children": {"vacc_servers": {"children": children}}}}


def run(n, work):
    inv = os.path.join(work, "inv-%d.json" % n)
    with open(inv, "w") as handle:
        json.dump(inventory(n), handle)
    plans = os.path.join(work, "plans-%d" % n)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    exe = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    start = time.monotonic()
    res = subprocess.run(
        [exe, "-i", inv, os.path.join(ROOT, "playbooks", "plan.yml"), "-e", "qwen3_plan_dir=" + plans],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - start
    written = len(os.listdir(plans)) if os.path.isdir(plans) else 0
    if res.returncode != 0 or written != n:
        raise SystemExit(
            "plan.yml on %d hosts failed (rc %d, %d plan files):\n%s" % (n, res.returncode, written, res.stdout[-3000:])
        )
    lines = len(res.stdout.splitlines())
    return seconds, lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="10,100,1000")
    parser.add_argument("--limit", type=float, default=60.0)
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.hosts.split(",")]
    print("%8s %10s %10s %12s" % ("hosts", "seconds", "hosts/s", "output lines"))
    with tempfile.TemporaryDirectory(prefix="vacc-bench-plan-") as work:
        for n in sizes:
            seconds, lines = run(n, work)
            print("%8d %10.2f %10.1f %12d" % (n, seconds, n / seconds, lines))
    if seconds > args.limit:
        print("%d hosts took %.1f s, over the %.0f s goal" % (sizes[-1], seconds, args.limit))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
