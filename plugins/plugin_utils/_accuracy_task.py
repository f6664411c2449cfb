# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Settles an accuracy run: the preset, the datasets (local or hub), the mode, Qwen3's sampling
settings and the limits the plan sets, into EvalScope TaskConfig arguments (without the API key).

Pure Python, no I/O: the role reads the local datasets' README.md files and hands their text in.
A request that cannot work raises AccuracyTaskError with one sentence that names what would.
"""

from __future__ import annotations

import copy
import re

import yaml

QWEN3_MAX_OUTPUT = 32768  # Qwen3's recommended output length for most queries

# Qwen3's recommended sampling (model card / tech report): thinking and non-thinking mode.
SAMPLING = {
    True: {"temperature": 0.6, "top_p": 0.95, "top_k": 20},
    False: {"temperature": 0.7, "top_p": 0.8, "top_k": 20},
}

# The guide's reference script, docs/evalscope/precision_llm.py of Vastai/VastModelZOO (now
# tools/evalscope/precision_llm.py): its datasets (the script's list misses a comma, so EvalScope
# would be asked for "aime25live_code_bench"; the five are meant), gpqa's subset, and its settings.
# It leaves Qwen3's chat template at its default, which thinks: the preset evaluates thinking mode.
PRECISION_LLM = {
    "datasets": ["mmlu_pro", "ifeval", "gpqa", "aime25", "live_code_bench"],
    "dataset_args": {"gpqa": {"subset_list": ["gpqa_diamond"]}},
    "limit": None,
    "thinking": True,
    "max_tokens": 16384,
    "eval_batch_size": 16,
    "stream": True,
    "timeout": 6000000,
    "generation": {"temperature": 0.6, "top_p": 0.95, "top_k": 20, "n": 1},
}

PRESETS = {
    # The collection's own made-up samples (roles/accuracy/files/datasets): offline, seconds, the
    # plumbing only. max_tokens is small so a stand-in model that never stops still finishes.
    "sample": {
        "datasets": ["gsm8k", "ceval"],
        "dataset_args": {"ceval": {"subset_list": ["middle_school_mathematics"]}},
        "limit": None,
        "max_tokens": 256,
        "sample_dir": True,
    },
    # A first look: gsm8k and four C-Eval subjects, 50 items each.
    "quick": {
        "datasets": ["gsm8k", "ceval"],
        "dataset_args": {
            "ceval": {"subset_list": ["computer_network", "high_school_mathematics", "law", "modern_chinese_history"]}
        },
        "limit": 50,
    },
    # Whole benchmarks; ceval and math_500 have published Qwen3 figures to compare with.
    "standard": {
        "datasets": ["gsm8k", "ceval", "math_500", "ifeval"],
        "dataset_args": {},
        "limit": None,
    },
    "precision_llm": PRECISION_LLM,
}


class AccuracyTaskError(ValueError):
    pass


def _limit(value):
    """accuracy_limit: an item count or a fraction; -e accuracy_limit=20 (or 0.1) arrives as a string."""
    if value is None:
        return None
    limit = value
    if isinstance(value, str):
        try:
            limit = float(value) if re.search(r"[.eE]", value) else int(value)
        except ValueError:
            limit = None
    valid = (
        isinstance(limit, (int, float))
        and not isinstance(limit, bool)
        and limit > 0
        and not (isinstance(limit, float) and limit > 1 and limit != int(limit))
    )
    if not valid:
        raise AccuracyTaskError(
            "accuracy_limit must be a positive item count or a fraction in (0, 1], e.g. 20 or 0.1; it is %r." % (value,)
        )
    return limit


def readme_subsets(text):
    """Subset (config) names from a dataset README.md's YAML front matter (`configs:`), or []."""
    if not text:
        return []
    m = re.match(r"\A---\s*\n(.*?)\n---\s*(\n|\Z)", text, re.S)
    if not m:
        return []
    try:
        front = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError:
        return []
    configs = front.get("configs") or []
    return [c["config_name"] for c in configs if isinstance(c, dict) and c.get("config_name")]


def _mode_name(thinking):
    return "thinking" if thinking else "non-thinking"


