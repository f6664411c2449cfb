"""The role against a scripted OpenAI-compatible server that answers a known set of gsm8k items right:
EvalScope's score, the summary and the per-item results must say exactly that. Also: each run has its
own Hugging Face datasets cache, so two runs with different data in same-named directories each get
their own items (a shared cache gave the second the first one's)."""

import json
import os
import shutil
import subprocess

from accuracy_helpers import EVALSCOPE_VENV, SAMPLE, evaluate, read_jsonl, run_dirs
from scripted_openai import ScriptedOpenAI, gsm8k_replies

KEY = "scripted-key-0123456789"
RIGHT = {0, 2, 3, 5, 7, 8, 10, 11, 13, 14, 16, 18, 19}  # 13 of 20: the score must be 0.65


def _rows(path):
    return read_jsonl(os.path.join(path, "main", "test.jsonl"))


def _vars(server, tmp_path, **kw):
    v = {
        "accuracy_endpoint": server.url,
        "accuracy_served_model_name": "scripted",
        "accuracy_api_key": KEY,
        "accuracy_preset": "sample",
        "accuracy_datasets": ["gsm8k"],
        "accuracy_results_dir": str(tmp_path / "results"),
        "accuracy_work_dir": str(tmp_path / "work"),
        "accuracy_poll": 2,
    }
    v.update(kw)
    return v


def test_a_known_fraction_right_scores_exactly_that(evalscope_installed, tmp_path):
    rows = _rows(os.path.join(SAMPLE, "gsm8k"))
    with ScriptedOpenAI(gsm8k_replies(rows, RIGHT), KEY, model="scripted") as server:
        proc = evaluate(_vars(server, tmp_path, accuracy_eval_batch_size=3), tmp_path)
        assert proc.returncode == 0, proc.stdout[-6000:]
        requests = list(server.requests)
        max_in_flight = server.max_in_flight
    [run] = run_dirs(tmp_path / "results")
    summary = json.load(open(os.path.join(run, "summary.json")))
    g = summary["gsm8k"]
    assert (g["score"], g["n"], g["correct"], g["evalscope_score"]) == (0.65, 20, 13, 0.65)
    assert g["ci_method"] == "wilson" and g["ci95"] == [0.432854, 0.818808]
    assert g["mode"] == "non-thinking" and g["sample"] is True and g["source"] == "local"
    items = read_jsonl(os.path.join(run, g["items"]))
    assert {it["index"] for it in items if it["correct"]} == RIGHT
    # EvalScope's own report and files came along.
    assert os.path.exists(os.path.join(run, "outputs", "reports", "scripted", "gsm8k.json"))
    assert os.path.exists(os.path.join(run, "outputs", "reports", "report.html"))
    assert json.load(open(os.path.join(run, "state.json")))["status"] == "finished"
    # One request per item (20 test items; 4-shot prompts from the train split), within eval_batch_size,
    # with Qwen3's non-thinking settings and the template switch, streamed, max_tokens of the preset.
    assert len(requests) == 20 and all(r["answered"] for r in requests)
    assert sorted(r["question"] for r in requests) == sorted(x["question"] for x in rows)
    assert max_in_flight <= 3
    for r in requests:
        b = r["body"]
        assert (b["model"], b["temperature"], b["top_p"], b["top_k"], b["max_tokens"]) == (
            "scripted",
            0.7,
            0.8,
            20,
            256,
        )
        assert b["chat_template_kwargs"] == {"enable_thinking": False}
        assert b["stream"] is True
        assert b["messages"][-1]["content"].count("ANSWER: \\boxed{") == 4  # the 4 few-shot examples
    # The key went nowhere on disk and not into the play's output.
    assert KEY not in proc.stdout
    for root in (run, str(tmp_path / "work")):
        for dirpath, dummy, files in os.walk(root):
            for name in files:
                with open(os.path.join(dirpath, name), "rb") as f:
                    assert KEY.encode() not in f.read(), os.path.join(dirpath, name)


def _write_gsm8k(root, rows):
    d = os.path.join(root, "gsm8k")
    shutil.copytree(os.path.join(SAMPLE, "gsm8k"), d)
    with open(os.path.join(d, "main", "test.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return d


def test_a_shared_datasets_cache_would_mix_up_same_named_datasets(evalscope_installed, tmp_path):
    # The trap the role avoids, shown with the datasets library EvalScope uses: one cache, two
    # directories named gsm8k with 20 and 2 items -> the second loads 20.
    rows = _rows(os.path.join(SAMPLE, "gsm8k"))
    a = _write_gsm8k(str(tmp_path / "a"), rows)
    b = _write_gsm8k(str(tmp_path / "b"), rows[:2])
    script = (
        "import os, sys; os.environ['HF_DATASETS_CACHE'] = sys.argv[1]; import datasets\n"
        "print([len(datasets.load_dataset(p, name='main', split='test')) for p in sys.argv[2:]])"
    )
    out = subprocess.run(
        [os.path.join(EVALSCOPE_VENV, "bin", "python"), "-c", script, str(tmp_path / "cache"), a, b],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )
    assert out.stdout.strip().splitlines()[-1] == "[20, 20]"


def test_each_run_has_its_own_datasets_cache(evalscope_installed, tmp_path):
    rows = _rows(os.path.join(SAMPLE, "gsm8k"))
    other = [
        {
            "question": "Zoe has %d shells and finds %d more. How many shells does she have?" % (i + 3, i + 4),
            "answer": "%d + %d = <<%d+%d=%d>>%d.\n#### %d"
            % (i + 3, i + 4, i + 3, i + 4, 2 * i + 7, 2 * i + 7, 2 * i + 7),
        }
        for i in range(2)
    ]
    big = _write_gsm8k(str(tmp_path / "big"), rows)
    small = _write_gsm8k(str(tmp_path / "small"), other)
    replies = dict(gsm8k_replies(rows, set(range(20))), **gsm8k_replies(other, {0, 1}))
    counts = []
    with ScriptedOpenAI(replies, KEY, model="scripted") as server:
        for d, run_id in ((big, "big"), (small, "small")):
            proc = evaluate(
                _vars(server, tmp_path, accuracy_dataset_dir=os.path.dirname(d), accuracy_run_id=run_id), tmp_path
            )
            assert proc.returncode == 0, proc.stdout[-6000:]
            summary = json.load(open(str(tmp_path / "results" / run_id / "summary.json")))
            counts.append((summary["gsm8k"]["n"], summary["gsm8k"]["score"], summary["gsm8k"]["sample"]))
        asked = [r["question"] for r in server.requests]
    assert counts == [(20, 1.0, False), (2, 1.0, False)]
    assert sorted(asked[20:]) == sorted(r["question"] for r in other)
    assert os.path.isdir(str(tmp_path / "work" / "big" / "hf" / "datasets" / "gsm8k"))
    assert os.path.isdir(str(tmp_path / "work" / "small" / "hf" / "datasets" / "gsm8k"))
