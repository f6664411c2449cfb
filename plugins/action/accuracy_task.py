# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Action plugin of vacc.qwen3.accuracy_task (docs: plugins/modules/accuracy_task.py): the EvalScope run
settled on the controller from the accuracy role's variables and the plan; a refusal is the one sentence."""

from __future__ import annotations

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _accuracy_task as at
from ansible_collections.vacc.qwen3.plugins.plugin_utils._controller_action import ControllerAction


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = {"settings": {"type": "dict", "required": True}}
    ERRORS = (at.AccuracyTaskError,)

    def compute(self, args, task_vars):
        settled = at.settle(dict(args["settings"]))
        return dict(settled, changed=False, msg="; ".join(settled["notes"]) or "settled")
