"""docs/awx-project/, the AWX kit: the generated job templates match the specs and the catalog, satisfy
AWX's survey rules, and their wrapper playbooks take blank answers as unset; configure.yml parses;
execution-environment.yml makes an ansible-builder context."""

import functools
import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _catalog as qwen3_catalog
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _inputs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import gen_awx  # noqa: E402

BIN = os.path.dirname(sys.executable)
KIT = os.path.join(ROOT, "docs", "awx-project")
JOB_TEMPLATES = os.path.join(KIT, "job_templates.yml")
PREFIX = gen_awx.SURVEY_PREFIX
EXPECTED = {"plan", "deploy", "gateway", "status", "benchmark", "evaluate", "webui", "teardown"}
AWX_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}


class _Loader(yaml.SafeLoader):
    """Reads Ansible's !unsafe strings as plain strings."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


@functools.lru_cache(maxsize=None)  # read once: a hundred parametrized tests ask for the same files
def _yaml(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_Loader)


def templates():
    return _yaml(JOB_TEMPLATES)["qwen3_awx_job_templates"]


def by_name():
    return {t["name"]: t for t in templates()}


def test_generated_files_are_up_to_date():
    assert gen_awx.main(["--check"]) == 0, "docs/awx-project/ is stale: run python tools/gen_awx.py"


def runs(template):
    """The collection's playbook a template's wrapper runs, as a path in this checkout."""
    return "playbooks/%s.yml" % template["runs"].split(".")[-1]


def test_one_template_per_playbook():
    assert set(by_name()) == EXPECTED
    for t in templates():
        assert os.path.exists(os.path.join(KIT, t["playbook"])) and os.path.exists(os.path.join(ROOT, runs(t))), t
    # A new playbook gets a template or a reason in tools/gen_awx.py's NOT_TEMPLATES.
    playbooks = {f for f in os.listdir(os.path.join(ROOT, "playbooks")) if f.endswith(".yml")}
    covered = {os.path.basename(runs(t)) for t in templates()} | set(gen_awx.NOT_TEMPLATES)
    assert playbooks <= covered, "no job template and no reason for: %s" % sorted(playbooks - covered)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_wrapper_takes_the_answers_then_runs_the_collections_playbook(name):
    template = by_name()[name]
    plays = _yaml(os.path.join(KIT, template["playbook"]))
    assert [p["ansible.builtin.import_playbook"] for p in plays] == ["vacc.qwen3.survey", template["runs"]]
    optional = [q["variable"] for q in template["survey_spec"]["spec"] if not q["required"]]
    # Every optional question is asked under the prefix and taken by the survey play; required ones (they
    # have a default, so never blank) keep their names: hosts and serial are read before any host's facts.
    assert all(v.startswith(PREFIX) for v in optional), optional
    assert plays[0]["vars"]["qwen3_survey_questions"] == [v[len(PREFIX) :] for v in optional]
    assert not any(q["variable"].startswith(PREFIX) for q in template["survey_spec"]["spec"] if q["required"])


# ---------------------------------------------------------------- against the specs (read independently)


def _specs(role):
    path = os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")
    return (_yaml(path) or {}).get("argument_specs") or {} if os.path.exists(path) else {}


def _playbook_roles(path):
    """Every vacc.qwen3 role a playbook names, following import_playbook (a text scan, not the generator's parse)."""
    text = open(path, encoding="utf-8").read()
    found = set(re.findall(r"vacc\.qwen3\.(\w+)", text))
    for imported in re.findall(r"import_playbook:\s*(\S+)", text):
        found |= _playbook_roles(os.path.join(os.path.dirname(path), imported))
    return found


def _declared(template):
    """Variable -> option spec, from every entry point of the roles the playbook runs, and _common's main."""
    declared = {}
    for role in sorted(_playbook_roles(os.path.join(ROOT, runs(template)))):
        for entry in _specs(role).values():
            for name, opt in (entry.get("options") or {}).items():
                declared.setdefault(name, []).append(opt)
    shared = (_specs("_common").get("main") or {}).get("options") or {}
    return declared, shared


def _play_vars(template):
    plays = _yaml(os.path.join(ROOT, runs(template))) or []
    return {k: v for play in plays for k, v in (play.get("vars") or {}).items()}


def _survey_value(value):
    return ("true" if value else "false") if isinstance(value, bool) else value


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_survey_variables_are_declared(name):
    template = by_name()[name]
    declared, shared = _declared(template)
    play_vars = _play_vars(template)
    for q in template["survey_spec"]["spec"]:
        var = _unprefixed(q["variable"])
        in_roles = var in declared
        in_common = var.startswith(("qwen3_", "vacc_")) and var in shared
        assert in_roles or in_common or var in play_vars, (
            "%s: survey variable %s is in no argument spec of the roles %s runs (%s), nor a shared "
            "qwen3_/vacc_ option of roles/_common"
            % (name, var, runs(template), ", ".join(sorted(_playbook_roles(os.path.join(ROOT, runs(template))))))
        )


def _unprefixed(variable):
    return variable[len(PREFIX) :] if variable.startswith(PREFIX) else variable


def _option(template, var):
    declared, shared = _declared(template)
    if var.startswith(("qwen3_", "vacc_")) and var in shared:
        return shared[var]
    if var in declared:
        return declared[var][0]
    value = _play_vars(template)[var]
    return {"type": "bool" if isinstance(value, bool) else "str", "default": value}


def _questions():
    return [(t["name"], q) for t in templates() for q in t["survey_spec"]["spec"]]


def _image_choices():
    return _yaml(JOB_TEMPLATES)["qwen3_awx_engine_images"]


@pytest.mark.parametrize("name,question", _questions(), ids=lambda v: v if isinstance(v, str) else v["variable"])
def test_question_matches_spec_and_catalog(name, question):
    template = by_name()[name]
    var = _unprefixed(question["variable"])
    opt = _option(template, var)
    models = gen_awx.catalog_models()  # every revision's models: the revision is a question of its own
    if var == "qwen3_service_image":
        # A choice from the allow-list configure.yml renders (qwen3_awx_engine_images), never free text.
        assert question["type"] == "multiplechoice" and question["choices"] == "{{ qwen3_awx_engine_images }}"
        assert _image_choices() == ["harbor.vastaitech.com/ai_deliver/vllm_vacc:" + tag for tag in gen_awx.ENGINE_TAGS]
        assert _inputs.VENDOR_IMAGE in _image_choices()
    elif var == "qwen3_model":
        assert question["choices"] == [m["name"] for m in models] and len(question["choices"]) == 45
        assert set(question["choices"]) == {
            m["name"] for r in qwen3_catalog.revisions() for m in qwen3_catalog.guide(r).catalog()
        }
    elif var == "qwen3_guide_revision":
        assert question["type"] == "multiplechoice" and question["choices"] == qwen3_catalog.revisions()
    elif var == "qwen3_tp":
        assert question["choices"] == [str(tp) for tp in sorted({tp for m in models for tp in m["tp"]})]
    elif var == "qwen3_max_model_len":
        assert question["type"] == "integer"
        assert question["max"] == max(lim["max_model_len"] for m in models for lim in m["limits"].values())
    elif opt.get("choices"):
        assert question["type"] == "multiplechoice" and question["choices"] == [str(c) for c in opt["choices"]]
    elif opt.get("type") == "bool":
        assert question["type"] == "multiplechoice" and question["choices"] == ["false", "true"]
    else:
        kind = opt.get("type", "str")
        if kind == "raw" and var in _inputs.SHARED:
            kind = _inputs.SHARED[var][0]  # typed raw in the spec; the planner converts by its own kind
        expected = {"int": "integer", "float": "float", "str": "text", "path": "text", "raw": "text"}[kind]
        assert question["type"] == expected
    # The survey default, when there is one, is the spec's; otherwise blank leaves the inventory's value.
    default = opt.get("default")
    if "default" in question:
        assert question["default"] == _survey_value(default), (question["default"], default)
    elif default is not None and "{{" not in str(default) and default != "":
        assert "else %s." % _survey_value(default) in question["question_description"]
    elif default == "":  # generated or derived: the description says how
        assert question["question_description"].endswith("else the role's default."), question
    if opt.get("required") and "default" not in question:
        # A required role option (qwen3_model) may be left to the inventory, never to nothing.
        assert "Blank: the inventory's value" in question["question_description"]


def test_templates_ask_for_the_plan_consistently():
    """Every template whose playbook computes the plan asks the same plan questions with the same spec."""
    plan_questions = {}
    for t in templates():
        for q in t["survey_spec"]["spec"]:
            if _unprefixed(q["variable"]) in gen_awx.PLAN:
                plan_questions.setdefault(q["variable"], []).append(json.dumps(q, sort_keys=True))
    for var, variants in plan_questions.items():
        assert len(set(variants)) == 1, "%s differs between templates" % var


# ---------------------------------------------------------------- AWX's own survey rules


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_survey_spec_passes_awx_rules(name):
    """The checks AWX's survey_spec endpoint applies (awx/api/views: _validate_spec_data) and launch-time
    defaults (a default that fails the question's own validation is silently dropped)."""
    survey = by_name()[name]["survey_spec"]
    assert isinstance(survey["name"], str) and isinstance(survey["description"], str) and survey["spec"]
    seen = set()
    for q in survey["spec"]:
        for key, kind in (("type", str), ("question_name", str), ("variable", str), ("required", bool)):
            assert isinstance(q.get(key), kind), (q, key)
        assert q["type"] in AWX_TYPES and q["variable"] not in seen
        seen.add(q["variable"])
        assert isinstance(q.get("question_description", ""), str)
        if q["type"] == "multiplechoice":
            if q["choices"] == "{{ qwen3_awx_engine_images }}":
                q = dict(q, choices=_image_choices())  # as configure.yml sends it
            assert q["choices"] and all(isinstance(c, str) for c in q["choices"])
            assert "default" not in q or q["default"] in q["choices"]
        if q["type"] == "integer":
            assert "default" not in q or isinstance(q["default"], int)
            for bound in ("min", "max"):
                assert bound not in q or isinstance(q[bound], int)
        if q["type"] == "text":
            assert "default" not in q or (isinstance(q["default"], str) and q["default"])
        # Optional questions carry no default: blank answers are not sent and the inventory's value stands.
        if not q["required"]:
            assert "default" not in q, q


# ---------------------------------------------------------------- blank answers, as AWX sends them

SURVEY_INVENTORY = {
    "all": {
        "children": {
            "vacc_servers": {
                "hosts": {
                    "probe": {
                        "ansible_host": "127.0.0.1",
                        "ansible_port": 1,
                        "qwen3_model": "Qwen3-8B-AWQ",
                        "qwen3_tp": 4,
                    }
                }
            }
        }
    }
}


def _wrapper(tmp_path, answers):
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(SURVEY_INVENTORY))
    (tmp_path / "answers.json").write_text(json.dumps(dict(answers, qwen3_secrets_dir=str(tmp_path / "secrets"))))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    res = subprocess.run(
        [
            os.path.join(BIN, "ansible-playbook"),
            "-i",
            str(tmp_path / "hosts.yml"),
            os.path.join(KIT, "plan.yml"),
            "-e",
            "@" + str(tmp_path / "answers.json"),
        ],
        cwd=str(tmp_path),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return res.returncode, " ".join((res.stdout + res.stderr).split())


@pytest.mark.parametrize(
    "answers",
    [
        {},
        {"survey_qwen3_model": "", "survey_qwen3_tp": ""},
        {"survey_qwen3_model": None, "survey_qwen3_tp": None, "survey_vacc_cards": None},
        {"survey_qwen3_model": "null", "survey_qwen3_tp": " "},
    ],
    ids=["nothing", "empty strings", "nulls", "null as text"],
)
def test_a_blank_answer_leaves_the_inventorys_value(tmp_path, answers):
    rc, out = _wrapper(tmp_path, answers)
    assert rc == 0, out
    assert "probe: Qwen3-8B-AWQ (INT4, dense) on 1 x VA16 (4 dies): TP4 x 1 instance(s)" in out, out


def test_an_answer_beats_the_inventory(tmp_path):
    rc, out = _wrapper(
        tmp_path, {"survey_qwen3_model": "Qwen3-0.6B", "survey_qwen3_tp": "2", "survey_qwen3_instances": 2}
    )
    assert rc == 0, out
    assert "probe: Qwen3-0.6B (BF16, dense) on 1 x VA16 (4 dies): TP2 x 2 instance(s)" in out, out


# ---------------------------------------------------------------- configure.yml


def test_configure_playbook_syntax():
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    res = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), "--syntax-check", os.path.join(KIT, "configure.yml")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_configure_playbook_reads_the_generated_file_and_defaults_no_secret():
    plays = _yaml(os.path.join(KIT, "configure.yml"))
    assert plays[0]["vars_files"] == ["job_templates.yml"]
    defaults = plays[0]["vars"]
    for name, value in defaults.items():
        if re.search(r"password|token|secret_key|api_key", name):
            assert not value, "%s must not have a default" % name
    text = open(os.path.join(KIT, "configure.yml"), encoding="utf-8").read()
    used = set(re.findall(r"\bitem\.(\w+)", text))
    for t in templates():
        assert used <= set(t), (t["name"], used - set(t))


