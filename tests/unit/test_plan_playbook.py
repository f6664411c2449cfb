"""playbooks/plan.yml end to end (ansible-playbook in a subprocess): one pass over the play's hosts on
the controller, the guide's own command, refusals as the planner's sentence, no key written."""

import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def run_plan(tmp_path, *extra, inventory=None, cwd=ROOT):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    cmd = [
        PLAYBOOK_BIN,
        "-i",
        inventory or os.path.join(ROOT, "inventories/local"),
        os.path.join(ROOT, "playbooks/plan.yml"),
    ] + list(extra)
    if not any("qwen3_secrets_dir" in e for e in extra):
        cmd += ["-e", "qwen3_secrets_dir=%s" % (tmp_path / "secrets")]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_the_guides_command(tmp_path):
    out = tmp_path / "plans"
    res = run_plan(
        tmp_path,
        "-e",
        "qwen3_model=Qwen3-235B-A22B-Instruct-2507-FP8",
        "-e",
        "vacc_card=VA16",
        "-e",
        "vacc_cards=4",
        "-e",
        "qwen3_tp=16",
        "-e",
        "qwen3_plan_dir=%s" % out,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    # The plan writes no secret: it names the key file that the first deploying play makes.
    key_file = tmp_path / "secrets" / "api_key"
    assert not (tmp_path / "secrets").exists()
    flat = " ".join(res.stdout.split())
    assert "API key %s" % key_file in flat
    assert "VACC_VISIBLE_DEVICES=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15" in flat
    assert "--tensor-parallel-size 16 --max-model-len 131072" in flat and "--max-num-seqs 4" in flat
    written = out / "localhost.json"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    text = written.read_text()
    assert "--api-key" not in text, "the plan file must not carry the key"
    plan = json.loads(text)
    assert plan["tp"] == 16 and plan["max_input_len"] == 102400 and plan["max_model_len"] == 131072
    assert plan["docker_run"].startswith(
        "docker run -d -e VACC_VISIBLE_DEVICES=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 "
        "-e LLM_MAX_PREFILL_SEQ_LEN=102400 --privileged=true --shm-size=256g"
    )
    assert (
        "--ipc=host --stop-timeout=300 harbor.vastaitech.com/ai_deliver/vllm_vacc:AI3.2_GR_1202" in plan["docker_run"]
    )
    assert "vllm serve /weights/Qwen3-235B-A22B-Instruct-2507-FP8 --trust-remote-code" in plan["docker_run"]
    # The weights read-only, the key as a read-only file the engine reads into VLLM_API_KEY.
    spec = plan["service"]["instances"][0]
    assert spec["volumes"][0].endswith(":/weights/Qwen3-235B-A22B-Instruct-2507-FP8:ro")
    assert spec["volumes"][1].endswith("/api_key:/run/secrets/vacc-qwen3/api_key:ro")
    assert plan["service"]["door"]["port"] == 8000 and plan["service"]["door"]["monitor"]["bind"] == "127.0.0.1"

    # Nothing changed, nothing rewritten: the same run again reports no change.
    same = run_plan(
        tmp_path,
        "-e",
        "qwen3_model=Qwen3-235B-A22B-Instruct-2507-FP8",
        "-e",
        "vacc_card=VA16",
        "-e",
        "vacc_cards=4",
        "-e",
        "qwen3_tp=16",
        "-e",
        "qwen3_plan_dir=%s" % out,
    )
    assert same.returncode == 0 and "changed=0" in same.stdout, same.stdout

    # Another plan rewrites the plan file and still makes no key.
    again = run_plan(tmp_path, "-e", "qwen3_model=Qwen3-8B-AWQ", "-e", "qwen3_plan_dir=%s" % out)
    assert again.returncode == 0, again.stdout + again.stderr
    assert not (tmp_path / "secrets").exists()
    assert json.loads(written.read_text())["model"] == "Qwen3-8B-AWQ"


@pytest.mark.parametrize(
    "extra,sentence",
    [
        (
            ["-e", "qwen3_model=Qwen3-4B-AWQ", "-e", "vacc_cards=2", "-e", "qwen3_tp=8"],
            "Qwen3-4B-AWQ does not load at TP8 on this platform; set qwen3_tp to 2 or 4",
        ),
        (
            ["-e", "qwen3_model=Qwen3-8B", "-e", "qwen3_tp=2", "-e", "qwen3_max_model_len=131072"],
            "max_model_len 131072 is over Qwen3-8B's limit at TP2 (65536); use max_model_len <= 65536 or qwen3_tp 8",
        ),
        (
            ["-e", "qwen3_model=Qwen3-8B-AWQ", "-e", "qwen3_tp=4", "-e", "qwen3_instances=2"],
            "TP4 x 2 instance(s) needs 8 dies but 1 x VA16 has 4; set qwen3_instances to 1 or qwen3_tp to 2.",
        ),
        (["-e", "qwen3_model=Qwen3-9B"], "Unknown model 'Qwen3-9B'"),
        (["-e", "qwen3_tp=two"], "qwen3_tp must be a whole number, not 'two'."),
        (["-e", "qwen3_model_dir=../etc"], "qwen3_model_dir '../etc' is not a safe name"),
    ],
)
def test_refusals_print_the_sentence_alone(tmp_path, extra, sentence):
    res = run_plan(tmp_path, *extra)
    assert res.returncode != 0
    out = " ".join((res.stdout + res.stderr).split())
    assert sentence in out
    # No templating wrapper around it (what a failing filter inside set_fact would print).
    assert "Finalization of task args" not in out and "Error while resolving value" not in out
    assert "filter plugin" not in out


@pytest.mark.parametrize("blank", ["qwen3_tp=", "qwen3_max_model_len=null", "qwen3_instances="])
def test_blank_answers_are_unset(tmp_path, blank):
    """AWX sends "" or null for a question left blank: the default applies."""
    res = run_plan(tmp_path, "-e", blank, "-e", "qwen3_plan_dir=%s" % (tmp_path / "p"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads((tmp_path / "p" / "localhost.json").read_text())["tp"] == 2


def test_strings_from_extra_vars_are_converted(tmp_path):
    res = run_plan(
        tmp_path,
        "-e",
        "qwen3_model=qwen3-8b vacc_cards=2 qwen3_tp=8 qwen3_max_model_len=131072",
        "-e",
        "qwen3_plan_dir=%s" % (tmp_path / "p"),
    )
    assert res.returncode == 0, res.stdout + res.stderr
    plan = json.loads((tmp_path / "p" / "localhost.json").read_text())
    # One spelling everywhere: the catalog's name for the plan, the weights path and the served name.
    assert plan["model"] == "Qwen3-8B" and plan["served_model_name"] == "Qwen3-8B"
    assert plan["service"]["weights"]["path"].endswith("/Qwen3-8B")
    assert plan["tp"] == 8 and plan["rope_scaling"]["factor"] == 4.0


def test_an_explicit_extra_var_wins_over_the_lab_stand_in(tmp_path):
    res = run_plan(
        tmp_path, "-e", "qwen3_service_image=example.invalid/other:1", "-e", "qwen3_plan_dir=%s" % (tmp_path / "p")
    )
    assert res.returncode == 0, res.stdout + res.stderr
    plan = json.loads((tmp_path / "p" / "localhost.json").read_text())
    assert plan["service"]["image"] == "example.invalid/other:1"
    assert plan["served_model_name"] == "qwen3-tiny"  # the stand-in's other settings still apply


def test_check_mode_changes_nothing(tmp_path):
    out = tmp_path / "plans"
    res = run_plan(tmp_path, "--check", "-e", "qwen3_plan_dir=%s" % out)
    assert res.returncode == 0, res.stdout + res.stderr
    assert not out.exists() and not (tmp_path / "secrets").exists()


def tree(path):
    return sorted(os.path.relpath(os.path.join(d, f), path) for d, dirs, files in os.walk(path) for f in files + dirs)


def test_plan_in_check_mode_of_a_fresh_inventory_changes_nothing(tmp_path):
    """vacc.qwen3.plan as an operator first runs it: a new inventory directory (no .secrets yet), the default
    secrets location beside it, check mode. Nothing appears there or in the working directory, changed=0."""
    inventory, work = tmp_path / "inv", tmp_path / "work"
    inventory.mkdir()
    work.mkdir()
    shutil.copy(os.path.join(ROOT, "inventories/local/hosts.yml"), inventory / "hosts.yml")
    shutil.copytree(os.path.join(ROOT, "inventories/local/group_vars"), inventory / "group_vars")
    before = tree(tmp_path)
    res = run_plan(
        tmp_path, "--check", "-e", "qwen3_secrets_dir=", inventory=str(inventory / "hosts.yml"), cwd=str(work)
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert tree(tmp_path) == before, "plan wrote %s" % sorted(set(tree(tmp_path)) - set(before))
    assert "changed=0" in res.stdout and "failed=0" in res.stdout, res.stdout[-2000:]
    assert "API key %s" % (inventory / ".secrets" / "api_key") in " ".join(res.stdout.split())


def test_the_secrets_live_next_to_the_inventory_whatever_the_working_directory(tmp_path):
    """A run from another directory finds the same key (no new key locking clients out)."""
    inventory = tmp_path / "inv"
    inventory.mkdir()
    shutil.copy(os.path.join(ROOT, "inventories/local/hosts.yml"), inventory / "hosts.yml")
    shutil.copytree(os.path.join(ROOT, "inventories/local/group_vars"), inventory / "group_vars")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    first = run_plan(
        tmp_path,
        "-e",
        "qwen3_plan_dir=%s" % (tmp_path / "p"),
        "-e",
        "qwen3_secrets_dir=",
        inventory=str(inventory / "hosts.yml"),
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert "API key %s" % (inventory / ".secrets" / "api_key") in " ".join(first.stdout.split())
    second = run_plan(tmp_path, "-e", "qwen3_secrets_dir=", inventory=str(inventory / "hosts.yml"), cwd=str(elsewhere))
    assert second.returncode == 0, second.stdout + second.stderr
    assert "API key %s" % (inventory / ".secrets" / "api_key") in " ".join(second.stdout.split())
    # The plan writes no secret, there or anywhere (vacc.qwen3.plan changes nothing).
    assert not (inventory / ".secrets").exists() and not (elsewhere / ".secrets").exists()
    assert "changed=0" in second.stdout


def test_awx_without_the_secrets_credential_is_refused(tmp_path):
    res = run_plan(tmp_path, "-e", "awx_job_id=42", "-e", "qwen3_secrets_dir=")
    assert res.returncode != 0
    assert "This AWX job has no qwen3_api_key" in " ".join(res.stdout.split())
    given = run_plan(
        tmp_path, "-e", "awx_job_id=42", "-e", "qwen3_secrets_dir=", "-e", "qwen3_api_key=from-a-credential"
    )
    assert given.returncode == 0, given.stdout + given.stderr


def test_lab_inventory_plans(tmp_path):
    """The example fleet in inventories/lab stays valid (no host is contacted: plan.yml only plans)."""
    out = tmp_path / "plans"
    res = run_plan(tmp_path, "-e", "qwen3_plan_dir=%s" % out, inventory=os.path.join(ROOT, "inventories/lab"))
    assert res.returncode == 0, res.stdout + res.stderr
    plans = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert len(plans) == 6
    assert plans["va16-srv01.lab.example"]["tp"] == 16
    assert plans["va16-c01.lab.example"]["die_slices"] == ["0,1", "2,3"]
    assert plans["va10l-a01.lab.example"]["max_model_len"] == 131072
    # One row per host in the table.
    for host in plans:
        assert host + ": " in res.stdout


# ---------------------------------------------------------------- guide revisions and the operator's rows
def test_the_current_guide_revision_plans_tp1_and_the_seed_names_it(tmp_path):
    out = tmp_path / "p"
    res = run_plan(
        tmp_path,
        "-e",
        "qwen3_guide_revision=VVI-26.02",
        "-e",
        "qwen3_model=Qwen3-0.6B",
        "-e",
        "qwen3_tp=1",
        "-e",
        "qwen3_plan_dir=%s" % out,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    plan = json.loads((out / "localhost.json").read_text())
    assert plan["tp"] == 1 and plan["guide_revision"] == "VVI-26.02" and plan["source"] == "guide:VVI-26.02"
    assert plan["die_slices"] == ["0", "1"]  # the local inventory's two instances, TP1 each
    seed = run_plan(
        tmp_path, "-e", "qwen3_guide_revision=AI3.2_GR_1202", "-e", "qwen3_model=Qwen3-0.6B", "-e", "qwen3_tp=1"
    )
    assert seed.returncode != 0
    assert (
        "Guide revision AI3.2_GR_1202 does not list TP1 for Qwen3-0.6B; set qwen3_tp to 2, 4 or 8, or "
        "qwen3_guide_revision to VVI-26.02, which lists TP1."
    ) in " ".join((seed.stdout + seed.stderr).split())


def test_the_engine_images_tag_picks_the_revision(tmp_path):
    out = tmp_path / "p"
    res = run_plan(
        tmp_path,
        "-e",
        "qwen3_model=Qwen3-8B-GPTQ-INT8",
        "-e",
        "qwen3_plan_dir=%s" % out,
        "-e",
        "qwen3_service_image=harbor.vastaitech.com/ai_deliver/vllm_vacc:VVI-26.02",
    )
    assert res.returncode == 0, res.stdout + res.stderr
    plan = json.loads((out / "localhost.json").read_text())
    assert plan["guide_revision"] == "VVI-26.02" and plan["model"] == "Qwen3-8B-GPTQ-INT8" and plan["dtype"] == "INT8"
    # The inventory's own image (the lab's stand-in) carries no guide tag: the seed's revision.
    seed = run_plan(tmp_path, "-e", "qwen3_model=Qwen3-8B-GPTQ-INT8")
    assert seed.returncode != 0
    assert "guide revision VVI-26.02 lists it: set qwen3_guide_revision to VVI-26.02" in " ".join(seed.stdout.split())


MINE = {"name": "Qwen3-8B-GPTQ-Int4-mine", "family": "8B", "dtype": "INT4", "quant_method": "gptq", "tp": [2, 4]}


@pytest.mark.parametrize("how", ["extra vars", "a file"])
def test_a_row_added_in_the_inventory_plans(tmp_path, how):
    out = tmp_path / "p"
    if how == "a file":
        rows = tmp_path / "rows.yml"
        rows.write_text("# my checkpoints\n- " + json.dumps(MINE) + "\n")
        given = ["-e", "qwen3_catalog_extra=%s" % rows]
    else:
        given = ["-e", json.dumps({"qwen3_catalog_extra": [MINE]})]
    res = run_plan(
        tmp_path,
        "-e",
        "qwen3_model=Qwen3-8B-GPTQ-Int4-mine",
        "-e",
        "qwen3_tp=4",
        "-e",
        "qwen3_plan_dir=%s" % out,
        *given,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    plan = json.loads((out / "localhost.json").read_text())
    assert plan["source"] == "inventory" and plan["tp"] == 4 and plan["max_model_len_ceiling"] == 131072
    assert plan["service"]["weights"]["path"].endswith("/Qwen3-8B-GPTQ-Int4-mine")


def test_a_wrong_row_is_refused_with_its_sentence(tmp_path):
    res = run_plan(
        tmp_path,
        "-e",
        "qwen3_model=Qwen3-8B-GPTQ-Int4-mine",
        "-e",
        json.dumps({"qwen3_catalog_extra": [dict(MINE, tp=[16])]}),
    )
    assert res.returncode != 0
    assert (
        "qwen3_catalog_extra[0] (Qwen3-8B-GPTQ-Int4-mine): guide revision AI3.2_GR_1202 has no usage limits for 8B "
        "at TP16; use TPs among 2, 4 or 8."
    ) in " ".join(res.stdout.split())
    missing = run_plan(tmp_path, "-e", "qwen3_catalog_extra=%s" % (tmp_path / "none.yml"))
    assert missing.returncode != 0
    assert "qwen3_catalog_extra names the file %s, which cannot be read" % (tmp_path / "none.yml") in " ".join(
        missing.stdout.split()
    )
