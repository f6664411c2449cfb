"""The AWX kit's wrappers run the way AWX runs a job (`make test-consumer`): through ansible-runner's Python
API (the engine AWX's execution nodes use) on a private data dir laid out as AWX lays it out.

- project/: docs/awx-project as the built tarball ships it, the tarball committed beside its
  collections/requirements.yml; requirements_collections/: what AWX's project sync installs from it
  (`ansible-galaxy collection install -r collections/requirements.yml -p ...`), on the job's
  ANSIBLE_COLLECTIONS_PATH. Nothing of the clone is on any path: the job's environment has no ANSIBLE_*
  variable of ours, HOME is empty, and the events name the synced copy's files.
- inventory/hosts: AWX's inventory script (the inventory as JSON, printed), an operator's vacc_servers group
  with a non-lab model. For plan.yml the server uses the local connection (plan contacts no host); status.yml
  and deploy.yml (as a job of type check, --check) meet a server that does not answer, so no job reaches
  Docker or starts anything.
- env/extravars: the survey's answers as AWX writes them (awx/main/utils/safe_yaml.py): every string
  `!unsafe`, except the job template's own extra vars; a blank answer arrives as "", an unanswered optional
  one as null, an integer question's answer as an int, a multiple-choice one (TP) as a string; beside them
  AWX's meta vars (awx_job_id, ...). A credential's injected extra vars come as `-e @env/tmp...`.
- The job's working directory: the private data dir (the EE's /runner, where AWX's worker starts), so the
  playbooks' PWD-based defaults land inside the job, never in this clone.
- Events: ansible-runner's own callback (awx_display), read back as AWX reads them.
"""

import json
import os
import shutil
import subprocess
import tarfile

import ansible_runner
import collection_build
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# AWX's execution environment: ansible-core and ansible-runner in one Python (here the venv's).
EE_BIN = os.path.join(ROOT, ".venv", "bin")
API_KEY = "Rk3vQ9xTz2LmW8pYc4NbH7sJd1FgA6eUo5iKqXyZ"  # what the 'vacc.qwen3 secrets' credential injects

