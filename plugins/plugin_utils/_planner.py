# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Deployment planning for Qwen3 on Vastai cards: pure functions, no I/O.

plan() validates a (model, card, cards, tp, max_model_len, instances) request against the
guide's tables (qwen3_catalog) and returns one dict every role consumes. A refusal is a
PlanError whose message is one sentence naming what would work.
"""

from __future__ import annotations

import difflib
import json
import math
import shlex

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _catalog as cat

GIB = 1024 ** 3
# Bytes per parameter by checkpoint dtype. FP8/INT4 checkpoints keep embeddings and lm_head in
# 16 bit; INT4 (W4A16, group 128) carries scales/zeros: about 0.52 bytes per quantized weight.
BYTES_PER_PARAM = {"BF16": 2.0, "FP8": 1.0, "INT4": 0.52}
# Runtime, activations and the prefill workspace per die: an estimate (the vendor publishes none).
OVERHEAD_PER_DIE_GB = 2.0
# Share of a die the engine may fill (vLLM's gpu_memory_utilization default).
USABLE_FRACTION = 0.9


class PlanError(ValueError):
    """A request the guide does not support; the message names what would work."""


def _tp_list(tps):
    return "/".join("TP%d" % t for t in tps)


def _or_list(items):
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def find_model(name):
    """The catalog entry for `name` (exact, then case-insensitive), or PlanError naming the closest."""
    if name in cat.MODELS:
        return cat.MODELS[name]
    folded = {k.lower(): k for k in cat.MODELS}
    if str(name).lower() in folded:
        return cat.MODELS[folded[str(name).lower()]]
    # Names that contain what was typed first (e.g. "qwen3-235b"), then spelling neighbours.
    typed = str(name).lower()
    close = [folded[k] for k in folded if typed in k][:3] or \
        [folded[k] for k in difflib.get_close_matches(typed, list(folded), n=3, cutoff=0.5)]
    hint = ("the closest catalog names are " + _or_list(close)) if close else \
        "see the lookup vacc.qwen3.qwen3_models for the %d supported names" % len(cat.MODELS)
    raise PlanError("Unknown model '%s': %s." % (name, hint))


def _card(card):
    key = str(card).upper()
    if key not in cat.CARDS:
        raise PlanError("Unknown card '%s': use %s." % (card, _or_list(sorted(cat.CARDS))))
    return key, cat.CARDS[key]


def _int(value, what, minimum=1):
    try:
        number = int(value)
        if number != float(value):
            raise ValueError
    except (TypeError, ValueError):
        raise PlanError("%s must be a whole number, not '%s'." % (what, value))
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


def _check_quant_config(model, quant_config):
    if not quant_config:
        return
    method = str(quant_config.get("quant_method") or model["quant_method"] or "").lower()
    if method == "gptq" and quant_config.get("desc_act") in (True, "true", "True", 1):
        raise PlanError(
            "This %s checkpoint is GPTQ with desc_act: true, which this platform does not load; "
            "use one quantized with desc_act: false, such as %s." % (model["name"], model["hf_repo"]))


def _tp_fits(model, tp, die_memory, max_model_len):
    lim = cat.limits_for(model["family"], tp)
    mml = min(max_model_len or lim["max_model_len"], lim["max_model_len"])
    mem = memory_per_die(model, tp, mml, lim["max_concurrency"])
    return die_memory is None or mem["total"] <= die_memory * USABLE_FRACTION


def _rope_scaling(model, max_model_len):
    """YaRN over the original 32k when max_model_len exceeds the model's native context."""
    if max_model_len <= model["native_context"]:
        return None
    factor = float(2 ** math.ceil(math.log2(max_model_len / float(cat.YARN_ORIGINAL_MAX_POSITION))))
    return {"rope_type": "yarn", "factor": factor,
            "original_max_position_embeddings": cat.YARN_ORIGINAL_MAX_POSITION}


def _reasoning_parser(model):
    # Hybrid models emit <think>...</think>; the 2507 Thinking models get <think> from the chat
    # template and emit only </think>, which Qwen's model cards parse with deepseek_r1.
    return {"hybrid": "qwen3", "thinking": "deepseek_r1", "instruct": None}[model["thinking"]]


