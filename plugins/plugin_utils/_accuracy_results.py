# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Reads an EvalScope run (1.x native output layout) into per-item correctness and a summary, writes
them next to EvalScope's reports, compares with a baseline or the published figures, and publishes the
run directory on the controller atomically.

EvalScope layout (work_dir = <run>/outputs):
  reviews/<model>/<dataset>_<subset>.jsonl   one row per item: index, messages, sample_score.score.value
  reports/<model>/<dataset>.json             schema 2: metrics[].score, primary_metric_identity, subsets
  predictions/<model>/...                    the answers (what use_cache resumes from)

Written here:
  items/<dataset>.jsonl   {id, subset, index, score, correct, input_sha, target, extracted}
  summary.json            {dataset: {score, n, ci95, ci_method, correct, metric, binary, mode, ...}}
  run.json                what ran: model, endpoint, mode, generation settings, EvalScope version, state
  verdict.json            when compared: per-dataset verdicts and the run's
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _accuracy_published as pub
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _accuracy_stats as st
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _accuracy_verdict as av

CI_WILSON = "wilson"
CI_NORMAL = "normal"


class AccuracyResultsError(Exception):
    pass


def _read_json(path, default=None):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def _read_jsonl(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue  # a line cut short by an interruption
    return rows


def write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


def _model_dir(outputs, kind, model):
    base = os.path.join(outputs, kind)
    if not os.path.isdir(base):
        return None
    names = sorted(d for d in os.listdir(base) if os.path.isdir(os.path.join(base, d)))
    for candidate in (model, (model or "").replace("/", "_"), os.path.basename(model or "")):
        if candidate in names:
            return os.path.join(base, candidate)
    return os.path.join(base, names[0]) if len(names) == 1 else None


def _prompt_sha(messages):
    text = "\x1e".join(
        "%s:%s"
        % (
            m.get("role"),
            m.get("content") if isinstance(m.get("content"), str) else json.dumps(m.get("content"), sort_keys=True),
        )
        for m in messages or []
        if m.get("role") != "assistant"
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _report_subsets(report):
    subsets = []
    for metric in (report or {}).get("metrics", [])[:1]:
        for cat in metric.get("categories", []):
            for sub in cat.get("subsets", []):
                if not sub.get("is_aggregate") and sub.get("name") not in subsets:
                    subsets.append(sub["name"])
    return subsets


def _primary(report):
    ident = (report or {}).get("primary_metric_identity") or {}
    name = ident.get("name")
    for metric in (report or {}).get("metrics", []):
        mid = metric.get("identity") or {}
        if name is None or mid.get("name") == name:
            return mid.get("name"), metric.get("score")
    return name, None


def read_dataset(outputs, model, dataset, other_datasets=()):
    """Items and EvalScope's own score for one dataset of a run."""
    report_dir = _model_dir(outputs, "reports", model)
    review_dir = _model_dir(outputs, "reviews", model)
    report = _read_json(os.path.join(report_dir, dataset + ".json")) if report_dir else None
    metric, evalscope_score = _primary(report)
    subsets = _report_subsets(report)
    files = []
    if review_dir:
        if subsets:
            files = [(s, os.path.join(review_dir, "%s_%s.jsonl" % (dataset, s))) for s in subsets]
        else:  # no report yet (an unfinished run): every review file of this dataset and no other
            longer = [d for d in other_datasets if d != dataset and d.startswith(dataset + "_")]
            for path in sorted(glob.glob(os.path.join(review_dir, dataset + "_*.jsonl"))):
                stem = os.path.basename(path)[: -len(".jsonl")]
                if any(stem.startswith(d + "_") for d in longer):
                    continue
                files.append((stem[len(dataset) + 1 :], path))
    items, excluded = [], 0
    for subset, path in files:
        if not os.path.exists(path):
            continue
        seen = {}
        for row in _read_jsonl(path):
            seen[row.get("index")] = row  # a resumed run may hold a row twice: the last one counts
        for index in sorted(seen, key=lambda i: (str(type(i)), i)):
            row = seen[index]
            score = (row.get("sample_score") or {}).get("score") or {}
            if score.get("status", "success") != "success":
                excluded += 1
                continue
            values = score.get("value") or {}
            key = metric if metric in values else (score.get("main_score_name") or next(iter(values), None))
            if key is None:
                excluded += 1
                continue
            value = float(values[key])
            metric = metric or key
            target = row.get("target")
            items.append(
                {
                    "id": "%s/%s" % (subset, index),
                    "subset": subset,
                    "index": index,
                    "score": value,
                    "correct": value >= 1.0,
                    "input_sha": _prompt_sha(row.get("messages")),
                    "target": target[0] if isinstance(target, list) and len(target) == 1 else target,
                    "extracted": score.get("extracted_prediction"),
                }
            )
    return {
        "items": items,
        "metric": metric,
        "evalscope_score": evalscope_score,
        "excluded": excluded,
        "report": report is not None,
    }


def summarize(items, metric=None, evalscope_score=None):
    """{score, n, ci95, ci_method, correct, binary, subsets} of a dataset's items."""
    n = len(items)
    scores = [it["score"] for it in items]
    binary = all(s in (0.0, 1.0) for s in scores)
    correct = sum(1 for it in items if it["correct"])
    score = (sum(scores) / n) if n else None
    if binary:
        lo, hi = st.wilson_interval(correct, n)
        method = CI_WILSON
    else:
        lo, hi = st.normal_interval(scores)
        method = CI_NORMAL
    subsets = {}
    for it in items:
        sub = subsets.setdefault(it["subset"], {"n": 0, "sum": 0.0})
        sub["n"] += 1
        sub["sum"] += it["score"]
    out = {
        "score": None if score is None else round(score, 6),
        "n": n,
        "correct": correct,
        "ci95": [round(lo, 6), round(hi, 6)],
        "ci_method": method,
        "binary": binary,
        "metric": metric,
        "subsets": {k: {"n": v["n"], "score": round(v["sum"] / v["n"], 6)} for k, v in sorted(subsets.items())},
    }
    if evalscope_score is not None:
        out["evalscope_score"] = round(float(evalscope_score), 6)
        if score is not None and abs(float(evalscope_score) - score) > 1e-6:
            out["note"] = (
                "EvalScope's report says %.6f (it aggregates differently); score is the mean over items"
                % float(evalscope_score)
            )
    return out


def load_summary(path):
    """A summary.json (or a run directory holding one) and its items, for a baseline."""
    if os.path.isdir(path):
        path = os.path.join(path, "summary.json")
    summary = _read_json(path)
    if not isinstance(summary, dict):
        raise AccuracyResultsError("No baseline summary at %s (give a run directory or its summary.json)." % path)
    base = os.path.dirname(os.path.abspath(path))
    items = {}
    for dataset, entry in summary.items():
        rel = entry.get("items") if isinstance(entry, dict) else None
        p = os.path.join(base, rel) if rel else None
        items[dataset] = _read_jsonl(p) if p and os.path.exists(p) else []
    return summary, items


def build(run_dir, run):
    """Write items/ and summary.json (and run.json) into run_dir; return (summary, items)."""
    task = _read_json(os.path.join(run_dir, "task.json")) or {}
    meta = _read_json(os.path.join(run_dir, "meta.json")) or {}
    state = _read_json(os.path.join(run_dir, "state.json")) or {}
    outputs = os.path.join(run_dir, "outputs")
    model = task.get("model")
    datasets = task.get("datasets") or []
    if not datasets:
        raise AccuracyResultsError("%s/task.json names no datasets: not a run of the accuracy role." % run_dir)
    os.makedirs(os.path.join(run_dir, "items"), exist_ok=True)
    summary, all_items = {}, {}
    settled = meta.get("settled") or {}
    sources = settled.get("sources") or {}
    for dataset in datasets:
        got = read_dataset(outputs, model, dataset, datasets)
        if not got["items"] and not got["report"]:
            continue
        entry = summarize(got["items"], got["metric"], got["evalscope_score"])
        src = sources.get(dataset) or {}
        entry.update(
            {
                "mode": settled.get("mode"),
                "model": model,
                "qwen3_model": (run.get("model") or {}).get("name"),
                "limit": task.get("limit"),
                "few_shot": (settled.get("few_shot") or {}).get(dataset),
                "subset_list": (settled.get("requested_subsets") or {}).get(dataset),
                "source": src.get("source"),
                "sample": bool(src.get("sample")),
                "excluded": got["excluded"],
                "items": "items/%s.jsonl" % dataset,
            }
        )
        summary[dataset] = entry
        all_items[dataset] = got["items"]
        with open(os.path.join(run_dir, "items", dataset + ".jsonl"), "w", encoding="utf-8") as f:
            for it in got["items"]:
                f.write(json.dumps(it, ensure_ascii=False, sort_keys=True) + "\n")
    write_json(os.path.join(run_dir, "summary.json"), summary)
    record = dict(run)
    record.update(
        {
            "task": task,
            "state": state,
            "mode": settled.get("mode"),
            "preset": settled.get("preset"),
            "sources": sources,
            "ci95": "Wilson score interval for right/wrong items; mean +- 1.96 standard errors otherwise",
        }
    )
    write_json(os.path.join(run_dir, "run.json"), record)
    return summary, all_items


def compare(summary, items, run, compare_to, alpha, tolerance):
    """Verdicts against 'published' or a baseline summary path."""
    if compare_to == "published":
        verdicts = av.compare_published(summary, run.get("model") or {}, alpha=alpha, tolerance=tolerance)
        against = "published"
    else:
        baseline, baseline_items = load_summary(compare_to)
        verdicts = av.compare_baseline(summary, items, baseline, baseline_items, alpha=alpha, tolerance=tolerance)
        against = os.path.abspath(compare_to)
    verdict, text = av.overall(verdicts)
    out = {
        "against": against,
        "alpha": alpha,
        "tolerance": tolerance,
        "verdict": verdict,
        "text": text,
        "datasets": verdicts,
    }
    rows = pub.vendor_quant_rows(run.get("model"))
    if rows:  # shown, not tested: the vendor's prompts, sample sizes and engine are not this run's
        out["reference_rows"] = rows
    return out


def publish(staging, dest):
    """Swap staging into dest: readers see the old run directory or the new one, never a half."""
    dest = dest.rstrip("/")
    old = None
    if os.path.exists(dest):
        old = "%s.old-%d" % (dest, os.getpid())
        os.replace(dest, old)
    try:
        os.replace(staging, dest)
    except OSError:
        if old:
            os.replace(old, dest)
        raise
    if old:
        shutil.rmtree(old, ignore_errors=True)


def table(summary, comparison=None):
    """Lines for the play's output."""
    by = {v["dataset"]: v for v in (comparison or {}).get("datasets", [])}
    lines = []
    for dataset in sorted(summary):
        e = summary[dataset]
        line = "%-16s %s n=%-5d 95%% CI [%.3f, %.3f] (%s)%s" % (
            dataset,
            "score=%.4f" % e["score"] if e.get("score") is not None else "score=-",
            e.get("n", 0),
            e["ci95"][0],
            e["ci95"][1],
            e.get("ci_method"),
            " sample" if e.get("sample") else "",
        )
        v = by.get(dataset)
        if v:
            ref = v.get("reference")
            line += " | vs %s%s: %s%s" % (
                v.get("against", comparison.get("against")),
                " %.4f" % ref if isinstance(ref, (int, float)) else "",
                v["verdict"],
                " (" + "; ".join(v.get("reasons", [])) + ")" if v.get("reasons") else "",
            )
        lines.append(line)
    for dataset, v in sorted(by.items()):
        if dataset not in summary:
            lines.append("%-16s %s (%s)" % (dataset, v["verdict"], "; ".join(v.get("reasons", []))))
    for row in (comparison or {}).get("reference_rows", []):
        lines.append(
            "%-16s vendor reference (%s): BF16 %.4f, GPTQ-Int4 %.4f (%+.4f)"
            % (row["dataset"], row["model"], row["bf16"], row["w4a16"], row["delta"])
        )
    return lines
