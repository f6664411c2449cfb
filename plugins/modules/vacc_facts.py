#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors
# Apache License 2.0 (see galaxy.yml)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vacc_facts
short_description: Gather Vastai accelerator, Docker, disk and memory facts for a Qwen3 deployment
version_added: "0.1.0"
description:
  - Returns the host facts the C(vacc.qwen3.preflight) role checks before anything is changed
    as C(ansible_facts.vacc).
  - B(dies) (the unit tensor parallelism counts on Vastai cards) is taken from, in order, the
    I(dies) option, the vendor's C(vasmi) CLI, the C(vastai_pci) driver's PCI devices in sysfs,
    the C(/dev/vacc<N>) device nodes, or left null (C(dies_source=none)).
  - The Docker engine is probed with an HTTP C(GET /_ping) and C(GET /version) over its unix
    socket in pure Python, so no docker client is needed (it works in a container that only has
    the socket mounted).
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
  path:
    description:
      - Directory whose file system's free and total space are reported (the weights directory).
      - When it does not exist yet, its nearest existing parent is measured.
    type: path
    default: /
  docker_socket:
    description:
      - Unix socket of the Docker engine.
    type: path
    default: /var/run/docker.sock
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
  - GB in this module's results means GiB (2**30 bytes).
  - Die detection without C(vasmi) is a best effort from public information; pass I(dies) (the
    role's C(vacc_dies)) when it is wrong.
"""

EXAMPLES = r"""
- name: Gather accelerator facts about the weights directory
  vacc.qwen3.vacc_facts:
    path: /data/weights

- name: A test host without cards - say how many dies it stands for
  vacc.qwen3.vacc_facts:
    dies: 4
    path: /data/weights

- name: Show what was found
  ansible.builtin.debug:
    msg: "{{ ansible_facts.vacc.dies }} dies ({{ ansible_facts.vacc.dies_source }}),
      docker {{ ansible_facts.vacc.docker.version | default('unreachable') }},
      {{ ansible_facts.vacc.disk.free_gb }} GiB free"
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
        docker:
          description: The Docker engine behind I(docker_socket).
          type: dict
          contains:
            socket:
              description: The socket probed.
              type: str
              sample: /var/run/docker.sock
            reachable:
              description: Whether C(GET /_ping) answered C(OK).
              type: bool
              sample: true
            version:
              description: Engine version from C(GET /version), or null.
              type: str
              sample: 20.10.24+dfsg1
            api_version:
              description: Engine API version, or null.
              type: str
              sample: "1.41"
            error:
              description: Why the engine was not reachable, or null.
              type: str
              sample: null
        disk:
          description: Space on the file system holding I(path).
          type: dict
          contains:
            path:
              description: The I(path) asked about.
              type: str
              sample: /data/weights
            checked_path:
              description: The existing directory actually measured (I(path) or its nearest parent).
              type: str
              sample: /data
            free_gb:
              description: GiB available to unprivileged users.
              type: float
              sample: 812.4
            total_gb:
              description: GiB in total.
              type: float
              sample: 1862.0
        memory:
          description: Host memory from C(/proc/meminfo).
          type: dict
          contains:
            total_gb:
              description: MemTotal in GiB.
              type: float
              sample: 503.6
            available_gb:
              description: MemAvailable in GiB.
              type: float
              sample: 470.1
        arch:
          description: Machine architecture (C(uname -m)).
          type: str
          sample: x86_64
"""

import http.client
import json
import os
import platform
import re
import shutil
import socket
import subprocess

from ansible.module_utils.basic import AnsibleModule

GIB = 2 ** 30

# Dies per card (FACTS 1: VA16 and VA10L are reported as 4 dies x 32 GB; VA1L's count is not public).
DIES_PER_CARD = {"VA16": 4, "VA10L": 4, "VA1L": None}

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
            result.update(dies=sum(counted), cards=len(elems), card_models=models,
                          note="json: %d card rows with die counts" % len(elems))
        elif per_die:
            result.update(dies=len(elems), card_models=[], note="json: %d die rows" % len(elems))
        else:
            result.update(cards=len(elems), card_models=models if len(models) == len(elems) else [],
                          note="json: %d card rows" % len(elems))
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
    search = os.pathsep.join([p for p in [path_env if path_env is not None else os.environ.get("PATH", "")]
                              + list(extra_dirs) if p])
    for name in ("vasmi_internal", "vasmi"):
        found = shutil.which(name, path=search)
        if found:
            return found
    return None


def run_vasmi(vasmi, timeout=10):
    """Try the JSON form first, then the table. Returns the first non-empty stdout, or ''."""
    for args in (["summary", "--display-format=json"], ["summary"]):
        try:
            proc = subprocess.run([vasmi] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=timeout, check=False)
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
    return {"dies": dies, "cards": len(cards), "note": "%d vastai_pci card(s)%s" % (
        len(cards), "" if dies is not None else ", dies per card unknown")}


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


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, socket_path, timeout):
        super().__init__("localhost", timeout=timeout)
        self._socket_path = socket_path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def _unix_get(socket_path, url, timeout):
    conn = _UnixHTTPConnection(socket_path, timeout)
    try:
        conn.request("GET", url, headers={"Host": "docker"})
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def docker_probe(socket_path="/var/run/docker.sock", timeout=10):
    info = {"socket": socket_path, "reachable": False, "version": None, "api_version": None, "error": None}
    try:
        status, body = _unix_get(socket_path, "/_ping", timeout)
        if status != 200 or body.strip() != "OK":
            info["error"] = "GET /_ping answered %s %r" % (status, body[:80])
            return info
        info["reachable"] = True
        status, body = _unix_get(socket_path, "/version", timeout)
        if status == 200:
            data = json.loads(body)
            info["version"] = data.get("Version")
            info["api_version"] = data.get("ApiVersion")
    except (OSError, ValueError, http.client.HTTPException) as exc:
        info["error"] = "%s: %s" % (type(exc).__name__, exc)
    return info


def disk_usage(path):
    """Space on the file system of `path`, or of its nearest existing parent."""
    checked = os.path.abspath(path)
    while not os.path.exists(checked):
        parent = os.path.dirname(checked)
        if parent == checked:
            break
        checked = parent
    st = os.statvfs(checked)
    return {
        "path": path,
        "checked_path": checked,
        "free_gb": round(st.f_bavail * st.f_frsize / GIB, 2),
        "total_gb": round(st.f_blocks * st.f_frsize / GIB, 2),
    }


def read_meminfo(path="/proc/meminfo"):
    values = {}
    with open(path) as fh:
        for line in fh:
            key, dummy, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                values[key.strip()] = int(parts[0]) * 1024  # kB
    total = values.get("MemTotal", 0)
    avail = values.get("MemAvailable")
    if avail is None:  # kernels before 3.14
        avail = sum(values.get(k, 0) for k in ("MemFree", "Buffers", "Cached"))
    return {"total_gb": round(total / GIB, 2), "available_gb": round(avail / GIB, 2)}


def detect_dies(override=None, card=None, dies_per_card=None, vasmi=None, vasmi_output=None,
                sysfs_root="/sys", devfs_root="/dev", timeout=10):
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
            path=dict(type="path", default="/"),
            docker_socket=dict(type="path", default="/var/run/docker.sock"),
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
    facts = detect_dies(override=p["dies"], card=p["card"], dies_per_card=p["dies_per_card"], vasmi=vasmi,
                        sysfs_root=p["sysfs_root"], devfs_root=p["devfs_root"], timeout=p["timeout"])
    facts["docker"] = docker_probe(p["docker_socket"], p["timeout"])
    try:
        facts["disk"] = disk_usage(p["path"])
    except OSError as exc:
        module.fail_json(msg="Cannot measure free space for %s: %s." % (p["path"], exc))
    try:
        facts["memory"] = read_meminfo()
    except (OSError, ValueError) as exc:
        module.fail_json(msg="Cannot read /proc/meminfo: %s." % exc)
    facts["arch"] = platform.machine()
    module.exit_json(changed=False, ansible_facts={"vacc": facts})


if __name__ == "__main__":
    main()
