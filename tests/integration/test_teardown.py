"""playbooks/teardown.yml on this machine: only the named service goes; weights only when asked."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def teardown(tmp_path, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    cmd = [ANSIBLE_PLAYBOOK, "-i", os.path.join(ROOT, "inventories/local"), os.path.join(ROOT, "playbooks/teardown.yml"),
           "-e", "qwen3_service_name=vacc-teardown-test", "-e", "qwen3_service_network=vacc-teardown-test",
           "-e", "webui_container_name=vacc-teardown-test-webui", "-e", "webui_data_volume=vacc-teardown-test-webui",
           "-e", "vllm_service_lb_config_dir=%s" % (tmp_path / "etc"), "-e", "qwen3_weights_dir=%s" % tmp_path] + list(extra)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_teardown_removes_its_service_and_keeps_others(tmp_path):
    mine = "vacc-teardown-test_0"
    other = "vacc-teardown-other"
    for name, service in ((mine, "vacc-teardown-test"), (other, "vacc-teardown-other")):
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
        subprocess.run(["docker", "create", "--name", name, "--label", "vacc.qwen3.managed=true",
                        "--label", "vacc.qwen3.service=" + service, "vacc-qwen3/debian-base:bookworm", "true"],
                       check=True, capture_output=True)
    (tmp_path / "qwen3-tiny").mkdir()
    (tmp_path / "qwen3-tiny" / "config.json").write_text("{}")
    try:
        res = teardown(tmp_path)
        assert res.returncode == 0, res.stdout + res.stderr
        names = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True, check=False).stdout.split()
        assert mine not in names and other in names
        assert (tmp_path / "qwen3-tiny" / "config.json").exists(), "weights stay by default"
        res = teardown(tmp_path, "-e", "teardown_remove_weights=true")
        assert res.returncode == 0, res.stdout + res.stderr
        assert not (tmp_path / "qwen3-tiny").exists()
    finally:
        subprocess.run(["docker", "rm", "-f", mine, other], capture_output=True, check=False)
