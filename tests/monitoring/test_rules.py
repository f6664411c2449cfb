"""The rules of roles/monitoring, rendered as the role renders them, under `promtool test rules`
(tests/monitoring/rules_test.yml) with the promtool of the role's own image; the two textfiles (the
service's, the vasmi collector's) under `promtool check metrics`."""

import importlib.util
import json
import shutil

import pytest
from monitoring_helpers import HERE, PROMETHEUS_IMAGE, ROOT, ansible_playbook, run

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _service_textfile as service_textfile

PLANNED = (
    '{"planned_images": [{"host": "srv1", "service": "vllm_service", "image": "img:new"},'
    ' {"host": "srv3", "service": "vllm_service", "image": "img:new"}]}'
)


def render(tmp_path, *extra):
    res = ansible_playbook(
        HERE / "render_rules.yml",
        "-e",
        "rules_dir=%s" % tmp_path,
        "-e",
        PLANNED,
        *extra,
        inventory=HERE / "inventory-localhost.yml",
    )
    assert res.returncode == 0, res.stdout[-3000:]
    shutil.copy(HERE / "rules_test.yml", tmp_path / "rules_test.yml")


def promtool(tmp_path, *args):
    # As root: pytest's tmp_path is private to root, the image's user is prometheus.
    return run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            "none",
            "--user",
            "0",
            "-v",
            "%s:/rules:ro" % tmp_path,
            "-w",
            "/rules",
            PROMETHEUS_IMAGE,
            "promtool",
            *args,
        ],
        check=False,
    )


def test_rules_pass_promtool_check_and_their_unit_tests(images, tmp_path):
    render(tmp_path)
    check = promtool(tmp_path, "check", "rules", "vacc-qwen3.rules.yml")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 19 rules found" in check.stdout, check.stdout
    tested = promtool(tmp_path, "test", "rules", "rules_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


@pytest.mark.parametrize(
    "override, alert",
    [
        ("monitoring_max_concurrency=5", "Qwen3InstanceSaturated"),
        ("monitoring_ttft_p99_slo_ms=20000", "Qwen3TTFTAboveSLO"),
        ("monitoring_alert_instance_down_for=5m", "Qwen3InstanceDown"),
    ],
)
def test_the_unit_tests_see_the_thresholds(images, tmp_path, override, alert):
    """Another threshold makes exactly that alert's test fail: the tests are not vacuous."""
    render(tmp_path, "-e", override)
    tested = promtool(tmp_path, "test", "rules", "rules_test.yml")
    assert tested.returncode != 0
    assert "alertname: %s" % alert in tested.stdout + tested.stderr


def check_metrics(text):
    return run(
        ["docker", "run", "--rm", "-i", "--network", "none", PROMETHEUS_IMAGE, "promtool", "check", "metrics"],
        check=False,
        input=text,
    )


def test_service_textfile_passes_promtool_check_metrics(images):
    text = service_textfile.render(
        {"name": "vllm_service", "image": "vacc-qwen3/vllm-cpu-standin:0.32.0"},
        [
            {"name": "vllm_service_%d" % i, "image": "vacc-qwen3/vllm-cpu-standin:0.32.0", "image_id": "sha256:1"}
            for i in range(2)
        ],
        plan={"model": "Qwen3-0.6B", "served_model_name": "qwen3-tiny", "instances": 2, "tp": 2},
    )
    res = check_metrics(text)
    assert res.returncode == 0 and not res.stdout.strip() and not res.stderr.strip(), res.stdout + res.stderr


def test_vasmi_textfile_passes_promtool_check_metrics(images, tmp_path):
    spec = importlib.util.spec_from_file_location("vne", ROOT / "roles/monitoring/files/vacc_node_exporter.py")
    vne = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vne)
    exe = tmp_path / "vasmi"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    answer = {
        "elem": [
            {
                "vals": {
                    "dieId": {"value": "0"},
                    "dieTemp": {"value": "47 C"},
                    "memUsed": {"value": "1 GiB"},
                    "aiUtil": {"value": "37%"},
                }
            }
        ]
    }

    class Proc(object):
        returncode, stdout, stderr = 0, json.dumps(answer).encode(), b""

    for samples in (
        vne.collect(vasmi=None, path_env="/nonexistent"),
        vne.collect(vasmi=str(exe), run=lambda argv, **kw: Proc()),
    ):
        res = check_metrics(vne.render(samples))
        assert res.returncode == 0 and not res.stdout.strip() and not res.stderr.strip(), res.stdout + res.stderr
