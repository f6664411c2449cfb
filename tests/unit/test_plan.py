"""The planning filters: every model x TP cell of the guide, every refusal, the guide's own command."""
import json
import shlex

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vacc.qwen3.plugins.filter import qwen3 as filters
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _catalog as cat
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _planner as planner

from test_catalog import SEED_LIMITS, SEED_ROWS

ALL_TPS = (1, 2, 4, 8, 16, 32)
CELLS = [(r[0], tp) for r in SEED_ROWS for tp in r[5]]
NOT_LISTED = [(r[0], tp) for r in SEED_ROWS for tp in ALL_TPS if tp not in r[5]]


def _cards_for(tp):
    return max(1, -(-tp // 4))


def plan(*args, **kwargs):
    return filters.qwen3_plan(*args, **kwargs)


def refused(*args, **kwargs):
    with pytest.raises(AnsibleFilterError) as info:
        filters.qwen3_plan(*args, **kwargs)
    message = str(info.value)
    # One sentence: no line breaks, ends with a period, names a fix.
    assert "\n" not in message and message.endswith(".")
    return message


@pytest.mark.parametrize("name,tp", CELLS, ids=["%s-TP%d" % c for c in CELLS])
def test_every_cell_plans(name, tp):
    if (name, tp) in cat.KNOWN_FAILURES:
        pytest.fail("the guide lists no TP that is a known failure")
    p = plan(name, card="VA16", cards=_cards_for(tp), tp=tp)
    family = cat.MODELS[name]["family"]
    max_input, max_model = SEED_LIMITS[family][tp]
    assert p["tp"] == tp and p["max_model_len"] == max_model and p["max_input_len"] == max_input
    assert p["max_concurrency"] == 4 and p["mtp"] is False and p["fits"] is True
    assert p["die_slices"] == [",".join(str(d) for d in range(tp))]
    assert p["memory_per_die_gb"]["total"] <= 32 * planner.USABLE_FRACTION
    env = filters.qwen3_vacc_env(p)
    assert env["VACC_VISIBLE_DEVICES"] == ",".join(str(d) for d in range(tp))
    assert env.get("LLM_MAX_PREFILL_SEQ_LEN") == (str(max_input) if max_input else None)
    argv = filters.qwen3_vllm_args(p)
    assert argv[argv.index("--tensor-parallel-size") + 1] == str(tp)
    assert argv[argv.index("--max-model-len") + 1] == str(max_model)


@pytest.mark.parametrize("name,tp", CELLS, ids=["%s-TP%d" % c for c in CELLS])
def test_every_cell_on_va10l(name, tp):
    assert plan(name, card="VA10L", cards=_cards_for(tp), tp=tp)["tp"] == tp


@pytest.mark.parametrize("name,tp", NOT_LISTED, ids=["%s-TP%d" % c for c in NOT_LISTED])
def test_unlisted_tp_refused(name, tp):
    message = refused(name, card="VA16", cards=8, tp=tp)
    listed = [t for t in cat.MODELS[name]["tp"] if (name, t) not in cat.KNOWN_FAILURES]
    for t in listed:
        assert "TP%d" % t in message
    if (name, tp) not in cat.KNOWN_FAILURES:
        assert message.startswith("The guide does not list TP%d for %s" % (tp, name))


def test_known_failure_sentence():
    message = refused("Qwen3-4B-AWQ", card="VA16", cards=2, tp=8)
    assert message.startswith("Qwen3-4B-AWQ does not load at TP8 on this platform; use TP2 or TP4")


def test_default_tp_is_smallest_listed():
    assert plan("Qwen3-8B")["tp"] == 2
    assert plan("Qwen3-32B")["tp"] == 4
    assert plan("Qwen3-235B-A22B-FP8", cards=4)["tp"] == 16
    # A context beyond TP2's limit moves the choice to the smallest TP that allows it.
    assert plan("Qwen3-8B-AWQ", max_model_len=100000)["tp"] == 4
    # Instances that would not fit at a larger TP keep the smaller one.
    assert plan("Qwen3-30B-A3B-FP8", cards=1, instances=2)["tp"] == 2


def test_default_tp_refused_when_nothing_fits():
    message = refused("Qwen3-235B-A22B-FP8", card="VA16", cards=1)
    assert "TP16/TP32" in message and "4 x 128G" in message


def test_too_many_dies():
    message = refused("Qwen3-8B-AWQ", card="VA16", cards=1, tp=4, instances=2)
    assert message == ("TP4 x 2 instance(s) needs 8 dies but 1 x VA16 has 4; use 1 instance(s) or TP2.")
    message = refused("Qwen3-235B-A22B-FP8", card="VA16", cards=2, tp=16)
    assert "needs 16 dies but 2 x VA16 has 8" in message and "4 VA16 card(s)" in message


def test_instances_on_consecutive_slices():
    p = plan("Qwen3-30B-A3B-FP8", card="VA10L", cards=2, tp=4, instances=2)
    assert p["die_slices"] == ["0,1,2,3", "4,5,6,7"] and p["dies_used"] == 8 and p["dies"] == 8
    assert p["max_concurrency_total"] == 8
    assert filters.qwen3_vacc_env(p, instance=1)["VACC_VISIBLE_DEVICES"] == "4,5,6,7"
    with pytest.raises(AnsibleFilterError, match="has 2 instance"):
        filters.qwen3_vacc_env(p, instance=2)


def test_max_model_len_over_limit():
    message = refused("Qwen3-8B", card="VA16", cards=1, tp=2, max_model_len=131072)
    assert message == ("max_model_len 131072 is over Qwen3-8B's limit at TP2 (65536); "
                       "use max_model_len <= 65536 or TP8.")
    message = refused("Qwen3-0.6B", cards=2, tp=8, max_model_len=40960)
    assert "use max_model_len <= 32768." in message


def test_max_model_len_below_limit_caps_input():
    p = plan("Qwen3-8B", tp=2, max_model_len=16384)
    assert p["max_model_len"] == 16384 and p["max_input_len"] == 16384 and p["rope_scaling"] is None


def test_memory_refusal_on_va1l_with_known_dies():
    # Four 16 GiB dies per VA1L: the 235B FP8 weights alone are ~13.8 GiB per die at TP16.
    message = refused("Qwen3-235B-A22B-FP8", card="VA1L", cards=4, tp=16, dies=16)
    assert "per die" in message and "use TP32" in message
    assert plan("Qwen3-235B-A22B-FP8", card="VA1L", cards=8, tp=32, dies=32)["fits"] is True


def test_va1l_unknown_dies_is_said():
    p = plan("Qwen3-8B-AWQ", card="VA1L", tp=2)
    assert p["dies"] is None and p["die_memory_gb"] is None
    assert any("die count is not public" in n for n in p["notes"])


def test_gptq_desc_act_refused():
    message = refused("Qwen3-8B-GPTQ-Int4", tp=2, quant_config={"quant_method": "gptq", "desc_act": True})
    assert "desc_act: false" in message
    assert plan("Qwen3-8B-GPTQ-Int4", tp=2, quant_config={"quant_method": "gptq", "desc_act": False})


@pytest.mark.parametrize("name,expect", [("Qwen3-8b-awq", None), ("Qwen3-8B-AWQX", "Qwen3-8B-AWQ"),
                                         ("qwen3-235b", "Qwen3-235B-A22B-FP8"), ("Llama-3-8B", None)])
def test_unknown_model(name, expect):
    if expect is None and name.lower() in {n.lower() for n in cat.MODELS}:
        assert plan(name, tp=2)["model"] == "Qwen3-8B-AWQ"
        return
    message = refused(name)
    assert message.startswith("Unknown model '%s'" % name)
    if expect:
        assert expect in message


@pytest.mark.parametrize("kwargs,needle", [({"card": "A100"}, "use VA10L, VA16 or VA1L"),
                                           ({"cards": 0}, "cards must be at least 1"),
                                           ({"tp": "two"}, "tp must be a whole number"),
                                           ({"instances": 1.5}, "instances must be a whole number")])
def test_bad_arguments(kwargs, needle):
    assert needle in refused("Qwen3-8B", **kwargs)


def test_seed_command_235b_instruct_2507():
    """The guide's own docker run for Qwen3-235B-A22B-Instruct-2507-FP8 on a VA16 server."""
    p = plan("Qwen3-235B-A22B-Instruct-2507-FP8", card="VA16", cards=4, tp=16)
    assert (p["tp"], p["max_model_len"], p["max_input_len"]) == (16, 131072, 102400)
    assert p["rope_scaling"] is None and p["reasoning_parser"] is None
    [spec] = filters.qwen3_container_specs(p, image="harbor.vastaitech.com/ai_deliver/vllm_vacc:AI3.2_GR_1202",
                                           weights_dir="/path/to/model")
    line = filters.qwen3_docker_run(spec)
    assert line == (
        "docker run -d -e VACC_VISIBLE_DEVICES=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 "
        "-e LLM_MAX_PREFILL_SEQ_LEN=102400 --privileged=true --shm-size=256g --name vllm_service "
        "-v /path/to/model:/weights/ -p 8000:8000 --ipc=host "
        "harbor.vastaitech.com/ai_deliver/vllm_vacc:AI3.2_GR_1202 "
        "vllm serve /weights/Qwen3-235B-A22B-Instruct-2507-FP8 --trust-remote-code "
        "--tensor-parallel-size 16 --max-model-len 131072 --enforce-eager --host 0.0.0.0 --port 8000 "
        "--served-model-name Qwen3-235B-A22B-Instruct-2507-FP8")


def test_api_key_in_argv_and_quoting():
    p = plan("Qwen3-8B", tp=2)
    [spec] = filters.qwen3_container_specs(p, api_key="k3y with space")
    argv = shlex.split(filters.qwen3_docker_run(spec))
    assert argv[argv.index("--api-key") + 1] == "k3y with space"


@pytest.mark.parametrize("version,flag", [("0.8.5", "--rope-scaling"), ("0.9.2", "--rope-scaling"),
                                          ("0.11.0", "--rope-scaling"), ("0.11.1", "--hf-overrides"),
                                          ("0.32.0+cpu", "--hf-overrides")])
def test_rope_flag_by_version(version, flag):
    p = plan("Qwen3-30B-A3B-FP8", tp=4)  # 131072 > native 40960: YaRN factor 4
    assert p["rope_scaling"] == {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}
    argv = filters.qwen3_vllm_args(p, vllm_version=version)
    value = json.loads(argv[argv.index(flag) + 1])
    if flag == "--hf-overrides":
        assert value == {"max_position_embeddings": 131072,
                         "rope_parameters": {"rope_type": "yarn", "factor": 4.0,
                                             "original_max_position_embeddings": 32768,
                                             "rope_theta": 1000000}}
        assert "--rope-scaling" not in argv
    else:
        assert value == p["rope_scaling"] and "--hf-overrides" not in argv


def test_yarn_factor_follows_context():
    assert plan("Qwen3-8B", tp=2)["rope_scaling"]["factor"] == 2.0  # 65536
    assert plan("Qwen3-8B", tp=2, max_model_len=40960)["rope_scaling"] is None
    assert plan("Qwen3-8B", tp=2, max_model_len=40961)["rope_scaling"]["factor"] == 2.0


@pytest.mark.parametrize("name,parser", [("Qwen3-8B", "qwen3"), ("Qwen3-4B-Thinking-2507-FP8", "deepseek_r1"),
                                         ("Qwen3-4B-Instruct-2507-FP8", None)])
def test_reasoning_parser(name, parser):
    p = plan(name, tp=2)
    assert p["reasoning_parser"] == parser
    new = filters.qwen3_vllm_args(p, vllm_version="0.9.2")
    old = filters.qwen3_vllm_args(p, vllm_version="0.8.5")
    if parser:
        assert new[new.index("--reasoning-parser") + 1] == parser and "--enable-reasoning" not in new
        assert "--enable-reasoning" in old
    else:
        assert "--reasoning-parser" not in new and "--enable-reasoning" not in old


def test_multi_instance_specs():
    p = plan("Qwen3-8B-AWQ", card="VA16", cards=1, tp=2, instances=2)
    specs = filters.qwen3_container_specs(p, port=9000)
    assert [s["name"] for s in specs] == ["vllm_service_0", "vllm_service_1"]
    assert [s["port"] for s in specs] == [9000, 9001]
    assert [s["env"]["VACC_VISIBLE_DEVICES"] for s in specs] == ["0,1", "2,3"]
    assert specs[1]["command"][specs[1]["command"].index("--port") + 1] == "9001"
    # Behind the load balancer: unpublished, on the shared network.
    assert all(s["published_ports"] == [] and s["network"] == "vacc_qwen3" for s in specs)
    assert "--network=vacc_qwen3" in filters.qwen3_docker_run(specs[0])
    assert " -p " not in filters.qwen3_docker_run(specs[0])


def test_lab_checkpoint_dir():
    p = plan("Qwen3-0.6B", tp=2)
    argv = filters.qwen3_vllm_args(p, model_dir="qwen3-tiny")
    assert argv[2] == "/weights/qwen3-tiny"
    [spec] = filters.qwen3_container_specs(p, model_dir="qwen3-tiny")
    assert spec["command"][2] == "/weights/qwen3-tiny" and spec["network"] is None
    # The CPU stand-in runs TP1 while the dies of the plan stay in VACC_VISIBLE_DEVICES.
    [spec] = filters.qwen3_container_specs(p, engine_tp=1)
    assert spec["command"][spec["command"].index("--tensor-parallel-size") + 1] == "1"
    assert spec["env"]["VACC_VISIBLE_DEVICES"] == "0,1"


def test_stand_in_spec_not_privileged():
    p = plan("Qwen3-0.6B", tp=2)
    [spec] = filters.qwen3_container_specs(p, privileged=False, shm_size="1g",
                                           extra_env={"VLLM_CPU_KVCACHE_SPACE": 1}, extra_args=["--dtype", "bfloat16"])
    line = filters.qwen3_docker_run(spec)
    assert "--privileged" not in line and "--shm-size=1g" in line and "VLLM_CPU_KVCACHE_SPACE=1" in line
    assert spec["command"][-2:] == ["--dtype", "bfloat16"]


def test_served_model_name_override():
    p = plan("Qwen3-8B", tp=2, served_model_name="qwen3-8b")
    argv = filters.qwen3_vllm_args(p)
    assert argv[argv.index("--served-model-name") + 1] == "qwen3-8b"


def test_memory_terms_add_up():
    p = plan("Qwen3-32B", tp=4)
    mem = p["memory_per_die_gb"]
    assert mem["total"] == pytest.approx(mem["weights"] + mem["kv_cache"] + mem["overhead"], abs=0.02)
    # 32B BF16 ~ 61 GiB of weights split over 4 dies.
    assert 15 < mem["weights"] < 16 and p["weights_disk_gb"] == pytest.approx(61.0, abs=0.5)
    # 256 KiB/token x 65536 tokens / 4 dies = 4 GiB for one full-length request.
    assert mem["kv_cache"] == pytest.approx(4.0, abs=0.01)
    assert mem["kv_cache_full_concurrency"] == pytest.approx(16.0, abs=0.01)
    assert any("queues the rest" in n for n in p["notes"])
