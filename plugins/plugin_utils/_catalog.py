# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""The vendor guide's tables as data, per guide revision, plus the rows an operator adds.

The guide (Vastai/VastModelZOO llm/qwen3/vllm/README.md: hardware requirements, model support, usage
limits) keeps changing; each revision the collection knows is one YAML file in guide/ beside this
module, named after the vllm_vacc image tag it documents. Qwen3's own config.json values (ARCH) and
the cards are not the guide's and stay here. Every planner, filter, lookup, test and generated document
reads these tables; nothing else restates them. MODELS, LIMITS, catalog() and limits_for() are the
default revision's (the seed's), for callers that do not choose one.
"""

from __future__ import annotations

import copy
import json
import os
import re

import yaml

# re-exported: the catalog is where callers look for the cards
from ansible_collections.vacc.qwen3.plugins.module_utils._cards import CARDS  # noqa: F401 pylint: disable=unused-import

K = 1024  # the guide's "56k", "100k", "128k" are multiples of 1024 (56k = 57344)
CARDS_PER_SERVER = 4  # a VA16 server holds 4 cards = 16 dies (the guide's "单台 VA16（4*128G）服务器")


class PlanError(ValueError):
    """A request the guide does not support; the message names what would work."""


# ---------------------------------------------------------------- architecture (config.json)
# layers, hidden, q/kv heads, intermediate (or MoE expert size), params total/active (billions).
# head_dim is 128 for every Qwen3; KV bytes/token (bf16) = 2 * layers * kv_heads * 128 * 2.
ARCH = {
    "0.6B": dict(
        kind="dense",
        layers=28,
        hidden=1024,
        heads=16,
        kv_heads=8,
        intermediate=3072,
        tied_embeddings=True,
        params_b=0.596,
        active_b=0.596,
    ),
    "1.7B": dict(
        kind="dense",
        layers=28,
        hidden=2048,
        heads=16,
        kv_heads=8,
        intermediate=6144,
        tied_embeddings=True,
        params_b=1.721,
        active_b=1.721,
    ),
    "4B": dict(
        kind="dense",
        layers=36,
        hidden=2560,
        heads=32,
        kv_heads=8,
        intermediate=9728,
        tied_embeddings=True,
        params_b=4.022,
        active_b=4.022,
    ),
    "8B": dict(
        kind="dense",
        layers=36,
        hidden=4096,
        heads=32,
        kv_heads=8,
        intermediate=12288,
        tied_embeddings=False,
        params_b=8.191,
        active_b=8.191,
    ),
    "14B": dict(
        kind="dense",
        layers=40,
        hidden=5120,
        heads=40,
        kv_heads=8,
        intermediate=17408,
        tied_embeddings=False,
        params_b=14.768,
        active_b=14.768,
    ),
    "32B": dict(
        kind="dense",
        layers=64,
        hidden=5120,
        heads=64,
        kv_heads=8,
        intermediate=25600,
        tied_embeddings=False,
        params_b=32.762,
        active_b=32.762,
    ),
    "30B-A3B": dict(
        kind="moe",
        layers=48,
        hidden=2048,
        heads=32,
        kv_heads=4,
        intermediate=768,
        experts=128,
        experts_per_token=8,
        tied_embeddings=False,
        params_b=30.532,
        active_b=3.353,
    ),
    "235B-A22B": dict(
        kind="moe",
        layers=94,
        hidden=4096,
        heads=64,
        kv_heads=4,
        intermediate=1536,
        experts=128,
        experts_per_token=8,
        tied_embeddings=False,
        params_b=235.094,
        active_b=22.191,
    ),
}
HEAD_DIM = 128
VOCAB_SIZE = 151936
# Native context of the original Qwen3 release; YaRN (factor 4 over 32768) reaches 131072.
NATIVE_CONTEXT = 40960
YARN_ORIGINAL_MAX_POSITION = 32768
# The 2507 releases are natively 256k (262144) and need no rope scaling within the guide's limits.
NATIVE_CONTEXT_2507 = 262144


# ---------------------------------------------------------------- the guide's revisions (guide/*.yml)
GUIDE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "guide")
SEED_REVISION = "AI3.2_GR_1202"  # the revision the project started from: the default
DTYPES = ("BF16", "FP8", "INT4", "INT8")
# The quant methods a row of each dtype may name (INT4 is W4A16: GPTQ or AWQ; INT8 is GPTQ W8A16).
QUANT_METHODS = {"BF16": (None,), "FP8": ("fp8",), "INT4": ("gptq", "awq"), "INT8": ("gptq",)}
THINKING = ("hybrid", "instruct", "thinking")
# A row's fields: the shared contract of qwen3_catalog_extra; the guide's files may also carry
# known_failures (its footnotes) and aliases (the guide's own spelling of a corrected name).
ROW_REQUIRED = ("name", "family", "dtype", "quant_method", "tp")
ROW_OPTIONAL = ("thinking", "hf_repo", "modelscope_repo", "native_context")
GUIDE_ONLY = ("known_failures", "aliases")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_HF = "https://huggingface.co/"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _or_list(items):
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _tp_int(value):
    """A TP as an int: 4, "4" or "TP4"."""
    if isinstance(value, bool) or (isinstance(value, float) and value != int(value)):
        raise ValueError
    text = str(int(value) if isinstance(value, float) else value).strip().upper()
    number = int(text[2:] if text.startswith("TP") else text)
    if number < 1:
        raise ValueError
    return number


def _row(raw, where, limits, revision, guide_file=False):
    """One model row, checked field by field: the catalog entry, or PlanError (one sentence) naming
    `where` (the row), the field and what to write instead."""
    if not isinstance(raw, dict):
        raise PlanError("%s must be a mapping with %s, not %r." % (where, ", ".join(ROW_REQUIRED), raw))
    allowed = ROW_REQUIRED + ROW_OPTIONAL + (GUIDE_ONLY if guide_file else ())
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        raise PlanError("%s has unknown field(s) %s; a row has %s." % (where, ", ".join(unknown), ", ".join(allowed)))
    missing = [k for k in ROW_REQUIRED if k not in raw]
    if missing:
        raise PlanError("%s lacks %s; give every row %s." % (where, ", ".join(missing), ", ".join(ROW_REQUIRED)))
    name = raw["name"]
    if not isinstance(name, str) or not _NAME_RE.match(name) or ".." in name:
        raise PlanError(
            "%s: name %r is not a safe model name; use letters, digits, '.', '_' and '-', starting with "
            "a letter or digit." % (where, name)
        )
    where = "%s (%s)" % (where, name)
    family = str(raw["family"])
    if family not in ARCH:
        raise PlanError("%s: family %r is not a Qwen3 family; set it to %s." % (where, raw["family"], _or_list(ARCH)))
    dtype = str(raw["dtype"]).upper()
    if dtype not in DTYPES:
        raise PlanError(
            "%s: dtype %r is not one of %s; set it to the checkpoint's." % (where, raw["dtype"], _or_list(DTYPES))
        )
    quant = raw["quant_method"]
    quant = None if quant in (None, "", "null", "none", "None") else str(quant).lower()
    if quant not in QUANT_METHODS[dtype]:
        want = ["null" if q is None else q for q in QUANT_METHODS[dtype]]
        raise PlanError(
            "%s: quant_method %s does not go with dtype %s; set it to %s."
            % (where, "null" if quant is None else repr(str(raw["quant_method"])), dtype, _or_list(want))
        )
    tps = raw["tp"] if isinstance(raw["tp"], list) else [raw["tp"]]
    try:
        tps = [_tp_int(t) for t in tps]
    except (TypeError, ValueError):
        raise PlanError(
            "%s: tp %r must be a list of whole numbers (TPs, in dies), such as [2, 4]." % (where, raw["tp"])
        ) from None
    covered = [t for row in limits[family] for t in row[0]]
    if not tps or len(set(tps)) != len(tps):
        raise PlanError("%s: tp %r must list each TP once, at least one." % (where, raw["tp"]))
    for tp in tps:
        if tp not in covered:
            raise PlanError(
                "%s: guide revision %s has no usage limits for %s at TP%d; use TPs among %s."
                % (where, revision, family, tp, _or_list(covered))
            )
    thinking = str(raw.get("thinking") or "hybrid").lower()
    if thinking not in THINKING:
        raise PlanError("%s: thinking %r is not one of %s." % (where, raw.get("thinking"), _or_list(THINKING)))
    repos = {}
    for key in ("hf_repo", "modelscope_repo"):
        value = raw.get(key)
        if value in ("", "null", "-"):
            value = None
        if value is not None and (not isinstance(value, str) or not _REPO_RE.match(value)):
            raise PlanError("%s: %s %r is not a hub id; write owner/name or null." % (where, key, value))
        repos[key] = value
    # The 2507 releases and Qwen3-Coder (July 2025) are natively 256k.
    long_native = "2507" in name or "Coder" in name
    native = raw.get("native_context")
    if native is not None:
        try:
            native = int(native)
            if native < 1 or isinstance(raw["native_context"], bool):
                raise ValueError
        except (TypeError, ValueError):
            raise PlanError(
                "%s: native_context %r must be a whole number of tokens." % (where, raw["native_context"])
            ) from None
    arch = ARCH[family]
    entry = {
        "name": name,
        "hf_repo": repos["hf_repo"],
        "hf_url": (_HF + repos["hf_repo"]) if repos["hf_repo"] else None,
        "modelscope_repo": repos["modelscope_repo"],
        "modelscope_url": ("https://www.modelscope.cn/models/" + repos["modelscope_repo"])
        if repos["modelscope_repo"]
        else None,
        "family": family,
        "kind": arch["kind"],
        "params": family,
        "params_b": arch["params_b"],
        "active_params_b": arch["active_b"],
        "dtype": dtype,
        "quant_method": quant,
        "tp": tps,
        "thinking": thinking,
        "release": "2507" if long_native else "2504",
        "native_context": native or (NATIVE_CONTEXT_2507 if long_native else NATIVE_CONTEXT),
        "mtp": False,
        "revision": revision,
        "source": "guide:" + revision if guide_file else "inventory",
    }
    failures = {int(tp): str(text) for tp, text in (raw.get("known_failures") or {}).items()}
    return entry, failures, [str(a) for a in raw.get("aliases") or []]


class Guide(object):
    """One revision of the guide's tables, with any rows an operator added."""

    def __init__(self, data):
        self.revision = str(data["revision"])
        self.image_tag = str(data["image_tag"])
        self.source = data.get("source")
        self.max_concurrency = int(data["max_concurrency"])
        self.min_hardware = data["min_hardware"]
        self.limits = {
            str(family): [(tuple(r["tp"]), r["max_input_len"], r["max_model_len"]) for r in rows]
            for family, rows in data["limits"].items()
        }
        self.unsupported_quant = data.get("unsupported_quant") or {}
        self.w4a16_torch_dtype = data.get("w4a16_torch_dtype")
        self.tips = list(data.get("tips") or [])
        self.models, self.known_failures, self.aliases = {}, {}, {}
        for i, raw in enumerate(data["models"]):
            entry, failures, aliases = _row(
                raw, "guide revision %s, models[%d]" % (self.revision, i), self.limits, self.revision, guide_file=True
            )
            self.models[entry["name"]] = entry
            self.known_failures.update({(entry["name"], tp): text for tp, text in failures.items()})
            self.aliases.update({a.lower(): entry["name"] for a in aliases})
        self.extra = 0

    def with_rows(self, rows, label="qwen3_catalog_extra"):
        """A copy with the operator's rows added; a row of a guide row's name replaces it."""
        if not rows:
            return self
        if not isinstance(rows, list):
            raise PlanError(
                "%s must be a list of model rows (or the path of a YAML/JSON file holding one), not %r." % (label, rows)
            )
        new = copy.copy(self)
        new.models, new.known_failures, new.aliases = dict(self.models), dict(self.known_failures), dict(self.aliases)
        seen = set()
        for i, raw in enumerate(rows):
            entry, dummy, dummy2 = _row(raw, "%s[%d]" % (label, i), self.limits, self.revision)
            folded = entry["name"].lower()
            if folded in seen:
                raise PlanError(
                    "%s[%d] names %s a second time; give each row its own name." % (label, i, entry["name"])
                )
            seen.add(folded)
            for name in [n for n in new.models if n.lower() == folded]:
                del new.models[name]
                new.known_failures = {k: v for k, v in new.known_failures.items() if k[0] != name}
            new.aliases = {a: n for a, n in new.aliases.items() if n.lower() != folded}
            new.models[entry["name"]] = entry
        new.extra = len(rows)
        return new

    def find(self, name):
        """The entry for `name` in any case or the guide's own spelling, or None."""
        if name in self.models:
            return self.models[name]
        typed = str(name).lower()
        for key, entry in self.models.items():
            if key.lower() == typed:
                return entry
        return self.models.get(self.aliases.get(typed))

    def limits_for(self, family, tp):
        """The usage-limits row of `family` covering `tp`, or None."""
        for tps, max_input, max_model in self.limits[family]:
            if tp in tps:
                return {
                    "max_input_len": max_input,
                    "max_model_len": max_model,
                    "max_concurrency": self.max_concurrency,
                    "mtp": False,
                }
        return None

    def min_hardware_for(self, model):
        return self.min_hardware["dense" if model["kind"] == "dense" else model["family"]]

    def catalog(self):
        """The catalog as a list of dicts (order of the guide, added rows last), with limits per TP attached."""
        out = []
        for m in self.models.values():
            entry = dict(m)
            entry["arch"] = dict(
                ARCH[m["family"]],
                head_dim=HEAD_DIM,
                vocab_size=VOCAB_SIZE,
                kv_bytes_per_token_bf16=kv_bytes_per_token(m["family"]),
            )
            entry["limits"] = {str(tp): self.limits_for(m["family"], tp) for tp in m["tp"]}
            entry["known_failures"] = {
                str(tp): msg for (name, tp), msg in self.known_failures.items() if name == m["name"]
            }
            entry["min_hardware"] = self.min_hardware_for(m)["text"]
            out.append(entry)
        return out


