"""Write the AWX project kit, docs/awx-project/: the job templates of the playbooks with survey specs
derived from the roles' argument specs and the catalog (job_templates.yml), one wrapper playbook per
template, and collections/requirements.yml. docs/awx-project/configure.yml creates the templates on a
controller. The kit is shipped in the collection: a user of the tarball copies it into the repository
AWX syncs; a clone can be the AWX project itself (the templates then run docs/awx-project/<name>.yml).

    python tools/gen_awx.py            # rewrite the generated files of docs/awx-project/
    python tools/gen_awx.py --check    # exit 1 when they are not what the specs and the catalog say

Survey answers are extra vars and beat the inventory. So a question has a default only when the
value is the job's own choice (hosts, teardown switches, rollout size). Every other question is
optional, without a default, and asked as survey_<variable>: AWX sends a question left blank as ""
or null (AWX issues 16205, 9525), which as the variable itself would replace the inventory's value.
The wrapper runs vacc.qwen3.survey first, which sets <variable> from each answer that is not blank,
with a fact's precedence (above the inventory, below extra vars); then the collection's playbook.
"""

from __future__ import annotations

import argparse
import os
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qwen3_specs as specs  # noqa: E402

OUT = os.path.join(specs.ROOT, "docs", "awx-project")
SURVEY_PREFIX = "survey_"
# The vendor's vllm_vacc tags the engine-image question offers (awx/configure.yml's qwen3_awx_engine_images
# replaces the list): a choice, not free text, so a blank or mistyped image cannot reach a docker run.
ENGINE_IMAGE = "harbor.vastaitech.com/ai_deliver/vllm_vacc"
ENGINE_TAGS = ["AI3.0_SP9_0811", "AI3.1.1_GR_1031", "AI3.2_GR_1202", "VVI-25.12.SP2", "VVI-26.02", "VVI-26.05"]
SHARED_KINDS = {name: kind for name, (kind, dummy) in specs.plugin_util("_inputs").SHARED.items()}

# What the plan needs: every playbook that computes the plan asks the same questions.
PLAN = [
    "qwen3_model",
    "qwen3_guide_revision",
    "vacc_card",
    "vacc_cards",
    "vacc_dies",
    "qwen3_tp",
    "qwen3_instances",
    "qwen3_max_model_len",
]
# Questions whose spec default is sent as the survey default (see the module docstring); they are
# required too, so the answer is never blank.
WITH_DEFAULT = {
    "qwen3_hosts",
    "qwen3_deploy_serial",
    "teardown_all",
    "teardown_remove_weights",
    "teardown_remove_webui_data",
}