def settle(s):
    """s: the role's variables (accuracy_* without the prefix) plus `plan` (the qwen3 plan),
    `local_readmes` ({dataset: README.md text or None} for the datasets under dataset_dir),
    `sample_dir` (the collection's sample directory) and `endpoint` (already derived).

    Returns {task, meta, notes}: task = EvalScope TaskConfig arguments (no key; dataset_id of a local
    dataset relative to the run directory when copied there), meta = what the report needs."""
    plan = s["plan"]
    notes = []
    preset_name = s.get("preset")
    if preset_name not in PRESETS:
        raise AccuracyTaskError("accuracy_preset %r is not one of %s." % (preset_name, ", ".join(sorted(PRESETS))))
    preset = copy.deepcopy(PRESETS[preset_name])

    datasets = list(s.get("datasets") or preset["datasets"])
    if not datasets:
        raise AccuracyTaskError("No dataset to evaluate: set accuracy_datasets or an accuracy_preset with datasets.")
    dataset_args = copy.deepcopy(preset.get("dataset_args", {})) if not s.get("datasets") else {}
    for name, args in (s.get("dataset_args") or {}).items():
        dataset_args.setdefault(name, {}).update(args or {})
    dataset_args = {k: v for k, v in dataset_args.items() if k in datasets}
    limit = _limit(s.get("limit") if s.get("limit") not in (None, "") else preset.get("limit"))

    # Where each dataset comes from.
    dataset_dir = s.get("dataset_dir") or (s.get("sample_dir") if preset.get("sample_dir") else None)
    is_sample_dir = bool(dataset_dir) and dataset_dir == s.get("sample_dir")
    readmes = s.get("local_readmes") or {}
    sources = {}
    for name in datasets:
        args = dataset_args.setdefault(name, {})
        if args.get("dataset_id"):
            sources[name] = {"source": "given", "path": args["dataset_id"], "sample": False}
        elif dataset_dir and readmes.get(name) is not None:
            subsets = readme_subsets(readmes[name])
            if not subsets and not args.get("subset_list"):
                raise AccuracyTaskError(
                    "%s/%s/README.md names no subsets: EvalScope's local layout needs a YAML front matter with "
                    "configs: (config_name and data_files per subset), or give subset_list in "
                    "accuracy_dataset_args." % (dataset_dir, name)
                )
            if args.get("subset_list") and subsets:
                missing = [x for x in args["subset_list"] if x not in subsets]
                if missing:
                    raise AccuracyTaskError(
                        "%s/%s lacks the subset(s) %s; its README.md names %s (set subset_list in "
                        "accuracy_dataset_args to those)." % (dataset_dir, name, ", ".join(missing), ", ".join(subsets))
                    )
            elif not args.get("subset_list"):
                args["subset_list"] = subsets
            remote = bool(s.get("dataset_dir_remote"))
            args["dataset_id"] = ("%s/%s" % (dataset_dir.rstrip("/"), name)) if remote else "datasets/%s" % name
            sources[name] = {
                "source": "local",
                "path": "%s/%s" % (dataset_dir.rstrip("/"), name),
                "copy": not remote,
                "sample": is_sample_dir,
                "subsets": subsets,
            }
        else:
            sources[name] = {"source": "hub:%s" % s.get("dataset_hub", "modelscope"), "sample": False}
    hub_needed = [n for n in datasets if sources[n]["source"].startswith("hub:")]
    offline = s.get("offline")
    if offline is None:
        offline = not hub_needed
    if offline and hub_needed:
        raise AccuracyTaskError(
            "Offline, but %s %s not under %s: put %s there in EvalScope's local layout, or set "
            "accuracy_offline: false to fetch from %s."
            % (
                ", ".join(hub_needed),
                "is" if len(hub_needed) == 1 else "are",
                dataset_dir or "accuracy_dataset_dir (unset)",
                "it" if len(hub_needed) == 1 else "them",
                s.get("dataset_hub", "modelscope"),
            )
        )

    # Mode: the model's own unless asked; hybrid models switch with enable_thinking.
    kind = plan.get("thinking") or "hybrid"
    thinking = s.get("thinking")
    if thinking is None:
        thinking = preset.get("thinking", kind == "thinking")
        if kind == "instruct":
            thinking = False
        elif kind == "thinking":
            thinking = True
    thinking = bool(thinking)
    if kind == "instruct" and thinking:
        raise AccuracyTaskError(
            "%s has no thinking mode (an Instruct model); set accuracy_thinking: false." % plan.get("model")
        )
    if kind == "thinking" and not thinking:
        raise AccuracyTaskError("%s always thinks (a Thinking model); set accuracy_thinking: true." % plan.get("model"))

    # Sampling: Qwen3's recommendation for the mode, then the preset's, then what was set.
    gen = dict(SAMPLING[thinking])
    gen.update(preset.get("generation", {}))
    for key in ("temperature", "top_p", "top_k", "presence_penalty"):
        if s.get(key) is not None:
            gen[key] = s[key]

    # max_tokens within the context the plan allows, leaving room for the prompt.
    max_model_len = int(plan["max_model_len"])
    budget = int(s.get("prompt_budget") or 0)
    ceiling = max_model_len - budget
    if ceiling <= 0:
        raise AccuracyTaskError(
            "accuracy_prompt_budget (%d) leaves no room to answer in max_model_len %d; lower it."
            % (budget, max_model_len)
        )
    wanted = s.get("max_tokens") or preset.get("max_tokens") or min(QWEN3_MAX_OUTPUT, ceiling)
    max_tokens = min(int(wanted), ceiling)
    if max_tokens < int(wanted):
        notes.append(
            "max_tokens %d lowered to %d: max_model_len %d minus a prompt budget of %d"
            % (int(wanted), max_tokens, max_model_len, budget)
        )

    # Concurrency within what the service admits (max-concurrency per instance x instances);
    # beyond it requests only queue in HAProxy.
    admits = int(plan.get("max_concurrency_total") or plan.get("max_concurrency") or 1)
    wanted_batch = s.get("eval_batch_size") or preset.get("eval_batch_size") or admits
    eval_batch_size = min(int(wanted_batch), admits)
    if eval_batch_size < int(wanted_batch):
        notes.append(
            "eval_batch_size %d lowered to %d: the service admits %d concurrent requests "
            "(max-concurrency %s x %s instance(s))"
            % (int(wanted_batch), eval_batch_size, admits, plan.get("max_concurrency"), plan.get("instances"))
        )

    stream = s.get("stream")
    if stream is None:
        stream = preset.get("stream", True)
    timeout = s.get("request_timeout") or preset.get("timeout") or 3600
    gen.update(max_tokens=max_tokens, stream=bool(stream), timeout=timeout)
    if s.get("retries") is not None:
        gen["retries"] = int(s["retries"])
    if kind == "hybrid":
        gen["extra_body"] = {"chat_template_kwargs": {"enable_thinking": thinking}}
    extra = copy.deepcopy(s.get("generation_config") or {})
    if "extra_body" in extra and "extra_body" in gen:
        gen["extra_body"].update(extra.pop("extra_body") or {})
    gen.update(extra)

    task = {
        "model": s["served_model_name"],
        "eval_type": "openai_api",
        "api_url": s["endpoint"],
        "datasets": datasets,
        "dataset_args": dataset_args,
        "dataset_hub": s.get("dataset_hub", "modelscope"),
        "eval_batch_size": eval_batch_size,
        "generation_config": gen,
        "limit": limit,
        "seed": s.get("seed", 42),
    }
    if s.get("hub_cache_dir"):
        task["dataset_dir"] = s["hub_cache_dir"]
    meta = {
        "preset": preset_name,
        "mode": _mode_name(thinking),
        "thinking": thinking,
        "model_kind": kind,
        "offline": bool(offline),
        "sources": sources,
        "copies": [{"name": n, "path": sources[n]["path"]} for n in datasets if sources[n].get("copy")],
        "limit": limit,
        "requested_subsets": {
            n: (s.get("dataset_args") or {}).get(n, {}).get("subset_list")
            or (
                PRESETS[preset_name].get("dataset_args", {}).get(n, {}).get("subset_list")
                if not s.get("datasets")
                else None
            )
            for n in datasets
        },
        "few_shot": {n: dataset_args.get(n, {}).get("few_shot_num") for n in datasets},
    }
    return {"task": task, "meta": meta, "notes": notes}
