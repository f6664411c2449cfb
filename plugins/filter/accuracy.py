# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Accuracy filters (EvalScope runs). Docs: accuracy_task.yml beside this one."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.vacc.qwen3.plugins.module_utils import accuracy_task as at


def accuracy_task(settings):
    # A refusal is one sentence for the operator, not a traceback.
    try:
        return at.settle(dict(settings))
    except at.AccuracyTaskError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"accuracy_task": accuracy_task}