def _load(path):
    with open(path, encoding="utf-8") as handle:
        return Guide(yaml.load(handle, Loader=_Loader))  # nosec: a safe loader


_REVISIONS = {}


def revisions():
    """The revisions the collection ships, oldest first (the seed's is the first)."""
    if not _REVISIONS:
        for name in sorted(os.listdir(GUIDE_DIR)):
            if name.endswith(".yml"):
                g = _load(os.path.join(GUIDE_DIR, name))
                _REVISIONS[g.revision] = g
    return list(_REVISIONS)


def revision_for_image(image):
    """The revision whose image tag `image` carries, else the seed's."""
    ref = str(image or "").split("@", 1)[0]
    tag = ref.rsplit(":", 1)[1] if ":" in ref.rsplit("/", 1)[-1] else None
    for name in revisions():
        if tag is not None and _REVISIONS[name].image_tag == tag:
            return name
    return SEED_REVISION


_WITH_ROWS = {}


def guide(revision=None, extra=None):
    """The guide of `revision` (None: the seed's), with the operator's rows `extra` added (the same rows
    on a fleet's hosts are checked once)."""
    known = revisions()
    if revision in (None, ""):
        revision = SEED_REVISION
    wanted = [r for r in known if r.lower() == str(revision).strip().lower()]
    if not wanted:
        raise PlanError(
            "qwen3_guide_revision '%s' is not a revision of the guide this collection knows; set it to %s."
            % (revision, _or_list(known))
        )
    if not extra:
        return _REVISIONS[wanted[0]]
    key = (wanted[0], json.dumps(extra, sort_keys=True, default=str))
    if key not in _WITH_ROWS:
        if len(_WITH_ROWS) > 64:
            _WITH_ROWS.clear()
        _WITH_ROWS[key] = _REVISIONS[wanted[0]].with_rows(extra)
    return _WITH_ROWS[key]


def kv_bytes_per_token(family, dtype_bytes=2):
    arch = ARCH[family]
    return 2 * arch["layers"] * arch["kv_heads"] * HEAD_DIM * dtype_bytes


# ---------------------------------------------------------------- the default revision, as before
_DEFAULT = guide()
MODELS = _DEFAULT.models
MIN_HARDWARE = _DEFAULT.min_hardware
MAX_CONCURRENCY = _DEFAULT.max_concurrency
LIMITS = _DEFAULT.limits
KNOWN_FAILURES = _DEFAULT.known_failures
# Quantization settings the platform does not load, by quant method (the guide's TIPS: only
# desc_act=False GPTQ checkpoints are supported).
UNSUPPORTED_QUANT = _DEFAULT.unsupported_quant


def limits_for(family, tp):
    """The default revision's usage-limits row of `family` covering `tp`, or None."""
    return _DEFAULT.limits_for(family, tp)


def catalog():
    """The default revision's catalog as a list of dicts (order of the guide), with limits per TP attached."""
    return _DEFAULT.catalog()