TEMPLATES = [
    {
        "name": "plan",
        "playbook": "plan.yml",
        "description": "Validate model x card x TP x max-model-len x instances against the guide and show each host's "
        "plan and docker run; changes nothing on the hosts.",
        "questions": ["qwen3_hosts"] + PLAN,
    },
    {
        "name": "deploy",
        "playbook": "deploy.yml",
        "description": "Preflight, weights (downloaded and verified), the vllm_vacc service with its health gate; "
        "rolling, qwen3_deploy_serial hosts at a time.",
        "questions": ["qwen3_hosts"]
        + PLAN
        + [
            "qwen3_deploy_serial",
            "qwen3_deploy_canary_benchmark",
            "model_download_source",
            "model_download_strategy",
            "qwen3_service_image",
            "vllm_service_wait_timeout",
        ],
    },
    {
        "name": "gateway",
        "playbook": "gateway.yml",
        "description": "One OpenAI endpoint in front of the fleet on the hosts of group qwen3_gateway: the servers' "
        "doors as backends, routed by model, the fleet's key checked.",
        "questions": ["qwen3_hosts"] + PLAN + ["gateway_port"],
    },
    {
        "name": "status",
        "playbook": "status.yml",
        "description": "What each server runs against its plan (images, instances, door and gateway state, drift); "
        "changes nothing.",
        "questions": ["qwen3_hosts"] + PLAN,
    },
    {
        "name": "benchmark",
        "playbook": "benchmark.yml",
        "description": "The guide's vllm bench serve cases against each host's service; one fleet report, SLO gates.",
        "questions": ["qwen3_hosts"]
        + PLAN
        + [
            "benchmark_runner",
            "benchmark_input_len",
            "benchmark_output_len",
            "benchmark_max_concurrency",
            "benchmark_prompts_per_concurrency",
        ],
    },
    {
        "name": "evaluate",
        "playbook": "evaluate.yml",
        "description": "EvalScope accuracy run against each host's service (the guide's precision_llm.py settings "
        "as a preset); results and verdicts in the job output.",
        # Not accuracy_limit: it is an int or a fraction, and a text answer would arrive as a string.
        "questions": ["qwen3_hosts"] + PLAN + ["accuracy_preset", "accuracy_resume", "accuracy_compare_to"],
    },
    {
        "name": "webui",
        "playbook": "webui.yml",
        "description": "Open WebUI in front of the service, preconfigured (connection, default model, locale, "
        "generated admin); health gate and a chat smoke test.",
        "questions": ["qwen3_hosts"]
        + PLAN
        + ["webui_image_source", "webui_port", "webui_default_locale", "webui_function_calling", "webui_admin_email"],
    },
    {
        "name": "teardown",
        "playbook": "teardown.yml",
        "description": "Remove the service containers, load balancer and Open WebUI; weights and WebUI data stay "
        "unless asked.",
        "questions": [
            "qwen3_hosts",
            "qwen3_model",
            "qwen3_service_name",
            "teardown_all",
            "teardown_remove_weights",
            "teardown_remove_webui_data",
        ],
    },
]

# Playbooks without a job template, and why (the tests want every playbook in one list or the other).
NOT_TEMPLATES = {
    "download.yml": "deploy downloads and verifies the weights itself; run it alone to pre-stage them",
    "lab.yml": "builds the CPU stand-in engine and the tiny model, for labs without cards",
    "monitoring.yml": "Prometheus, node exporters and rules for the whole inventory, run after deploy; its job template "
    "comes with the service's qwen3_service fact it reads",
    "quantize.yml": "a one-off, hours-long GPU job on the quantizer group (a checkpoint and a calibration file staged "
    "on that host); its output is then a catalog row the deploy template takes",
    "site.yml": "the local demo end to end (plan, lab, deploy, smoke, webui); the templates split it",
    "smoke.yml": "one chat completion through the service; deploy's health gate and webui's check cover it",
    "survey.yml": "not a job of its own: every template's wrapper runs it first, to take the survey's answers",
}

LABELS = {
    "qwen3_hosts": "Hosts (inventory group or pattern)",
    "qwen3_model": "Model",
    "qwen3_guide_revision": "Guide revision (blank: the engine image's)",
    "vacc_card": "Card type",
    "vacc_cards": "Cards per host",
    "vacc_dies": "Dies per host (override)",
    "qwen3_tp": "Tensor parallel size (TP, in dies)",
    "qwen3_instances": "Service instances per host",
    "qwen3_max_model_len": "Max model length (tokens)",
    "qwen3_deploy_serial": "Hosts per rollout batch",
    "qwen3_deploy_canary_benchmark": "Canary: benchmark SLO gate on the first server first",
    "qwen3_service_image": "Engine image",
    "qwen3_service_name": "Service container name",
    "teardown_all": "Remove every vacc.qwen3 container",
    "teardown_remove_weights": "Remove the model's weights",
    "teardown_remove_webui_data": "Remove Open WebUI's data (users, chats)",
}

# teardown.yml runs no role: its switches are play vars, described here.
PLAY_VAR_DESCRIPTIONS = {
    "teardown_all": "true removes every container labelled vacc.qwen3.managed=true on the host, not only this service's.",
    "teardown_remove_weights": "true also deletes <qwen3_weights_dir>/<model> (needs the model).",
    "teardown_remove_webui_data": "true also deletes Open WebUI's data volume.",
}


