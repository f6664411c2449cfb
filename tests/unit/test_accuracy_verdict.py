"""Verdicts on constructed per-item results: the statistics, the baseline (McNemar) and published
comparisons, and what makes two runs not comparable."""

import math
from itertools import combinations

import pytest

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _accuracy_published as pub
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _accuracy_stats as st
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _accuracy_verdict as av

# ---- statistics -------------------------------------------------------------------------------


def _binom_cdf_brute(k, n, p):
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(0, k + 1))


@pytest.mark.parametrize("n,p", [(1, 0.5), (10, 0.3), (37, 0.9), (200, 0.504)])
def test_binom_cdf_matches_the_sum_of_terms(n, p):
    for k in range(-1, n + 1):
        assert st.binom_cdf(k, n, p) == pytest.approx(_binom_cdf_brute(k, n, p) if k >= 0 else 0.0, abs=1e-12)
        assert st.binom_sf(k, n, p) == pytest.approx(1 - (_binom_cdf_brute(k - 1, n, p) if k > 0 else 0.0), abs=1e-12)


def test_binom_cdf_is_stable_for_a_whole_benchmark():
    # 1346 C-Eval items: no overflow, and the tail of a clearly lower score is tiny.
    assert 0 < st.binom_cdf(500, 1346, 0.504) < 1e-4
    assert st.binom_cdf(678, 1346, 0.504) == pytest.approx(0.5, abs=0.05)


def test_wilson_interval_known_values():
    lo, hi = st.wilson_interval(15, 20)
    assert (round(lo, 4), round(hi, 4)) == (0.5313, 0.8881)
    lo, hi = st.wilson_interval(0, 10)
    assert lo == 0.0 and round(hi, 4) == 0.2775
    lo, hi = st.wilson_interval(10, 10)
    assert round(lo, 4) == 0.7225 and hi == 1.0
    assert st.wilson_interval(0, 0) == (0.0, 1.0)


def test_normal_interval_on_a_mean():
    lo, hi = st.normal_interval([0.5] * 10)
    assert lo == hi == 0.5
    lo, hi = st.normal_interval([0.0, 1.0, 0.5, 0.5])
    assert lo < 0.5 < hi


def test_mcnemar_exact_known_values():
    # 10 items got worse, 2 better: P(X >= 10 | 12, 1/2) = (66 + 12 + 1) / 4096.
    p_one, p_two = st.mcnemar_exact(10, 2)
    assert p_one == pytest.approx(79 / 4096)
    assert p_two == pytest.approx(2 * 79 / 4096)
    assert st.mcnemar_exact(0, 0) == (1.0, 1.0)
    # Symmetric evidence is no evidence.
    assert st.mcnemar_exact(5, 5)[1] == pytest.approx(1.0)
    # More items got better: one-sided "worse" is far from significant.
    assert st.mcnemar_exact(1, 9)[0] > 0.99


def test_binomial_below():
    assert st.binomial_below(5, 10, 0.5) == pytest.approx(638 / 1024)


# ---- baseline comparisons -----------------------------------------------------------------------


def _run(correct_ids, n=100, mode="non-thinking", subset="main", sha="s", few_shot=None, subset_list=None):
    items = [
        {
            "id": "%s/%d" % (subset, i),
            "subset": subset,
            "index": i,
            "correct": i in correct_ids,
            "score": 1.0 if i in correct_ids else 0.0,
            "input_sha": "%s%d" % (sha, i),
        }
        for i in range(n)
    ]
    k = len([i for i in range(n) if i in correct_ids])
    lo, hi = st.wilson_interval(k, n)
    entry = {
        "score": k / n,
        "n": n,
        "correct": k,
        "ci95": [lo, hi],
        "binary": True,
        "metric": "accuracy",
        "mode": mode,
        "few_shot": few_shot,
        "subset_list": subset_list,
    }
    return entry, items


def _compare(cur, ref, dataset="gsm8k", **kw):
    (ce, ci), (re_, ri) = cur, ref
    return av.compare_baseline({dataset: ce}, {dataset: ci}, {dataset: re_}, {dataset: ri}, **kw)


def test_a_clear_drop_on_paired_items_is_a_regression():
    base = set(range(90))  # 90 of 100 right
    cur = (base - set(range(12))) | {95, 96}  # 12 now wrong, 2 now right: 80 of 100
    [v] = _compare(_run(cur), _run(base))
    assert v["verdict"] == av.REGRESSION
    assert (v["worse"], v["better"]) == (12, 2)
    assert v["p_value"] == pytest.approx(106 / 16384, rel=1e-3)
    assert v["delta"] == pytest.approx(-0.10)
    assert "McNemar" in v["test"]
    assert av.overall([v])[0] == av.REGRESSION


def test_noise_is_no_significant_regression():
    base = set(range(90))
    cur = (base - {1, 2, 3}) | {91, 92}  # 3 worse, 2 better
    [v] = _compare(_run(cur), _run(base))
    assert v["verdict"] == av.NO_REGRESSION
    assert v["p_value"] == pytest.approx(st.mcnemar_exact(3, 2)[0], rel=1e-3)
    assert av.overall([v]) == (av.NO_REGRESSION, "no significant regression on 1 dataset(s)")


