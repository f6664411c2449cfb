# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""How every filter of the collection refuses: one sentence for the operator, not a traceback."""

from __future__ import annotations

from functools import wraps

from ansible.errors import AnsibleFilterError


def refusals_as_filter_errors(*refusals):
    """Decorate a filter so that the given exception types become AnsibleFilterError(str(exc))."""

    def decorate(func):
        @wraps(func)
        def wrapper(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except refusals as exc:
                raise AnsibleFilterError(str(exc)) from None

        return wrapper

    return decorate
