"""Verdicts through the role: a run compared with a baseline run fails the play on a regression
(accuracy_fail_on_regression), and the report phase alone (--tags accuracy_report) recomputes a run's
report against the published figures, which do not apply to the made-up sample."""

import json
import os

from accuracy_helpers import SAMPLE, evaluate, read_jsonl
from scripted_openai import ScriptedOpenAI, gsm8k_replies

KEY = "verdict-key-24680"


def test_regression_against_a_baseline_fails_the_play(evalscope_installed, tmp_path):
    rows = read_jsonl(os.path.join(SAMPLE, "gsm8k", "main", "test.jsonl"))
    results = tmp_path / "results"
    base = {
        "accuracy_served_model_name": "scripted",
        "accuracy_api_key": KEY,
        "accuracy_preset": "sample",
        "accuracy_datasets": ["gsm8k"],
        "accuracy_results_dir": str(results),
        "accuracy_work_dir": str(tmp_path / "work"),
        "accuracy_poll": 2,
    }
    # "BF16": 19 of 20 right. "INT4": 8 of those now wrong, none better -> McNemar p = 1/256.
    with ScriptedOpenAI(gsm8k_replies(rows, set(range(19))), KEY, model="scripted") as bf16:
        proc = evaluate(dict(base, accuracy_endpoint=bf16.url, accuracy_run_id="bf16"), tmp_path)
        assert proc.returncode == 0, proc.stdout[-6000:]
    with ScriptedOpenAI(gsm8k_replies(rows, set(range(8, 19))), KEY, model="scripted") as int4:
        proc = evaluate(
            dict(
                base,
                accuracy_endpoint=int4.url,
                accuracy_run_id="int4",
                accuracy_compare_to=str(results / "bf16"),
                accuracy_fail_on_regression=True,
            ),
            tmp_path,
        )
    assert proc.returncode != 0
    assert "Accuracy regression against %s: regression on gsm8k" % (results / "bf16") in proc.stdout, proc.stdout[
        -4000:
    ]
    verdict = json.load(open(str(results / "int4" / "verdict.json")))
    [g] = verdict["datasets"]
    assert (verdict["verdict"], g["worse"], g["better"], g["p_value"]) == ("regression", 8, 0, 0.003906)
    assert g["delta"] == -0.4 and "McNemar" in g["test"]

    # The report again, alone, against the published figures: the sample is not comparable, and says why.
    proc = evaluate(
        dict(base, accuracy_run_id="int4", accuracy_compare_to="published", accuracy_fail_on_regression=True),
        tmp_path,
        "--tags",
        "accuracy_report",
    )
    assert proc.returncode == 0, proc.stdout[-6000:]
    verdict = json.load(open(str(results / "int4" / "verdict.json")))
    assert verdict["verdict"] == "not comparable"
    assert "Base model" in verdict["datasets"][0]["reasons"][0]
    assert not os.path.exists(str(results / ".int4.partial"))