def plan(model, card="VA16", cards=1, tp=None, max_model_len=None, instances=1,
         quant_config=None, dies=None, served_model_name=None):
    """Validate a deployment request and return the plan dict (see the filter's docs)."""
    m = find_model(model)
    card_key, card_info = _card(card)
    cards = _int(cards, "cards")
    instances = _int(instances, "instances")
    notes = []

    if dies is not None:
        total_dies = _int(dies, "dies")
    elif card_info["dies"] is not None:
        total_dies = card_info["dies"] * cards
    else:
        total_dies = None
        notes.append("The %s's die count is not public: TP x instances is not checked against "
                     "the dies; set vacc_dies to the host's die count to check it." % card_key)
    if card_info["die_memory_gb"] is not None:
        die_memory = float(card_info["die_memory_gb"])
    elif total_dies is not None:
        die_memory = card_info["memory_gb"] * cards / float(total_dies)
    else:
        die_memory = None
        notes.append("Memory per die is not checked on a %s without a die count." % card_key)

    _check_quant_config(m, quant_config)

    if max_model_len is not None:
        max_model_len = _int(max_model_len, "max_model_len", minimum=16)

    if tp is None:
        fitting = [t for t in m["tp"] if (m["name"], t) not in cat.KNOWN_FAILURES
                   and (total_dies is None or t * instances <= total_dies)
                   and (max_model_len is None
                        or max_model_len <= cat.limits_for(m["family"], t)["max_model_len"])
                   and _tp_fits(m, t, die_memory, max_model_len)]
        if not fitting:
            raise PlanError(
                "No TP the guide lists for %s (%s) fits %d x %s%s with %d instance(s); %s."
                % (m["name"], _tp_list(m["tp"]), cards, card_key,
                   "" if total_dies is None else " (%d dies)" % total_dies, instances,
                   "it needs at least " + cat.MIN_HARDWARE["dense" if m["kind"] == "dense"
                                                           else m["family"]]["text"]))
        tp = fitting[0]
    tp = _int(tp, "tp")

    if (m["name"], tp) in cat.KNOWN_FAILURES:
        ok = [t for t in m["tp"] if (m["name"], t) not in cat.KNOWN_FAILURES]
        raise PlanError("%s does not load at TP%d on this platform; use %s (%s)."
                        % (m["name"], tp, _or_list(["TP%d" % t for t in ok]),
                           cat.KNOWN_FAILURES[(m["name"], tp)]))
    if tp not in m["tp"]:
        raise PlanError("The guide does not list TP%d for %s; use %s."
                        % (tp, m["name"], _or_list(["TP%d" % t for t in m["tp"]])))

    dies_used = tp * instances
    if total_dies is not None and dies_used > total_dies:
        most = total_dies // tp
        fix = ("use %d instance(s)" % most) if most else \
            ("add cards: TP%d needs %d dies, %d %s card(s)" % (
                tp, tp, -(-tp // (card_info["dies"] or tp)), card_key))
        smaller = [t for t in m["tp"] if t * instances <= total_dies
                   and (m["name"], t) not in cat.KNOWN_FAILURES]
        if smaller:
            fix += " or TP%d" % smaller[-1]
        raise PlanError("TP%d x %d instance(s) needs %d dies but %d x %s has %d; %s."
                        % (tp, instances, dies_used, cards, card_key, total_dies, fix))

    lim = cat.limits_for(m["family"], tp)
    if max_model_len is None:
        max_model_len = lim["max_model_len"]
    elif max_model_len > lim["max_model_len"]:
        higher = [t for t in m["tp"] if cat.limits_for(m["family"], t)["max_model_len"] >= max_model_len
                  and (m["name"], t) not in cat.KNOWN_FAILURES]
        raise PlanError("max_model_len %d is over %s's limit at TP%d (%d); use max_model_len <= %d%s."
                        % (max_model_len, m["name"], tp, lim["max_model_len"], lim["max_model_len"],
                           (" or TP%d" % higher[0]) if higher else ""))
    max_input_len = lim["max_input_len"]
    if max_input_len is None:
        notes.append("The guide gives no max-input-len for %s; LLM_MAX_PREFILL_SEQ_LEN is left unset."
                     % m["family"])
    else:
        max_input_len = min(max_input_len, max_model_len)

    mem = memory_per_die(m, tp, max_model_len, lim["max_concurrency"])
    fits = die_memory is None or mem["total"] <= die_memory * USABLE_FRACTION
    if not fits:
        bigger = [t for t in m["tp"] if t > tp and (m["name"], t) not in cat.KNOWN_FAILURES
                  and memory_per_die(m, t, max_model_len, lim["max_concurrency"])["total"]
                  <= die_memory * USABLE_FRACTION]
        raise PlanError(
            "%s at TP%d needs about %.1f GiB per die (weights %.1f, KV cache %.1f, overhead %.1f) "
            "but a %s die offers %.1f GiB usable; use %s."
            % (m["name"], tp, mem["total"], mem["weights"], mem["kv_cache"], mem["overhead"],
               card_key, die_memory * USABLE_FRACTION,
               ("TP%d" % bigger[0]) if bigger else "a smaller max_model_len or a smaller checkpoint"))
    if die_memory is not None and mem["total_full_concurrency"] > die_memory * USABLE_FRACTION:
        notes.append("At max_model_len %d only part of %d concurrent full-length requests fit in "
                     "the KV cache; the engine queues the rest." % (max_model_len, lim["max_concurrency"]))

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
        "card": card_key,
        "cards": cards,
        "dies": total_dies,
        "die_memory_gb": die_memory,
        "tp": tp,
        "instances": instances,
        "dies_used": dies_used,
        "die_slices": slices,
        "max_input_len": max_input_len,
        "max_model_len": max_model_len,
        "max_concurrency": lim["max_concurrency"],
        "max_concurrency_total": lim["max_concurrency"] * instances,
        "mtp": False,
        "memory_unit": "GiB",
        "memory_per_die_gb": mem,
        "weights_disk_gb": round(weights_gb(m), 2),
        "fits": fits,
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


def vllm_args(plan_, port=8000, api_key=None, vllm_version="0.9.2",
              weights_path="/weights", host="0.0.0.0", extra_args=None, model_dir=None, engine_tp=None):
    """The `vllm serve` argv for a plan, in the flag form of `vllm_version`. `model_dir` is the
    weights directory's name when it is not the model's, and `engine_tp` the TP the engine runs
    when it is not the plan's: both for a lab's CPU stand-in, which has no dies to split over."""
    version = _version_tuple(vllm_version)
    argv = ["vllm", "serve", "%s/%s" % (weights_path.rstrip("/"), model_dir or plan_["model"]),
            "--trust-remote-code",
            "--tensor-parallel-size", str(engine_tp or plan_["tp"]),
            "--max-model-len", str(plan_["max_model_len"]),
            "--enforce-eager",
            "--host", host,
            "--port", str(int(port)),
            "--served-model-name", plan_["served_model_name"]]
    if plan_.get("reasoning_parser"):
        if version < (0, 9, 0):
            argv.append("--enable-reasoning")  # required before vLLM 0.9, removed in 0.10
        argv += ["--reasoning-parser", plan_["reasoning_parser"]]
    rope = plan_.get("rope_scaling")
    if rope:
        if version < (0, 11, 1):
            argv += ["--rope-scaling", json.dumps(rope, separators=(",", ":"))]
        else:
            # vLLM 0.11.1 removed --rope-scaling (vllm-project/vllm#28006); rope_parameters alone
            # no longer lifts the length limit, so max_position_embeddings moves with it.
            params = dict(rope, rope_theta=plan_.get("rope_theta") or 1000000)
            overrides = {"max_position_embeddings": plan_["max_model_len"], "rope_parameters": params}
            argv += ["--hf-overrides", json.dumps(overrides, separators=(",", ":"))]
    if api_key:
        argv += ["--api-key", str(api_key)]
    argv += [str(a) for a in (extra_args or [])]
    return argv


def vacc_env(plan_, instance=0):
    """The container environment of one instance: its die slice and the prefill limit."""
    instance = _int(instance, "instance", minimum=0)
    if instance >= plan_["instances"]:
        raise PlanError("instance %d does not exist: the plan has %d instance(s), numbered from 0."
                        % (instance, plan_["instances"]))
    env = {"VACC_VISIBLE_DEVICES": plan_["die_slices"][instance]}
    if plan_.get("max_input_len"):
        env["LLM_MAX_PREFILL_SEQ_LEN"] = str(plan_["max_input_len"])
    return env


def container_spec(plan_, instance=0, image="harbor.vastaitech.com/ai_deliver/vllm_vacc:AI3.2_GR_1202",
                   port=8000, api_key=None, vllm_version="0.9.2", weights_dir="/data/weights",
                   name="vllm_service", privileged=True, shm_size="256g", extra_env=None,
                   extra_args=None, model_dir=None, network="vacc_qwen3", engine_tp=None):
    """Everything one `docker run` of the service needs, as data: the service role hands it to
    community.docker.docker_container and the plan playbook renders it with docker_run().

    One instance publishes its port on the host, as the guide does. Several instances (the
    vendor's multi-instance layout) listen on port + i inside `network`, unpublished: the load
    balancer owns the public port."""
    single = plan_["instances"] == 1
    port = int(port) + int(instance)
    env = vacc_env(plan_, instance)
    env.update({str(k): str(v) for k, v in (extra_env or {}).items()})
    return {
        "name": name if plan_["instances"] == 1 else "%s_%d" % (name, instance),
        "image": image,
        "env": env,
        "privileged": bool(privileged),
        "shm_size": shm_size,
        "ipc_mode": "host",
        "volumes": ["%s:/weights/" % weights_dir.rstrip("/")],
        "published_ports": ["%d:%d" % (port, port)] if single else [],
        "network": None if single else network,
        "port": port,
        "command": vllm_args(plan_, port=port, api_key=api_key, vllm_version=vllm_version,
                             extra_args=extra_args, model_dir=model_dir, engine_tp=engine_tp),
    }


def container_specs(plan_, **kwargs):
    """One container spec per instance of the plan."""
    return [container_spec(plan_, instance=i, **kwargs) for i in range(plan_["instances"])]


def docker_run(spec):
    """The container spec as one `docker run` command line, in the guide's order."""
    parts = ["docker", "run", "-d"]
    for key, value in spec["env"].items():
        parts += ["-e", "%s=%s" % (key, value)]
    if spec.get("privileged"):
        parts.append("--privileged=true")
    if spec.get("shm_size"):
        parts.append("--shm-size=%s" % spec["shm_size"])
    parts += ["--name", spec["name"]]
    for volume in spec["volumes"]:
        parts += ["-v", volume]
    for published in spec["published_ports"]:
        parts += ["-p", published]
    if spec.get("network"):
        parts.append("--network=%s" % spec["network"])
    if spec.get("ipc_mode"):
        parts.append("--ipc=%s" % spec["ipc_mode"])
    parts.append(spec["image"])
    parts += spec["command"]
    return " ".join(shlex.quote(p) for p in parts)
