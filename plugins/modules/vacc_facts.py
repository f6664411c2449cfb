#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors
# Apache License 2.0 (see galaxy.yml)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vacc_facts
short_description: Count the Vastai accelerator dies of a host
version_added: "0.1.0"
description:
  - Returns the host facts the C(vacc.qwen3.preflight) role checks before anything is changed
    as C(ansible_facts.vacc).
  - B(dies) (the unit tensor parallelism counts on Vastai cards) is taken from, in order, the
    I(dies) option, the vendor's C(vasmi) CLI, the C(vastai_pci) driver's PCI devices in sysfs,
    the C(/dev/vacc<N>) device nodes, or left null (C(dies_source=none)).
  - Memory, disk and the Docker engine are not this module's; the C(vacc.qwen3.preflight) role reads
    them with C(ansible.builtin.setup) and C(community.docker.docker_host_info).
  - Never changes anything; safe in check mode.
author:
  - vacc.qwen3 contributors (@vacc-qwen3)
options:
  dies:
    description:
      - Number of dies on this host, when known better than detection can tell (for instance a
        test host without cards, or VA1L whose die count is not public). Wins over detection.
    type: int
  card:
    description:
      - Card model expected on this host, used to turn a number of cards into dies when
        detection only sees cards (VA16 and VA10L have 4 dies each; VA1L is unknown).
      - Card models named by C(vasmi) take precedence.
    type: str
    choices: [VA16, VA10L, VA1L]
  dies_per_card:
    description:
      - Dies per card, overriding the built-in table when converting cards to dies.
    type: int
  vasmi_path:
    description:
      - Path of the C(vasmi) binary. Default is C(vasmi_internal) or C(vasmi) on C(PATH) or in
        C(/vacc) (where the vendor's images keep it).
    type: path
  sysfs_root:
    description:
      - Root of sysfs; only changed by tests.
    type: path
    default: /sys
  devfs_root:
    description:
      - Root of the device file system; only changed by tests.
    type: path
    default: /dev
  timeout:
    description:
      - Seconds to wait for C(vasmi) and for each Docker API request.
    type: int
    default: 10
attributes:
  check_mode:
    support: full
    description: Only reads; runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  facts:
    support: full
    description: Returns C(vacc) under C(ansible_facts).
notes:
  - Die detection without C(vasmi) is a best effort from public information; pass I(dies) (the
    role's C(vacc_dies)) when it is wrong.
"""

EXAMPLES = r"""
- name: Count the dies
  vacc.qwen3.vacc_facts:
    card: VA16

- name: A test host without cards - say how many dies it stands for
  vacc.qwen3.vacc_facts:
    dies: 4

- name: Show what was found
  ansible.builtin.debug:
    msg: "{{ ansible_facts.vacc.dies }} dies ({{ ansible_facts.vacc.dies_source }})"
"""

RETURN = r"""
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: dict
  contains:
    vacc:
      description: Everything this module found.
      returned: always
      type: dict
      contains:
        dies:
          description: Number of accelerator dies, or null when unknown.
          type: int
          sample: 16
        dies_source:
          description: Where I(dies) came from.
          type: str
          sample: vasmi
          choices: [override, vasmi, sysfs, devfs, none]
        cards:
          description: Number of cards seen by the detection that ran, or null.
          type: int
          sample: 4
        card_models:
          description: Card models named by C(vasmi) (one entry per card), possibly empty.
          type: list
          elements: str
          sample: [VA16, VA16, VA16, VA16]
        detection:
          description: One line per detection step tried, saying what it saw.
          type: list
          elements: str
          sample: ["vasmi: not found", "sysfs: no vastai_pci devices", "devfs: 4 /dev/vacc<N> nodes"]
"""

import json
import os
import re
import shutil
import subprocess

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vacc.qwen3.plugins.module_utils._cards import DIES_PER_CARD

# What public sources (github.com/Vastai/VastModelZOO and scripts around it) show about detection:
# - `vasmi` is the nvidia-smi analogue; the vendor's images keep it in /vacc (llm/common/benchmark
#   prepends /vacc to PATH and looks for `vasmi_internal` or `vasmi`). `vasmi summary` lists the
#   cards: the vendor's test scripts count them with `vasmi summary | grep VA1 | wc -l` and address
#   each as "card$i"; per-die commands take `-d <card> -i <die>`. `vasmi summary
#   --display-format=json` returns {"elem": [{"vals": {"devBusId": {"value": ...}, ...}}, ...]}.
# - The kernel driver is `vastai_pci` (`lsmod | grep vastai_pci`); /dev/vastai<N>_version holds the
#   driver version and containers are given /dev/vacc<N> nodes (one per device the runtime counts,
#   i.e. per die - an assumption: no public doc says so outright).
# Hence: vasmi and sysfs count cards (times dies per card), devfs counts dies directly.
_CARD_MODEL_RE = re.compile(r"\b(VA1[0-9A-Z]*)\b")
_PCI_ADDR_RE = re.compile(r"^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$")
_VACC_NODE_RE = re.compile(r"^vacc(\d+)$")
_DIE_COUNT_KEY_RE = re.compile(r"die.?(num|count|cnt)|(num|count).?(of.?)?dies?$", re.IGNORECASE)
_DIE_ID_KEY_RE = re.compile(r"^die.?(id|idx|index|no)?$", re.IGNORECASE)


def _dies_from_cards(card_models, cards, card=None, dies_per_card=None):
    """Cards -> dies. Returns None when any card's die count is unknown."""
    if not cards:
        return None
    if dies_per_card:
        return cards * dies_per_card
    models = list(card_models) or ([card] * cards if card else [])
    if len(models) != cards:
        return None
    per = [DIES_PER_CARD.get(m.upper()) for m in models]
    if any(p is None for p in per):
        return None
    return sum(per)


def _strings(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _strings(v)
    elif obj is not None:
        yield str(obj)


def parse_vasmi_summary(text, card=None, dies_per_card=None):
    """Parse `vasmi summary` output (JSON or table text).

    Returns a dict: dies (int or None), cards (int or None), card_models (list), note (str).
    """
    result = {"dies": None, "cards": None, "card_models": [], "note": "no output"}
    text = (text or "").strip()
    if not text:
        return result
    data = None
    if text[:1] in "{[":
        try:
            data = json.loads(text)
        except ValueError:
            data = None
    if isinstance(data, dict) and isinstance(data.get("elem"), list):
        elems = [e for e in data["elem"] if isinstance(e, dict)]
        models = []
        per_die = False
        counted = []
        for elem in elems:
            flat = dict(elem)
            flat.update(elem.get("vals") if isinstance(elem.get("vals"), dict) else {})
            for key, val in flat.items():
                if isinstance(val, dict):
                    val = val.get("value")
                if _DIE_COUNT_KEY_RE.search(str(key)) and re.match(r"^\s*\d+\s*$", str(val)):
                    counted.append(int(val))
                elif _DIE_ID_KEY_RE.search(str(key)):
                    per_die = True
            found = [m.group(1) for s in _strings(elem) for m in [_CARD_MODEL_RE.search(s)] if m]
            if found:
                models.append(found[0])
        if counted and len(counted) == len(elems):
            result.update(
                dies=sum(counted),
                cards=len(elems),
                card_models=models,
                note="json: %d card rows with die counts" % len(elems),
            )
        elif per_die:
            result.update(dies=len(elems), card_models=[], note="json: %d die rows" % len(elems))
        else:
            result.update(
                cards=len(elems),
                card_models=models if len(models) == len(elems) else [],
                note="json: %d card rows" % len(elems),
            )
            result["dies"] = _dies_from_cards(result["card_models"], len(elems), card, dies_per_card)
        return result
    # Table text: one row per card, recognised by its model name (the vendor's `grep VA1`).
    models = []
    for line in text.splitlines():
        m = _CARD_MODEL_RE.search(line)
        if m:
            models.append(m.group(1))
    if not models:
        result["note"] = "text: no VA1* card rows"
        return result
    result.update(cards=len(models), card_models=models, note="text: %d card rows" % len(models))
    result["dies"] = _dies_from_cards(models, len(models), card, dies_per_card)
    return result


def find_vasmi(path_env=None, extra_dirs=("/vacc",)):
    search = os.pathsep.join(
        [p for p in [path_env if path_env is not None else os.environ.get("PATH", "")] + list(extra_dirs) if p]
    )
    for name in ("vasmi_internal", "vasmi"):
        found = shutil.which(name, path=search)
        if found:
            return found
    return None


def run_vasmi(vasmi, timeout=10):
    """Try the JSON form first, then the table. Returns the first non-empty stdout, or ''."""
    for args in (["summary", "--display-format=json"], ["summary"]):
        try:
            proc = subprocess.run(
                [vasmi] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        out = proc.stdout.decode("utf-8", "replace").strip()
        if proc.returncode == 0 and out:
            return out
    return ""


def detect_sysfs(sysfs_root="/sys", card=None, dies_per_card=None):
    """Cards bound to the vendor's `vastai_pci` driver (function 0 of each PCI device)."""
    drv = os.path.join(sysfs_root, "bus", "pci", "drivers", "vastai_pci")
    try:
        entries = os.listdir(drv)
    except OSError:
        return {"dies": None, "cards": None, "note": "no vastai_pci driver in sysfs"}
    # Function 0 only: a card's other PCI functions are not further cards.
    cards = sorted(e for e in entries if _PCI_ADDR_RE.match(e) and e.endswith(".0"))
    if not cards:
        return {"dies": None, "cards": None, "note": "vastai_pci bound to no device"}
    dies = _dies_from_cards([], len(cards), card, dies_per_card)
    return {
        "dies": dies,
        "cards": len(cards),
        "note": "%d vastai_pci card(s)%s" % (len(cards), "" if dies is not None else ", dies per card unknown"),
    }


def detect_devfs(devfs_root="/dev"):
    """/dev/vacc<N> nodes, one per die."""
    try:
        names = os.listdir(devfs_root)
    except OSError:
        return {"dies": None, "note": "cannot list %s" % devfs_root}
    nodes = [n for n in names if _VACC_NODE_RE.match(n)]
    if not nodes:
        return {"dies": None, "note": "no vacc<N> nodes"}
    return {"dies": len(nodes), "note": "%d vacc<N> nodes" % len(nodes)}


def detect_dies(
    override=None,
    card=None,
    dies_per_card=None,
    vasmi=None,
    vasmi_output=None,
    sysfs_root="/sys",
    devfs_root="/dev",
    timeout=10,
):
    """The dies decision, in order: override, vasmi, sysfs, devfs, none."""
    out = {"dies": None, "dies_source": "none", "cards": None, "card_models": [], "detection": []}
    if override is not None:
        out.update(dies=override, dies_source="override")
        out["detection"].append("override: %d" % override)
        return out
    if vasmi_output is None and vasmi:
        vasmi_output = run_vasmi(vasmi, timeout)
    if vasmi or vasmi_output:
        parsed = parse_vasmi_summary(vasmi_output, card, dies_per_card)
        out["detection"].append("vasmi: %s" % parsed["note"])
        out["cards"], out["card_models"] = parsed["cards"], parsed["card_models"]
        if parsed["dies"] is not None:
            out.update(dies=parsed["dies"], dies_source="vasmi")
            return out
    else:
        out["detection"].append("vasmi: not found")
    found = detect_sysfs(sysfs_root, card, dies_per_card)
    out["detection"].append("sysfs: %s" % found["note"])
    if out["cards"] is None:
        out["cards"] = found["cards"]
    if found["dies"] is not None:
        out.update(dies=found["dies"], dies_source="sysfs")
        return out
    found = detect_devfs(devfs_root)
    out["detection"].append("devfs: %s" % found["note"])
    if found["dies"] is not None:
        out.update(dies=found["dies"], dies_source="devfs")
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dies=dict(type="int"),
            card=dict(type="str", choices=["VA16", "VA10L", "VA1L"]),
            dies_per_card=dict(type="int"),
            vasmi_path=dict(type="path"),
            sysfs_root=dict(type="path", default="/sys"),
            devfs_root=dict(type="path", default="/dev"),
            timeout=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["dies"] is not None and p["dies"] < 0:
        module.fail_json(msg="dies must be 0 or more, got %d." % p["dies"])
    vasmi = None
    if p["dies"] is None:
        vasmi = p["vasmi_path"] if p["vasmi_path"] and os.access(p["vasmi_path"], os.X_OK) else find_vasmi()
    facts = detect_dies(
        override=p["dies"],
        card=p["card"],
        dies_per_card=p["dies_per_card"],
        vasmi=vasmi,
        sysfs_root=p["sysfs_root"],
        devfs_root=p["devfs_root"],
        timeout=p["timeout"],
    )
    module.exit_json(changed=False, ansible_facts={"vacc": facts})


if __name__ == "__main__":
    main()