def test_identical_runs_are_no_regression():
    [v] = _compare(_run(set(range(50))), _run(set(range(50))))
    assert v["verdict"] == av.NO_REGRESSION and v["worse"] == v["better"] == 0 and v["p_value"] == 1.0


def test_a_significant_drop_within_the_tolerance_is_not_a_regression():
    base = set(range(90))
    cur = base - set(range(12))
    [v] = _compare(_run(cur), _run(base), tolerance=0.15)
    assert v["verdict"] == av.NO_REGRESSION
    assert "within the tolerance" in v["reasons"][0]


def test_paired_test_sees_what_unpaired_scores_hide():
    # Same score (50 %), but 20 items flipped each way: no evidence; 0 vs 20 flips would be.
    base = set(range(50))
    cur = set(range(20, 70))
    [v] = _compare(_run(cur), _run(base))
    assert v["delta"] == 0 and (v["worse"], v["better"]) == (20, 20) and v["verdict"] == av.NO_REGRESSION


@pytest.mark.parametrize(
    "change,reason",
    [
        (dict(mode="thinking"), "modes differ"),
        (dict(n=80), "sample sizes differ"),
        (dict(few_shot=0), "few-shot settings differ"),
        (dict(subset_list=["main"]), "subsets differ"),
        (dict(sha="other"), "different prompts under the same ids"),
        (dict(subset="other"), "item sets differ"),
    ],
)
def test_not_comparable_runs_say_why(change, reason):
    [v] = _compare(_run(set(range(40)), **change), _run(set(range(40))))
    assert v["verdict"] == av.NOT_COMPARABLE
    assert any(reason in r for r in v["reasons"]), v["reasons"]
    assert v["score"] is not None and v["reference"] is not None  # the numbers are still shown


def test_datasets_in_only_one_run_are_not_comparable():
    cur, ref = _run(set(range(40))), _run(set(range(40)))
    verdicts = av.compare_baseline(
        {"gsm8k": cur[0], "ceval": cur[0]},
        {"gsm8k": cur[1], "ceval": cur[1]},
        {"gsm8k": ref[0], "math_500": ref[0]},
        {"gsm8k": ref[1], "math_500": ref[1]},
    )
    by = {v["dataset"]: v for v in verdicts}
    assert by["gsm8k"]["verdict"] == av.NO_REGRESSION
    assert by["ceval"]["verdict"] == av.NOT_COMPARABLE and "baseline has no ceval" in by["ceval"]["reasons"][0]
    assert by["math_500"]["verdict"] == av.NOT_COMPARABLE and "this run has no math_500" in by["math_500"]["reasons"][0]
    verdict, text = av.overall(verdicts)
    assert verdict == av.NO_REGRESSION and "not comparable: ceval, math_500" in text


def test_missing_per_item_results_are_not_comparable():
    cur, ref = _run(set(range(40))), _run(set(range(40)))
    [v] = av.compare_baseline({"gsm8k": cur[0]}, {"gsm8k": cur[1]}, {"gsm8k": ref[0]}, {"gsm8k": []})
    assert v["verdict"] == av.NOT_COMPARABLE and "missing" in v["reasons"][0]


def test_non_binary_scores_use_the_sign_test():
    cur, ref = _run(set()), _run(set())
    for e in (cur[0], ref[0]):
        e["binary"] = False
    for i, (a, b) in enumerate(zip(cur[1], ref[1])):
        a["score"], b["score"] = (0.2, 0.8) if i < 30 else (0.5, 0.5)
    cur[0]["score"] = sum(a["score"] for a in cur[1]) / 100
    ref[0]["score"] = sum(b["score"] for b in ref[1]) / 100
    [v] = _compare(cur, ref)
    assert "sign test" in v["test"] and (v["worse"], v["better"]) == (30, 0)
    assert v["verdict"] == av.REGRESSION


def test_overall_verdicts():
    reg = {"dataset": "a", "verdict": av.REGRESSION}
    ok = {"dataset": "b", "verdict": av.NO_REGRESSION}
    nc = {"dataset": "c", "verdict": av.NOT_COMPARABLE}
    assert av.overall([ok, reg, nc]) == (av.REGRESSION, "regression on a")
    assert av.overall([nc]) == (av.NOT_COMPARABLE, "no dataset is comparable (c)")
    assert av.overall([]) == (av.NOT_COMPARABLE, "nothing to compare")


# ---- published figures ------------------------------------------------------------------------

HYBRID_8B = {"name": "Qwen3-8B", "family": "8B", "thinking": "hybrid", "dtype": "BF16"}


def _ceval(correct, n=1346, mode="non-thinking", **extra):
    e = {"score": correct / n, "n": n, "correct": correct, "binary": True, "mode": mode, "limit": None, "sample": False}
    e.update(extra)
    return e