# An operator's inventory as AWX hands it to a job: the script AWX writes (awx/main/tasks/jobs.py
# build_inventory), groups with host lists, host variables under _meta.
INVENTORY = {
    "all": {"children": ["ungrouped", "vacc_servers"]},
    "ungrouped": {"hosts": []},
    "vacc_servers": {
        "hosts": ["va16-01"],
        "vars": {
            "qwen3_model": "Qwen3-8B-AWQ",
            "vacc_card": "VA16",
            "vacc_cards": 2,
            "qwen3_weights_dir": "/data/weights",
        },
    },
    "_meta": {
        "hostvars": {
            "va16-01": {"ansible_connection": "local", "ansible_host": "localhost", "remote_tower_enabled": "true"}
        }
    },
}
# A server that does not answer (nothing listens on port 1): jobs that contact hosts stop at the first contact.
UNREACHABLE = {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_user": "root"}
# What AWX adds to every job's extra vars (awx_meta_vars), safe_dump'ed like the answers.
AWX_META = {
    "awx_job_id": 42,
    "tower_job_id": 42,
    "awx_job_launch_type": "manual",
    "awx_job_template_name": "vacc.qwen3 plan",
    "awx_user_name": "operator",
    "awx_project_revision": "0" * 40,
}


class _UnsafeDumper(yaml.SafeDumper):
    """Strings as `!unsafe`, the way AWX writes extra vars that a launcher (not a template admin) gave."""

    def represent_data(self, data):
        if isinstance(data, str):
            return self.represent_scalar("!unsafe", data)
        return super().represent_data(data)


def awx_extravars(variables, template_vars):
    """AWX's safe_dump: one document per top-level key; a key is left plain only when it is the job template's
    own extra var with the same value, everything else (survey answers, meta vars) goes through `!unsafe`."""
    out = []
    for key, value in variables.items():
        dumper = yaml.SafeDumper if template_vars.get(key, object()) == value else _UnsafeDumper
        out.append(yaml.dump_all([{key: value}], None, Dumper=dumper, default_flow_style=False))
    return "".join(out)


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """The AWX project's repository as docs/awx.md has the operator make it (the kit from the tarball, the
    tarball beside its requirements), and AWX's project sync of it: the collections it installs."""
    base = tmp_path_factory.mktemp("awx")
    tarball = collection_build.build(base / "dist")
    with tarfile.open(tarball) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith("docs/awx-project/")]
        assert members, "docs/awx-project is not in %s" % tarball
        tar.extractall(base / "unpacked", members=members, filter="data")
    repo = base / "repo"
    shutil.copytree(base / "unpacked" / "docs" / "awx-project", repo)
    shutil.copy(tarball, repo / "collections")
    collections = base / "requirements_collections"
    res = subprocess.run(
        [
            os.path.join(EE_BIN, "ansible-galaxy"),
            "collection",
            "install",
            "-r",
            "collections/requirements.yml",
            "-p",
            str(collections),
            "--offline",
            "--no-deps",  # the dependencies come with the execution environment
        ],
        cwd=repo,
        env=_job_env(base),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert (collections / "ansible_collections" / "vacc" / "qwen3" / "MANIFEST.json").exists()
    return repo, collections


def _job_env(home):
    """The environment the job starts from: nothing of this clone (make exports ANSIBLE_CONFIG), an empty HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "VIRTUAL_ENV"}
    env.update(HOME=str(home), PATH=EE_BIN + os.pathsep + "/usr/bin:/bin", ANSIBLE_NOCOLOR="1")
    return env


class Job:
    """One AWX job: a private data dir, ansible_runner.run on it, its events read back."""

    def __init__(self, result, data_dir):
        self.result = result
        self.dir = data_dir
        self.events = list(result.events)
        with open(result.stdout.name, encoding="utf-8") as handle:
            self.stdout = handle.read()
        self.flat = " ".join(self.stdout.split())

    def task_results(self, task, event="runner_on_ok"):
        return [e["event_data"] for e in self.events if e.get("event") == event and e["event_data"].get("task") == task]


def run_job(
    tmp_path, monkeypatch, synced, answers, template_vars=None, credential=True, playbook="plan.yml", host=None, args=()
):
    repo, collections = synced
    inventory = json.loads(json.dumps(INVENTORY))
    inventory["_meta"]["hostvars"]["va16-01"].update(host or {})
    tmp_path.mkdir(exist_ok=True)
    data = tmp_path / "job"
    shutil.copytree(repo, data / "project")
    shutil.copytree(collections, data / "requirements_collections")
    (data / "inventory").mkdir()
    script = data / "inventory" / "hosts"
    script.write_text("#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint(%r)\n" % json.dumps(inventory))
    script.chmod(0o700)
    (data / "env").mkdir()
    template_vars = dict(template_vars or {})
    variables = dict(template_vars, **answers)
    variables.update(AWX_META)
    (data / "env" / "extravars").write_text(awx_extravars(variables, template_vars))
    cmdline = list(args)  # AWX's own arguments: --check for a job of type check, --limit, ...
    if credential:  # the credential type configure.yml creates, injected as AWX injects extra_vars
        (data / "env" / "tmpcredential").write_text(awx_extravars({"qwen3_api_key": API_KEY}, {}))
        cmdline += ["-e", "@%s" % (data / "env" / "tmpcredential")]
    home = tmp_path / "home"
    home.mkdir()
    for key in [k for k in os.environ if k.startswith("ANSIBLE_") or k == "VIRTUAL_ENV"]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", EE_BIN + os.pathsep + "/usr/bin:/bin")
    # AWX's worker starts in the private data dir (the EE's /runner); ansible-runner runs the playbook in project/.
    monkeypatch.chdir(data)
    monkeypatch.setenv("PWD", str(data))
    envvars = {
        # AWX's job environment (awx/main/tasks/jobs.py build_env): the synced collections first.
        "ANSIBLE_COLLECTIONS_PATH": "%s:~/.ansible/collections:/usr/share/ansible/collections"
        % (data / "requirements_collections"),
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
        "JOB_ID": str(AWX_META["awx_job_id"]),
    }
    result = ansible_runner.run(
        private_data_dir=str(data),
        playbook=playbook,
        inventory=str(script),
        envvars=envvars,
        cmdline=" ".join(cmdline) or None,
        quiet=True,
        timeout=240,
    )
    return Job(result, data)


def _plan(job):
    [ok] = job.task_results("Plan every host")
    return ok["res"]["plans"]["va16-01"], ok


def test_the_answers_plan_the_host(tmp_path, monkeypatch, synced):
    """A multiple-choice TP arrives as a string, an integer question's answer as an int, a blank answer as ""
    and an unanswered one as null: the answered ones win, the others leave the inventory's value."""
    plan_dir = tmp_path / "persistent" / "plan"
    job = run_job(
        tmp_path,
        monkeypatch,
        synced,
        {
            "qwen3_hosts": "vacc_servers",
            "survey_qwen3_model": "Qwen3-0.6B",
            "survey_qwen3_tp": "2",
            "survey_qwen3_instances": 2,
            "survey_vacc_cards": "",
            "survey_vacc_card": None,
        },
        template_vars={"qwen3_plan_dir": str(plan_dir)},
    )
    assert (job.result.status, job.result.rc) == ("successful", 0), job.stdout
    plan, ok = _plan(job)
    assert (plan["model"], plan["tp"], plan["instances"]) == ("Qwen3-0.6B", 2, 2), plan
    assert (plan["card"], plan["cards"]) == ("VA16", 2), plan  # blank and null: the inventory's
    # The collection AWX's sync installed ran, not this clone's.
    assert ok["task_path"].startswith(
        str(job.dir / "requirements_collections" / "ansible_collections" / "vacc" / "qwen3")
    ), ok
    assert "va16-01: Qwen3-0.6B (BF16, dense) on 2 x VA16 (8 dies): TP2 x 2 instance(s)" in job.flat, job.flat
    # The template's extra var (plain, not !unsafe) says where the plan goes; the job wrote it there.
    written = json.loads((plan_dir / "va16-01.json").read_text())
    assert (written["model"], written["tp"], written["instances"]) == ("Qwen3-0.6B", 2, 2)
    assert oct((plan_dir / "va16-01.json").stat().st_mode & 0o777) == "0o600"
    # The credential's key is used, never shown.
    assert "API key given as qwen3_api_key" in job.flat
    assert API_KEY not in job.stdout and API_KEY not in json.dumps(job.events)
    assert not (job.dir / "project" / ".secrets").exists() and not (job.dir / "inventory" / ".secrets").exists()


def test_blank_and_null_answers_fall_back(tmp_path, monkeypatch, synced):
    job = run_job(
        tmp_path,
        monkeypatch,
        synced,
        {
            "qwen3_hosts": "vacc_servers",
            "survey_qwen3_model": "",
            "survey_qwen3_tp": "",
            "survey_qwen3_instances": None,
            "survey_qwen3_max_model_len": None,
            "survey_vacc_cards": None,
        },
    )
    assert (job.result.status, job.result.rc) == ("successful", 0), job.stdout
    plan, dummy = _plan(job)
    # The inventory's model and cards; TP, instances and max-model-len: the defaults (the native context).
    assert (plan["model"], plan["cards"], plan["instances"]) == ("Qwen3-8B-AWQ", 2, 1), plan
    assert plan["max_model_len"] == plan["native_context"] == 40960, plan
    assert not any(e["event_data"].get("changed") for e in job.events if e.get("event") == "runner_on_ok")
    # The same plan as a job whose survey sent nothing at all.
    unanswered = run_job(tmp_path / "unanswered", monkeypatch, synced, {"qwen3_hosts": "vacc_servers"})
    assert unanswered.result.rc == 0, unanswered.stdout
    without_service = {k: v for k, v in plan.items() if k != "service"}  # the service names the job's own paths
    assert {k: v for k, v in _plan(unanswered)[0].items() if k != "service"} == without_service


def test_a_wrong_answer_is_refused_with_one_sentence(tmp_path, monkeypatch, synced):
    """A TP the guide does not list for the model: the job fails at the plan with the planner's sentence in
    ansible-runner's events, and nothing was written."""
    plan_dir = tmp_path / "persistent" / "plan"
    job = run_job(
        tmp_path,
        monkeypatch,
        synced,
        {"qwen3_hosts": "vacc_servers", "survey_qwen3_model": "Qwen3-4B-AWQ", "survey_qwen3_tp": "8"},
        template_vars={"qwen3_plan_dir": str(plan_dir)},
    )
    assert job.result.status == "failed" and job.result.rc != 0, job.stdout
    [failed] = job.task_results("Plan every host", event="runner_on_failed")
    sentence = "Qwen3-4B-AWQ does not load at TP8 on this platform; set qwen3_tp to 2 or 4"
    assert sentence in failed["res"]["msg"], failed["res"]
    assert sentence in job.flat
    assert "Traceback" not in job.stdout
    assert not plan_dir.exists()
    assert not any(e["event_data"].get("changed") for e in job.events if e.get("event") == "runner_on_ok")


def test_a_job_without_the_credential_is_refused(tmp_path, monkeypatch, synced):
    """AWX's meta vars mark the run as a job: without the secrets credential (and no qwen3_secrets_dir) its key
    would die with the job, so the plan refuses and says which credential to attach."""
    job = run_job(
        tmp_path,
        monkeypatch,
        synced,
        {"qwen3_hosts": "vacc_servers", "survey_qwen3_tp": "4"},
        credential=False,
    )
    assert job.result.status == "failed" and job.result.rc != 0, job.stdout
    [failed] = job.task_results("Plan every host", event="runner_on_failed")
    assert "This AWX job has no qwen3_api_key" in failed["res"]["msg"], failed["res"]
    assert "'vacc.qwen3 secrets'" in failed["res"]["msg"]


def test_status_of_a_server_that_cannot_be_reached(tmp_path, monkeypatch, synced):
    """status.yml, as its template runs it: a server that does not answer is a row that says so, not a failed
    job; the table lands where the template's qwen3_results_dir says (a job's own files die with it)."""
    results = tmp_path / "persistent" / "results"
    job = run_job(
        tmp_path,
        monkeypatch,
        synced,
        {"qwen3_hosts": "vacc_servers", "survey_qwen3_model": "Qwen3-0.6B", "survey_qwen3_tp": "2"},
        template_vars={"qwen3_results_dir": str(results)},
        playbook="status.yml",
        host=UNREACHABLE,
    )
    assert (job.result.status, job.result.rc) == ("successful", 0), job.stdout
    assert [e for e in job.events if e.get("event") == "runner_on_unreachable"], job.stdout
    [server] = json.loads((results / "status" / "fleet.json").read_text())["servers"]
    assert (server["host"], server["model"], server["die_slices"]) == ("va16-01", "Qwen3-0.6B", "0,1"), server
    assert server["state"].startswith("unreachable: ") and "port 1: Connection refused" in server["state"], server
    # The answers' plan, the credential's key: no key file was made anywhere in the job.
    assert not [p for p in job.dir.rglob("*") if ".secrets" in p.parts], list(job.dir.rglob("*"))


def test_deploy_in_check_mode_stops_at_the_first_host_contact(tmp_path, monkeypatch, synced):
    """deploy.yml as a job of type check (AWX adds --check): the answers (the image from the survey's allow-list,
    an integer timeout, a blank download source) pass the plan, and the first contact with a server that does
    not answer stops the job with ssh's sentence; nothing was started, nothing changed."""
    job = run_job(
        tmp_path,
        monkeypatch,
        synced,
        {
            "qwen3_hosts": "vacc_servers",
            "survey_qwen3_model": "Qwen3-0.6B",
            "survey_qwen3_tp": "2",
            "survey_qwen3_service_image": "harbor.vastaitech.com/ai_deliver/vllm_vacc:AI3.2_GR_1202",
            "survey_vllm_service_wait_timeout": 900,
            "survey_model_download_source": "",
        },
        playbook="deploy.yml",
        host=UNREACHABLE,
        args=["--check"],
    )
    assert job.result.status == "failed" and job.result.rc != 0, job.stdout
    # The answered questions became the variables, the blank one did not; the roles' argument specs took them.
    assert "ok: [va16-01] => (item=vllm_service_wait_timeout)" in job.flat, job.flat
    assert "ok: [va16-01] => (item=qwen3_service_image)" in job.flat
    assert "skipping: [va16-01] => (item=model_download_source)" in job.flat
    validated = [
        e for e in job.events if e.get("event") == "runner_on_ok" and "arg spec 'main'" in e["event_data"]["task"]
    ]
    assert validated, job.flat
    [unreachable] = job.task_results("Plan this host", event="runner_on_unreachable")
    assert "ssh: connect to host 127.0.0.1 port 1: Connection refused" in unreachable["res"]["msg"], unreachable
    assert not [e for e in job.events if e.get("event") == "runner_on_failed"]
    assert not any(e["event_data"].get("changed") for e in job.events if e.get("event") == "runner_on_ok")
    assert "Traceback" not in job.stdout
