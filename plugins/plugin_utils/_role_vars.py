# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Role variables converted by the role's own argument spec, for the controller-side code that reads them.

ansible-core validates a role's variables against meta/argument_specs.yml before its first task, and
accepts "20" for an int and "false" for a bool, but it does not write the converted values back: a
role sees what -e key=value and AWX sent, strings. Extra vars cannot be overridden either (set_fact
loses to them). So the Python that computes with role variables converts them here, by the same spec,
with ansible-core's own validator: one set of types, the one the docs are generated from.
"""

from __future__ import annotations

import functools
import os

import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

ROLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")
_KEYS = ("type", "elements", "choices")


class RoleVarError(ValueError):
    pass


@functools.lru_cache(maxsize=None)
def options(role, entry="main"):
    """{variable: spec} of a role's entry point, as its meta/argument_specs.yml declares it."""
    with open(os.path.join(ROLES_DIR, role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        specs = yaml.safe_load(handle)["argument_specs"]
    return (specs.get(entry) or {}).get("options") or {}


def typed(role, values, prefix="", entry="main"):
    """`values` ({name: value}; name is the role variable without `prefix`) converted by the role's spec.
    A value of None stays None (unset); keys the spec does not declare are returned as they are.
    Raises RoleVarError with ansible-core's sentence, naming the role variable."""
    declared = options(role, entry)
    spec, given, names = {}, {}, {}
    for key, value in values.items():
        name = prefix + key
        if name in declared and value is not None:
            spec[name] = {k: v for k, v in declared[name].items() if k in _KEYS}
            given[name] = value
            names[name] = key
    result = ArgumentSpecValidator(spec).validate(given)
    if result.error_messages:
        raise RoleVarError(" ".join(m.rstrip(".") + "." for m in result.error_messages))
    converted = dict(values)
    for name, key in names.items():
        converted[key] = result.validated_parameters[name]
    return converted
