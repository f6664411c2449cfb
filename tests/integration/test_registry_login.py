"""qwen3_registry: the host's Docker engine logs in before a pull; bad settings and a refused login fail with one
sentence naming the registry, never showing the password. Against this machine's Docker engine: an address
where no registry answers, and a real registry (Debian's docker-registry, distribution 2.8, with htpasswd
authentication) on 127.0.0.1 that takes the right password and refuses a wrong one and anonymous requests."""

import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import yaml
from playbook import run_play

SECRET = "s3cret-never-shown"


def run(tmp_path, registry, home=None):
    tasks = [
        {
            "name": "Log in",
            "ansible.builtin.include_role": {"name": "vacc.qwen3._common", "tasks_from": "registry_login"},
        },
        {"name": "Reached", "ansible.builtin.debug": {"msg": "after the login"}},
    ]
    (tmp_path / "vars.yml").write_text(
        yaml.safe_dump({"qwen3_registry": registry, "registry_login_certs_dir": str(tmp_path / "certs.d")})
    )
    # docker_login writes $HOME/.docker/config.json: the test's own, not this machine's user's
    return run_play(
        tmp_path / "play.yml",
        tasks,
        "-e",
        "@%s" % (tmp_path / "vars.yml"),
        env={"HOME": str(home)} if home else None,
        timeout=300,
    )


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


@pytest.fixture()
def registry(tmp_path):
    """Debian's docker-registry on a free 127.0.0.1 port (an insecure registry to Docker, so plain HTTP), with one
    htpasswd user; stopped and removed after the test."""
    htpasswd = subprocess.run(
        ["htpasswd", "-Bbn", "robot$ci", "right-" + SECRET], capture_output=True, text=True, check=True, timeout=60
    )
    (tmp_path / "htpasswd").write_text(htpasswd.stdout)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = {
        "version": 0.1,
        "storage": {"filesystem": {"rootdirectory": str(tmp_path / "data")}},
        "http": {"addr": "127.0.0.1:%d" % port},
        "auth": {"htpasswd": {"realm": "vacc-test", "path": str(tmp_path / "htpasswd")}},
    }
    (tmp_path / "registry.yml").write_text(yaml.safe_dump(config))
    log = open(tmp_path / "registry.log", "w", encoding="utf-8")  # pylint: disable=consider-using-with
    proc = subprocess.Popen(["docker-registry", "serve", str(tmp_path / "registry.yml")], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        status = None
        while status is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/v2/" % port, timeout=2)
                status = 200
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                time.sleep(0.2)  # polling the port with a bound, not synchronisation by time
        assert status is not None, (tmp_path / "registry.log").read_text()
        yield {"address": "127.0.0.1:%d" % port, "anonymous": status, "home": tmp_path / "home"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_a_real_registry_takes_the_right_password_and_refuses_a_wrong_one(tmp_path, registry):
    assert registry["anonymous"] == 401, "the registry must refuse anonymous requests"
    registry["home"].mkdir()
    good = {"address": registry["address"], "username": "robot$ci", "password": "right-" + SECRET}
    res, flat = run(tmp_path, good, home=registry["home"])
    assert res.returncode == 0, flat
    assert "after the login" in flat and SECRET not in res.stdout + res.stderr
    assert registry["address"] in (registry["home"] / ".docker" / "config.json").read_text()
    res, flat = run(tmp_path, dict(good, password="wrong-" + SECRET), home=registry["home"])
    assert res.returncode != 0
    assert (
        "The registry %s refused the login of robot$ci from localhost: check qwen3_registry's username and password"
        % registry["address"]
    ) in flat, flat
    assert SECRET not in res.stdout + res.stderr and "after the login" not in flat
