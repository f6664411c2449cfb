# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Action plugin of vacc.qwen3.accuracy_report: summarizes an EvalScope run on the controller,
compares it, and publishes the run directory atomically (docs in plugins/modules/accuracy_report.py).
It does not fail on a regression: it returns it, and the role decides (accuracy_fail_on_regression)."""

from __future__ import annotations

import os

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _accuracy_results as ar
from ansible_collections.vacc.qwen3.plugins.plugin_utils._controller_action import ReportAction

ARGUMENT_SPEC = {
    "staging": {"type": "path", "required": True},
    "dest": {"type": "path", "required": True},
    "run": {"type": "dict", "default": {}},
    "compare_to": {"type": "str"},
    "alpha": {"type": "float", "default": 0.05},
    "tolerance": {"type": "float", "default": 0.0},
}


class ActionModule(ReportAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    CHECK_MODE_MSG = "check mode: nothing is summarized"
    ERRORS = (ar.AccuracyResultsError, OSError, ValueError, KeyError)

    def error_message(self, exc):
        return "%s: %s" % (type(exc).__name__, exc)

    def report(self, args):
        staging, dest = args["staging"], args["dest"]
        summary, items = ar.build(staging, args["run"])
        comparison = None
        if args["compare_to"]:
            comparison = ar.compare(summary, items, args["run"], args["compare_to"], args["alpha"], args["tolerance"])
            ar.write_json(os.path.join(staging, "verdict.json"), comparison)
        ar.publish(staging, dest)
        return dict(
            changed=True,
            dir=dest,
            summary=summary,
            comparison=comparison,
            verdict=comparison["verdict"] if comparison else None,
            regression=bool(comparison and comparison["verdict"] == "regression"),
            table=ar.table(summary, comparison),
            msg="%s: %s"
            % (os.path.join(dest, "summary.json"), comparison["text"] if comparison else "no comparison asked"),
        )
