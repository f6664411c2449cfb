"""Helpers for the accuracy role's tests: run playbooks/evaluate.yml the way an operator does, with
the role installing EvalScope where it would (accuracy_venv), and read what lands on the controller."""

import glob
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
SAMPLE = os.path.join(ROOT, "roles", "accuracy", "files", "datasets")
EVALSCOPE_VENV = "/opt/vacc-qwen3/evalscope-venv"  # the role's default accuracy_venv


def evaluate(extra_vars, tmp_path, *args, timeout=900, wait=True):
    """ansible-playbook -i inventories/local playbooks/evaluate.yml -e @vars.json [args].
    Variables go through a file, so no key is on this command line either."""
    path = tmp_path / ("vars-%d.json" % time.monotonic_ns())
    path.write_text(json.dumps(extra_vars))
    cmd = [
        os.path.join(BIN, "ansible-playbook"),
        "-i",
        "inventories/local",
        "playbooks/evaluate.yml",
        "-e",
        "@" + str(path),
    ] + list(args)
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
        ANSIBLE_FORCE_COLOR="0",
        PATH=BIN + os.pathsep + os.environ.get("PATH", ""),
    )
    if not wait:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    started = time.monotonic()
    proc = subprocess.run(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    proc.seconds = time.monotonic() - started
    return proc


def recap(output):
    """{ok, changed, failed, ...} of the PLAY RECAP line."""
    m = re.search(r"^localhost\s*:\s*(.*)$", output, re.M)
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))} if m else {}


def run_dirs(results):
    return sorted(d for d in glob.glob(os.path.join(str(results), "*")) if os.path.isdir(d))


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]
