# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Secrets out of text that is about to be shown. Docs: redact.yml beside this file."""

from __future__ import annotations

import re

REDACTED = "<redacted>"
# What carries a key whatever its value: vLLM's --api-key flag (older images log their argv), bearer
# headers and KEY=value environment lines.
_PATTERNS = (
    re.compile(r"(--api-key[= ])\S+"),
    re.compile(r"(Bearer )\S+"),
    re.compile(r"((?:VLLM_API_KEY|OPENAI_API_KEY|OPENAI_API_KEYS|api_key)['\"]?\s*[=:]\s*['\"]?)[^'\"\s,}]+"),
)


def redact(text, *secrets):
    """`text` with every occurrence of each secret, and anything that looks like a key, replaced."""
    text = str(text)
    for secret in secrets:
        if secret and len(str(secret)) >= 4:
            text = text.replace(str(secret), REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(r"\g<1>" + REDACTED, text)
    return text


class FilterModule(object):
    def filters(self):
        return {"redact": redact}
