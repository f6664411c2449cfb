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
import re

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


# --- names no role reads --------------------------------------------------------------------------
# A variable with a role's prefix that the role does not declare is a typo or a name from another
# version (vllm_service_image: the image is qwen3_service_image), silently ignored by Ansible. The
# facts the roles set themselves (set_fact, vars/main.yml) are known names too.
def _role_names():
    return sorted(
        n
        for n in os.listdir(ROLES_DIR)
        if not n.startswith(("_", "lab_", "."))
        and os.path.isfile(os.path.join(ROLES_DIR, n, "meta", "argument_specs.yml"))
    )


def _keys_set_by(node, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("set_fact", "ansible.builtin.set_fact") and isinstance(value, dict):
                found.update(value)
            elif key == "register" and isinstance(value, str):
                found.add(value)
            _keys_set_by(value, found)
    elif isinstance(node, list):
        for item in node:
            _keys_set_by(item, found)


@functools.lru_cache(maxsize=None)
def known_names(role):
    """Every variable of a role: each entry point's options, its vars/main.yml and what its tasks set."""
    with open(os.path.join(ROLES_DIR, role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        specs = yaml.safe_load(handle)["argument_specs"] or {}
    names = set()
    for entry in specs.values():
        names.update((entry or {}).get("options") or {})
    for sub in ("tasks", "handlers", "vars", "defaults"):
        base = os.path.join(ROLES_DIR, role, sub)
        for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            if name.endswith((".yml", ".yaml")):
                with open(os.path.join(base, name), encoding="utf-8") as handle:
                    data = yaml.safe_load(handle)
                if sub in ("vars", "defaults") and isinstance(data, dict):
                    names.update(data)
                else:
                    _keys_set_by(data, names)
    return frozenset(names | _playbook_names(role))


@functools.lru_cache(maxsize=None)
def _playbook_names(role):
    """Variables with the role's prefix that the collection's playbooks read (benchmark_serial, ...) and facts
    its modules return (model_download_topology, ...)."""
    top = os.path.dirname(ROLES_DIR)
    found = set()
    for sub, ext in (("playbooks", ".yml"), ("plugins/action", ".py"), ("plugins/modules", ".py")):
        base = os.path.join(top, sub)
        for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            if name.endswith(ext):
                with open(os.path.join(base, name), encoding="utf-8") as handle:
                    text = handle.read()
                pattern = r"\b%s_[a-z0-9_]+\b" if ext == ".yml" else r"[\"']%s_[a-z0-9_]+[\"']"
                found.update(n.strip("\"'") for n in re.findall(pattern % re.escape(role), text))
    return found


def _suggestion(name, role):
    import difflib  # pylint: disable=import-outside-toplevel

    suffix = name[len(role) + 1 :]
    shared = options("_common")
    for candidate in ("qwen3_service_" + suffix if role == "vllm_service" else None, "qwen3_" + suffix):
        if candidate in shared:
            return candidate
    close = difflib.get_close_matches(name, sorted(n for n in options(role) if not n.startswith("_")), n=1, cutoff=0.75)
    return close[0] if close else None


def unknown(names):
    """Sentences for the variables among `names` that carry a role's prefix but that no role reads."""
    roles = _role_names()
    sentences = []
    for name in sorted(names):
        role = next((r for r in sorted(roles, key=len, reverse=True) if name.startswith(r + "_")), None)
        if role is None or name in known_names(role):
            continue
        hint = _suggestion(name, role)
        sentences.append(
            "%s is not a variable of vacc.qwen3.%s and would be ignored; %s."
            % (
                name,
                role,
                "set %s instead" % hint
                if hint
                else "see the role's variables (ansible-doc -t role vacc.qwen3.%s) and remove or rename it" % role,
            )
        )
    return sentences
