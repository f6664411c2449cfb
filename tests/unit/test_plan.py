"""The planner: every model x TP cell of the guide, every refusal (one sentence naming the fix), the
guide's defaults, and the guide's own command for Qwen3-235B-A22B-Instruct-2507-FP8."""
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vacc.qwen3.plugins.filter import qwen3 as filters
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _catalog as cat
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _planner as planner

from test_catalog import GUIDE_LIMITS, GUIDE_ROWS

ALL_TPS = (1, 2, 4, 8, 16, 32)
CELLS = [(r[0], tp) for r in GUIDE_ROWS for tp in r[5]]
NOT_LISTED = [(r[0], tp) for r in GUIDE_ROWS for tp in ALL_TPS if tp not in r[5]]


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
def test_every_cell_plans_with_the_guides_defaults(name, tp):
    assert (name, tp) not in cat.KNOWN_FAILURES, "the guide lists no TP that is a known failure"
    p = plan(name, card="VA16", cards=_cards_for(tp), tp=tp)
    model = cat.MODELS[name]
    max_input, ceiling = GUIDE_LIMITS[model["family"]][tp]
    native = 262144 if ("2507" in name or "Coder" in name) else 40960
    # The model's native context, capped by the TP's limit; no YaRN unless asked for more.
    assert p["max_model_len"] == min(native, ceiling) and p["max_model_len_ceiling"] == ceiling
    assert p["rope_scaling"] is None
    assert p["max_input_len"] == (min(max_input, p["max_model_len"]) if max_input else None)
    assert p["max_concurrency"] == 4 and p["mtp"] is False
    assert p["die_slices"] == [",".join(str(d) for d in range(tp))]
    assert p["memory_per_die_gb"]["total"] <= 32 * planner.USABLE_FRACTION
    env = filters.qwen3_vacc_env(p)
    assert env["VACC_VISIBLE_DEVICES"] == ",".join(str(d) for d in range(tp))
    # LLM_MAX_PREFILL_SEQ_LEN wherever the guide gives a max-input-len; the plan says so where it does not.
    assert env.get("LLM_MAX_PREFILL_SEQ_LEN") == (str(p["max_input_len"]) if max_input else None)
    if not max_input:
        assert any("gives no max-input-len" in n for n in p["notes"])
    argv = filters.qwen3_vllm_args(p)
    assert argv[argv.index("--tensor-parallel-size") + 1] == str(tp)
    assert argv[argv.index("--max-model-len") + 1] == str(p["max_model_len"])
    assert argv[argv.index("--max-num-seqs") + 1] == "4"


@pytest.mark.parametrize("name,tp", CELLS, ids=["%s-TP%d" % c for c in CELLS])
def test_every_cell_at_its_ceiling(name, tp):
    """The TP's max-model-len plans; over the native context it brings YaRN; one token more is refused."""
    model = cat.MODELS[name]
    max_input, ceiling = GUIDE_LIMITS[model["family"]][tp]
    card = "VA16" if model["family"] == "235B-A22B" else "VA10L"  # the 235B runs on a VA16 server only
    p = plan(name, card=card, cards=_cards_for(tp), tp=tp, max_model_len=ceiling)
    assert p["max_model_len"] == ceiling and p["max_input_len"] == max_input
    assert (p["rope_scaling"] is not None) == (ceiling > model["native_context"])
    message = refused(name, card="VA16", cards=_cards_for(tp), tp=tp, max_model_len=ceiling + 1)
    assert "use max_model_len <= %d" % ceiling in message


@pytest.mark.parametrize("name,tp", NOT_LISTED, ids=["%s-TP%d" % c for c in NOT_LISTED])
def test_unlisted_tp_refused(name, tp):
    message = refused(name, card="VA16", cards=8, tp=tp)
    listed = [t for t in cat.MODELS[name]["tp"] if (name, t) not in cat.KNOWN_FAILURES]
    for t in listed:
        assert str(t) in message
    if (name, tp) not in cat.KNOWN_FAILURES:
        assert message.startswith("Guide revision AI3.2_GR_1202 does not list TP%d for %s; set qwen3_tp to" % (tp, name))


def test_known_failure_sentence():
    message = refused("Qwen3-4B-AWQ", card="VA16", cards=2, tp=8)
    assert message.startswith("Qwen3-4B-AWQ does not load at TP8 on this platform; set qwen3_tp to 2 or 4")


