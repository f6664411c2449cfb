"""Read what the generators derive from: the roles' argument specs, the playbooks, the catalog.

Shared by tools/gen_docs.py and tools/gen_awx.py (and their tests). Only PyYAML is needed: the
catalog module is loaded from its file, without ansible's collection loader.
"""

from __future__ import annotations

import importlib.util
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTION = "vacc.qwen3"


def load_yaml(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def roles(root=ROOT):
    """Every role directory (one with tasks/), sorted."""
    base = os.path.join(root, "roles")
    return sorted(r for r in os.listdir(base) if os.path.isdir(os.path.join(base, r, "tasks")))


def role_specs(role, root=ROOT):
    """The role's argument_specs mapping (entry point -> spec), or None when it has none."""
    data = load_yaml(os.path.join(root, "roles", role, "meta", "argument_specs.yml")) or {}
    return data.get("argument_specs")


def role_defaults(role, root=ROOT):
    return load_yaml(os.path.join(root, "roles", role, "defaults", "main.yml")) or {}


def plugin_util(name, root=ROOT):
    """plugins/plugin_utils/<name>.py (e.g. _catalog, the guide's tables), imported as ansible-core would."""
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    _AnsibleCollectionFinder(paths=[os.path.join(root, "collections")], scan_sys_paths=True)._install()
    return importlib.import_module("ansible_collections.vacc.qwen3.plugins.plugin_utils." + name)


# ---------------------------------------------------------------- playbooks


def _role_name(name):
    """vacc.qwen3.webui -> webui; other collections' roles -> None."""
    prefix = COLLECTION + "."
    if name.startswith(prefix):
        return name[len(prefix) :]
    return None if "." in name else name


def _tasks_roles(tasks, found):
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        for key in ("block", "rescue", "always"):
            _tasks_roles(task.get(key), found)
        for action in ("ansible.builtin.include_role", "ansible.builtin.import_role", "include_role", "import_role"):
            if action in task and isinstance(task[action], dict):
                role = _role_name(str(task[action].get("name", "")))
                if role:
                    found.append((role, task[action].get("tasks_from", "main")))


def playbook_uses(path, root=ROOT):
    """What a playbook runs, following import_playbook: ([(role, entry point)], {play var: value})."""
    uses, play_vars = [], {}
    for play in load_yaml(path) or []:
        imported = play.get("ansible.builtin.import_playbook") or play.get("import_playbook")
        if imported:
            sub_uses, sub_vars = playbook_uses(os.path.join(os.path.dirname(path), imported), root)
            uses += sub_uses
            play_vars.update(sub_vars)
            continue
        for entry in play.get("roles") or []:
            name = entry if isinstance(entry, str) else entry.get("role") or entry.get("name")
            role = _role_name(str(name))
            if role:
                uses.append((role, "main"))
        for section in ("pre_tasks", "tasks", "post_tasks", "handlers"):
            _tasks_roles(play.get(section), uses)
        play_vars.update({k: v for k, v in (play.get("vars") or {}).items() if not k.startswith("_")})
    seen, ordered = set(), []
    for item in uses:
        if item not in seen:
            seen.add(item)
            ordered.append(item)
    return ordered, play_vars


def playbook_options(path, root=ROOT):
    """Option name -> (option spec, where it is declared) for a playbook: roles/_common's main entry
    point (the shared qwen3_* / vacc_* names, declared there once), then the entry points of the roles
    the playbook runs. Play vars are returned apart: they have a value but no spec."""
    uses, play_vars = playbook_uses(path, root)
    options = {}
    for role, entry in [("_common", "main")] + uses:
        specs = role_specs(role, root) or {}
        for name, opt in ((specs.get(entry) or {}).get("options") or {}).items():
            options.setdefault(name, (opt, "roles/%s (%s)" % (role, entry)))
    return options, play_vars, uses


# ---------------------------------------------------------------- Ansible doc markup

_MARKUP = re.compile(r"\b([CIBUMVOLE])\(([^()]*(?:\([^()]*\)[^()]*)*)\)")


def markup(text, style="markdown"):
    """Ansible's C() I() B() U() L() M() O() V() E() as Markdown, or as plain text (style='plain')."""

    def repl(match):
        kind, body = match.group(1), match.group(2)
        if kind == "L":
            label, dummy, url = body.rpartition(",")
            return "[%s](%s)" % (label.strip(), url.strip()) if style == "markdown" else "%s (%s)" % (label, url)
        if style == "plain":
            return body
        if kind in "CMOVE":
            return "`%s`" % body
        if kind == "I":
            return "*%s*" % body
        if kind == "B":
            return "**%s**" % body
        return body  # U(url)

    return _MARKUP.sub(repl, text)


def _escape_html(text):
    """<run id> outside code spans would be taken for an HTML tag by Markdown renderers."""
    parts = text.split("`")
    return "`".join(p.replace("<", "&lt;").replace(">", "&gt;") if i % 2 == 0 else p for i, p in enumerate(parts))


def description_text(desc, style="markdown", sep=" "):
    if desc is None:
        return ""
    items = desc if isinstance(desc, list) else [desc]
    texts = [markup(" ".join(str(i).split()), style) for i in items]
    return sep.join(_escape_html(t) if style == "markdown" else t for t in texts)
