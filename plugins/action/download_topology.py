# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Action plugin of vacc.qwen3.download_topology (docs: plugins/modules/download_topology.py): one pass
over the play's hosts on the controller, returned as a fact every host of the batch receives (run_once)."""

from __future__ import annotations

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _download
from ansible_collections.vacc.qwen3.plugins.plugin_utils._controller_action import ControllerAction

ARGUMENT_SPEC = {
    "hosts": {"type": "list", "elements": "str", "required": True},
    "strategy": {"type": "str", "default": "each"},
    "seed_host": {"type": "str", "default": ""},
    "shared_path": {"type": "bool", "default": False},
}


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    ERRORS = (_download.DownloadError,)

    def compute(self, args, task_vars):
        hostvars = task_vars["hostvars"]
        planned = {}
        for name in args["hosts"]:
            facts = hostvars[name]
            # A host whose planning failed is out of the play; the others still get their weights.
            if "qwen3_plan" in facts and "qwen3_service" in facts:
                planned[name] = {
                    "model": facts["qwen3_plan"]["model"],
                    "dest": facts["qwen3_service"]["weights"]["path"],
                    # broadcast: where the chain's other hosts reach it (a data network, say)
                    "address": facts.get("model_download_broadcast_address") or facts.get("ansible_host") or name,
                }
        layout = _download.topology(
            planned, strategy=args["strategy"], seed_host=args["seed_host"] or "", shared_path=args["shared_path"]
        )
        if args["strategy"] == "broadcast":
            msg = "chains: %s" % "; ".join(
                "%s: %s" % (model, " -> ".join(h["name"] for h in chain)) for model, chain in layout["chains"].items()
            )
        else:
            msg = "seeds: %s" % (", ".join("%s <- %s" % kv for kv in layout["seeds"].items()) or "every host fetches")
        return {"changed": False, "ansible_facts": {"model_download_topology": layout}, "msg": msg}
