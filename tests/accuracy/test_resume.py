"""An interrupted run resumes without asking again for what it already has: the scripted server holds
every request after the 7th answer, the EvalScope process is killed there (as a crash or a lost runner
would), and `accuracy_resume: true` continues the latest unfinished run; the server counts who asked what."""

import glob
import json
import os
import signal
import time

from accuracy_helpers import SAMPLE, evaluate, read_jsonl, run_dirs
from scripted_openai import ScriptedOpenAI, gsm8k_replies

KEY = "resume-key-9876543210"
RIGHT = {0, 2, 3, 5, 7, 8, 10, 11, 13, 14, 16, 18, 19}
STALL_AFTER = 7


def _lines(path):
    try:
        with open(path) as f:
            return sum(1 for line in f if line.strip())
    except OSError:
        return 0


def _wait(what, predicate, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


def test_an_interrupted_run_resumes_without_repeating_finished_items(evalscope_installed, tmp_path):
    rows = read_jsonl(os.path.join(SAMPLE, "gsm8k", "main", "test.jsonl"))
    work = tmp_path / "work"
    with ScriptedOpenAI(gsm8k_replies(rows, RIGHT), KEY, model="scripted", stall_after=STALL_AFTER) as server:
        v = {
            "accuracy_endpoint": server.url,
            "accuracy_served_model_name": "scripted",
            "accuracy_api_key": KEY,
            "accuracy_preset": "sample",
            "accuracy_datasets": ["gsm8k"],
            "accuracy_eval_batch_size": 2,
            "accuracy_results_dir": str(tmp_path / "results"),
            "accuracy_work_dir": str(work),
            "accuracy_poll": 2,
        }
        first = evaluate(v, tmp_path, wait=False)
        try:
            _wait("a run directory", lambda: glob.glob(str(work / "*" / "state.json")))
            [run_dir] = [os.path.dirname(p) for p in glob.glob(str(work / "*" / "state.json"))]
            predictions = os.path.join(run_dir, "outputs", "predictions", "scripted", "gsm8k_main.jsonl")
            # Interrupt once the server holds a request and every answer it gave is saved.
            _wait("the server to stall", lambda: any(r.get("stalled") for r in list(server.requests)))
            _wait("the answers to be saved", lambda: _lines(predictions) == server.answered)
            state = json.load(open(os.path.join(run_dir, "state.json")))
            assert state["status"] == "running"
            os.kill(state["pid"], signal.SIGKILL)
            out, dummy = first.communicate(timeout=300)
        finally:
            if first.poll() is None:
                first.kill()
        assert first.returncode != 0
        assert "did not finish" in out and "accuracy_resume=true" in out, out[-3000:]
        assert run_dirs(tmp_path / "results") == []  # nothing half-published
        answered_before = server.answered_questions()
        assert STALL_AFTER <= len(answered_before) < 20
        assert _lines(predictions) == len(answered_before)

        server.resume()
        asked_before = len(server.requests)
        second = evaluate(dict(v, accuracy_resume=True), tmp_path)
        assert second.returncode == 0, second.stdout[-6000:]
        assert "Continuing run %s" % os.path.basename(run_dir) in second.stdout
        resumed = server.requests[asked_before:]

    # Exactly the items without an answer were asked, once each; none of the answered ones again.
    asked_again = [r["question"] for r in resumed]
    assert len(asked_again) == 20 - len(answered_before)
    assert not set(asked_again) & set(answered_before)
    assert sorted(asked_again + answered_before) == sorted(r["question"] for r in rows)
    # And the result is the whole run's.
    [published] = run_dirs(tmp_path / "results")
    assert os.path.basename(published) == os.path.basename(run_dir)
    g = json.load(open(os.path.join(published, "summary.json")))["gsm8k"]
    assert (g["n"], g["correct"], g["score"]) == (20, 13, 0.65)
    state = json.load(open(os.path.join(published, "state.json")))
    assert (state["status"], state["attempts"], state["resumed"]) == ("finished", 2, True)