# ---------------------------------------------------------------- execution-environment.yml


def _bundled(collection):
    import ansible_collections

    for base in ansible_collections.__path__:
        manifest = os.path.join(base, *collection.split("."), "MANIFEST.json")
        if os.path.exists(manifest):
            return json.load(open(manifest))["collection_info"]["version"]
    return None


def test_execution_environment_context(tmp_path):
    builder = os.path.join(BIN, "ansible-builder")
    assert os.path.exists(builder), "ansible-builder is missing: pip install -r requirements-dev.txt"
    res = subprocess.run(
        [
            builder,
            "create",
            "-f",
            os.path.join(ROOT, "execution-environment.yml"),
            "-c",
            str(tmp_path / "context"),
            "--output-filename",
            "Containerfile",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    context = tmp_path / "context"
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install" in containerfile
    pins = dict(
        line.split("==")
        for line in open(os.path.join(ROOT, "requirements-dev.txt"))
        if "==" in line and not line.startswith("#")
    )
    assert "ansible-core==%s" % pins["ansible-core"].strip() in containerfile

    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())["collections"]
    names = {c["name"]: c for c in requirements}
    for collection in ("community.docker", "ansible.posix"):
        assert names[collection]["version"] == _bundled(collection), collection
    local = [c for c in requirements if c.get("type") == "dir"]
    assert len(local) == 1
    copied = context / "_build" / local[0]["name"]
    galaxy = yaml.safe_load((copied / "galaxy.yml").read_text())
    assert (galaxy["namespace"], galaxy["name"]) == ("vacc", "qwen3")
    for part in ("roles/vllm_service/tasks/main.yml", "plugins/plugin_utils/_catalog.py", "playbooks/deploy.yml"):
        assert (copied / part).exists(), part

    python = (context / "_build" / "requirements.txt").read_text().split()
    for package in ("requests", "jmespath"):
        assert "%s==%s" % (package, pins[package].strip()) in python
