# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Action plugin of vacc.qwen3.bench_reusable_run (docs in plugins/modules/bench_reusable_run.py): the last
complete benchmark run that measured the same thing, read on the controller."""

from __future__ import annotations

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _bench_report as br
from ansible_collections.vacc.qwen3.plugins.plugin_utils._bench_cases import BenchReportError
from ansible_collections.vacc.qwen3.plugins.plugin_utils._controller_action import ControllerAction

ARGUMENT_SPEC = {
    "results_dir": {"type": "path", "required": True},
    "keys": {"type": "dict", "required": True},
}


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    ERRORS = (BenchReportError, OSError)

    def compute(self, args, task_vars):
        run_id = br.reusable_run(args["results_dir"], {h: str(k or "") for h, k in args["keys"].items()})
        return {
            "changed": False,
            "run_id": run_id,
            "msg": (
                "run %s measured the same hosts with the same keys and every case passed" % run_id
                if run_id
                else "no complete run under %s measured these hosts with these keys" % args["results_dir"]
            ),
        }