def test_default_tp_is_smallest_listed():
    assert plan("Qwen3-8B")["tp"] == 2
    assert plan("Qwen3-32B")["tp"] == 4
    assert plan("Qwen3-235B-A22B-FP8", cards=4)["tp"] == 16
    # A context beyond TP2's limit moves the choice to the smallest TP that allows it.
    assert plan("Qwen3-8B-AWQ", max_model_len=100000)["tp"] == 4
    # Instances that would not fit at a larger TP keep the smaller one.
    assert plan("Qwen3-30B-A3B-FP8", cards=1, instances=2)["tp"] == 2


def test_the_guides_defaults_for_qwen3_8b():
    p = plan("Qwen3-8B", tp=2)
    assert p["max_model_len"] == 40960 and p["rope_scaling"] is None and p["max_model_len_ceiling"] == 65536
    p = plan("Qwen3-8B", cards=2, tp=8, max_model_len=131072)
    assert p["rope_scaling"] == {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}


def test_2507_is_natively_long():
    p = plan("Qwen3-235B-A22B-Instruct-2507-FP8", cards=4, tp=16)
    assert p["max_model_len"] == 131072 and p["rope_scaling"] is None


def test_when_nothing_fits_the_cheapest_fix_is_named():
    # A context no TP of 0.6B allows: the fix is the context, not hardware.
    assert refused("Qwen3-0.6B", max_model_len=40960) == (
        "max_model_len 40960 is over Qwen3-0.6B's limit at TP2 (32768); use max_model_len <= 32768.")
    # The 235B on one card: four cards (one VA16 server).
    message = refused("Qwen3-235B-A22B-FP8", card="VA16", cards=1)
    assert "TP16 needs 4 VA16 cards: set vacc_cards to 4" in message


def test_too_many_dies():
    message = refused("Qwen3-8B-AWQ", card="VA16", cards=1, tp=4, instances=2)
    assert message == "TP4 x 2 instance(s) needs 8 dies but 1 x VA16 has 4; set qwen3_instances to 1 or qwen3_tp to 2."
    message = refused("Qwen3-235B-A22B-FP8", card="VA16", cards=2, tp=16)
    assert "needs 16 dies but 2 x VA16 has 8; TP16 needs 4 VA16 cards: set vacc_cards to 4." in message
    message = refused("Qwen3-8B", card="VA16", cards=1, tp=8)
    assert "TP8 needs 2 VA16 cards: set vacc_cards to 2 or qwen3_tp to 2" in message


def test_instances_on_consecutive_slices():
    p = plan("Qwen3-30B-A3B-FP8", card="VA10L", cards=2, tp=4, instances=2)
    assert p["die_slices"] == ["0,1,2,3", "4,5,6,7"] and p["dies_used"] == 8 and p["dies"] == 8
    assert p["max_concurrency_total"] == 8
    assert filters.qwen3_vacc_env(p, instance=1)["VACC_VISIBLE_DEVICES"] == "4,5,6,7"
    with pytest.raises(AnsibleFilterError, match="has 2 instance"):
        filters.qwen3_vacc_env(p, instance=2)


def test_max_model_len_over_limit_names_the_fix():
    message = refused("Qwen3-8B", card="VA16", cards=1, tp=2, max_model_len=131072)
    assert message == ("max_model_len 131072 is over Qwen3-8B's limit at TP2 (65536); "
                       "use max_model_len <= 65536 or qwen3_tp 8 (TP8 needs 2 VA16 cards).")
    message = refused("Qwen3-0.6B", cards=2, tp=8, max_model_len=40960)
    assert message.endswith("use max_model_len <= 32768.")


def test_max_model_len_below_limit_caps_input():
    p = plan("Qwen3-8B", tp=2, max_model_len=16384)
    assert p["max_model_len"] == 16384 and p["max_input_len"] == 16384 and p["rope_scaling"] is None


def test_va1l_needs_its_die_count():
    message = refused("Qwen3-8B-AWQ", card="VA1L", tp=2)
    assert "set vacc_dies to this host's die count" in message
    p = plan("Qwen3-8B-AWQ", card="VA1L", cards=1, dies=4, tp=2)
    assert p["dies"] == 4 and p["die_memory_gb"] == 16.0


def test_va1l_cards_in_refusals_follow_the_declared_dies():
    # Four dies per VA1L declared: TP16 needs four cards, not one.
    message = refused("Qwen3-32B", card="VA1L", cards=1, dies=4, tp=8)
    assert "TP8 needs 2 VA1L cards: set vacc_cards to 2" in message


def test_memory_refusal_on_va1l_names_a_bigger_tp():
    # 16 GiB dies: 32B BF16 (~15.3 GiB of weights per die at TP4) does not fit; TP8 on two cards does.
    message = refused("Qwen3-32B", card="VA1L", cards=2, dies=8, tp=4)
    assert "per die" in message and "set qwen3_tp to 8" in message
    assert plan("Qwen3-32B", card="VA1L", cards=2, dies=8, tp=8)["tp"] == 8


