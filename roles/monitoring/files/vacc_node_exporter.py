# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Entry point of the vacc-qwen3/node-exporter image: Debian's prometheus-node-exporter, plus a loop
that writes the `vasmi` textfile every --interval seconds into the textfile collector's directory.

    vacc_node_exporter.py [--interval S] [--textfile-dir DIR] [--vasmi PATH] -- <node exporter args>
    vacc_node_exporter.py [--interval S] [--textfile-dir DIR] [--vasmi PATH]    (the collector alone)

One process supervises both: the node exporter is its child (it exits when the exporter exits, and
Docker's restart policy brings the pair back); the collector runs in between waits on the child, so
a hung vasmi cannot pile up. What the textfile says (metric names in README "Monitoring"):

  vacc_vasmi_up 1|0                           vasmi answered (1) or not (0): no numbers are made up
  vacc_vasmi_info{reason="..."} 1             why not ("no vasmi", "vasmi failed: ...", "unparsed: ...")
  vacc_vasmi_temperature_celsius{device}       fields whose name says temperature (unit C or none)
  vacc_vasmi_memory_bytes{device, kind}        fields whose name says memory, with a byte unit; kind used/total/free
  vacc_vasmi_utilization_ratio{device, kind}   fields whose name says utilisation/usage/load, in % (0-1 here)
  vacc_vasmi_field{device, key, unit}          every numeric field as vasmi names it (nothing is lost)
  vacc_vasmi_collector_last_run_timestamp_seconds, vacc_vasmi_collector_duration_seconds

vasmi's field names for temperature, memory and utilisation are not public: the named metrics are
picked by the field's name and unit, and vacc_vasmi_field keeps the raw numbers. Python 3 standard
library only (it runs in the image, not on the controller).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TEXTFILE = "vacc_vasmi.prom"
VASMI_NAMES = ("vasmi_internal", "vasmi")
# The vendor's images keep vasmi in /vacc (FACTS 1); the role mounts a host's vasmi at /opt/vasmi.
VASMI_DIRS = ("/opt/vasmi", "/vacc")
_NUMBER_UNIT = re.compile(r"^\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*([A-Za-z%\u00b0/]*)\s*$")
_BYTES = {
    "b": 1,
    "kb": 1e3,
    "kib": 2**10,
    "mb": 1e6,
    "mib": 2**20,
    "gb": 1e9,
    "gib": 2**30,
    "k": 2**10,
    "m": 2**20,
    "g": 2**30,
}
_DEVICE_KEYS = re.compile(r"^(die|card|dev(ice)?|chip)[ _-]?(id|idx|index|no|num)?$|^(bus[ _-]?id|devbusid)$", re.I)
_TEMP = re.compile(r"temp", re.I)
_MEM = re.compile(r"mem|ddr|dram", re.I)
_UTIL = re.compile(r"util|usage|load|busy", re.I)
_KIND = (
    ("total", re.compile(r"total|size|capacity", re.I)),
    ("free", re.compile(r"free|avail", re.I)),
    ("used", re.compile(r"used|usage|util|load|busy", re.I)),
)


def label_value(value):
    """A label value in Prometheus's text format (the same rule as plugins/plugin_utils/_service_textfile.py)."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def sample(name, labels, value):
    inner = ",".join('%s="%s"' % (k, label_value(v)) for k, v in labels)
    return ("%s{%s} %s" % (name, inner, _num_text(value))) if inner else "%s %s" % (name, _num_text(value))


def _num_text(value):
    value = float(value)
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


def find_vasmi(explicit=None, path_env=None):
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    search = os.pathsep.join(
        [p for p in [path_env if path_env is not None else os.environ.get("PATH", "")] + list(VASMI_DIRS) if p]
    )
    for name in VASMI_NAMES:
        found = shutil.which(name, path=search)
        if found:
            return found
    return None


def parse_value(raw):
    """(number, unit) of a vasmi value: 42, "42", "42 C", "1024 MiB", "37%"; None when not numeric."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return float(raw), ""
    match = _NUMBER_UNIT.match(str(raw))
    if not match:
        return None
    return float(match.group(1)), match.group(2)


def device_rows(data):
    """[(device label, {field: raw value})] of `vasmi summary --display-format=json`: {"elem": [{"vals":
    {name: {"value": v}}}, ...]} (the shape the vendor's tools print); a row's own id field names it."""
    if not isinstance(data, dict) or not isinstance(data.get("elem"), list):
        raise ValueError("no elem list")
    rows = []
    for index, elem in enumerate(data["elem"]):
        if not isinstance(elem, dict):
            continue
        flat = {k: v for k, v in elem.items() if k != "vals"}
        flat.update(elem.get("vals") if isinstance(elem.get("vals"), dict) else {})
        fields = {str(k): (v.get("value") if isinstance(v, dict) else v) for k, v in flat.items()}
        device = next((str(v) for k, v in fields.items() if _DEVICE_KEYS.match(k) and v not in (None, "")), str(index))
        rows.append((device, fields))
    return rows


def _kind(key):
    return next((kind for kind, pattern in _KIND if pattern.search(key)), "value")


def metrics_of(rows):
    """Prometheus samples (name, labels, value) of the parsed rows."""
    out = []
    for device, fields in rows:
        for key, raw in sorted(fields.items()):
            parsed = parse_value(raw)
            if parsed is None or _DEVICE_KEYS.match(key):
                continue
            value, unit = parsed
            out.append(("vacc_vasmi_field", [("device", device), ("key", key), ("unit", unit)], value))
            low = unit.lower()
            if _TEMP.search(key) and low in ("", "c", "\u00b0c", "degc"):
                out.append(("vacc_vasmi_temperature_celsius", [("device", device), ("key", key)], value))
            elif _MEM.search(key) and low in _BYTES:
                out.append(
                    (
                        "vacc_vasmi_memory_bytes",
                        [("device", device), ("kind", _kind(key)), ("key", key)],
                        value * _BYTES[low],
                    )
                )
            elif _UTIL.search(key) and low == "%":
                out.append(
                    (
                        "vacc_vasmi_utilization_ratio",
                        [("device", device), ("kind", _kind(key)), ("key", key)],
                        value / 100.0,
                    )
                )
    return out


HELP = {
    "vacc_vasmi_up": "1 when vasmi answered with numbers this round, 0 when it did not (none are made up).",
    "vacc_vasmi_info": "Why vacc_vasmi_up is 0 (reason), or which vasmi answered (path).",
    "vacc_vasmi_temperature_celsius": "Die temperature from a vasmi field whose name says temperature.",
    "vacc_vasmi_memory_bytes": "Device memory from a vasmi field whose name says memory (kind used, total, free).",
    "vacc_vasmi_utilization_ratio": "Utilisation (0-1) from a vasmi field whose name says utilisation, in %.",
    "vacc_vasmi_field": "Every numeric field of vasmi summary as vasmi names it.",
    "vacc_vasmi_collector_last_run_timestamp_seconds": "When the collector last wrote this file.",
    "vacc_vasmi_collector_duration_seconds": "How long the collector's last round took.",
}


def render(samples):
    lines, seen = [], set()
    for name, labels, value in samples:
        if name not in seen:
            seen.add(name)
            lines += ["# HELP %s %s" % (name, HELP[name]), "# TYPE %s gauge" % name]
        lines.append(sample(name, labels, value))
    return "\n".join(lines) + "\n"


def collect(vasmi=None, run=subprocess.run, timeout=10.0, clock=time.time, path_env=None):
    """One round: the samples of the textfile. Never raises for vasmi's sake; says why instead."""
    started = clock()
    found = find_vasmi(vasmi, path_env)
    samples = []
    if not found:
        samples += [("vacc_vasmi_up", [], 0), ("vacc_vasmi_info", [("reason", "no vasmi")], 1)]
    else:
        reason, rows = None, []
        try:
            proc = run(
                [found, "summary", "--display-format=json"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                timeout=timeout,
                check=False,
            )
            text = proc.stdout.decode("utf-8", "replace").strip()
            if proc.returncode != 0:
                reason = "vasmi failed: rc %d %s" % (
                    proc.returncode,
                    proc.stderr.decode("utf-8", "replace").strip()[:120],
                )
            else:
                rows = device_rows(json.loads(text))
        except subprocess.TimeoutExpired:
            reason = "vasmi failed: no answer in %g s" % timeout
        except OSError as exc:
            reason = "vasmi failed: %s" % exc
        except ValueError as exc:
            reason = "unparsed: vasmi summary --display-format=json printed no elem list (%s)" % str(exc)[:80]
        numbers = metrics_of(rows) if rows else []
        if reason is None and not numbers:
            reason = "unparsed: vasmi summary listed no numeric field"
        if reason:
            samples += [("vacc_vasmi_up", [], 0), ("vacc_vasmi_info", [("reason", reason)], 1)]
        else:
            samples += [("vacc_vasmi_up", [], 1), ("vacc_vasmi_info", [("path", found)], 1)] + numbers
    ended = clock()
    samples += [
        ("vacc_vasmi_collector_last_run_timestamp_seconds", [], round(ended, 3)),
        ("vacc_vasmi_collector_duration_seconds", [], round(max(0.0, ended - started), 3)),
    ]
    return samples


def write_atomic(directory, text, name=TEXTFILE):
    """Readers (the textfile collector reads *.prom only) see the old file or the new one, never half."""
    fd, tmp = tempfile.mkstemp(prefix="." + name + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, os.path.join(directory, name))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def collect_forever(args):
    """Without an exporter (beside the published node exporter image): write the textfile every --interval
    seconds until SIGTERM, which ends the wait at once."""
    import threading  # pylint: disable=import-outside-toplevel

    stopped = threading.Event()

    def stop(signum, frame):  # pylint: disable=unused-argument
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopped.is_set():
        try:
            write_atomic(args.textfile_dir, render(collect(args.vasmi)))
        except OSError as exc:  # a full or read-only disk: say so, try again next time
            print(
                "vacc_node_exporter: cannot write %s: %s" % (os.path.join(args.textfile_dir, TEXTFILE), exc),
                file=sys.stderr,
                flush=True,
            )
        stopped.wait(args.interval)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=15.0)
    parser.add_argument("--textfile-dir", default="/textfile")
    parser.add_argument(
        "--vasmi", default=None, help="vasmi binary (default: vasmi_internal or vasmi on PATH, /opt/vasmi, /vacc)"
    )
    parser.add_argument("--once", action="store_true", help="write the textfile once and exit (no exporter)")
    parser.add_argument("exporter", nargs=argparse.REMAINDER, help="-- then the node exporter's command line")
    args = parser.parse_args(argv)
    exporter = args.exporter[1:] if args.exporter[:1] == ["--"] else args.exporter
    if args.once:
        write_atomic(args.textfile_dir, render(collect(args.vasmi)))
        return 0
    if not exporter:
        return collect_forever(args)
    child = subprocess.Popen(exporter)  # pylint: disable=consider-using-with  # supervised below

    def stop(signum, frame):  # pylint: disable=unused-argument
        child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        try:
            write_atomic(args.textfile_dir, render(collect(args.vasmi)))
        except OSError as exc:  # a full or read-only disk: say so, keep the exporter serving
            print(
                "vacc_node_exporter: cannot write %s: %s" % (os.path.join(args.textfile_dir, TEXTFILE), exc),
                file=sys.stderr,
                flush=True,
            )
        try:
            return child.wait(timeout=args.interval)
        except subprocess.TimeoutExpired:
            continue


if __name__ == "__main__":
    sys.exit(main())
