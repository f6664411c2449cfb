"""Reading EvalScope's outputs (1.x layout) into items and a summary, comparing, publishing atomically."""

import json
import os

import pytest

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _accuracy_results as ar
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _accuracy_stats as st


def _review(index, value, prompt, status="success"):
    return {
        "index": index,
        "target": ["1"],
        "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": "x"}],
        "sample_score": {
            "score": {
                "value": {"accuracy": value},
                "status": status,
                "extracted_prediction": "1",
                "main_score_name": "accuracy",
            },
            "sample_id": index,
        },
    }


def _report(dataset, subsets, score):
    return {
        "schema_version": 2,
        "dataset_name": dataset,
        "primary_metric_identity": {"name": "accuracy", "aggregation": "mean", "dimensions": {}},
        "metrics": [
            {
                "identity": {"name": "accuracy", "aggregation": "mean", "dimensions": {}},
                "score": score,
                "categories": [{"name": ["default"], "subsets": [{"name": s, "is_aggregate": False} for s in subsets]}],
            }
        ],
    }


def make_run(root, results, model="m", mode="non-thinking", datasets=("gsm8k",), report=True, extra_rows=()):
    """results: {dataset: {subset: [score per item]}}"""
    out = os.path.join(root, "outputs")
    for kind in ("reviews", "reports"):
        os.makedirs(os.path.join(out, kind, model), exist_ok=True)
    for dataset, subsets in results.items():
        allv = []
        for subset, values in subsets.items():
            with open(os.path.join(out, "reviews", model, "%s_%s.jsonl" % (dataset, subset)), "w") as f:
                for i, v in enumerate(values):
                    f.write(json.dumps(_review(i, v, "%s-%s-%d" % (dataset, subset, i))) + "\n")
                for row in extra_rows:
                    f.write(row + "\n")
            allv += values
        if report:
            with open(os.path.join(out, "reports", model, dataset + ".json"), "w") as f:
                json.dump(_report(dataset, list(subsets), sum(allv) / len(allv)), f)
    with open(os.path.join(root, "task.json"), "w") as f:
        json.dump({"model": model, "datasets": list(datasets), "limit": None}, f)
    with open(os.path.join(root, "meta.json"), "w") as f:
        json.dump(
            {
                "settled": {
                    "mode": mode,
                    "preset": "sample",
                    "sources": {d: {"source": "local", "sample": True} for d in datasets},
                }
            },
            f,
        )
    with open(os.path.join(root, "state.json"), "w") as f:
        json.dump({"status": "finished"}, f)
    return root


def test_build_writes_items_and_summary(tmp_path):
    run = make_run(
        str(tmp_path / "r"),
        {"gsm8k": {"main": [1.0] * 15 + [0.0] * 5}, "ceval": {"a": [1.0, 0.0], "b": [1.0, 1.0, 0.0]}},
        datasets=("gsm8k", "ceval"),
    )
    summary, items = ar.build(run, {"run_id": "r", "model": {"name": "Qwen3-0.6B"}})
    g = summary["gsm8k"]
    assert (g["score"], g["n"], g["correct"], g["ci_method"]) == (0.75, 20, 15, "wilson")
    assert g["ci95"] == [round(x, 6) for x in st.wilson_interval(15, 20)]
    assert g["evalscope_score"] == 0.75 and "note" not in g
    assert g["mode"] == "non-thinking" and g["sample"] is True and g["items"] == "items/gsm8k.jsonl"
    c = summary["ceval"]
    assert (c["n"], c["correct"]) == (5, 3) and c["subsets"] == {
        "a": {"n": 2, "score": 0.5},
        "b": {"n": 3, "score": 0.666667},
    }
    rows = [json.loads(x) for x in open(os.path.join(run, "items", "ceval.jsonl"))]
    assert [r["id"] for r in rows] == ["a/0", "a/1", "b/0", "b/1", "b/2"]
    assert rows[0]["correct"] is True and rows[1]["correct"] is False and len(rows[0]["input_sha"]) == 16
    on_disk = json.load(open(os.path.join(run, "summary.json")))
    assert on_disk == json.loads(json.dumps(summary))
    assert "Wilson" in json.load(open(os.path.join(run, "run.json")))["ci95"]


def test_interrupted_lines_and_duplicates_from_a_resume_are_handled(tmp_path):
    # A cut-off line is skipped; a row written twice (resumed) counts once, the last one.
    dup = json.dumps(_review(0, 0.0, "gsm8k-main-0"))
    run = make_run(str(tmp_path / "r"), {"gsm8k": {"main": [1.0, 1.0, 1.0]}}, extra_rows=['{"index": 9, "targ', dup])
    summary, dummy = ar.build(run, {})
    assert summary["gsm8k"]["n"] == 3 and summary["gsm8k"]["correct"] == 2


