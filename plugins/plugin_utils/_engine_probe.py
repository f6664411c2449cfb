# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""The engine image, asked rather than assumed: what `vllm --version`, `vllm serve --help` and the
vendor's platform marker say inside a throwaway container (no weights, no card, no network), and
the controller's cache of it, one file per image digest under results/engine/.

A record: {image, digest, version, flags: {flag: [choices] or None}, fingerprint, platform: {vllm_vacc,
vasmi}, labels, probed_at}. Pure functions besides the cache's read and write."""

from __future__ import annotations

import hashlib
import json
import os
import re

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _engine_help
from ansible_collections.vacc.qwen3.plugins.plugin_utils._bench_render import write_atomic

MARK = "@@vacc-qwen3-probe "
# Runs as the container's command (sh -c): each part after its marker line; a part that fails still
# leaves its marker, so a missing answer is told from an empty one. `--help=all` lists every group of
# a recent vLLM; older ones refuse it and print everything with --help.
# Each question is bounded (coreutils' timeout where the image has it): an image whose `vllm` hangs must
# fail the probe, not hold the deploy forever.
PROBE_TIMEOUT_S = 300


def script(timeout_s=PROBE_TIMEOUT_S):
    """The shell the probe container runs: each question under `timeout_s` where the image has timeout."""
    return "; ".join(
        (
            "T=; if command -v timeout >/dev/null 2>&1; then T='timeout %d'; fi" % timeout_s,
            "echo '%sversion'" % MARK,
            "$T vllm --version 2>&1",
            "echo '%shelp'" % MARK,
            "$T vllm serve --help=all 2>/dev/null || $T vllm serve --help 2>&1",
            "echo '%splatform'" % MARK,
            "if python3 -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec(\"vllm_vacc\") is None)' 2>/dev/null;"
            " then echo vllm_vacc=yes; else echo vllm_vacc=no; fi",
            "if command -v vasmi >/dev/null 2>&1; then echo vasmi=yes; else echo vasmi=no; fi",
        )
    )


SCRIPT = script()
_VERSION_RE = re.compile(r"^v?(\d+\.\d+(?:\.\d+)?(?:[.+-][0-9A-Za-z.+-]*)?)$")


class ProbeError(Exception):
    """The image could not be asked; the message is one sentence for the operator."""


def split_output(text):
    """{part: text} of the probe container's output."""
    parts, current = {}, None
    for line in (text or "").splitlines():
        if line.startswith(MARK):
            current = line[len(MARK) :].strip()
            parts[current] = []
        elif current is not None:
            parts[current].append(line)
    return {k: "\n".join(v) for k, v in parts.items()}


def version_of(text):
    """The version `vllm --version` printed: its last line that is one (log lines may come first)."""
    for line in reversed((text or "").splitlines()):
        match = _VERSION_RE.match(line.strip())
        if match:
            return match.group(1)
    return None


def record(image, digest, output, labels=None, probed_at=None):
    """The probe record of `image` (digest: its image id) from the probe container's output."""
    parts = split_output(output)
    version = version_of(parts.get("version"))
    flags = _engine_help.help_options(parts.get("help"))
    if not version or "--port" not in flags:
        tail = " ".join((output or "").split())[-300:]
        raise ProbeError(
            "The engine image %s did not answer `vllm --version` and `vllm serve --help` (%s); an engine "
            "image must run them without weights or a card." % (image, tail or "no output")
        )
    platform = dict(line.split("=", 1) for line in (parts.get("platform") or "").splitlines() if "=" in line)
    return {
        "image": image,
        "digest": digest,
        "version": version,
        "flags": flags,
        "fingerprint": _engine_help.fingerprint(flags),
        "platform": {k: platform.get(k) == "yes" for k in ("vllm_vacc", "vasmi")},
        "labels": dict(labels or {}),
        "probed_at": probed_at,
    }


def summary(rec, source):
    """What the plan, the service fact and status keep of a record: no flag list."""
    if not rec:
        return {"source": source, "image": None, "digest": None, "version": None, "fingerprint": None}
    return {
        "source": source,
        "image": rec["image"],
        "digest": rec["digest"],
        "version": rec["version"],
        "fingerprint": rec["fingerprint"],
        "platform": rec.get("platform") or {},
    }


# ------------------------------------------------------------------ the controller's cache
def _digest_file(directory, digest):
    return os.path.join(directory, str(digest).replace(":", "-") + ".json")


def _ref_file(directory, image):
    # The image reference's last probe, for plans made without contacting the host (vacc.qwen3.plan).
    return os.path.join(directory, "ref-%s.json" % hashlib.sha256(str(image).encode()).hexdigest()[:16])


def _read(path):
    try:
        with open(path) as fh:
            rec = json.load(fh)
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) and isinstance(rec.get("flags"), dict) else None


def cached_by_digest(directory, digest):
    return _read(_digest_file(directory, digest)) if directory and digest else None


def cached_by_image(directory, image):
    return _read(_ref_file(directory, image)) if directory and image else None


def store(directory, rec):
    """The record under its digest and as its reference's last probe (each file whole or not at all)."""
    os.makedirs(directory, exist_ok=True)
    text = json.dumps(rec, indent=2, sort_keys=True) + "\n"
    write_atomic(_digest_file(directory, rec["digest"]), text)
    write_atomic(_ref_file(directory, rec["image"]), text)
    return _digest_file(directory, rec["digest"])
