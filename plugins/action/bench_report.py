# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Action plugin of vacc.qwen3.bench_report: renders the fleet report on the controller (docs in
plugins/modules/bench_report.py). It never fails on what the benchmark found: it returns the failed
cases and the missed SLO objectives, and the role decides."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.vacc.qwen3.plugins.module_utils import bench_report as br

ARGUMENT_SPEC = {
    "run_dir": {"type": "path", "required": True},
    "latest_dir": {"type": "path"},
    "latest_link": {"type": "bool", "default": True},
    "itl_tpot_tolerance_pct": {"type": "float", "default": 25.0},
    "burst_ratio": {"type": "float", "default": 0.1},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False  # controller-side only

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        _, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if self._task.check_mode:
            result.update(changed=False, skipped=True, msg="check mode: the report is not written")
            return result
        try:
            summary = br.write_report(args["run_dir"], latest_dir=args["latest_dir"],
                                      latest_link=args["latest_link"],
                                      tolerance_pct=args["itl_tpot_tolerance_pct"],
                                      burst_ratio=args["burst_ratio"])
        except (br.BenchReportError, OSError) as exc:
            result.update(failed=True, msg=str(exc))
            return result
        result.update(summary)
        result["changed"] = True
        result["msg"] = "%s Report: %s" % (summary["summary"], summary["files"]["html"])
        return result