@pytest.mark.parametrize("card", ["VA10L", "VA1L"])
def test_models_outside_the_minimum_hardware_table_are_refused(card):
    message = refused("Qwen3-235B-A22B-FP8", card=card, cards=4, dies=16, tp=16)
    assert message == ("The guide supports Qwen3-235B-A22B-FP8 on one VA16 server (4 x 128G cards), not on %s; "
                       "set vacc_card to VA16." % card)


def test_gptq_desc_act_refused():
    message = refused("Qwen3-8B-GPTQ-Int4", tp=2, quant_config={"quant_method": "gptq", "desc_act": True})
    assert "desc_act: false" in message
    # quantize_config.json (AutoGPTQ's) names no quant_method: the model's own is used.
    message = refused("Qwen3-8B-GPTQ-Int4", tp=2, quant_config={"bits": 4, "desc_act": True})
    assert "GPTQ with desc_act: true" in message
    assert plan("Qwen3-8B-GPTQ-Int4", tp=2, quant_config={"quant_method": "gptq", "desc_act": False})


@pytest.mark.parametrize("typed", ["qwen3-8b", "QWEN3-8B", "Qwen3-8b"])
def test_one_spelling(typed):
    p = plan(typed, tp=2)
    assert p["model"] == "Qwen3-8B" and p["served_model_name"] == "Qwen3-8B"


@pytest.mark.parametrize("name,expect", [("Qwen3-8B-AWQX", "Qwen3-8B-AWQ"),
                                         ("qwen3-235b", "Qwen3-235B-A22B-FP8"), ("Llama-3-8B", None)])
def test_unknown_model(name, expect):
    message = refused(name)
    assert message.startswith("Unknown model '%s'" % name)
    if expect:
        assert expect in message


@pytest.mark.parametrize("kwargs,needle", [({"card": "A100"}, "set vacc_card to VA10L, VA16 or VA1L"),
                                           ({"cards": 0}, "vacc_cards must be at least 1"),
                                           ({"tp": "two"}, "qwen3_tp must be a whole number"),
                                           ({"instances": 1.5}, "qwen3_instances must be a whole number")])
def test_bad_arguments(kwargs, needle):
    assert needle in refused("Qwen3-8B", **kwargs)


@pytest.mark.parametrize("version,flag", [("0.8.5", "--rope-scaling"), ("0.9.2", "--rope-scaling"),
                                          ("0.11.0", "--rope-scaling"), ("0.11.1", "--hf-overrides"),
                                          ("0.32.0+cpu", "--hf-overrides")])
def test_rope_flag_by_version(version, flag):
    p = plan("Qwen3-30B-A3B-FP8", tp=4, max_model_len=131072)  # over native 40960: YaRN factor 4
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
    assert plan("Qwen3-8B", tp=2, max_model_len=65536)["rope_scaling"]["factor"] == 2.0
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


def test_no_key_on_the_argv():
    argv = filters.qwen3_vllm_args(plan("Qwen3-8B", tp=2))
    assert "--api-key" not in argv


def test_lab_checkpoint_dir_and_engine_tp():
    p = plan("Qwen3-0.6B", tp=2)
    argv = filters.qwen3_vllm_args(p, model_dir="qwen3-tiny", engine_tp=1)
    assert argv[2] == "/weights/qwen3-tiny"
    assert argv[argv.index("--tensor-parallel-size") + 1] == "1"


def test_served_model_name_override():
    p = plan("Qwen3-8B", tp=2, served_model_name="qwen3-8b")
    argv = filters.qwen3_vllm_args(p)
    assert argv[argv.index("--served-model-name") + 1] == "qwen3-8b"


def test_memory_terms_add_up():
    p = plan("Qwen3-32B", tp=4, max_model_len=65536)
    mem = p["memory_per_die_gb"]
    assert mem["total"] == pytest.approx(mem["weights"] + mem["kv_cache"] + mem["overhead"], abs=0.02)
    # 32B BF16 ~ 61 GiB of weights split over 4 dies.
    assert 15 < mem["weights"] < 16 and p["weights_disk_gb"] == pytest.approx(61.0, abs=0.5)
    # 256 KiB/token x 65536 tokens / 4 dies = 4 GiB for one full-length request.
    assert mem["kv_cache"] == pytest.approx(4.0, abs=0.01)
    assert mem["kv_cache_full_concurrency"] == pytest.approx(16.0, abs=0.01)
    assert any("queues the rest" in n for n in p["notes"])
