"""The accuracy role's EvalScope run (async, delegated to accuracy_runner, localhost by default) polls its job
where the job writes it, whatever ansible_user the inventory sets for every host and whatever $HOME is.

Found by `make rehearsal`: a customer's group_vars/all sets ansible_user: root for the servers, which implicit
localhost takes too; the async job wrote its status under $HOME/.ansible_async, the poll read
~root/.ansible_async, and evaluate failed at its first poll with "could not find job". The playbook below runs
the role's own async task settings (its vars) on the same construct, with and without them."""

import getpass
import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def role_async_task():
    with open(os.path.join(ROOT, "roles", "accuracy", "tasks", "run.yml"), encoding="utf-8") as handle:
        tasks = yaml.safe_load(handle)
    found = [t for t in tasks if "async" in t]
    assert len(found) == 1, "one async task (the EvalScope run) in roles/accuracy/tasks/run.yml"
    return found[0]


def run(tmp_path, task_vars):
    inv = tmp_path / "inventory"
    (inv / "group_vars").mkdir(parents=True)
    # The servers' user set inventory-wide (group_vars/all), as a customer does; implicit localhost takes it too.
    # Here it is the user running the test, so that only where ~ points differs.
    (inv / "hosts.yml").write_text("all:\n  hosts:\n    server-1:\n      ansible_connection: local\n")
    (inv / "group_vars" / "all.yml").write_text(
        "ansible_user: %s\nansible_python_interpreter: %s\n" % (getpass.getuser(), sys.executable)
    )
    task = {
        "name": "the job",
        "ansible.builtin.command": {"argv": ["sleep", "2"]},
        "async": 30,
        "poll": 1,
        "delegate_to": "localhost",
    }
    if task_vars:
        task["vars"] = task_vars
    play = [
        {
            "hosts": "server-1",
            "gather_facts": False,
            "vars": {"accuracy_work_dir": str(tmp_path / "work")},
            "tasks": [task],
        }
    ]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    home = tmp_path / "home"  # $HOME is not the user's home (a CI job, a container, a project-local HOME)
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(HOME=str(home), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"))
    return subprocess.run(
        [PLAYBOOK_BIN, "-i", str(inv), str(tmp_path / "play.yml")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_without_an_absolute_async_dir_the_poll_loses_the_job(tmp_path):
    res = run(tmp_path, None)
    assert res.returncode != 0 and "could not find job" in res.stdout, res.stdout + res.stderr


def test_the_roles_async_dir_finds_the_job(tmp_path):
    task_vars = role_async_task().get("vars") or {}
    assert task_vars.get("ansible_async_dir", "").startswith("{{ accuracy_work_dir }}/")
    res = run(tmp_path, task_vars)
    assert res.returncode == 0, res.stdout + res.stderr
    assert (tmp_path / "work" / ".async").is_dir()
