"""The role as an operator runs it on this machine: `ansible-playbook -i inventories/local
playbooks/evaluate.yml` against the live service of `make demo` (real vLLM, the CPU stand-in, two
instances behind HAProxy on port 8000) with the collection's sample. The tiny random model answers
noise, so the score is near zero; the plumbing is real: the key from .secrets, the load balancer,
EvalScope's reports, the summary with per-item results on the controller.

Needs the service; tests/local_service.py reruns playbooks/deploy.yml when it does not answer to this
checkout's key."""

import json
import os

import local_service
import pytest
from accuracy_helpers import evaluate, read_jsonl, run_dirs


@pytest.fixture(scope="module")
def service_key():
    return local_service.ensure()


def test_the_sample_against_the_live_service(evalscope_installed, service_key, tmp_path):
    # Four items per dataset keep it to a minute or two on two cores; the defaults are the playbook's.
    proc = evaluate(
        {
            "accuracy_results_dir": str(tmp_path / "results"),
            "accuracy_work_dir": str(tmp_path / "work"),
            "accuracy_limit": 4,
            "accuracy_poll": 2,
            "accuracy_reuse": True,  # nothing finished yet: a new run, keyed for the rerun below
        },
        tmp_path,
        "-v",
    )
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert service_key not in proc.stdout  # not even with -v
    [run] = run_dirs(tmp_path / "results")
    summary = json.load(open(os.path.join(run, "summary.json")))
    assert sorted(summary) == ["ceval", "gsm8k"]
    for name, entry in summary.items():
        assert entry["n"] == 4 and 0.0 <= entry["score"] <= 1.0
        assert 0.0 <= entry["ci95"][0] <= entry["score"] <= entry["ci95"][1] <= 1.0
        assert entry["sample"] is True and entry["mode"] == "non-thinking" and entry["model"] == "qwen3-tiny"
        assert len(read_jsonl(os.path.join(run, entry["items"]))) == 4
        assert os.path.exists(os.path.join(run, "outputs", "reports", "qwen3-tiny", name + ".json"))
    record = json.load(open(os.path.join(run, "run.json")))
    assert record["endpoint"] == "http://localhost:8000/v1"  # the load balancer's public port
    assert record["model"]["name"] == "Qwen3-0.6B" and record["state"]["status"] == "finished"
    gen = record["task"]["generation_config"]
    assert gen["max_tokens"] == 256 and gen["extra_body"] == {"chat_template_kwargs": {"enable_thinking": False}}
    assert record["task"]["eval_batch_size"] == 8  # max-concurrency 4 x 2 instances
    # The model really answered through the service (noise, but answers).
    predictions = read_jsonl(os.path.join(run, "outputs", "predictions", "qwen3-tiny", "gsm8k_main.jsonl"))
    assert len(predictions) == 4
    assert all(p["model_output"]["usage"]["output_tokens"] > 0 for p in predictions)
    for root in (run, str(tmp_path / "work")):
        for dirpath, dummy, files in os.walk(root):
            for name in files:
                with open(os.path.join(dirpath, name), "rb") as f:
                    assert service_key.encode() not in f.read(), os.path.join(dirpath, name)
    # A rerun that may keep it (site.yml's accuracy_reuse): the same instances, datasets and settings, so the
    # finished run is reported again and nothing is asked.
    again = evaluate(
        {
            "accuracy_results_dir": str(tmp_path / "results"),
            "accuracy_work_dir": str(tmp_path / "work"),
            "accuracy_limit": 4,
            "accuracy_poll": 2,
            "accuracy_reuse": True,
        },
        tmp_path,
    )
    assert again.returncode == 0, again.stdout[-6000:]
    assert "Kept: run %s" % os.path.basename(run) in " ".join(again.stdout.split())
    assert run_dirs(tmp_path / "results") == [run]
    assert json.load(open(os.path.join(str(tmp_path / "work"), os.path.basename(run), "state.json")))["attempts"] == 1
