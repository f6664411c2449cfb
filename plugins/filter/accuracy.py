# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Accuracy filters (EvalScope runs). Docs: accuracy_task.yml beside this one."""

from __future__ import annotations

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _accuracy_task as at
from ansible_collections.vacc.qwen3.plugins.plugin_utils._filter_errors import refusals_as_filter_errors


@refusals_as_filter_errors(at.AccuracyTaskError)
def accuracy_task(settings):
    return at.settle(dict(settings))


class FilterModule(object):
    def filters(self):
        return {"accuracy_task": accuracy_task}
