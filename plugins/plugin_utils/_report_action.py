# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""The shape every controller-side report action of the collection shares."""

from __future__ import annotations

from ansible.plugins.action import ActionBase


class ReportAction(ActionBase):
    """Validates its arguments, writes nothing in check mode, and turns the report's own errors into
    one failed result with a sentence. Subclasses set ARGUMENT_SPEC, CHECK_MODE_MSG and ERRORS and
    return the result fields from report(args)."""

    TRANSFERS_FILES = False
    _requires_connection = False  # controller-side only
    ARGUMENT_SPEC = {}
    CHECK_MODE_MSG = "check mode: nothing is written"
    ERRORS = (OSError,)

    def report(self, args):
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        result = super(ReportAction, self).run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        if self._task.check_mode:
            result.update(changed=False, skipped=True, msg=self.CHECK_MODE_MSG)
            return result
        try:
            result.update(self.report(args))
        except self.ERRORS as exc:
            result.update(failed=True, msg=self.error_message(exc))
        return result

    def error_message(self, exc):
        return str(exc)
