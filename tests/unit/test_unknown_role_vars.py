"""A variable with a role's prefix that no role reads (a typo, a name from another version) is refused by the
planning step with the name that does exist, instead of being silently ignored."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "collections"))
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _role_vars  # noqa: E402

PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


@pytest.mark.parametrize(
    "name,sentence",
    [
        (
            "vllm_service_image",
            "vllm_service_image is not a variable of vacc.qwen3.vllm_service and would be ignored; "
            "set qwen3_service_image instead.",
        ),
        ("vllm_service_monitor_bind", "set qwen3_service_monitor_bind instead."),
        (
            "gateway_prot",
            "gateway_prot is not a variable of vacc.qwen3.gateway and would be ignored; set gateway_port instead.",
        ),
        ("monitoring_bogus_thing", "see the role's variables (ansible-doc -t role vacc.qwen3.monitoring)"),
        ("model_download_sorce", "set model_download_source instead."),
    ],
)
def test_unknown_names_are_named_with_the_fix(name, sentence):
    assert sentence in " ".join(_role_vars.unknown([name]))


def test_known_names_pass():
    # options, facts the roles set, variables the playbooks read, other prefixes, private names
    names = [
        "vllm_service_lb_image",
        "qwen3_service_image",
        "monitoring_node_exporter_target",
        "gateway_status",
        "benchmark_serial",
        "monitoring_prometheus_hosts",
        "model_download_progress",
        "__vllm_service_x",
        "ansible_host",
        "lab_engine_image_tag",
        "vllm_service_rolled_back",
    ]
    assert _role_vars.unknown(names) == []


def test_every_option_of_every_role_is_known():
    for role in _role_vars._role_names():  # pylint: disable=protected-access
        for entry in ("main",):
            assert not _role_vars.unknown(list(_role_vars.options(role, entry)))


def test_the_plan_refuses_a_variable_no_role_reads(tmp_path):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    res = subprocess.run(
        [
            PLAYBOOK_BIN,
            "-i",
            os.path.join(ROOT, "inventories/local"),
            os.path.join(ROOT, "playbooks/plan.yml"),
            "-e",
            "vllm_service_image=registry.example/vllm_vacc:1",
            "-e",
            "qwen3_secrets_dir=%s" % tmp_path,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert res.returncode != 0
    flat = " ".join(res.stdout.split())
    assert (
        "vllm_service_image is not a variable of vacc.qwen3.vllm_service and would be ignored; set qwen3_service_image "
        "instead."
    ) in flat, res.stdout + res.stderr


def test_the_docs_name_only_variables_that_exist():
    """README and the role pages: a `name` with a role's prefix is a variable, a tag or a plugin that exists."""
    import glob
    import re

    import yaml

    others = {os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(ROOT, "plugins", "*", "*.*"))}
    for path in glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml")):
        with open(path, encoding="utf-8") as handle:
            others.update(re.findall(r"\b[a-z_]+\b", " ".join(re.findall(r"tags: \[([^\]]*)\]", handle.read()))))
        others.add(os.path.splitext(os.path.basename(path))[0])
    texts = (
        [os.path.join(ROOT, "README.md"), os.path.join(ROOT, "README.zh-CN.md")]
        + glob.glob(os.path.join(ROOT, "roles", "*", "README.md"))
        + glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True)
    )
    wrong = {}
    for path in texts:
        with open(path, encoding="utf-8") as handle:
            # a file name such as `quantize_config.json` is not a variable
            names = (
                set(re.findall(r"`([a-z][a-z0-9_]+)(?![a-z0-9_]|\.(?:json|ya?ml|py|md|txt|sh|cfg)\b)", handle.read()))
                - others
            )
        if _role_vars.unknown(names):
            wrong[os.path.relpath(path, ROOT)] = _role_vars.unknown(names)
    assert not wrong, wrong
    del yaml
