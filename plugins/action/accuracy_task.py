# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Action plugin of vacc.qwen3.accuracy_task (docs: plugins/modules/accuracy_task.py): the EvalScope run
settled on the controller from the accuracy role's variables and the plan; a refusal is the one sentence.
The settings are the role's variables without their accuracy_ prefix, as -e and AWX give them (strings):
they are converted by the role's argument spec first."""

from __future__ import annotations

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _accuracy_task as at
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _role_vars
from ansible_collections.vacc.qwen3.plugins.plugin_utils._controller_action import ControllerAction


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = {"settings": {"type": "dict", "required": True}}
    ERRORS = (at.AccuracyTaskError, _role_vars.RoleVarError)

    def compute(self, args, task_vars):
        settled = at.settle(_role_vars.typed("accuracy", args["settings"], prefix="accuracy_"))
        return dict(settled, changed=False, msg="; ".join(settled["notes"]) or "settled")
