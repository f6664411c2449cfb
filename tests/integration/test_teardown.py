"""playbooks/teardown.yml on this machine: each role removes its own, found by labels (service and
host), never by a name pattern; the weights only when asked; a hostile name is refused before
anything is removed, in check mode too."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
SERVICE = "vacc-teardown-test"


def teardown(tmp_path, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    cmd = [
        ANSIBLE_PLAYBOOK,
        "-i",
        os.path.join(ROOT, "inventories/local"),
        os.path.join(ROOT, "playbooks/teardown.yml"),
        "-e",
        "qwen3_service_name=%s" % SERVICE,
        "-e",
        "qwen3_api_key=teardown-test-key",
        "-e",
        "webui_data_volume=%s-webui" % SERVICE,
        "-e",
        "qwen3_service_config_dir=%s" % (tmp_path / "etc"),
        "-e",
        "qwen3_weights_dir=%s" % tmp_path,
    ] + list(extra)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def _container(name, **labels):
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    args = ["docker", "create", "--name", name]
    for key, value in labels.items():
        args += ["--label", "vacc.qwen3.%s=%s" % (key, value)]
    subprocess.run(args + ["vacc-qwen3/debian-base:bookworm", "true"], check=True, capture_output=True)


def _names():
    return subprocess.run(
        ["docker", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True, check=False
    ).stdout.split()


def test_teardown_removes_its_own_and_keeps_others(tmp_path):
    created = {
        "vacc-teardown-mine_0": dict(managed="true", service=SERVICE, host="localhost", component="instance"),
        "vacc-teardown-mine-ui": dict(managed="true", service=SERVICE, host="localhost", component="webui"),
        "vacc-teardown-other-service": dict(managed="true", service="vacc-teardown-other", host="localhost"),
        "vacc-teardown-other-host": dict(managed="true", service=SERVICE, host="elsewhere"),
    }
    for name, labels in created.items():
        _container(name, **labels)
    subprocess.run(
        ["docker", "network", "create", "--label", "vacc.qwen3.host=localhost", SERVICE + "_net"],
        capture_output=True,
        check=False,
    )
    (tmp_path / "etc" / SERVICE).mkdir(parents=True)
    (tmp_path / "etc" / SERVICE / "api_key").write_text("x\n")
    (tmp_path / "qwen3-tiny").mkdir()
    (tmp_path / "qwen3-tiny" / "config.json").write_text("{}")
    try:
        res = teardown(tmp_path)
        assert res.returncode == 0, res.stdout + res.stderr
        names = _names()
        assert "vacc-teardown-mine_0" not in names and "vacc-teardown-mine-ui" not in names
        assert "vacc-teardown-other-service" in names and "vacc-teardown-other-host" in names
        assert not (tmp_path / "etc" / SERVICE).exists()
        nets = subprocess.run(
            ["docker", "network", "ls", "--format", "{{.Name}}"], capture_output=True, text=True, check=False
        ).stdout.split()
        assert SERVICE + "_net" not in nets
        assert (tmp_path / "qwen3-tiny" / "config.json").exists(), "weights stay by default"
        res = teardown(tmp_path, "-e", "teardown_remove_weights=true")
        assert res.returncode == 0, res.stdout + res.stderr
        assert not (tmp_path / "qwen3-tiny").exists() and tmp_path.exists()
    finally:
        subprocess.run(["docker", "rm", "-f"] + list(created), capture_output=True, check=False)
        subprocess.run(["docker", "network", "rm", SERVICE + "_net"], capture_output=True, check=False)


@pytest.mark.parametrize("check", [False, True], ids=["run", "check-mode"])
@pytest.mark.parametrize("hostile", ["qwen3_model_dir=..", "qwen3_model_dir=../../etc", "qwen3_service_name=../x"])
def test_a_hostile_name_is_refused_before_anything_is_removed(tmp_path, hostile, check):
    (tmp_path / "qwen3-tiny").mkdir()
    (tmp_path / "keep").write_text("still here\n")
    res = teardown(tmp_path, "-e", "teardown_remove_weights=true", "-e", hostile, *(["--check"] if check else []))
    assert res.returncode != 0
    assert "is not a safe name" in " ".join(res.stdout.split())
    assert (tmp_path / "keep").exists() and (tmp_path / "qwen3-tiny").exists()
    assert "changed=0" in res.stdout