def catalog_models():
    """Every model of every guide revision the collection ships, the seed's order first, then newer rows."""
    cat = specs.plugin_util("_catalog")
    models = {}
    for revision in cat.revisions():
        for entry in cat.guide(revision).catalog():
            models.setdefault(entry["name"], entry)
    return list(models.values())


def _catalog_overrides():
    """Questions whose answers come from the guide's tables (or the image allow-list) rather than a free field."""
    models = catalog_models()
    tps = sorted({tp for m in models for tp in m["tp"]})
    longest = max(limit["max_model_len"] for m in models for limit in m["limits"].values() if limit)
    return {
        "qwen3_model": {"type": "multiplechoice", "choices": [m["name"] for m in models]},
        "qwen3_tp": {"type": "multiplechoice", "choices": [str(tp) for tp in tps]},
        "qwen3_max_model_len": {"type": "integer", "min": 1, "max": longest},
        # Rendered by configure.yml from qwen3_awx_engine_images (job_templates.yml gives the default list).
        "qwen3_service_image": {"type": "multiplechoice", "choices": "{{ qwen3_awx_engine_images }}"},
    }


def _question_type(opt, var=None):
    kind = opt.get("type", "str")
    if kind == "raw" and var in SHARED_KINDS:
        # The shared variables are typed raw in the spec (the planner converts them); their kind is the planner's.
        kind = SHARED_KINDS[var]
    if opt.get("choices"):
        return {"type": "multiplechoice", "choices": [str(c) for c in opt["choices"]]}
    if kind == "bool":
        # AWX has no boolean question; the playbooks and roles read these with `| bool`.
        return {"type": "multiplechoice", "choices": ["false", "true"]}
    if kind == "int":
        return {"type": "integer", "min": 0 if opt.get("default") == 0 else 1}
    if kind == "float":
        return {"type": "float"}
    if kind in ("str", "path", "raw"):
        return {"type": "text"}
    raise ValueError("no survey question type for an option of type %s" % kind)


def _survey_value(value, qtype):
    if isinstance(value, bool):
        return "true" if value else "false"
    if qtype == "multiplechoice":
        return str(value)
    return value


def question(var, template, options, play_vars, overrides):
    if var in options:
        opt, source = options[var]
    elif var in play_vars:
        value = play_vars[var]
        opt = {
            "type": "bool" if isinstance(value, bool) else "int" if isinstance(value, int) else "str",
            "default": value,
            "description": PLAY_VAR_DESCRIPTIONS[var],
        }
        source = template["playbook"] + " (play vars)"
    else:
        raise SystemExit(
            "%s: survey variable %s is in no argument spec of the roles %s runs, nor in roles/_common, "
            "nor a play var" % (template["name"], var, template["playbook"])
        )
    asked = var if var in WITH_DEFAULT else SURVEY_PREFIX + var
    q = {"question_name": LABELS.get(var, var), "variable": asked, "required": var in WITH_DEFAULT}
    q.update(overrides.get(var) or _question_type(opt, var))
    default = opt.get("default")
    description = specs.description_text(opt.get("description"), style="plain")
    if var in WITH_DEFAULT:
        if default is None or "{{" in str(default):
            raise SystemExit("%s: %s has no literal default to offer" % (template["name"], var))
        q["default"] = _survey_value(default, q["type"])
    elif default is None:
        description += " Blank: the inventory's value, if any."
    elif "{{" in str(default) or default == "":
        # An empty default means "generated" or "derived": the description says which.
        description += " Blank: the inventory's value, else the role's default."
    else:
        description += " Blank: the inventory's value, else %s." % _survey_value(default, q["type"])
    q["question_description"] = description
    return q, source


class _NoAliases(yaml.SafeDumper):
    """Repeat shared lists (the model names) instead of writing YAML anchors; indent lists under their key,
    as the yamllint of ansible-lint wants."""

    def ignore_aliases(self, data):
        return True

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _version(root):
    return yaml.safe_load(open(os.path.join(root, "galaxy.yml"), encoding="utf-8"))["version"]


