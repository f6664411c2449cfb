"""The rules of roles/monitoring, rendered as the role renders them, under `promtool test rules`
(tests/monitoring/rules_test.yml) with the promtool of the role's own image."""

import shutil

import pytest

from monitoring_helpers import HERE, PROMETHEUS_IMAGE, ansible_playbook, run

PLANNED = '{"planned_images": [{"host": "srv1", "service": "vllm_service", "image": "img:new"},' \
          ' {"host": "srv3", "service": "vllm_service", "image": "img:new"}]}'


def render(tmp_path, *extra):
    res = ansible_playbook(HERE / "render_rules.yml", "-e", "rules_dir=%s" % tmp_path, "-e", PLANNED, *extra,
                           inventory=HERE / "inventory-localhost.yml")
    assert res.returncode == 0, res.stdout[-3000:]
    shutil.copy(HERE / "rules_test.yml", tmp_path / "rules_test.yml")


def promtool(tmp_path, *args):
    # As root: pytest's tmp_path is private to root, the image's user is prometheus.
    return run(["docker", "run", "--rm", "--network", "none", "--user", "0", "-v", "%s:/rules:ro" % tmp_path, "-w", "/rules",
                PROMETHEUS_IMAGE, "promtool", *args], check=False)


def test_rules_pass_promtool_check_and_their_unit_tests(images, tmp_path):
    render(tmp_path)
    check = promtool(tmp_path, "check", "rules", "vacc-qwen3.rules.yml")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 19 rules found" in check.stdout, check.stdout
    tested = promtool(tmp_path, "test", "rules", "rules_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


@pytest.mark.parametrize("override, alert", [("monitoring_max_concurrency=5", "Qwen3InstanceSaturated"),
                                             ("monitoring_ttft_p99_slo_ms=20000", "Qwen3TTFTAboveSLO"),
                                             ("monitoring_alert_instance_down_for=5m", "Qwen3InstanceDown")])
def test_the_unit_tests_see_the_thresholds(images, tmp_path, override, alert):
    """Another threshold makes exactly that alert's test fail: the tests are not vacuous."""
    render(tmp_path, "-e", override)
    tested = promtool(tmp_path, "test", "rules", "rules_test.yml")
    assert tested.returncode != 0
    assert "alertname: %s" % alert in tested.stdout + tested.stderr
