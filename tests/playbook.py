"""One way for the suites to run a play of their own: this venv's ansible-playbook with the project's ansible.cfg,
against this machine (`localhost,` over the local connection, this Python as the interpreter)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))


def run_play(path, tasks, *args, hosts="localhost", inventory="localhost,", env=None, timeout=600):
    """Write one play of `tasks` on `hosts` to `path` and run it with `args` added: (the completed process, its
    output with every run of whitespace folded to one space, for assertions on Ansible's wrapped messages)."""
    Path(path).write_text(yaml.safe_dump([{"hosts": hosts, "gather_facts": False, "tasks": tasks}]))
    res = subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", inventory, "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable]
        + list(args)
        + [str(path)],
        cwd=ROOT,
        env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1", **(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return res, re.sub(r"\s+", " ", res.stdout + res.stderr)
