"""Preflight fails with its one sentence, before any change, when the host has too few dies.

Runs ansible-playbook on localhost (local connection) with a fake `vasmi` on PATH that lists one
VA10L card (4 dies) while the inventory asks for TP4 x 2 instances on 2 cards (8 dies).
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from fake_checkpoint import CONFIG, single

FP8 = {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic", "weight_block_size": [128, 128]}

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "preflight_too_few_dies.yml")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

FAKE_VASMI = """#!/bin/sh
# vasmi stand-in: the JSON form is not supported, the table lists one card.
[ "$2" = "--display-format=json" ] && { echo "unknown option $2" >&2; exit 2; }
echo " Card  Name   BusId"
echo " 0     VA10L  0000:3b:00.0"
"""


def _run(tmp_path, extra, vasmi=True):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    if vasmi:
        (bindir / "vasmi").write_text(FAKE_VASMI)
        (bindir / "vasmi").chmod(0o755)
    marker = tmp_path / "changed"
    env = dict(
        os.environ,
        PATH="%s:%s" % (bindir, os.environ.get("PATH", "")),
        ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_STDOUT_CALLBACK="default",
        ANSIBLE_CALLBACK_RESULT_FORMAT="json",
    )
    args = [
        ANSIBLE_PLAYBOOK,
        "-i",
        "localhost,",
        "-c",
        "local",
        PLAYBOOK,
        "-e",
        "ansible_python_interpreter=%s" % sys.executable,
        "-e",
        "test_marker=%s" % marker,
        "-e",
        "qwen3_api_key=preflight-test-key",
        "-e",
        "qwen3_model=Qwen3-30B-A3B-FP8 vacc_card=VA10L vacc_cards=2 qwen3_tp=4 qwen3_instances=2",
        "-e",
        "preflight_require_docker=false preflight_min_memory_gb=1 qwen3_weights_dir=%s" % tmp_path,
    ]
    for item in extra:
        args += ["-e", item]
    proc = subprocess.run(
        args,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=300,
        check=False,
    )
    return proc, marker


def _recap(out):
    m = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", out)
    assert m, out
    return {"ok": int(m.group(1)), "changed": int(m.group(2)), "failed": int(m.group(3))}


@pytest.mark.skipif(not os.path.exists(ANSIBLE_PLAYBOOK), reason="ansible-playbook not beside this python")
def test_too_few_dies_fails_before_any_change(tmp_path):
    proc, marker = _run(tmp_path, [])
    out = proc.stdout
    assert proc.returncode == 2, out
    assert (
        "localhost has 4 dies (vasmi) but the plan needs 8 (TP4 x 2 instance(s)), so lower "
        "qwen3_tp or qwen3_instances, or set vacc_dies if detection is wrong."
    ) in re.sub(r"\s+", " ", out)
    assert not marker.exists()
    assert _recap(out)["changed"] == 0 and _recap(out)["failed"] == 1


@pytest.mark.skipif(not os.path.exists(ANSIBLE_PLAYBOOK), reason="ansible-playbook not beside this python")
def test_enough_dies_passes_and_reaches_the_change(tmp_path):
    # The same host with vacc_dies=8 (detection overridden): preflight passes, the change happens.
    proc, marker = _run(tmp_path, ["vacc_dies=8"])
    assert proc.returncode == 0, proc.stdout
    assert "preflight passed" in proc.stdout
    assert marker.exists()


@pytest.mark.skipif(not os.path.exists(ANSIBLE_PLAYBOOK), reason="ansible-playbook not beside this python")
def test_unknown_dies_fail_only_when_required(tmp_path):
    # No vasmi and (on a machine without cards) nothing in sysfs or /dev: the die count is unknown.
    if glob.glob("/dev/vacc[0-9]*") or os.path.isdir("/sys/bus/pci/drivers/vastai_pci") or shutil.which("vasmi"):
        pytest.skip("this machine has Vastai devices")
    proc, marker = _run(tmp_path, ["preflight_require_dies=true"], vasmi=False)
    assert proc.returncode == 2, proc.stdout
    assert "the die count could not be detected" in proc.stdout
    assert not marker.exists()


@pytest.mark.skipif(not os.path.exists(ANSIBLE_PLAYBOOK), reason="ansible-playbook not beside this python")
def test_disk_check_unless_weights_present(tmp_path):
    # A margin no disk meets fails; the same run passes once the model's config.json is in place.
    proc, marker = _run(tmp_path, ["vacc_dies=8", "preflight_disk_margin=100000"])
    assert proc.returncode == 2, proc.stdout
    assert "so free space there or point qwen3_weights_dir at a larger disk." in re.sub(r"\s+", " ", proc.stdout)
    assert not marker.exists()
    # A config.json alone is an unfinished download: the disk is still needed.
    (tmp_path / "Qwen3-30B-A3B-FP8").mkdir()
    (tmp_path / "Qwen3-30B-A3B-FP8" / "config.json").write_text(json.dumps(CONFIG))
    (tmp_path / "bin").rename(tmp_path / "bin.1")
    proc, marker = _run(tmp_path, ["vacc_dies=8", "preflight_disk_margin=100000"])
    assert proc.returncode == 2, proc.stdout
    # an FP8 row needs an FP8 checkpoint (the check of a checkpoint against its row)
    single(tmp_path, name="Qwen3-30B-A3B-FP8", config=dict(CONFIG, quantization_config=FP8))
    (tmp_path / "bin").rename(tmp_path / "bin.2")
    proc, marker = _run(tmp_path, ["vacc_dies=8", "preflight_disk_margin=100000"])
    assert proc.returncode == 0, proc.stdout
    assert "weights present" in proc.stdout


def test_a_python_without_requests_is_named_with_its_fix(tmp_path):
    """A managed host's Python that lacks what community.docker needs is not reported as a dead engine: a bare
    venv (the standard library alone, as a fresh host's python3 without python3-requests)."""
    bare = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    python = bare / "bin" / "python"
    res = subprocess.run([str(python), "-c", "import requests"], capture_output=True, check=False)
    assert res.returncode != 0, "the bare venv has requests"
    proc, marker = _run(
        tmp_path, ["vacc_dies=8", "preflight_require_docker=true", "ansible_python_interpreter=%s" % python]
    )
    flat = re.sub(r"\s+", " ", proc.stdout.replace("\\n", " "))
    assert proc.returncode == 2, proc.stdout
    assert (
        "localhost: the Python that Ansible runs there lacks what community.docker needs (Failed to import the "
        "required Python library (requests)" in flat
    ), proc.stdout
    assert "apt-get install python3-requests python3-docker on Debian, or pip install requests docker" in flat
    assert "the Docker engine does not answer" not in flat and not marker.exists()


def test_a_dead_engine_is_named_with_its_fix(tmp_path):
    proc, marker = _run(
        tmp_path,
        ["vacc_dies=8", "preflight_require_docker=true", "preflight_docker_socket=%s" % (tmp_path / "no-docker.sock")],
    )
    flat = re.sub(r"\s+", " ", proc.stdout.replace("\\n", " "))
    assert proc.returncode == 2, proc.stdout
    assert "localhost: the Docker engine does not answer on %s" % (tmp_path / "no-docker.sock") in flat
    assert "so install Docker Engine and start dockerd (systemctl enable --now docker)" in flat and not marker.exists()
