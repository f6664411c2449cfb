"""docs/: the role reference is what the argument specs say, and the hand-written pages name only
playbooks, variables and files that exist."""

import os
import re
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import gen_docs  # noqa: E402
import qwen3_specs  # noqa: E402

ROLE_DOCS = os.path.join(ROOT, "docs", "roles")
HAND_WRITTEN = ["docs/awx.md", "docs/guide-mapping.md", "README.zh-CN.md"]


def test_role_docs_are_up_to_date(tmp_path):
    written = gen_docs.write_all(str(tmp_path))
    assert sorted(os.listdir(ROLE_DOCS)) == written, "docs/roles/ has other pages: run python tools/gen_docs.py"
    for name in written:
        with open(os.path.join(ROLE_DOCS, name), encoding="utf-8") as handle:
            assert handle.read() == (tmp_path / name).read_text(), (
                "docs/roles/%s is stale: run python tools/gen_docs.py" % name
            )


@pytest.mark.parametrize("role", qwen3_specs.roles())
def test_every_option_is_in_its_page(role):
    page = open(os.path.join(ROLE_DOCS, role + ".md"), encoding="utf-8").read()
    for entry in (qwen3_specs.role_specs(role) or {}).values():
        for name in entry.get("options") or {}:
            assert "`%s`" % name in page, (role, name)


def _known_names():
    """Every variable a spec declares, plus every name the playbooks, roles, the AWX kit and inventories mention."""
    names = set()
    for role in qwen3_specs.roles():
        for entry in (qwen3_specs.role_specs(role) or {}).values():
            names.update(entry.get("options") or {})
    for top in ("playbooks", "roles", "docs/awx-project", "inventories"):
        for base, dummy, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if f.endswith((".yml", ".yaml", ".j2", ".py")):
                    names.update(re.findall(r"\b\w+\b", open(os.path.join(base, f), encoding="utf-8").read()))
    return names


PREFIXES = r"(?:qwen3|vacc|model_download|vllm_service|benchmark|accuracy|webui|preflight|lab_engine_image|lab_tiny_model|teardown|monitoring|quantize)_\w+"


@pytest.mark.parametrize("doc", HAND_WRITTEN)
def test_hand_written_docs_name_real_things(doc):
    text = open(os.path.join(ROOT, doc), encoding="utf-8").read()
    for path in set(re.findall(r"\b((?:playbooks|awx|tools|inventories|roles|docs)/[\w./<>-]*\w)", text)):
        # What make demo / make fleet generate (git-ignored) is not in a fresh clone.
        if "<" not in path and "/.secrets" not in path and not path.startswith("inventories/fleet"):
            assert os.path.exists(os.path.join(ROOT, path)), "%s names %s, which does not exist" % (doc, path)
    known = _known_names()
    # Variables in code spans and -e assignments (not file names, not the collection's own name).
    variables = set(re.findall(r"`(%s)`" % PREFIXES, text)) | set(re.findall(r"-e (%s)=" % PREFIXES, text))
    variables |= set(re.findall(r"^\s*(%s):" % PREFIXES, text, re.M))
    unknown = sorted(v for v in variables if v not in known)
    assert not unknown, "%s names variables no spec, playbook or role has: %s" % (doc, unknown)


def test_guide_mapping_covers_every_playbook_that_does_a_guide_step():
    text = open(os.path.join(ROOT, "docs", "guide-mapping.md"), encoding="utf-8").read()
    for playbook in ("plan", "download", "deploy", "benchmark", "evaluate", "webui", "teardown"):
        assert "`vacc.qwen3.%s`" % playbook in text, playbook  # the FQCN playbook a user runs
    assert "`playbooks/site.yml`" in text  # the clone's demo: not in the built collection (it imports lab.yml)


def test_awx_guide_names_every_job_template():
    import yaml

    text = open(os.path.join(ROOT, "docs", "awx.md"), encoding="utf-8").read()
    with open(os.path.join(ROOT, "docs", "awx-project", "job_templates.yml"), encoding="utf-8") as handle:
        for template in yaml.safe_load(handle)["qwen3_awx_job_templates"]:
            assert "`vacc.qwen3 %s`" % template["name"] in text and template["playbook"] in text
