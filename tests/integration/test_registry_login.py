"""qwen3_registry: the host's Docker engine logs in before a pull; bad settings and a refused login fail with one
sentence naming the registry, never showing the password. Against this machine's Docker engine (the login
goes to an address where no registry answers, so it is refused)."""

import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
SECRET = "s3cret-never-shown"


def run(tmp_path, registry):
    play = [
        {
            "name": "login",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Log in",
                    "ansible.builtin.include_role": {"name": "vacc.qwen3._common", "tasks_from": "registry_login"},
                },
                {"name": "Reached", "ansible.builtin.debug": {"msg": "after the login"}},
            ],
        }
    ]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    (tmp_path / "vars.yml").write_text(
        yaml.safe_dump({"qwen3_registry": registry, "registry_login_certs_dir": str(tmp_path / "certs.d")})
    )
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    res = subprocess.run(
        [
            ANSIBLE_PLAYBOOK,
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            "ansible_python_interpreter=%s" % sys.executable,
            "-e",
            "@%s" % (tmp_path / "vars.yml"),
            str(tmp_path / "play.yml"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return res, re.sub(r"\s+", " ", res.stdout + res.stderr)


def test_unset_or_blank_logs_in_nowhere(tmp_path):
    for blank in (None, "", {}):
        res, flat = run(tmp_path, blank)
        assert res.returncode == 0, flat
        assert "after the login" in flat and "changed=0" in flat and not (tmp_path / "certs.d").exists()


def test_not_a_mapping_is_refused(tmp_path):
    res, flat = run(tmp_path, "harbor.example.com")
    assert res.returncode != 0
    assert "qwen3_registry must be a mapping with address (host[:port], no scheme), username and password" in flat
    assert "not a str." in flat or "not a AnsibleUnicode." in flat or "not a _AnsibleTaggedStr." in flat, flat


def test_a_refused_login_is_one_sentence_naming_the_registry(tmp_path):
    ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
    res, flat = run(tmp_path, {"address": "127.0.0.1:9", "username": "robot$ci", "password": SECRET, "ca_cert": ca})
    assert res.returncode != 0
    assert (
        "The registry 127.0.0.1:9 refused the login of robot$ci from localhost: check qwen3_registry's username "
        "and password"
    ) in flat, flat
    assert SECRET not in res.stdout + res.stderr
    assert (tmp_path / "certs.d" / "127.0.0.1:9" / "ca.crt").read_text() == ca + "\n"
    assert "after the login" not in flat
