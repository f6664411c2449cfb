"""playbooks/plan.yml end to end on the local inventory (ansible-playbook in a subprocess)."""
import json
import os
import stat
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def run_plan(tmp_path, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               PWD=str(tmp_path))
    cmd = [PLAYBOOK_BIN, "-i", os.path.join(ROOT, "inventories/local"), os.path.join(ROOT, "playbooks/plan.yml"),
           "-e", "qwen3_secrets_dir=%s" % (tmp_path / "secrets")] + list(extra)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_seed_command(tmp_path):
    out = tmp_path / "plans"
    res = run_plan(tmp_path, "-e", "qwen3_model=Qwen3-235B-A22B-Instruct-2507-FP8", "-e", "vacc_card=VA16",
                   "-e", "vacc_cards=4", "-e", "qwen3_tp=16", "-e", "qwen3_plan_dir=%s" % out)
    assert res.returncode == 0, res.stdout + res.stderr
    key_file = tmp_path / "secrets" / "api_key"
    key = key_file.read_text().strip()
    assert len(key) >= 32 and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key not in res.stdout, "the console must not show the key"
    flat = " ".join(res.stdout.split())
    assert "VACC_VISIBLE_DEVICES=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15" in flat
    assert "--tensor-parallel-size 16 --max-model-len 131072" in flat
    assert '--api-key "$(cat %s)"' % key_file in flat
    written = out / "localhost.json"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    plan = json.loads(written.read_text())
    assert plan["tp"] == 16 and plan["max_input_len"] == 102400 and plan["max_model_len"] == 131072
    assert plan["docker_run"].startswith("docker run -d -e VACC_VISIBLE_DEVICES=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 "
                                         "-e LLM_MAX_PREFILL_SEQ_LEN=102400 --privileged=true --shm-size=256g")
    assert plan["docker_run"].endswith("--api-key " + key)

    # The key is generated once: a second run reuses it.
    again = run_plan(tmp_path, "-e", "qwen3_model=Qwen3-8B-AWQ", "-e", "qwen3_plan_dir=%s" % out)
    assert again.returncode == 0, again.stdout + again.stderr
    assert key_file.read_text().strip() == key
    assert json.loads(written.read_text())["model"] == "Qwen3-8B-AWQ"


def test_known_failure_fails_the_play(tmp_path):
    res = run_plan(tmp_path, "-e", "qwen3_model=Qwen3-4B-AWQ", "-e", "vacc_cards=2", "-e", "qwen3_tp=8")
    assert res.returncode != 0
    assert "Qwen3-4B-AWQ does not load at TP8 on this platform; use TP2 or TP4" in " ".join((res.stdout + res.stderr).split())


@pytest.mark.parametrize("extra,needle", [
    (["-e", "qwen3_model=Qwen3-8B", "-e", "qwen3_tp=2", "-e", "qwen3_max_model_len=131072"],
     "max_model_len 131072 is over Qwen3-8B's limit at TP2 (65536)"),
    (["-e", "qwen3_model=Qwen3-8B-AWQ", "-e", "qwen3_tp=4", "-e", "qwen3_instances=2"],
     "TP4 x 2 instance(s) needs 8 dies but 1 x VA16 has 4"),
    (["-e", "qwen3_model=Qwen3-9B"], "Unknown model 'Qwen3-9B'"),
])
def test_refusals_fail_the_play(tmp_path, extra, needle):
    res = run_plan(tmp_path, *extra)
    assert res.returncode != 0
    assert needle in " ".join((res.stdout + res.stderr).split())


def test_check_mode_changes_nothing(tmp_path):
    out = tmp_path / "plans"
    res = run_plan(tmp_path, "--check", "-e", "qwen3_plan_dir=%s" % out)
    assert res.returncode == 0, res.stdout + res.stderr
    assert not out.exists()


def test_lab_inventory_plans(tmp_path):
    """The example fleet in inventories/lab stays valid (no host is contacted: plan.yml only plans)."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    out = tmp_path / "plans"
    res = subprocess.run([PLAYBOOK_BIN, "-i", os.path.join(ROOT, "inventories/lab"),
                          os.path.join(ROOT, "playbooks/plan.yml"), "-e", "qwen3_plan_dir=%s" % out,
                          "-e", "qwen3_secrets_dir=%s" % (tmp_path / "secrets")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    plans = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert len(plans) == 6
    assert plans["va16-srv01.lab.example"]["tp"] == 16
    assert plans["va16-c01.lab.example"]["die_slices"] == ["0,1", "2,3"]
    assert plans["va10l-a01.lab.example"]["max_model_len"] == 131072