def render_templates(root=specs.ROOT):
    overrides = _catalog_overrides()
    templates = []
    for template in TEMPLATES:
        runs = "playbooks/" + template["playbook"]
        options, play_vars, uses = specs.playbook_options(os.path.join(root, runs), root)
        questions, sources = [], {}
        for var in template["questions"]:
            q, source = question(var, dict(template, playbook=runs), options, play_vars, overrides)
            questions.append(q)
            sources[var] = source
        templates.append(
            {
                "name": template["name"],
                "description": template["description"],
                "playbook": template["playbook"],
                "job_type": "run",
                "ask_limit_on_launch": True,
                "survey_enabled": True,
                "survey_spec": {
                    "name": "vacc.qwen3 " + template["name"],
                    "description": template["description"],
                    "spec": questions,
                },
                # Not sent to AWX: the collection's playbook the wrapper runs, and where each question's type,
                # choices and default come from.
                "runs": "vacc.qwen3." + template["playbook"][: -len(".yml")],
                "spec_sources": sources,
            }
        )
    return templates


def _dump(data):
    return yaml.dump(data, Dumper=_NoAliases, sort_keys=False, width=120, allow_unicode=True)


def render(root=specs.ROOT):
    """{path under docs/awx-project/: content} of every generated file."""
    templates = render_templates(root)
    header = "# Generated by tools/gen_awx.py from the roles' meta/argument_specs.yml and the catalog: edit those, then rerun it.\n"
    files = {
        "job_templates.yml": header
        + "# configure.yml loads it.\n---\n"
        + _dump(
            {
                "qwen3_awx_engine_images": ["%s:%s" % (ENGINE_IMAGE, tag) for tag in ENGINE_TAGS],
                "qwen3_awx_job_templates": templates,
            }
        )
    }
    for template in templates:
        answers = [
            q["variable"][len(SURVEY_PREFIX) :]
            for q in template["survey_spec"]["spec"]
            if q["variable"].startswith(SURVEY_PREFIX)
        ]
        files[template["playbook"]] = (
            header
            + (
                '# The AWX job template "vacc.qwen3 %s" runs it: the survey\'s answers, then %s as installed.\n'
                % (template["name"], template["runs"])
            )
            + "---\n"
            + _dump(
                [
                    {
                        "name": "Take the survey's answers",
                        "ansible.builtin.import_playbook": "vacc.qwen3.survey",
                        "vars": {"qwen3_survey_questions": answers},
                    },
                    {"name": "Run " + template["runs"], "ansible.builtin.import_playbook": template["runs"]},
                ]
            )
        )
    version = _version(root)
    files["collections/requirements.yml"] = (
        (
            "# Generated by tools/gen_awx.py. AWX's project sync installs these before a job runs (from the project's\n"
            "# root). The collection is the tarball committed beside this file (`make dist` builds\n"
            "# dist/vacc-qwen3-%s.tar.gz); its dependencies come from the Galaxy servers of the organization. With\n"
            "# vacc.qwen3 on your Automation Hub or Galaxy instead: `- name: vacc.qwen3` with `version: %s`.\n"
            % (version, version)
        )
        + "---\n"
        + _dump({"collections": [{"name": "collections/vacc-qwen3-%s.tar.gz" % version, "type": "file"}]})
    )
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=OUT, help="the kit's directory")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    files = render()
    if args.check:
        stale = [
            name
            for name, content in sorted(files.items())
            if not os.path.exists(os.path.join(args.out, name))
            or open(os.path.join(args.out, name), encoding="utf-8").read() != content
        ]
        if stale:
            print("out of date in %s (run tools/gen_awx.py): %s" % (args.out, ", ".join(stale)))
            return 1
        return 0
    for name, content in sorted(files.items()):
        path = os.path.join(args.out, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(content)
        print(os.path.relpath(path, os.getcwd()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
