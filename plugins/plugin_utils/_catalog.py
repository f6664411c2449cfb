# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""The vendor guide's tables as data, in one place.

Source: the Vastai Qwen3 deployment guide (hardware requirements, model support, usage limits)
and Qwen3's config.json values. Every planner, filter, lookup, test and generated document reads
these tables; nothing else restates them.
"""

from __future__ import annotations

# re-exported: the catalog is where callers look for the cards
from ansible_collections.vacc.qwen3.plugins.module_utils._cards import CARDS  # noqa: F401 pylint: disable=unused-import

K = 1024  # the guide's "56k", "100k", "128k" are multiples of 1024 (56k = 57344)

# ---------------------------------------------------------------- hardware
CARDS_PER_SERVER = 4  # a VA16 server holds 4 cards = 16 dies (the guide's "单台 VA16（4*128G）服务器")

# The guide's minimum-hardware table, per family group.
MIN_HARDWARE = {
    "dense": {"cards": 1, "card_choices": ["VA16", "VA1L", "VA10L"],
              "text": "one VA16 (128G), one VA1L (64G) or one VA10L (128G) card"},
    "30B-A3B": {"cards": 1, "card_choices": ["VA16", "VA1L", "VA10L"],
                "text": "one VA16 (128G), one VA1L (64G) or one VA10L (128G) card"},
    "235B-A22B": {"cards": 4, "card_choices": ["VA16"],
                  "text": "one VA16 server (4 x 128G cards)"},
}

# ---------------------------------------------------------------- architecture (config.json)
# layers, hidden, q/kv heads, intermediate (or MoE expert size), params total/active (billions).
# head_dim is 128 for every Qwen3; KV bytes/token (bf16) = 2 * layers * kv_heads * 128 * 2.
ARCH = {
    "0.6B": dict(kind="dense", layers=28, hidden=1024, heads=16, kv_heads=8, intermediate=3072,
                 tied_embeddings=True, params_b=0.596, active_b=0.596),
    "1.7B": dict(kind="dense", layers=28, hidden=2048, heads=16, kv_heads=8, intermediate=6144,
                 tied_embeddings=True, params_b=1.721, active_b=1.721),
    "4B": dict(kind="dense", layers=36, hidden=2560, heads=32, kv_heads=8, intermediate=9728,
               tied_embeddings=True, params_b=4.022, active_b=4.022),
    "8B": dict(kind="dense", layers=36, hidden=4096, heads=32, kv_heads=8, intermediate=12288,
               tied_embeddings=False, params_b=8.191, active_b=8.191),
    "14B": dict(kind="dense", layers=40, hidden=5120, heads=40, kv_heads=8, intermediate=17408,
                tied_embeddings=False, params_b=14.768, active_b=14.768),
    "32B": dict(kind="dense", layers=64, hidden=5120, heads=64, kv_heads=8, intermediate=25600,
                tied_embeddings=False, params_b=32.762, active_b=32.762),
    "30B-A3B": dict(kind="moe", layers=48, hidden=2048, heads=32, kv_heads=4, intermediate=768,
                    experts=128, experts_per_token=8, tied_embeddings=False,
                    params_b=30.532, active_b=3.353),
    "235B-A22B": dict(kind="moe", layers=94, hidden=4096, heads=64, kv_heads=4, intermediate=1536,
                      experts=128, experts_per_token=8, tied_embeddings=False,
                      params_b=235.094, active_b=22.191),
}
HEAD_DIM = 128
VOCAB_SIZE = 151936
# Native context of the original Qwen3 release; YaRN (factor 4 over 32768) reaches 131072.
NATIVE_CONTEXT = 40960
YARN_ORIGINAL_MAX_POSITION = 32768
# The 2507 releases are natively 256k (262144) and need no rope scaling within the guide's limits.
NATIVE_CONTEXT_2507 = 262144

# ---------------------------------------------------------------- usage limits (使用限制)
# family -> list of (TPs the row covers, max_input_len or None, max_model_len). The guide gives no
# max-input-len for 0.6B/1.7B. max-concurrency is 4 and MTP unsupported for every row.
MAX_CONCURRENCY = 4
LIMITS = {
    "0.6B": [((2, 4, 8), None, 32 * K)],
    "1.7B": [((2, 4, 8), None, 32 * K)],
    "4B": [((2,), 56 * K, 64 * K), ((4, 8), 100 * K, 128 * K)],
    "8B": [((2,), 56 * K, 64 * K), ((4, 8), 100 * K, 128 * K)],
    "14B": [((2, 4), 56 * K, 64 * K), ((8,), 100 * K, 128 * K)],
    "32B": [((2, 4), 56 * K, 64 * K), ((8,), 100 * K, 128 * K)],
    "30B-A3B": [((2,), 56 * K, 64 * K), ((4,), 100 * K, 128 * K)],
    "235B-A22B": [((16,), 100 * K, 128 * K), ((32,), 100 * K, 128 * K)],
}

# ---------------------------------------------------------------- models (模型支持)
# name, hf repo, modelscope repo (None = the guide lists none), family, dtype, quant method,
# TPs exactly as the guide lists them, thinking mode.
#   thinking: hybrid (enable_thinking switch), instruct (2507 Instruct/Coder: never thinks),
#             thinking (2507 Thinking: always thinks).
_HF = "https://huggingface.co/"
_MODELS = [
    # --- LLM-Dense-GQA
    ("Qwen3-0.6B", "Qwen/Qwen3-0.6B", "Qwen/Qwen3-0.6B", "0.6B", "BF16", None, (2, 4, 8), "hybrid"),
    ("Qwen3-0.6B-FP8", "Qwen/Qwen3-0.6B-FP8", "Qwen/Qwen3-0.6B-FP8", "0.6B", "FP8", "fp8", (2, 4, 8), "hybrid"),
    ("Qwen3-0_6B_int4_awq", "AngelSlim/Qwen3-0_6B_int4_awq", "AngelSlim/Qwen3-0_6B_int4_awq", "0.6B", "INT4", "awq", (2, 4, 8), "hybrid"),
    ("Qwen3-0.6B-GPTQ-Int4", "JunHowie/Qwen3-0.6B-GPTQ-Int4", "JunHowie/Qwen3-0.6B-GPTQ-Int4", "0.6B", "INT4", "gptq", (2, 4, 8), "hybrid"),
    ("Qwen3-1.7B", "Qwen/Qwen3-1.7B", "Qwen/Qwen3-1.7B", "1.7B", "BF16", None, (2, 4, 8), "hybrid"),
    ("Qwen3-1.7B-FP8", "Qwen/Qwen3-1.7B-FP8", "Qwen/Qwen3-1.7B-FP8", "1.7B", "FP8", "fp8", (2, 4, 8), "hybrid"),
    ("Qwen3-1_7B_int4_awq", "AngelSlim/Qwen3-1_7B_int4_awq", "AngelSlim/Qwen3-1_7B_int4_awq", "1.7B", "INT4", "awq", (2, 4, 8), "hybrid"),
    ("Qwen3-1.7B-GPTQ-Int4", "JunHowie/Qwen3-1.7B-GPTQ-Int4", "JunHowie/Qwen3-1.7B-GPTQ-Int4", "1.7B", "INT4", "gptq", (2, 4, 8), "hybrid"),
    ("Qwen3-4B", "Qwen/Qwen3-4B", "Qwen/Qwen3-4B", "4B", "BF16", None, (2, 8), "hybrid"),
    ("Qwen3-4B-FP8", "Qwen/Qwen3-4B-FP8", "Qwen/Qwen3-4B-FP8", "4B", "FP8", "fp8", (2, 8), "hybrid"),
    ("Qwen3-4B-Instruct-2507-FP8", "Qwen/Qwen3-4B-Instruct-2507-FP8", "Qwen/Qwen3-4B-Instruct-2507-FP8", "4B", "FP8", "fp8", (2, 8), "instruct"),
    ("Qwen3-4B-Thinking-2507-FP8", "Qwen/Qwen3-4B-Thinking-2507-FP8", "Qwen/Qwen3-4B-Thinking-2507-FP8", "4B", "FP8", "fp8", (2, 8), "thinking"),
    ("Qwen3-4B-AWQ", "Qwen/Qwen3-4B-AWQ", "Qwen/Qwen3-4B-AWQ", "4B", "INT4", "awq", (2, 4), "hybrid"),
    ("Qwen3-4B-GPTQ-Int4", "JunHowie/Qwen3-4B-GPTQ-Int4", "JunHowie/Qwen3-4B-GPTQ-Int4", "4B", "INT4", "gptq", (2, 8), "hybrid"),
    ("Qwen3-8B", "Qwen/Qwen3-8B", "Qwen/Qwen3-8B", "8B", "BF16", None, (2, 8), "hybrid"),
    ("Qwen3-8B-FP8", "Qwen/Qwen3-8B-FP8", "Qwen/Qwen3-8B-FP8", "8B", "FP8", "fp8", (2, 8), "hybrid"),
    ("Qwen3-8B-AWQ", "Qwen/Qwen3-8B-AWQ", "Qwen/Qwen3-8B-AWQ", "8B", "INT4", "awq", (2, 4, 8), "hybrid"),
    ("Qwen3-8B-GPTQ-Int4", "JunHowie/Qwen3-8B-GPTQ-Int4", "JunHowie/Qwen3-8B-GPTQ-Int4", "8B", "INT4", "gptq", (2, 8), "hybrid"),
    ("Qwen3-14B", "Qwen/Qwen3-14B", "Qwen/Qwen3-14B", "14B", "BF16", None, (2, 4, 8), "hybrid"),
    ("Qwen3-14B-FP8", "Qwen/Qwen3-14B-FP8", "Qwen/Qwen3-14B-FP8", "14B", "FP8", "fp8", (2, 4, 8), "hybrid"),
    ("Qwen3-14B-AWQ", "JunHowie/Qwen3-14B-AWQ", "JunHowie/Qwen3-14B-AWQ", "14B", "INT4", "awq", (2, 4, 8), "hybrid"),
    ("Qwen3-14B-GPTQ-Int4", "JunHowie/Qwen3-14B-GPTQ-Int4", "JunHowie/Qwen3-14B-GPTQ-Int4", "14B", "INT4", "gptq", (2, 4, 8), "hybrid"),
    ("Qwen3-32B", "Qwen/Qwen3-32B", "Qwen/Qwen3-32B", "32B", "BF16", None, (4, 8), "hybrid"),
    ("Qwen3-32B-FP8", "Qwen/Qwen3-32B-FP8", "Qwen/Qwen3-32B-FP8", "32B", "FP8", "fp8", (4, 8), "hybrid"),
    ("Qwen3-32B-AWQ", "Qwen/Qwen3-32B-AWQ", "Qwen/Qwen3-32B-AWQ", "32B", "INT4", "awq", (4, 8), "hybrid"),
    ("Qwen3-32B-GPTQ-Int4", "JunHowie/Qwen3-32B-GPTQ-Int4", "JunHowie/Qwen3-32B-GPTQ-Int4", "32B", "INT4", "gptq", (4, 8), "hybrid"),
    # --- LLM-MOE-GQA
    ("Qwen3-30B-A3B-Instruct-2507-GPTQ-Int4", "lancew/Qwen3-30B-A3B-Instruct-2507-GPTQ-Int4", None, "30B-A3B", "INT4", "gptq", (2, 4), "instruct"),
    ("Qwen3-30B-A3B-Thinking-2507-GPTQ-Int4", "lancew/Qwen3-30B-A3B-Thinking-2507-GPTQ-Int4", None, "30B-A3B", "INT4", "gptq", (2, 4), "thinking"),
    ("Qwen3-30B-A3B-GPTQ-Int4", "Qwen/Qwen3-30B-A3B-GPTQ-Int4", "Qwen/Qwen3-30B-A3B-GPTQ-Int4", "30B-A3B", "INT4", "gptq", (2, 4), "hybrid"),
    ("Qwen3-30B-A3B-FP8", "Qwen/Qwen3-30B-A3B-FP8", "Qwen/Qwen3-30B-A3B-FP8", "30B-A3B", "FP8", "fp8", (2, 4), "hybrid"),
    ("Qwen3-30B-A3B-Instruct-2507-FP8", "Qwen/Qwen3-30B-A3B-Instruct-2507-FP8",
     "Qwen/Qwen3-30B-A3B-Instruct-2507-FP8", "30B-A3B", "FP8", "fp8", (2, 4), "instruct"),
    ("Qwen3-30B-A3B-Thinking-2507-FP8", "Qwen/Qwen3-30B-A3B-Thinking-2507-FP8",
     "Qwen/Qwen3-30B-A3B-Thinking-2507-FP8", "30B-A3B", "FP8", "fp8", (2, 4), "thinking"),
    # The guide links this row's ModelScope entry to Qwen3-30B-A3B-Instruct-2507-FP8 by mistake.
    ("Qwen3-Coder-30B-A3B-Instruct-FP8", "Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8",
     "Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8", "30B-A3B", "FP8", "fp8", (2, 4), "instruct"),
    ("Qwen3-235B-A22B-FP8", "Qwen/Qwen3-235B-A22B-FP8", "Qwen/Qwen3-235B-A22B-FP8", "235B-A22B", "FP8", "fp8", (16, 32), "hybrid"),
    ("Qwen3-235B-A22B-Instruct-2507-FP8", "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8",
     "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8", "235B-A22B", "FP8", "fp8", (16, 32), "instruct"),
    ("Qwen3-235B-A22B-Thinking-2507-FP8", "Qwen/Qwen3-235B-A22B-Thinking-2507-FP8",
     "Qwen/Qwen3-235B-A22B-Thinking-2507-FP8", "235B-A22B", "FP8", "fp8", (16, 32), "thinking"),
]

# Known failures the guide records, keyed by (model, tp).
KNOWN_FAILURES = {
    # Qwen's GPTQ/AWQ troubleshooting: intermediate 9728 / 8 = 1216 is not a multiple of group 128.
    ("Qwen3-4B-AWQ", 8): "the guide's footnote: its intermediate size 9728 split 8 ways is not a "
                         "multiple of the quantization group size 128",
}

# Quantization settings the platform does not load, by quant method (the guide's TIPS: only
# desc_act=False GPTQ checkpoints are supported). The planner refuses a checkpoint whose
# quantization_config (config.json, or quantize_config.json as vLLM reads it) matches one.
UNSUPPORTED_QUANT = {"gptq": {"desc_act": True}}


def _model(row):
    name, hf, ms, family, dtype, quant, tps, thinking = row
    arch = ARCH[family]
    # The 2507 releases and Qwen3-Coder (July 2025) are natively 256k.
    long_native = "2507" in name or "Coder" in name
    return {
        "name": name,
        "hf_repo": hf,
        "hf_url": _HF + hf,
        "modelscope_repo": ms,
        "modelscope_url": ("https://www.modelscope.cn/models/" + ms) if ms else None,
        "family": family,
        "kind": arch["kind"],
        "params": family,
        "params_b": arch["params_b"],
        "active_params_b": arch["active_b"],
        "dtype": dtype,
        "quant_method": quant,
        "tp": list(tps),
        "thinking": thinking,
        "release": "2507" if long_native else "2504",
        "native_context": NATIVE_CONTEXT_2507 if long_native else NATIVE_CONTEXT,
        "mtp": False,
    }


MODELS = {row[0]: _model(row) for row in _MODELS}


def limits_for(family, tp):
    """The usage-limits row of `family` covering `tp`, or None."""
    for tps, max_input, max_model in LIMITS[family]:
        if tp in tps:
            return {"max_input_len": max_input, "max_model_len": max_model,
                    "max_concurrency": MAX_CONCURRENCY, "mtp": False}
    return None


def kv_bytes_per_token(family, dtype_bytes=2):
    arch = ARCH[family]
    return 2 * arch["layers"] * arch["kv_heads"] * HEAD_DIM * dtype_bytes


def catalog():
    """The catalog as a list of dicts (order of the guide), with limits per TP attached."""
    out = []
    for m in MODELS.values():
        entry = dict(m)
        entry["arch"] = dict(ARCH[m["family"]], head_dim=HEAD_DIM, vocab_size=VOCAB_SIZE,
                             kv_bytes_per_token_bf16=kv_bytes_per_token(m["family"]))
        entry["limits"] = {str(tp): limits_for(m["family"], tp) for tp in m["tp"]}
        entry["known_failures"] = {str(tp): msg for (name, tp), msg in KNOWN_FAILURES.items()
                                   if name == m["name"]}
        entry["min_hardware"] = MIN_HARDWARE["dense" if m["kind"] == "dense" else m["family"]]["text"]
        out.append(entry)
    return out
