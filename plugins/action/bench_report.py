# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Action plugin of vacc.qwen3.bench_report: renders the fleet report on the controller (docs in
plugins/modules/bench_report.py). It never fails on what the benchmark found: it returns the failed
cases and the missed SLO objectives, and the role decides."""

from __future__ import annotations

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _bench_render as br
from ansible_collections.vacc.qwen3.plugins.plugin_utils._bench_cases import BenchReportError
from ansible_collections.vacc.qwen3.plugins.plugin_utils._controller_action import ReportAction

ARGUMENT_SPEC = {
    "run_dir": {"type": "path", "required": True},
    "latest_dir": {"type": "path"},
    "latest_link": {"type": "bool", "default": True},
    "itl_tpot_tolerance_pct": {"type": "float", "default": 25.0},
    "burst_ratio": {"type": "float", "default": 0.1},
}


class ActionModule(ReportAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    CHECK_MODE_MSG = "check mode: the report is not written"
    ERRORS = (BenchReportError, OSError)

    def report(self, args):
        summary = br.write_report(
            args["run_dir"],
            latest_dir=args["latest_dir"],
            latest_link=args["latest_link"],
            tolerance_pct=args["itl_tpot_tolerance_pct"],
            burst_ratio=args["burst_ratio"],
        )
        return dict(summary, changed=True, msg="%s Report: %s" % (summary["summary"], summary["files"]["html"]))
