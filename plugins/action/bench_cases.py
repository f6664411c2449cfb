# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Action plugin of vacc.qwen3.bench_cases (docs: plugins/modules/bench_cases.py): the benchmark's cases and
SLO objectives, checked against the plan's limits on the controller; a refusal is the one sentence."""

from __future__ import annotations

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _bench_cases as bc
from ansible_collections.vacc.qwen3.plugins.plugin_utils._controller_action import ControllerAction

ARGUMENT_SPEC = {
    "cases": {"type": "list", "elements": "raw"},
    "input_len": {"type": "int", "default": 128},
    "output_len": {"type": "int", "default": 1024},
    "max_concurrency": {"type": "int", "default": 4},
    "prompts_per_concurrency": {"type": "int", "default": 3},
    "max_model_len": {"type": "int"},
    "max_input_len": {"type": "int"},
    "slo": {"type": "raw"},
}


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    ERRORS = (bc.BenchReportError,)

    def compute(self, args, task_vars):
        cases = args["cases"] or bc.default_cases(
            args["input_len"], args["output_len"], args["max_concurrency"], args["prompts_per_concurrency"]
        )
        cases = bc.normalize_cases(cases, max_model_len=args["max_model_len"], max_input_len=args["max_input_len"])
        slo = args["slo"] or {}
        objectives = bc.parse_slo(slo)
        return {
            "changed": False,
            "cases": cases,
            "slo": slo,
            "objectives": objectives,
            "msg": "%d case(s): %s" % (len(cases), ", ".join(c["name"] for c in cases)),
        }
