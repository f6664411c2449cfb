# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Action plugin of vacc.qwen3.accuracy_report: summarizes an EvalScope run on the controller,
compares it, and publishes the run directory atomically (docs in plugins/modules/accuracy_report.py).
It does not fail on a regression: it returns it, and the role decides (accuracy_fail_on_regression)."""

from __future__ import annotations

import os

from ansible.plugins.action import ActionBase

from ansible_collections.vacc.qwen3.plugins.module_utils import accuracy_results as ar

ARGUMENT_SPEC = {
    "staging": {"type": "path", "required": True},
    "dest": {"type": "path", "required": True},
    "run": {"type": "dict", "default": {}},
    "compare_to": {"type": "str"},
    "alpha": {"type": "float", "default": 0.05},
    "tolerance": {"type": "float", "default": 0.0},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False  # controller-side only

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        _, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if self._task.check_mode:
            result.update(changed=False, skipped=True, msg="check mode: nothing is summarized")
            return result
        staging, dest = args["staging"], args["dest"]
        try:
            summary, items = ar.build(staging, args["run"])
            comparison = None
            if args["compare_to"]:
                comparison = ar.compare(summary, items, args["run"], args["compare_to"], args["alpha"],
                                        args["tolerance"])
                ar.write_json(os.path.join(staging, "verdict.json"), comparison)
            ar.publish(staging, dest)
        except (ar.AccuracyResultsError, OSError, ValueError, KeyError) as exc:
            result.update(failed=True, msg="%s: %s" % (type(exc).__name__, exc))
            return result
        result.update(
            changed=True,
            dir=dest,
            summary=summary,
            comparison=comparison,
            verdict=comparison["verdict"] if comparison else None,
            regression=bool(comparison and comparison["verdict"] == "regression"),
            table=ar.table(summary, comparison),
            msg="%s: %s" % (os.path.join(dest, "summary.json"),
                            comparison["text"] if comparison else "no comparison asked"),
        )
        return result