def test_unusable_scores_are_excluded_and_counted(tmp_path):
    run = make_run(
        str(tmp_path / "r"),
        {"gsm8k": {"main": [1.0, 0.0]}},
        extra_rows=[json.dumps(_review(5, 0.0, "p", status="error"))],
    )
    summary, dummy = ar.build(run, {})
    assert summary["gsm8k"]["n"] == 2 and summary["gsm8k"]["excluded"] == 1


def test_without_a_report_the_review_files_are_found_by_name(tmp_path):
    # An unfinished run has no report: gsm8k's files, not gsm8k_v's.
    run = make_run(
        str(tmp_path / "r"),
        {"gsm8k": {"main": [1.0, 0.0]}, "gsm8k_v": {"main": [1.0] * 4}},
        datasets=("gsm8k", "gsm8k_v"),
        report=False,
    )
    summary, dummy = ar.build(run, {})
    assert summary["gsm8k"]["n"] == 2 and summary["gsm8k_v"]["n"] == 4


def test_non_binary_scores_get_a_normal_interval(tmp_path):
    run = make_run(str(tmp_path / "r"), {"ifeval": {"default": [0.5, 1.0, 0.25, 0.75]}}, datasets=("ifeval",))
    summary, dummy = ar.build(run, {})
    e = summary["ifeval"]
    assert e["binary"] is False and e["ci_method"] == "normal" and e["score"] == 0.625


def test_compare_with_a_baseline_directory(tmp_path):
    base = make_run(str(tmp_path / "base"), {"gsm8k": {"main": [1.0] * 18 + [0.0] * 2}})
    cur = make_run(str(tmp_path / "cur"), {"gsm8k": {"main": [0.0] * 10 + [1.0] * 8 + [0.0] * 2}})
    ar.build(base, {})
    summary, items = ar.build(cur, {})
    cmp = ar.compare(summary, items, {}, base, alpha=0.05, tolerance=0.0)
    assert cmp["verdict"] == "regression"
    [v] = cmp["datasets"]
    assert (v["worse"], v["better"]) == (10, 0)
    lines = ar.table(summary, cmp)
    assert "gsm8k" in lines[0] and "regression" in lines[0]
    with pytest.raises(ar.AccuracyResultsError, match="No baseline summary"):
        ar.compare(summary, items, {}, str(tmp_path / "nowhere"), alpha=0.05, tolerance=0.0)


def test_publish_swaps_the_directory_in_one_step(tmp_path):
    dest = tmp_path / "run1"
    for content in ("first", "second"):
        staging = tmp_path / ".run1.partial"
        staging.mkdir()
        (staging / "summary.json").write_text(content)
        ar.publish(str(staging), str(dest))
        assert not staging.exists()
        assert (dest / "summary.json").read_text() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run1"]


def test_quantized_30b_a3b_against_its_bf16_source_shows_the_vendor_rows(tmp_path):
    """The quantize gate: GPTQ-Int4 against its BF16 run, paired (McNemar), with the vendor's published
    BF16 / W4A16 scores for the same 2507 model as reference rows (shown, not tested)."""
    base = make_run(str(tmp_path / "bf16"), {"gsm8k": {"main": [1.0] * 18 + [0.0] * 2}})
    cur = make_run(str(tmp_path / "int4"), {"gsm8k": {"main": [1.0] * 17 + [0.0] * 3}})
    ar.build(base, {})
    summary, items = ar.build(cur, {})
    model = {
        "name": "Qwen3-30B-A3B-Instruct-2507-GPTQ-Int4",
        "family": "30B-A3B",
        "thinking": "instruct",
        "dtype": "INT4",
    }
    cmp = ar.compare(summary, items, {"model": model}, base, alpha=0.05, tolerance=0.0)
    assert cmp["verdict"] == "no significant regression"
    rows = {r["dataset"]: r for r in cmp["reference_rows"]}
    assert sorted(rows) == ["aime25", "gpqa_diamond", "ifeval", "live_code_bench", "mmlu_pro"]
    assert (rows["mmlu_pro"]["bf16"], rows["mmlu_pro"]["w4a16"], rows["mmlu_pro"]["delta"]) == (0.7751, 0.7466, -0.0285)
    assert rows["aime25"]["model"] == "Qwen3-30B-A3B-Instruct-2507"
    assert any(
        "vendor reference (Qwen3-30B-A3B-Instruct-2507): BF16 0.5630, GPTQ-Int4 0.4910" in line
        for line in ar.table(summary, cmp)
    )
    thinking = ar.compare(summary, items, {"model": dict(model, thinking="thinking")}, base, alpha=0.05, tolerance=0.0)
    assert {r["dataset"]: r["w4a16"] for r in thinking["reference_rows"]}["aime25"] == 0.8334
    for other in (dict(model, family="8B"), dict(model, thinking="hybrid")):
        assert "reference_rows" not in ar.compare(summary, items, {"model": other}, base, alpha=0.05, tolerance=0.0)
