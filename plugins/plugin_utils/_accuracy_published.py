# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Published Qwen3 accuracy figures, with where they come from and how they were measured.

Source: Qwen3 Technical Report, arXiv:2505.09388 (Qwen team, May 2025). Figures are percentages
as printed there. `post-trained` figures are for the hybrid Qwen3 models (Qwen3-0.6B ... -32B,
-30B-A3B) in thinking and non-thinking mode; `base` figures for the Qwen3-*-Base checkpoints.
None of the 2507 Instruct/Thinking models, the Coder model or any quantized checkpoint has figures
here: Qwen publishes no FP8/AWQ/GPTQ accuracy deltas, so a quantized hybrid model is compared with
its BF16 figure (which is the point: the loss the quantization costs) and says so.

Keys are EvalScope benchmark names; `full_n` is the item count of EvalScope's default evaluation
split of that benchmark (the figure only compares with a run over all of it).
"""

from __future__ import annotations

SOURCE = "Qwen3 Technical Report, arXiv:2505.09388"

PUBLISHED = {
    "ceval": {
        "title": "C-Eval",
        "model_kind": "post-trained",
        "metric": "acc",
        "full_n": 1346,  # EvalScope's ceval: the val split of all 52 subjects
        "modes": ("thinking", "non-thinking"),
        "scores": {
            "0.6B": {"thinking": 50.4, "non-thinking": 42.6},
            "1.7B": {"thinking": 68.1, "non-thinking": 61.0},
            "4B": {"thinking": 77.5, "non-thinking": 72.2},
            "8B": {"thinking": 83.4, "non-thinking": 77.9},
            "14B": {"thinking": 86.2, "non-thinking": 81.0},
            "32B": {"thinking": 87.3, "non-thinking": 83.3},
            "30B-A3B": {"thinking": 86.6, "non-thinking": 82.9},
        },
    },
    "math_500": {
        "title": "MATH-500",
        "model_kind": "post-trained",
        "metric": "acc",
        "full_n": 500,
        "modes": ("thinking", "non-thinking"),
        "scores": {
            "0.6B": {"thinking": 77.6, "non-thinking": 55.2},
            "4B": {"thinking": 97.0, "non-thinking": 84.8},
            "8B": {"thinking": 97.4, "non-thinking": 87.4},
            "32B": {"thinking": 97.2, "non-thinking": 88.6},
        },
    },
    "gsm8k": {
        "title": "GSM8K (4-shot, CoT)",
        "model_kind": "base",
        "metric": "acc",
        "full_n": 1319,  # the test split
        "modes": ("base",),
        "scores": {
            "0.6B": {"base": 59.59},
            "1.7B": {"base": 75.44},
            "4B": {"base": 87.79},
            "8B": {"base": 89.84},
            "14B": {"base": 92.49},
            "32B": {"base": 93.40},
            "30B-A3B": {"base": 91.81},
        },
    },
}


def lookup(dataset, family, thinking_kind, mode):
    """The published figure for a run, or the reason there is none.

    dataset: EvalScope benchmark name; family: the catalog's size family (e.g. "8B", "30B-A3B");
    thinking_kind: the catalog's "hybrid" / "instruct" / "thinking" (hybrid = the report's
    post-trained models); mode: "thinking" or "non-thinking" as evaluated.

    Returns (entry, None) with entry = {score (0..1), percent, title, mode, model_kind, metric,
    full_n, source}, or (None, reason)."""
    table = PUBLISHED.get(dataset)
    if table is None:
        return None, "the technical report has no %s figure in this collection's table" % dataset
    if table["model_kind"] == "base":
        return None, (
            "the report's %s figure is for the Qwen3-%s-Base model; this is the post-trained "
            "model" % (table["title"], family)
        )
    if thinking_kind != "hybrid":
        return None, (
            "the report's figures are for the hybrid Qwen3 models; this is a%s %s model (a later, "
            "separate release)" % ("n" if thinking_kind == "instruct" else "", thinking_kind)
        )
    by_family = table["scores"].get(family)
    if by_family is None:
        return None, "the report gives no %s figure for Qwen3-%s in this collection's table" % (table["title"], family)
    if mode not in by_family:
        return None, "the report gives no %s figure for Qwen3-%s in %s mode" % (table["title"], family, mode)
    percent = by_family[mode]
    return {
        "score": percent / 100.0,
        "percent": percent,
        "title": table["title"],
        "mode": mode,
        "model_kind": table["model_kind"],
        "metric": table["metric"],
        "full_n": table["full_n"],
        "source": SOURCE,
    }, None


# The vendor's own GPTQ-Int4 recipe for Qwen3-30B-A3B (the guide's quantization section, Vastai/VastModelZOO
# quant README): the BF16 model and its W4A16 output evaluated the same way on NVIDIA GPUs (upstream vLLM, TP2,
# max-model-len 131072; Instruct T 0.7 / top_p 0.8 / max_tokens 16384, Thinking T 0.6 / top_p 0.95 /
# max_tokens 81920). Shown beside a run of a 30B-A3B 2507 model as reference rows, never tested against: the
# prompts, sample sizes and engine differ from a run here.
VENDOR_QUANT_SOURCE = "Vastai/VastModelZOO quant README (Qwen3-30B-A3B GPTQ-Int4 with gptqmodel, NVIDIA GPUs)"
VENDOR_QUANT = {
    "instruct": {  # Qwen3-30B-A3B-Instruct-2507: BF16, W4A16
        "aime25": (0.5666, 0.5),
        "gpqa_diamond": (0.667, 0.6263),
        "mmlu_pro": (0.7751, 0.7466),
        "ifeval": (0.8355, 0.8429),
        "live_code_bench": (0.563, 0.491),
    },
    "thinking": {  # Qwen3-30B-A3B-Thinking-2507
        "aime25": (0.7666, 0.8334),
        "gpqa_diamond": (0.6869, 0.6313),
        "mmlu_pro": (0.7784, 0.7617),
        "ifeval": (0.8521, 0.8503),
        "live_code_bench": (0.7922, 0.7687),
    },
}


def vendor_quant_rows(model):
    """Reference rows of the vendor's BF16 vs GPTQ-Int4 evaluation for a 30B-A3B 2507 model (Instruct or
    Thinking, any dtype: the BF16 source and its quantized output both compare with them); [] otherwise."""
    if (model or {}).get("family") != "30B-A3B":
        return []
    table = VENDOR_QUANT.get(model.get("thinking"))
    if not table:
        return []
    return [
        {
            "dataset": d,
            "bf16": b,
            "w4a16": q,
            "delta": round(q - b, 4),
            "model": "Qwen3-30B-A3B-%s-2507" % model["thinking"].capitalize(),
            "source": VENDOR_QUANT_SOURCE,
        }
        for d, (b, q) in sorted(table.items())
    ]
