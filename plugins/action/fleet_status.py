# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Action plugin of vacc.qwen3.fleet_status (docs: plugins/modules/fleet_status.py): one row per server
from the facts the servers and gateways reported, written to results on the controller."""

from __future__ import annotations

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _engine_probe, _status
from ansible_collections.vacc.qwen3.plugins.plugin_utils._controller_action import ReportAction

ARGUMENT_SPEC = {
    "servers": {"type": "list", "elements": "str", "required": True},
    "gateways": {"type": "list", "elements": "str", "default": []},
    "dest": {"type": "path", "required": True},
    "probe_dir": {"type": "path"},
}


class ActionModule(ReportAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    CHECK_MODE_MSG = "check mode: no status is written"

    def run(self, tmp=None, task_vars=None):
        self._task_vars = task_vars
        return super(ActionModule, self).run(tmp, task_vars)

    def report(self, args):
        hostvars = self._task_vars["hostvars"]
        gateways = {g: dict(hostvars[g].get("gateway_status") or {}) for g in args["gateways"] if g in hostvars}
        image_ids = {
            i.get("image_id")
            for h in args["servers"]
            for i in (dict(hostvars[h].get("vllm_service_status") or {}).get("instances") or [])
        }
        engines = {d: _engine_probe.cached_by_digest(args["probe_dir"], d) for d in image_ids if d}
        rows = [
            _status.server_row(h, hostvars[h], gateways, engines={d: r for d, r in engines.items() if r})
            for h in args["servers"]
        ]
        files = _status.write_files(rows, args["dest"])
        flag_sets = _status.flag_sets(rows)
        not_serving = [r["host"] for r in rows if r["state"] != "serving"]
        drifted = [r["host"] for r in rows if r["drift"] not in ("-", "")]
        return {
            "changed": True,
            "rows": rows,
            "table": _status.table(rows),
            "files": files,
            "not_serving": not_serving,
            "drifted": drifted,
            "flag_sets": flag_sets,
            "msg": "%d server(s): %d serving, %d drifted%s; %s"
            % (
                len(rows),
                len(rows) - len(not_serving),
                len(drifted),
                ", engines with %d different flag sets (%s)" % (len(flag_sets), ", ".join(flag_sets))
                if len(flag_sets) > 1
                else "",
                files["md"],
            ),
        }
