# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Action plugin of vacc.qwen3.fleet_status (docs: plugins/modules/fleet_status.py): one row per server
from the facts the servers and gateways reported, written to results on the controller."""

from __future__ import annotations

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _status
from ansible_collections.vacc.qwen3.plugins.plugin_utils._controller_action import ReportAction

ARGUMENT_SPEC = {
    "servers": {"type": "list", "elements": "str", "required": True},
    "gateways": {"type": "list", "elements": "str", "default": []},
    "dest": {"type": "path", "required": True},
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
        rows = [_status.server_row(h, hostvars[h], gateways) for h in args["servers"]]
        files = _status.write_files(rows, args["dest"])
        not_serving = [r["host"] for r in rows if r["state"] != "serving"]
        drifted = [r["host"] for r in rows if r["drift"] not in ("-", "")]
        return {"changed": True, "rows": rows, "table": _status.table(rows), "files": files,
                "not_serving": not_serving, "drifted": drifted,
                "msg": "%d server(s): %d serving, %d drifted; %s" % (len(rows), len(rows) - len(not_serving),
                                                                     len(drifted), files["md"])}
