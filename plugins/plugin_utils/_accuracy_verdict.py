# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Verdicts on an accuracy run: against the Qwen3 technical report's figures, or against a baseline
run (e.g. BF16 vs FP8/INT4 of the same model) paired item by item.

Each dataset gets one of three verdicts, with the reason in words:
- "no significant regression"
- "regression": the run is significantly worse (one-sided test at alpha) by more than the tolerance
- "not comparable": different datasets, item sets, modes, sample sizes or models; stated, not hidden
The run's verdict is "regression" when any dataset regressed, "not comparable" when no dataset could
be compared, and "no significant regression" otherwise (the not comparable ones are listed).

Tests:
- published: exact one-sided binomial test of the run's correct count against the published
  proportion (the figure is treated as fixed; its own sampling error and the report's prompt
  settings are unknown), only for a run over the whole benchmark in the report's mode.
- baseline: McNemar's exact test on the discordant pairs of per-item correctness (items matched by
  id and input hash). For non-binary item scores, the same sign test on items that got worse vs better.
"""

from __future__ import annotations

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _accuracy_published as pub
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _accuracy_stats as st

NO_REGRESSION = "no significant regression"
REGRESSION = "regression"
NOT_COMPARABLE = "not comparable"


def _round(x, nd=4):
    return None if x is None else round(float(x), nd)


def _sig(p):
    # p-values keep 4 significant digits: a tiny p must not round to 0
    return float("%.4g" % p)


def _not_comparable(dataset, reasons, **extra):
    out = {"dataset": dataset, "verdict": NOT_COMPARABLE, "reasons": list(reasons)}
    out.update(extra)
    return out


def compare_published(summary, model, alpha=0.05, tolerance=0.0):
    """summary: {dataset: entry} of this run; model: {family, thinking (hybrid/instruct/thinking),
    dtype, name}. Returns a list of per-dataset verdicts."""
    verdicts = []
    for dataset in sorted(summary):
        entry = summary[dataset]
        mode = entry.get("mode")
        ref, why = pub.lookup(dataset, model.get("family"), model.get("thinking"), mode)
        if ref is None:
            verdicts.append(_not_comparable(dataset, [why], score=_round(entry.get("score"))))
            continue
        reasons = []
        if entry.get("sample"):
            reasons.append("the run used the collection's made-up sample, not %s" % ref["title"])
        if entry.get("limit") not in (None, 0, 1.0):
            reasons.append(
                "the run was limited (limit %s) while the report used the whole benchmark" % entry.get("limit")
            )
        if entry.get("subset_list"):
            reasons.append("the run used subsets %s only" % ", ".join(entry["subset_list"]))
        if ref["full_n"] and entry.get("n") != ref["full_n"]:
            reasons.append("the run has %s items; the whole benchmark has %s" % (entry.get("n"), ref["full_n"]))
        if not entry.get("binary", True):
            reasons.append("the run's item scores are not right/wrong")
        delta = _round(entry["score"] - ref["score"]) if entry.get("score") is not None else None
        base = {
            "dataset": dataset,
            "against": "published",
            "reference": ref["score"],
            "reference_source": "%s, %s, Qwen3-%s %s mode" % (ref["source"], ref["title"], model.get("family"), mode),
            "score": _round(entry.get("score")),
            "n": entry.get("n"),
            "delta": delta,
        }
        if model.get("dtype") and model.get("dtype") != "BF16":
            base["note"] = "the published figure is for the BF16 model; this checkpoint is %s" % model["dtype"]
        if reasons:
            verdicts.append(_not_comparable(dataset, reasons, **{k: v for k, v in base.items() if k != "dataset"}))
            continue
        p = st.binomial_below(int(entry["correct"]), int(entry["n"]), ref["score"])
        regressed = p < alpha and (ref["score"] - entry["score"]) > tolerance
        base.update(
            test="exact binomial, one-sided (below the published proportion)",
            p_value=_sig(p),
            verdict=REGRESSION if regressed else NO_REGRESSION,
            reasons=[_reason(regressed, p, alpha, delta, tolerance)],
        )
        verdicts.append(base)
    return verdicts


def _reason(regressed, p, alpha, delta, tolerance):
    if regressed:
        return "significantly lower (p=%.3g < %s) by %.2f points" % (p, alpha, -delta * 100)
    if p < alpha:
        return "significantly lower (p=%.3g) but within the tolerance of %.2f points" % (p, tolerance * 100)
    return "not significantly lower (p=%.3g >= %s)" % (p, alpha)


def _index(items):
    return {str(it["id"]): it for it in items}


def compare_baseline(summary, items, baseline, baseline_items, alpha=0.05, tolerance=0.0):
    """summary/baseline: {dataset: entry}; items/baseline_items: {dataset: [item rows]} with id,
    correct (bool), score, input_sha. Returns a list of per-dataset verdicts."""
    verdicts = []
    for dataset in sorted(set(summary) | set(baseline)):
        if dataset not in baseline:
            verdicts.append(_not_comparable(dataset, ["the baseline has no %s" % dataset]))
            continue
        if dataset not in summary:
            verdicts.append(_not_comparable(dataset, ["this run has no %s (the baseline has)" % dataset]))
            continue
        cur, ref = summary[dataset], baseline[dataset]
        base = {
            "dataset": dataset,
            "against": "baseline",
            "reference": _round(ref.get("score")),
            "score": _round(cur.get("score")),
            "n": cur.get("n"),
            "reference_n": ref.get("n"),
            "delta": _round(cur["score"] - ref["score"]) if None not in (cur.get("score"), ref.get("score")) else None,
        }
        reasons = []
        if cur.get("mode") != ref.get("mode"):
            reasons.append("modes differ: %s here, %s in the baseline" % (cur.get("mode"), ref.get("mode")))
        if cur.get("n") != ref.get("n"):
            reasons.append("sample sizes differ: %s items here, %s in the baseline" % (cur.get("n"), ref.get("n")))
        for key, what in (("few_shot", "few-shot settings"), ("subset_list", "subsets")):
            if cur.get(key) != ref.get(key):
                reasons.append("%s differ: %s here, %s in the baseline" % (what, cur.get(key), ref.get(key)))
        if cur.get("metric") != ref.get("metric"):
            reasons.append("metrics differ: %s here, %s in the baseline" % (cur.get("metric"), ref.get("metric")))
        cur_items, ref_items = _index(items.get(dataset, [])), _index(baseline_items.get(dataset, []))
        if not reasons:
            if not cur_items or not ref_items:
                reasons.append("per-item results are missing (%s)" % ("here" if not cur_items else "in the baseline"))
            elif set(cur_items) != set(ref_items):
                only = len(set(cur_items) ^ set(ref_items))
                reasons.append("the item sets differ (%d items in only one run)" % only)
            else:
                changed = sum(
                    1
                    for k in cur_items
                    if cur_items[k].get("input_sha")
                    and ref_items[k].get("input_sha")
                    and cur_items[k]["input_sha"] != ref_items[k]["input_sha"]
                )
                if changed:
                    reasons.append(
                        "%d items have different prompts under the same ids (different data or "
                        "prompt settings)" % changed
                    )
        if reasons:
            verdicts.append(_not_comparable(dataset, reasons, **{k: v for k, v in base.items() if k != "dataset"}))
            continue
        binary = cur.get("binary", True) and ref.get("binary", True)
        if binary:
            worse = sum(1 for k in cur_items if ref_items[k]["correct"] and not cur_items[k]["correct"])
            better = sum(1 for k in cur_items if cur_items[k]["correct"] and not ref_items[k]["correct"])
            test = "McNemar exact (binomial on discordant pairs), one-sided"
        else:
            worse = sum(1 for k in cur_items if float(cur_items[k]["score"]) < float(ref_items[k]["score"]))
            better = sum(1 for k in cur_items if float(cur_items[k]["score"]) > float(ref_items[k]["score"]))
            test = "sign test on per-item score changes (non-binary scores), one-sided"
        p_one, p_two = st.mcnemar_exact(worse, better)
        delta = cur["score"] - ref["score"]
        regressed = p_one < alpha and -delta > tolerance
        base.update(
            test=test,
            worse=worse,
            better=better,
            p_value=_sig(p_one),
            p_two_sided=_sig(p_two),
            verdict=REGRESSION if regressed else NO_REGRESSION,
            reasons=[
                _reason(regressed, p_one, alpha, delta, tolerance) + "; %d items got worse, %d better" % (worse, better)
            ],
        )
        verdicts.append(base)
    return verdicts


def overall(verdicts):
    """The run's verdict from its datasets' verdicts, and a sentence saying it."""
    if not verdicts:
        return NOT_COMPARABLE, "nothing to compare"
    regressed = [v["dataset"] for v in verdicts if v["verdict"] == REGRESSION]
    unusable = [v["dataset"] for v in verdicts if v["verdict"] == NOT_COMPARABLE]
    compared = len(verdicts) - len(unusable)
    if regressed:
        return REGRESSION, "regression on %s" % ", ".join(regressed)
    if compared == 0:
        return NOT_COMPARABLE, "no dataset is comparable (%s)" % ", ".join(unusable)
    text = "no significant regression on %d dataset(s)" % compared
    if unusable:
        text += "; not comparable: %s" % ", ".join(unusable)
    return NO_REGRESSION, text
