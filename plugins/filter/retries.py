# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""How many tries of an until-loop fit in a time budget. Docs: retries.yml beside this file."""

from __future__ import annotations

import math

from ansible.errors import AnsibleFilterError


def _whole(value, what):
    # -e and AWX give numbers as strings; a bool is not a number of seconds.
    if isinstance(value, bool):
        raise AnsibleFilterError("retries: %s must be a whole number of seconds, not %r." % (what, value))
    try:
        number = float(str(value).strip())
    except ValueError:
        raise AnsibleFilterError("retries: %s must be a whole number of seconds, not %r." % (what, value)) from None
    if not math.isfinite(number) or number != int(number):
        raise AnsibleFilterError("retries: %s must be a whole number of seconds, not %r." % (what, value))
    return int(number)


def retries(timeout, delay):
    """ceil(timeout / delay): the retries of a task polling every `delay` seconds that may take `timeout` seconds."""
    timeout, delay = _whole(timeout, "the timeout"), _whole(delay, "the delay")
    if delay <= 0 or timeout < 0:
        raise AnsibleFilterError(
            "retries: the delay must be above 0 and the timeout at least 0 seconds, not %d and %d." % (delay, timeout)
        )
    return int(math.ceil(timeout / delay))


class FilterModule(object):
    def filters(self):
        return {"retries": retries}
