# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""The shape every controller-side action of the collection shares: arguments validated by a spec,
the domain's own errors turned into one failed result whose msg is the sentence (no templating
wrapper around it, unlike a failing filter)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase


class ControllerAction(ActionBase):
    """Subclasses set ARGUMENT_SPEC and ERRORS and return the result fields from compute(args, task_vars)."""

    TRANSFERS_FILES = False
    _requires_connection = False  # controller-side only
    ARGUMENT_SPEC = {}
    ERRORS = (OSError,)

    def compute(self, args, task_vars):
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        result = super(ControllerAction, self).run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        try:
            result.update(self.compute(args, task_vars))
        except self.ERRORS as exc:
            result.update(failed=True, msg=self.error_message(exc))
        return result

    def error_message(self, exc):
        return str(exc)


class ReportAction(ControllerAction):
    """A report written on the controller: nothing is written in check mode."""

    CHECK_MODE_MSG = "check mode: nothing is written"

    def report(self, args):
        raise NotImplementedError

    def compute(self, args, task_vars):
        if self._task.check_mode:
            return {"changed": False, "skipped": True, "msg": self.CHECK_MODE_MSG}
        return self.report(args)