def test_published_figures_are_kept_with_their_source_and_mode():
    assert pub.SOURCE.endswith("arXiv:2505.09388")
    assert pub.PUBLISHED["ceval"]["scores"]["0.6B"] == {"thinking": 50.4, "non-thinking": 42.6}
    assert pub.PUBLISHED["ceval"]["scores"]["30B-A3B"] == {"thinking": 86.6, "non-thinking": 82.9}
    assert pub.PUBLISHED["math_500"]["scores"]["32B"] == {"thinking": 97.2, "non-thinking": 88.6}
    assert pub.PUBLISHED["gsm8k"]["model_kind"] == "base" and pub.PUBLISHED["gsm8k"]["scores"]["14B"] == {"base": 92.49}


def test_a_full_run_at_the_published_level_is_no_regression():
    [v] = av.compare_published({"ceval": _ceval(1049)}, HYBRID_8B)  # 77.9 % of 1346 = 1048.5
    assert v["verdict"] == av.NO_REGRESSION
    assert v["reference"] == pytest.approx(0.779)
    assert "non-thinking" in v["reference_source"] and "2505.09388" in v["reference_source"]


def test_a_full_run_well_below_the_published_figure_is_a_regression():
    [v] = av.compare_published({"ceval": _ceval(990)}, HYBRID_8B)  # 73.6 %
    assert v["verdict"] == av.REGRESSION
    assert v["p_value"] == pytest.approx(st.binomial_below(990, 1346, 0.779), rel=1e-3)
    assert v["delta"] == pytest.approx(990 / 1346 - 0.779, abs=1e-4)
    [v] = av.compare_published({"ceval": _ceval(990)}, HYBRID_8B, tolerance=0.05)
    assert v["verdict"] == av.NO_REGRESSION


def test_the_mode_picks_the_published_column():
    # 80 % is below 8B's thinking figure (83.4) and above its non-thinking one (77.9).
    [think] = av.compare_published({"ceval": _ceval(1077, mode="thinking")}, HYBRID_8B)
    [plain] = av.compare_published({"ceval": _ceval(1077, mode="non-thinking")}, HYBRID_8B)
    assert think["reference"] == pytest.approx(0.834) and think["verdict"] == av.REGRESSION
    assert plain["reference"] == pytest.approx(0.779) and plain["verdict"] == av.NO_REGRESSION


@pytest.mark.parametrize(
    "entry,model,reason",
    [
        (_ceval(10, n=10, sample=True), HYBRID_8B, "made-up sample"),
        (_ceval(40, n=50, limit=50), HYBRID_8B, "limited"),
        (_ceval(400, n=500), HYBRID_8B, "whole benchmark has 1346"),
        (_ceval(1049), dict(HYBRID_8B, thinking="instruct"), "hybrid Qwen3 models"),
        (_ceval(1049), dict(HYBRID_8B, family="235B-A22B"), "no C-Eval figure for Qwen3-235B-A22B"),
    ],
)
def test_published_not_comparable(entry, model, reason):
    [v] = av.compare_published({"ceval": entry}, model)
    assert v["verdict"] == av.NOT_COMPARABLE
    assert any(reason in r for r in v["reasons"]), v["reasons"]


def test_published_gsm8k_is_for_base_models_only():
    e = {"score": 0.9, "n": 1319, "correct": 1187, "binary": True, "mode": "non-thinking", "limit": None}
    [v] = av.compare_published({"gsm8k": e}, HYBRID_8B)
    assert v["verdict"] == av.NOT_COMPARABLE and "Base model" in v["reasons"][0]


def test_published_datasets_without_a_figure_are_not_comparable():
    [v] = av.compare_published({"ifeval": {"score": 0.8, "n": 541, "mode": "thinking"}}, HYBRID_8B)
    assert v["verdict"] == av.NOT_COMPARABLE


def test_a_quantized_checkpoint_is_compared_with_the_bf16_figure_and_says_so():
    [v] = av.compare_published({"ceval": _ceval(1049)}, dict(HYBRID_8B, name="Qwen3-8B-FP8", dtype="FP8"))
    assert v["verdict"] == av.NO_REGRESSION and "BF16" in v["note"]


def test_every_published_row_has_both_modes_or_base():
    for dataset, table in pub.PUBLISHED.items():
        for family, by_mode in table["scores"].items():
            assert set(by_mode) == set(table["modes"]), (dataset, family)
            assert all(0 < v < 100 for v in by_mode.values())
    # Thinking is never below non-thinking in the report's tables.
    for dataset in ("ceval", "math_500"):
        for by_mode in pub.PUBLISHED[dataset]["scores"].values():
            assert by_mode["thinking"] >= by_mode["non-thinking"]


def test_discordant_pairs_are_counted_from_items_not_scores():
    # Every pair of subsets of 6 items: the McNemar counts equal the set differences.
    for a in combinations(range(6), 3):
        for b in combinations(range(6), 2):
            [v] = _compare(_run(set(b), n=6), _run(set(a), n=6))
            assert (v["worse"], v["better"]) == (len(set(a) - set(b)), len(set(b) - set(a)))
