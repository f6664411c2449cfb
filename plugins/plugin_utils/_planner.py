# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Deployment planning for Qwen3 on Vastai cards: pure functions, no I/O.

plan() validates a (model, card, cards, tp, max_model_len, instances) request against one revision
of the guide's tables (_catalog, plus the rows an operator added) and the checkpoint the host holds,
and returns the plan dict every role consumes. A refusal is a PlanError
whose message is one sentence naming what the user can change (the variable and a value that works).
"""

from __future__ import annotations

import difflib
import json
import math

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _catalog as cat
from ansible_collections.vacc.qwen3.plugins.plugin_utils._catalog import PlanError  # noqa: F401 pylint: disable=unused-import

GIB = 1024**3
# Bytes per parameter by checkpoint dtype. FP8/INT4/INT8 checkpoints keep embeddings and lm_head in
# 16 bit; W4A16 / W8A16 (group 128) carry scales/zeros: about 0.52 / 1.02 bytes per quantized weight.
BYTES_PER_PARAM = {"BF16": 2.0, "FP8": 1.0, "INT4": 0.52, "INT8": 1.02}
# The bits a quantized row's checkpoint must declare (INT4 here is W4A16, INT8 W8A16).
ROW_BITS = {"INT4": 4, "INT8": 8}
# quantization_config quant_method spellings that load as a row's method (AutoRound exports GPTQ).
QUANT_ALIASES = {
    "gptq": ("gptq", "gptq_marlin", "auto-round", "autoround"),
    "awq": ("awq", "awq_marlin"),
    "fp8": ("fp8",),
}
# Runtime, activations and the prefill workspace per die: an estimate (the vendor publishes none).
OVERHEAD_PER_DIE_GB = 2.0
# Share of a die the engine may fill (vLLM's gpu_memory_utilization default).
USABLE_FRACTION = 0.9


def _or_list(items):
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _tp_list(tps):
    return "/".join("TP%d" % t for t in tps)


def find_model(name, guide=None):
    """The catalog entry for `name` in `guide` (default: the seed's revision), whatever its case
    (qwen3-8b is Qwen3-8B), or PlanError naming the revision that lists it, else the closest names."""
    guide = guide or cat.guide()
    found = guide.find(name)
    if found:
        return found
    elsewhere = [r for r in cat.revisions() if r != guide.revision and cat.guide(r).find(name)]
    if elsewhere:
        raise PlanError(
            "%s is not in guide revision %s; guide revision %s lists it: set qwen3_guide_revision to %s, "
            "or add the row with qwen3_catalog_extra." % (name, guide.revision, _or_list(elsewhere), elsewhere[-1])
        )
    typed = str(name).lower()
    folded = {k.lower(): k for k in guide.models}
    # Names that contain what was typed first (e.g. "qwen3-235b"), then spelling neighbours.
    close = [folded[k] for k in folded if typed in k][:3] or [
        folded[k] for k in difflib.get_close_matches(typed, list(folded), n=3, cutoff=0.5)
    ]
    hint = (
        ("the closest catalog names are " + _or_list(close))
        if close
        else "see the lookup vacc.qwen3.qwen3_models for the %d supported names" % len(guide.models)
    )
    raise PlanError(
        "Unknown model '%s' in guide revision %s: %s, or add a row for it with qwen3_catalog_extra."
        % (name, guide.revision, hint)
    )


def _card(card):
    key = str(card).upper()
    if key not in cat.CARDS:
        raise PlanError("Unknown card '%s': set vacc_card to %s." % (card, _or_list(sorted(cat.CARDS))))
    return key, cat.CARDS[key]


def whole_number(value, what, minimum=1):
    """`value` as an int (a whole float or a digit string will do), or PlanError naming `what`."""
    try:
        number = int(value)
        if number != float(value):
            raise ValueError
    except (TypeError, ValueError):
        raise PlanError("%s must be a whole number, not '%s'." % (what, value)) from None
    if number < minimum:
        raise PlanError("%s must be at least %d, not %d." % (what, minimum, number))
    return number


def weights_gb(model):
    """Size of the checkpoint's weights in GiB (what sits on disk and, split by TP, on the dies)."""
    arch = cat.ARCH[model["family"]]
    embed_params = cat.VOCAB_SIZE * arch["hidden"] * (1 if arch["tied_embeddings"] else 2)
    body_params = model["params_b"] * 1e9 - embed_params
    total = body_params * BYTES_PER_PARAM[model["dtype"]] + embed_params * 2.0
    return total / GIB


def memory_per_die(model, tp, max_model_len, max_concurrency):
    """Memory terms per die in GiB. KV is sharded by TP (the guide's TP sizes never exceed what
    vLLM can split); `kv_cache` is what one max-model-len request needs (vLLM refuses to start
    below that), `kv_cache_full_concurrency` what max_concurrency such requests need at once."""
    kv_token = cat.kv_bytes_per_token(model["family"])
    kv_one = kv_token * max_model_len / tp / GIB
    weights = weights_gb(model) / tp
    return {
        "weights": round(weights, 2),
        "kv_cache": round(kv_one, 2),
        "kv_cache_full_concurrency": round(kv_one * max_concurrency, 2),
        "overhead": OVERHEAD_PER_DIE_GB,
        "total": round(weights + kv_one + OVERHEAD_PER_DIE_GB, 2),
        "total_full_concurrency": round(weights + kv_one * max_concurrency + OVERHEAD_PER_DIE_GB, 2),
    }


def _row_text(model):
    return "%s's row (%s, %s%s)" % (
        model["name"],
        model["source"],
        model["dtype"],
        " " + model["quant_method"] if model["quant_method"] else "",
    )


def _bits(quant_config):
    for key in ("bits", "w_bit", "weight_bits"):
        if quant_config.get(key) is not None:
            return quant_config[key]
    return None


def check_checkpoint(model, quant_config=None, checkpoint=None, guide=None):
    """Refuse a checkpoint that does not match its row, or whose quantization settings the platform does
    not load; returns the plan notes it calls for. `checkpoint` is what the host's weights say
    ({"path", "quantization_config", "torch_dtype"}; its absence of a quantization_config counts);
    `quant_config` the operator's qwen3_quant_config (what it gives is checked, what it omits is not)."""
    guide = guide or cat.guide()
    if checkpoint is not None:
        qc, read = checkpoint.get("quantization_config") or None, True
        what = "The checkpoint at %s" % checkpoint.get("path") if checkpoint.get("path") else "The checkpoint"
    elif quant_config:
        qc, read, what = quant_config, False, "qwen3_quant_config"
    else:
        return []
    dtype, method = model["dtype"], model["quant_method"]
    if dtype == "BF16":
        if qc:
            raise PlanError(
                "%s has a quantization_config (quant_method %s) but %s is unquantized; plan it under a row "
                "of its dtype, or add one with qwen3_catalog_extra."
                % (what, qc.get("quant_method") or "unknown", _row_text(model))
            )
        return []
    if not qc:
        if read:
            raise PlanError(
                "%s has no quantization_config (config.json or quantize_config.json) but %s needs an "
                "%s checkpoint; put that checkpoint there, or plan this one under a BF16 row."
                % (what, _row_text(model), dtype)
            )
        return []
    got = str(qc.get("quant_method") or method).lower()
    if got not in QUANT_ALIASES.get(method, (method,)):
        raise PlanError(
            "%s is quant_method %s but %s needs %s; plan it under a row of its method, or add one with "
            "qwen3_catalog_extra." % (what, got, _row_text(model), method)
        )
    if dtype in ROW_BITS:
        bits = _bits(qc)
        if bits is None and read:
            raise PlanError(
                "%s declares no bits in its quantization_config but %s needs bits: %d; use a checkpoint "
                "that says so." % (what, _row_text(model), ROW_BITS[dtype])
            )
        if bits is not None and str(bits) != str(ROW_BITS[dtype]):
            other = "INT8" if str(bits) == "8" else "INT4" if str(bits) == "4" else None
            raise PlanError(
                "%s is bits: %s but %s needs bits: %d (%s is W%dA16 here); %s."
                % (
                    what,
                    bits,
                    _row_text(model),
                    ROW_BITS[dtype],
                    dtype,
                    ROW_BITS[dtype],
                    ("plan it under an %s row, or add one with qwen3_catalog_extra" % other)
                    if other
                    else "use a %d-bit checkpoint" % ROW_BITS[dtype],
                )
            )
    for key, bad in guide.unsupported_quant.get(method, {}).items():
        if str(qc.get(key)).lower() == str(bad).lower():
            raise PlanError(
                "This %s checkpoint is %s with %s: %s, which this platform does not load; use one "
                "quantized with %s: %s%s."
                % (
                    model["name"],
                    method.upper(),
                    key,
                    json.dumps(bad),
                    key,
                    json.dumps(not bad),
                    (", such as " + model["hf_repo"]) if model["hf_repo"] else "",
                )
            )
    notes = []
    torch_dtype = (checkpoint or {}).get("torch_dtype")
    if dtype == "INT4" and guide.w4a16_torch_dtype and torch_dtype and str(torch_dtype) != guide.w4a16_torch_dtype:
        notes.append(
            'The guide (%s) says W4A16 checkpoints run faster with "torch_dtype": "%s"; this one\'s '
            "config.json says %s." % (guide.revision, guide.w4a16_torch_dtype, torch_dtype)
        )
    return notes


def check_quant_config(model, quant_config, guide=None):
    """Refuse a quantization config (the operator's) that does not match the row or does not load."""
    check_checkpoint(model, quant_config=quant_config, guide=guide)


def default_max_model_len(model, tp, guide=None):
    """The model's native context, capped by the TP's limit: YaRN only when asked for more."""
    return min(model["native_context"], (guide or cat.guide()).limits_for(model["family"], tp)["max_model_len"])


def _rope_scaling(model, max_model_len):
    """YaRN over the original 32k when max_model_len exceeds the model's native context."""
    if max_model_len <= model["native_context"]:
        return None
    factor = float(2 ** math.ceil(math.log2(max_model_len / float(cat.YARN_ORIGINAL_MAX_POSITION))))
    return {"rope_type": "yarn", "factor": factor, "original_max_position_embeddings": cat.YARN_ORIGINAL_MAX_POSITION}


def _reasoning_parser(model):
    # Hybrid models emit <think>...</think>; the 2507 Thinking models get <think> from the chat
    # template and emit only </think>, which Qwen's model cards parse with deepseek_r1.
    return {"hybrid": "qwen3", "thinking": "deepseek_r1", "instruct": None}[model["thinking"]]


class _Host(object):
    """What the planner knows of the host's hardware."""

    def __init__(self, card, cards, dies):
        self.card, info = _card(card)
        self.cards = whole_number(cards, "vacc_cards")
        if dies is not None:
            self.dies = whole_number(dies, "vacc_dies")
        elif info["dies"] is not None:
            self.dies = info["dies"] * self.cards
        else:
            raise PlanError(
                "The %s's die count is not public, so TP x instances cannot be checked: set "
                "vacc_dies to this host's die count (vasmi summary shows it)." % self.card
            )
        # Dies per card: the card's own count, or what the declared dies say (VA1L).
        self.dies_per_card = info["dies"] or (self.dies // self.cards if self.dies % self.cards == 0 else None)
        if info["die_memory_gb"] is not None:
            self.die_memory = float(info["die_memory_gb"])
        else:
            self.die_memory = info["memory_gb"] * self.cards / float(self.dies)
        self.usable = self.die_memory * USABLE_FRACTION

    def cards_for(self, dies):
        """Cards of this kind that hold `dies` dies, or None when the dies per card are unknown."""
        return -(-dies // self.dies_per_card) if self.dies_per_card else None

    def cards_text(self, tp):
        n = self.cards_for(tp)
        return "" if n is None or n <= self.cards else " (TP%d needs %d %s cards)" % (tp, n, self.card)


def _usable_tps(model, guide):
    return [t for t in model["tp"] if (model["name"], t) not in guide.known_failures]


def _revisions_listing(model, tp):
    """Other guide revisions whose row of the same name lists `tp` (and loads there)."""
    found = []
    for revision in cat.revisions():
        other = cat.guide(revision)
        row = other.find(model["name"])
        if row and tp in row["tp"] and (row["name"], tp) not in other.known_failures:
            found.append(revision)
    return found


def _refusal(model, host, tp, instances, max_model_len, guide):
    """Why `tp` does not work for this request (one sentence), or None when it does."""
    name = model["name"]
    if (name, tp) in guide.known_failures:
        return "%s does not load at TP%d on this platform; set qwen3_tp to %s (%s)." % (
            name,
            tp,
            _or_list(["%d" % t for t in _usable_tps(model, guide)]),
            guide.known_failures[(name, tp)],
        )
    if tp not in model["tp"]:
        where = (
            "Guide revision %s" % guide.revision
            if model["source"] != "inventory"
            else "%s's row in qwen3_catalog_extra" % name
        )
        others = (
            [r for r in _revisions_listing(model, tp) if r != guide.revision] if model["source"] != "inventory" else []
        )
        return "%s does not list TP%d for %s; set qwen3_tp to %s%s." % (
            where,
            tp,
            name,
            _or_list(["%d" % t for t in model["tp"]]),
            (", or qwen3_guide_revision to %s, which lists TP%d" % (others[-1], tp)) if others else "",
        )
    lim = guide.limits_for(model["family"], tp)
    if max_model_len is not None and max_model_len > lim["max_model_len"]:
        higher = [
            t
            for t in _usable_tps(model, guide)
            if guide.limits_for(model["family"], t)["max_model_len"] >= max_model_len
        ]
        return "max_model_len %d is over %s's limit at TP%d (%d); use max_model_len <= %d%s." % (
            max_model_len,
            name,
            tp,
            lim["max_model_len"],
            lim["max_model_len"],
            (" or qwen3_tp %d%s" % (higher[0], host.cards_text(higher[0]))) if higher else "",
        )
    used = tp * instances
    if used > host.dies:
        most = host.dies // tp
        if most:
            fix = "set qwen3_instances to %d" % most
        else:
            needed = host.cards_for(used)
            fix = (
                "TP%d needs %d %s cards: set vacc_cards to %d" % (tp, needed, host.card, needed)
                if needed
                else "set vacc_dies if the host has more"
            )
        smaller = [t for t in _usable_tps(model, guide) if t < tp and t * instances <= host.dies]
        if smaller:
            fix += " or qwen3_tp to %d" % smaller[-1]
        return "TP%d x %d instance(s) needs %d dies but %d x %s has %d; %s." % (
            tp,
            instances,
            used,
            host.cards,
            host.card,
            host.dies,
            fix,
        )
    mml = max_model_len or default_max_model_len(model, tp, guide)
    mem = memory_per_die(model, tp, mml, lim["max_concurrency"])
    if mem["total"] > host.usable:
        bigger = [
            t
            for t in _usable_tps(model, guide)
            if t > tp and memory_per_die(model, t, mml, lim["max_concurrency"])["total"] <= host.usable
        ]
        return (
            "%s at TP%d needs about %.1f GiB per die (weights %.1f, KV cache %.1f, overhead %.1f) but a %s "
            "die offers %.1f GiB usable; %s."
            % (
                name,
                tp,
                mem["total"],
                mem["weights"],
                mem["kv_cache"],
                mem["overhead"],
                host.card,
                host.usable,
                ("set qwen3_tp to %d%s" % (bigger[0], host.cards_text(bigger[0])))
                if bigger
                else "use a smaller max_model_len or a smaller checkpoint",
            )
        )
    return None


def _check_min_hardware(model, host, guide):
    """The guide's minimum-hardware table: the 235B-A22B runs on a VA16 server only."""
    group = guide.min_hardware_for(model)
    if host.card not in group["card_choices"]:
        raise PlanError(
            "The guide supports %s on %s, not on %s; set vacc_card to %s."
            % (model["name"], group["text"], host.card, _or_list(group["card_choices"]))
        )


def plan(
    model,
    card="VA16",
    cards=1,
    tp=None,
    max_model_len=None,
    instances=1,
    quant_config=None,
    dies=None,
    served_model_name=None,
    revision=None,
    extra=None,
    checkpoint=None,
):
    """Validate a deployment request against guide revision `revision` (None: the seed's) with the
    operator's rows `extra`, and the host's `checkpoint` when read; return the plan dict (see the
    qwen3_plan filter's docs)."""
    guide = cat.guide(revision, extra)
    m = find_model(model, guide)
    host = _Host(card, cards, dies)
    instances = whole_number(instances, "qwen3_instances")
    notes = []
    _check_min_hardware(m, host, guide)
    notes += check_checkpoint(m, quant_config=quant_config, checkpoint=checkpoint, guide=guide)
    if max_model_len is not None:
        max_model_len = whole_number(max_model_len, "qwen3_max_model_len", minimum=16)

    if tp is None:
        problems = [(t, _refusal(m, host, t, instances, max_model_len, guide)) for t in _usable_tps(m, guide)]
        fitting = [t for t, problem in problems if problem is None]
        if not fitting:
            # The smallest TP's reason names the cheapest fix (fewer instances, a shorter context, cards).
            raise PlanError(problems[0][1])
        tp = fitting[0]
    else:
        tp = whole_number(tp, "qwen3_tp")
        problem = _refusal(m, host, tp, instances, max_model_len, guide)
        if problem:
            raise PlanError(problem)

    lim = guide.limits_for(m["family"], tp)
    if max_model_len is None:
        max_model_len = default_max_model_len(m, tp, guide)
    max_input_len = lim["max_input_len"]
    if max_input_len is None:
        notes.append("The guide gives no max-input-len for %s; LLM_MAX_PREFILL_SEQ_LEN is left unset." % m["family"])
    else:
        max_input_len = min(max_input_len, max_model_len)
    mem = memory_per_die(m, tp, max_model_len, lim["max_concurrency"])
    if mem["total_full_concurrency"] > host.usable:
        notes.append(
            "At max_model_len %d only part of %d concurrent full-length requests fit in "
            "the KV cache; the engine queues the rest." % (max_model_len, lim["max_concurrency"])
        )
    rope = _rope_scaling(m, max_model_len)
    slices = [",".join(str(d) for d in range(i * tp, (i + 1) * tp)) for i in range(instances)]
    return {
        "model": m["name"],
        "family": m["family"],
        "kind": m["kind"],
        "dtype": m["dtype"],
        "quant_method": m["quant_method"],
        "thinking": m["thinking"],
        "hf_repo": m["hf_repo"],
        "modelscope_repo": m["modelscope_repo"],
        # Where the row came from: "guide:<revision>" or "inventory" (qwen3_catalog_extra).
        "source": m["source"],
        "guide_revision": guide.revision,
        "guide_image_tag": guide.image_tag,
        "card": host.card,
        "cards": host.cards,
        "dies": host.dies,
        "die_memory_gb": host.die_memory,
        "tp": tp,
        "instances": instances,
        "dies_used": tp * instances,
        "die_slices": slices,
        "max_input_len": max_input_len,
        "max_model_len": max_model_len,
        "max_model_len_ceiling": lim["max_model_len"],
        "max_concurrency": lim["max_concurrency"],
        "max_concurrency_total": lim["max_concurrency"] * instances,
        "mtp": False,
        "memory_unit": "GiB",
        "memory_per_die_gb": mem,
        "weights_disk_gb": round(weights_gb(m), 2),
        "quant_config": ((checkpoint or {}).get("quantization_config") if checkpoint is not None else quant_config)
        or None,
        "rope_scaling": rope,
        "rope_theta": 1000000 if rope else None,
        "native_context": m["native_context"],
        "reasoning_parser": _reasoning_parser(m),
        "served_model_name": served_model_name or m["name"],
        "notes": notes,
    }


def _version_tuple(version):
    parts = []
    for piece in str(version).split("+", maxsplit=1)[0].split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple((parts + [0, 0, 0])[:3])


def vllm_args(
    plan_,
    port=8000,
    vllm_version="0.9.2",
    weights_path="/weights",
    host="0.0.0.0",
    extra_args=None,
    model_dir=None,
    engine_tp=None,
    engine=None,
):
    """The `vllm serve` argv for a plan. `engine` is the probe of the image (_engine_probe.record:
    its version and the flags its help lists): the flag forms come from what the image offers, and a
    flag the plan needs or `extra_args` names that it does not offer is refused. Without a probe, the
    forms of `vllm_version`. `model_dir` is the weights directory's name when it is not the model's,
    and `engine_tp` the TP the engine runs when it is not the plan's: both for a lab's CPU stand-in,
    which has no dies to split over. No API key: the engine reads it from VLLM_API_KEY (see _service),
    never from its argv."""
    offers = _offers(engine, vllm_version)
    argv = [
        "vllm",
        "serve",
        "%s/%s" % (weights_path.rstrip("/"), model_dir or plan_["model"]),
        "--trust-remote-code",
        "--tensor-parallel-size",
        str(engine_tp or plan_["tp"]),
        "--max-model-len",
        str(plan_["max_model_len"]),
        "--enforce-eager",
        "--host",
        host,
        "--port",
        str(int(port)),
        "--served-model-name",
        plan_["served_model_name"],
        # The guide's max-concurrency, enforced by the engine itself: a request beyond it queues.
        "--max-num-seqs",
        str(plan_["max_concurrency"]),
    ]
    for flag in (
        "--trust-remote-code",
        "--tensor-parallel-size",
        "--max-model-len",
        "--enforce-eager",
        "--host",
        "--port",
        "--served-model-name",
        "--max-num-seqs",
    ):
        offers(flag, "the guide's command line")
    if plan_.get("reasoning_parser"):
        if offers("--enable-reasoning", None):
            argv.append("--enable-reasoning")  # required before vLLM 0.9, deprecated in 0.9, removed in 0.10
        offers("--reasoning-parser", "%s's thinking mode" % plan_["model"], plan_["reasoning_parser"])
        argv += ["--reasoning-parser", plan_["reasoning_parser"]]
    rope = plan_.get("rope_scaling")
    if rope:
        if offers("--rope-scaling", None):
            argv += ["--rope-scaling", json.dumps(rope, separators=(",", ":"))]
        else:
            # vLLM 0.11.1 removed --rope-scaling (vllm-project/vllm#28006); rope_parameters alone
            # no longer lifts the length limit, so max_position_embeddings moves with it.
            offers(
                "--hf-overrides", "YaRN rope scaling to max-model-len %d (or --rope-scaling)" % plan_["max_model_len"]
            )
            params = dict(rope, rope_theta=plan_.get("rope_theta") or 1000000)
            overrides = {"max_position_embeddings": plan_["max_model_len"], "rope_parameters": params}
            argv += ["--hf-overrides", json.dumps(overrides, separators=(",", ":"))]
    for arg in extra_args or []:
        if str(arg).startswith("--"):
            offers(str(arg).split("=", 1)[0], "qwen3_service_extra_args")
    argv += [str(a) for a in (extra_args or [])]
    return argv


def _offers(engine, vllm_version):
    """offers(flag, needed_for, choice=None): whether the engine takes `flag` (and `choice` for it).
    With a probe, a flag that is `needed_for` something and not offered is refused in one sentence;
    without one, the forms of `vllm_version` and no refusal (nothing is known to refuse with)."""
    if not engine:
        version = _version_tuple(vllm_version or "0.9.2")
        legacy = {
            "--enable-reasoning": version < (0, 9, 0),
            "--rope-scaling": version < (0, 11, 1),
            "--hf-overrides": version >= (0, 11, 1),
        }

        def legacy_offers(flag, needed_for, choice=None):
            del needed_for, choice  # nothing is known to refuse with
            return legacy.get(flag, True)

        return legacy_offers
    flags = engine.get("flags") or {}
    what = "the engine image %s (vLLM %s)" % (engine.get("image"), engine.get("version"))

    def offers(flag, needed_for, choice=None):
        if flag not in flags:
            if needed_for:
                raise PlanError(
                    "%s does not offer %s, which %s needs; use an image whose `vllm serve --help` "
                    "lists it%s."
                    % (
                        what[0].upper() + what[1:],
                        flag,
                        needed_for,
                        " or remove it from qwen3_service_extra_args"
                        if needed_for == "qwen3_service_extra_args"
                        else "",
                    )
                )
            return False
        if choice is not None and flags[flag] and choice not in flags[flag]:
            raise PlanError(
                "%s offers %s %s but not %s, which %s needs; use an image that lists it."
                % (what[0].upper() + what[1:], flag, "{" + ",".join(flags[flag]) + "}", choice, needed_for)
            )
        return True

    return offers


def vacc_env(plan_, instance=0):
    """The container environment of one instance: its die slice and the prefill limit."""
    instance = whole_number(instance, "instance", minimum=0)
    if instance >= plan_["instances"]:
        raise PlanError(
            "instance %d does not exist: the plan has %d instance(s), numbered from 0." % (instance, plan_["instances"])
        )
    env = {"VACC_VISIBLE_DEVICES": plan_["die_slices"][instance]}
    if plan_.get("max_input_len"):
        env["LLM_MAX_PREFILL_SEQ_LEN"] = str(plan_["max_input_len"])
    return env
