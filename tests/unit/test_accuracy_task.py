"""Settling an accuracy run: presets, local datasets, mode, Qwen3's sampling, the plan's limits."""

import pytest

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _accuracy_task as at
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _planner as planner

GSM8K_README = """---
configs:
- config_name: main
  data_files:
  - split: train
    path: main/train.jsonl
  - split: test
    path: main/test.jsonl
---
# x
"""
CEVAL_README = GSM8K_README.replace("main", "middle_school_mathematics")


def _settings(**kw):
    s = {
        "plan": planner.plan("Qwen3-0.6B", card="VA16", cards=1, tp=2, instances=2),
        "endpoint": "http://127.0.0.1:8000/v1",
        "served_model_name": "qwen3-tiny",
        "preset": "quick",
        "sample_dir": "/c/roles/accuracy/files/datasets",
        "local_readmes": {},
        "dataset_hub": "modelscope",
        "prompt_budget": 4096,
        "hub_cache_dir": "/var/lib/vacc-qwen3/accuracy/cache",
    }
    s.update(kw)
    return s


def _sample(**kw):
    kw.setdefault("dataset_dir", "/c/roles/accuracy/files/datasets")
    return at.settle(_settings(preset="sample", local_readmes={"gsm8k": GSM8K_README, "ceval": CEVAL_README}, **kw))


def test_readme_subsets():
    assert at.readme_subsets(GSM8K_README) == ["main"]
    assert at.readme_subsets("# no front matter") == []
    assert at.readme_subsets(None) == []


def test_the_sample_preset_is_offline_and_copied_into_the_run():
    out = _sample()
    task, meta = out["task"], out["meta"]
    assert task["eval_type"] == "openai_api" and task["model"] == "qwen3-tiny"
    assert task["api_url"] == "http://127.0.0.1:8000/v1" and "api_key" not in task
    assert task["datasets"] == ["gsm8k", "ceval"]
    assert task["dataset_args"]["gsm8k"] == {"dataset_id": "datasets/gsm8k", "subset_list": ["main"]}
    assert task["dataset_args"]["ceval"]["subset_list"] == ["middle_school_mathematics"]
    assert meta["offline"] is True
    assert meta["sources"]["gsm8k"]["sample"] is True and meta["sources"]["gsm8k"]["source"] == "local"
    assert meta["copies"] == [
        {"name": "gsm8k", "path": "/c/roles/accuracy/files/datasets/gsm8k"},
        {"name": "ceval", "path": "/c/roles/accuracy/files/datasets/ceval"},
    ]
    assert task["generation_config"]["max_tokens"] == 256


def test_non_thinking_is_the_hybrid_default_with_qwen3s_sampling():
    gen = _sample()["task"]["generation_config"]
    assert (gen["temperature"], gen["top_p"], gen["top_k"]) == (0.7, 0.8, 20)
    assert gen["extra_body"] == {"chat_template_kwargs": {"enable_thinking": False}}
    assert gen["stream"] is True


def test_thinking_mode_switches_the_sampling_and_the_template():
    out = _sample(thinking=True)
    gen = out["task"]["generation_config"]
    assert (gen["temperature"], gen["top_p"], gen["top_k"]) == (0.6, 0.95, 20)
    assert gen["extra_body"] == {"chat_template_kwargs": {"enable_thinking": True}}
    assert out["meta"]["mode"] == "thinking"


def test_explicit_sampling_wins():
    gen = _sample(temperature=0.0, top_k=1, presence_penalty=1.5)["task"]["generation_config"]
    assert (gen["temperature"], gen["top_k"], gen["presence_penalty"]) == (0.0, 1, 1.5)


def test_max_tokens_stays_within_the_context_less_a_prompt_budget():
    out = at.settle(_settings())  # 0.6B at TP2: max_model_len 32768
    assert out["task"]["generation_config"]["max_tokens"] == 32768 - 4096
    out = at.settle(_settings(max_tokens=40000))
    assert out["task"]["generation_config"]["max_tokens"] == 32768 - 4096
    assert "lowered to 28672" in out["notes"][0]
    with pytest.raises(at.AccuracyTaskError, match="no room"):
        at.settle(_settings(prompt_budget=40000))


