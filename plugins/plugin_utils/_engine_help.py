# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""What a `vllm ... --help` text offers: the one parser of vLLM help texts (the benchmark's
`vllm bench serve --help` and the engine probe's `vllm serve --help`). Standard library only."""

from __future__ import annotations

import hashlib
import re

# Any long option named anywhere in the text (the benchmark's loose reading: a flag only named in
# another flag's description counts too).
_FLAG_RE = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
# An argparse option line: indented, starting with the option (the head ends at two spaces, where
# the description starts, or at the end of the line).
_OPTION_LINE_RE = re.compile(r"^\s{1,8}(-{1,2}[A-Za-z][^\n]*?)(?:\s{2,}.*)?$")
_OPTION_RE = re.compile(r"^(--[A-Za-z][A-Za-z0-9_-]*)(?:[ =](\{[^}]*\}|\S+))?")


def help_flags(text):
    """The long options a help text names, sorted."""
    return sorted(set(_FLAG_RE.findall(text or "")))


def help_options(text):
    """The options a help text defines, as {flag: [choices] or None}: each indented option line's
    long options with their aliases (`--enforce-eager, --no-enforce-eager`), and the choices argparse
    prints in braces (`--reasoning-parser {deepseek_r1,qwen3}`). A text with no option line at all
    (not argparse's layout) falls back to every long option it names, without choices."""
    options = {}
    for line in (text or "").splitlines():
        match = _OPTION_LINE_RE.match(line)
        if not match:
            continue
        for item in match.group(1).split(", "):
            opt = _OPTION_RE.match(item.strip())
            if not opt:
                continue
            value = opt.group(2) or ""
            choices = [c.strip() for c in value[1:-1].split(",") if c.strip()] if value.startswith("{") else None
            if choices or opt.group(1) not in options:
                options[opt.group(1)] = choices
    if not options:
        options = {flag: None for flag in help_flags(text)}
    return dict(sorted(options.items()))


def fingerprint(options):
    """A short fingerprint of a flag set with its choices: two images with the same one accept the
    same command lines."""
    text = "\n".join(
        flag + ("=" + ",".join(sorted(choices)) if choices else "") for flag, choices in sorted((options or {}).items())
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