def test_eval_batch_size_stays_within_what_the_service_admits():
    assert at.settle(_settings())["task"]["eval_batch_size"] == 8  # 4 x 2 instances
    out = at.settle(_settings(preset="precision_llm", offline=False))  # the guide's 16
    assert out["task"]["eval_batch_size"] == 8
    assert any("eval_batch_size 16 lowered to 8" in n for n in out["notes"])
    assert at.settle(_settings(eval_batch_size=2))["task"]["eval_batch_size"] == 2


def test_the_precision_llm_preset_is_the_guides_script():
    out = at.settle(_settings(preset="precision_llm"))
    task = out["task"]
    assert task["datasets"] == ["mmlu_pro", "ifeval", "gpqa", "aime25", "live_code_bench"]
    assert task["dataset_args"]["gpqa"] == {"subset_list": ["gpqa_diamond"]}
    gen = task["generation_config"]
    assert (gen["max_tokens"], gen["temperature"], gen["top_p"], gen["top_k"], gen["n"]) == (16384, 0.6, 0.95, 20, 1)
    assert gen["stream"] is True and gen["timeout"] == 6000000
    assert out["meta"]["mode"] == "thinking"  # the script leaves Qwen3's template thinking
    assert out["meta"]["offline"] is False and task["dataset_hub"] == "modelscope"


def test_offline_refuses_datasets_that_are_not_local():
    with pytest.raises(at.AccuracyTaskError, match="Offline, but ceval is not under /d"):
        at.settle(_settings(dataset_dir="/d", local_readmes={"gsm8k": GSM8K_README}, offline=True))
    out = at.settle(_settings(dataset_dir="/d", local_readmes={"gsm8k": GSM8K_README}))
    assert out["meta"]["offline"] is False
    assert out["meta"]["sources"]["ceval"]["source"] == "hub:modelscope"


def test_a_local_dataset_must_have_the_subsets_asked_for():
    with pytest.raises(
        at.AccuracyTaskError, match="lacks the subset.s. computer_network, high_school_mathematics, law"
    ):
        at.settle(_settings(dataset_dir="/d", local_readmes={"gsm8k": GSM8K_README, "ceval": CEVAL_README}))
    with pytest.raises(at.AccuracyTaskError, match="names no subsets"):
        at.settle(_settings(dataset_dir="/d", local_readmes={"gsm8k": "# nothing", "ceval": CEVAL_README}))


def test_a_remote_dataset_dir_is_used_in_place():
    out = _sample(dataset_dir_remote=True, dataset_dir="/srv/datasets")
    assert out["task"]["dataset_args"]["gsm8k"]["dataset_id"] == "/srv/datasets/gsm8k"
    assert out["meta"]["copies"] == []


def test_the_models_own_mode():
    instruct = planner.plan("Qwen3-4B-Instruct-2507-FP8", card="VA16", cards=1)
    thinking = planner.plan("Qwen3-4B-Thinking-2507-FP8", card="VA16", cards=1)
    out = _sample(plan=instruct)
    assert out["meta"]["mode"] == "non-thinking" and "extra_body" not in out["task"]["generation_config"]
    out = _sample(plan=thinking)
    assert out["meta"]["mode"] == "thinking" and out["task"]["generation_config"]["temperature"] == 0.6
    with pytest.raises(at.AccuracyTaskError, match="no thinking mode"):
        _sample(plan=instruct, thinking=True)
    with pytest.raises(at.AccuracyTaskError, match="always thinks"):
        _sample(plan=thinking, thinking=False)


def test_datasets_and_limits_override_the_preset():
    out = _sample(datasets=["gsm8k"], limit=5)
    assert out["task"]["datasets"] == ["gsm8k"] and out["task"]["limit"] == 5
    assert list(out["task"]["dataset_args"]) == ["gsm8k"]
    with pytest.raises(at.AccuracyTaskError, match="positive item count"):
        _sample(limit=-1)
    with pytest.raises(at.AccuracyTaskError, match="not one of"):
        at.settle(_settings(preset="everything"))


def test_extra_generation_settings_merge():
    gen = _sample(generation_config={"seed": 7, "extra_body": {"repetition_penalty": 1.05}})["task"][
        "generation_config"
    ]
    assert gen["seed"] == 7
    assert gen["extra_body"] == {"chat_template_kwargs": {"enable_thinking": False}, "repetition_penalty": 1.05}
