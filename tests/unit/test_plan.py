"""The planner: every model x TP cell of the guide, every refusal (one sentence naming the fix), the
guide's defaults, and the guide's own command for Qwen3-235B-A22B-Instruct-2507-FP8."""

import json

import pytest
from ansible.errors import AnsibleFilterError
from test_catalog import CURRENT, CURRENT_LIMITS, CURRENT_ROWS, GUIDE_LIMITS, GUIDE_ROWS, SEED

from ansible_collections.vacc.qwen3.plugins.filter import qwen3 as filters
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _catalog as cat
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _planner as planner

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
        assert message.startswith(
            "Guide revision AI3.2_GR_1202 does not list TP%d for %s; set qwen3_tp to" % (tp, name)
        )


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
        "max_model_len 40960 is over Qwen3-0.6B's limit at TP2 (32768); use max_model_len <= 32768."
    )
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
    assert message == (
        "max_model_len 131072 is over Qwen3-8B's limit at TP2 (65536); "
        "use max_model_len <= 65536 or qwen3_tp 8 (TP8 needs 2 VA16 cards)."
    )
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
    assert message == (
        "The guide supports Qwen3-235B-A22B-FP8 on one VA16 server (4 x 128G cards), not on %s; "
        "set vacc_card to VA16." % card
    )


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


@pytest.mark.parametrize(
    "name,expect", [("Qwen3-8B-AWQX", "Qwen3-8B-AWQ"), ("qwen3-235b", "Qwen3-235B-A22B-FP8"), ("Llama-3-8B", None)]
)
def test_unknown_model(name, expect):
    message = refused(name)
    assert message.startswith("Unknown model '%s'" % name)
    if expect:
        assert expect in message


@pytest.mark.parametrize(
    "kwargs,needle",
    [
        ({"card": "A100"}, "set vacc_card to VA10L, VA16 or VA1L"),
        ({"cards": 0}, "vacc_cards must be at least 1"),
        ({"tp": "two"}, "qwen3_tp must be a whole number"),
        ({"instances": 1.5}, "qwen3_instances must be a whole number"),
    ],
)
def test_bad_arguments(kwargs, needle):
    assert needle in refused("Qwen3-8B", **kwargs)


@pytest.mark.parametrize(
    "version,flag",
    [
        ("0.8.5", "--rope-scaling"),
        ("0.9.2", "--rope-scaling"),
        ("0.11.0", "--rope-scaling"),
        ("0.11.1", "--hf-overrides"),
        ("0.32.0+cpu", "--hf-overrides"),
    ],
)
def test_rope_flag_by_version(version, flag):
    p = plan("Qwen3-30B-A3B-FP8", tp=4, max_model_len=131072)  # over native 40960: YaRN factor 4
    assert p["rope_scaling"] == {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}
    argv = filters.qwen3_vllm_args(p, vllm_version=version)
    value = json.loads(argv[argv.index(flag) + 1])
    if flag == "--hf-overrides":
        assert value == {
            "max_position_embeddings": 131072,
            "rope_parameters": {
                "rope_type": "yarn",
                "factor": 4.0,
                "original_max_position_embeddings": 32768,
                "rope_theta": 1000000,
            },
        }
        assert "--rope-scaling" not in argv
    else:
        assert value == p["rope_scaling"] and "--hf-overrides" not in argv


def test_yarn_factor_follows_context():
    assert plan("Qwen3-8B", tp=2, max_model_len=65536)["rope_scaling"]["factor"] == 2.0
    assert plan("Qwen3-8B", tp=2, max_model_len=40960)["rope_scaling"] is None
    assert plan("Qwen3-8B", tp=2, max_model_len=40961)["rope_scaling"]["factor"] == 2.0


@pytest.mark.parametrize(
    "name,parser",
    [("Qwen3-8B", "qwen3"), ("Qwen3-4B-Thinking-2507-FP8", "deepseek_r1"), ("Qwen3-4B-Instruct-2507-FP8", None)],
)
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


# ---------------------------------------------------------------- the current guide revision (VVI-26.02)
CURRENT_CELLS = [(r[0], tp) for r in CURRENT_ROWS for tp in r[5]]


@pytest.mark.parametrize("name,tp", CURRENT_CELLS, ids=["%s-TP%d" % c for c in CURRENT_CELLS])
def test_every_current_cell_plans_at_its_ceiling(name, tp):
    """Every TP VVI-26.02 lists plans with its defaults and at the TP's max-model-len, on the card it names."""
    row = [r for r in CURRENT_ROWS if r[0] == name][0]
    max_input, ceiling = CURRENT_LIMITS[row[3]][tp]
    card = "VA16" if row[3] == "235B-A22B" else "VA10L"
    p = plan(name, card=card, cards=_cards_for(tp), tp=tp, revision=CURRENT)
    assert p["guide_revision"] == CURRENT and p["source"] == "guide:" + CURRENT and p["guide_image_tag"] == "VVI-26.02"
    assert p["max_model_len_ceiling"] == ceiling
    p = plan(name, card=card, cards=_cards_for(tp), tp=tp, max_model_len=ceiling, revision=CURRENT)
    assert p["max_input_len"] == max_input and p["memory_per_die_gb"]["total"] <= 32 * planner.USABLE_FRACTION


def test_tp1_is_the_current_revisions_and_the_seed_names_it():
    p = plan("Qwen3-0.6B", tp=1, revision=CURRENT)
    assert p["tp"] == 1 and p["die_slices"] == ["0"] and p["max_model_len"] == 32768
    # Unset TP: the smallest the revision lists.
    assert plan("Qwen3-4B", revision=CURRENT)["tp"] == 1 and plan("Qwen3-4B")["tp"] == 2
    message = refused("Qwen3-0.6B", tp=1)
    assert message == (
        "Guide revision AI3.2_GR_1202 does not list TP1 for Qwen3-0.6B; set qwen3_tp to 2, 4 or 8, "
        "or qwen3_guide_revision to VVI-26.02, which lists TP1."
    )
    assert refused("Qwen3-32B", cards=4, tp=16).endswith("or qwen3_guide_revision to VVI-26.02, which lists TP16.")
    # A TP no revision lists names none.
    assert "qwen3_guide_revision" not in refused("Qwen3-8B", tp=1, revision=CURRENT)


def test_a_model_of_the_other_revision_is_named():
    message = refused("Qwen3-8B-GPTQ-INT8", tp=2)
    assert message == (
        "Qwen3-8B-GPTQ-INT8 is not in guide revision AI3.2_GR_1202; guide revision VVI-26.02 lists it: "
        "set qwen3_guide_revision to VVI-26.02, or add the row with qwen3_catalog_extra."
    )
    assert "guide revision AI3.2_GR_1202 lists it" in refused("Qwen3-8B-GPTQ-Int4", tp=2, revision=CURRENT)
    p = plan("Qwen3-8B-GPTQ-INT8", tp=2, revision=CURRENT)
    assert p["dtype"] == "INT8" and p["quant_method"] == "gptq"
    # W8A16: about 1.02 bytes per quantized weight, between FP8 and BF16.
    assert (
        plan("Qwen3-8B-FP8", tp=2)["weights_disk_gb"] < p["weights_disk_gb"] < plan("Qwen3-8B", tp=2)["weights_disk_gb"]
    )


def test_the_4b_awq_footnote_belongs_to_its_revision():
    assert "does not load at TP8" in refused("Qwen3-4B-AWQ", cards=2, tp=8)
    assert plan("Qwen3-4B-AWQ", cards=2, tp=8, revision=CURRENT)["tp"] == 8


# ---------------------------------------------------------------- rows an operator adds (qwen3_catalog_extra)
MINE = {
    "name": "Qwen3-30B-A3B-Instruct-2507-GPTQ-Int4-mine",
    "family": "30B-A3B",
    "dtype": "INT4",
    "quant_method": "gptq",
    "tp": [2, 4],
    "thinking": "instruct",
}


def test_an_inventory_row_plans_like_a_guide_row():
    p = plan(MINE["name"], tp=4, catalog_extra=[MINE])
    assert p["source"] == "inventory" and p["guide_revision"] == SEED and p["model"] == MINE["name"]
    guide_row = plan("Qwen3-30B-A3B-Instruct-2507-GPTQ-Int4", tp=4)
    for key in ("max_model_len", "max_input_len", "max_model_len_ceiling", "memory_per_die_gb", "reasoning_parser"):
        assert p[key] == guide_row[key], key
    assert refused(MINE["name"], tp=8, cards=2, catalog_extra=[MINE]) == (
        "%s's row in qwen3_catalog_extra does not list TP8 for %s; set qwen3_tp to 2 or 4."
        % (MINE["name"], MINE["name"])
    )
    # Its GPTQ checkpoint is held to the guide's rules too.
    assert "desc_act: false" in refused(MINE["name"], tp=2, catalog_extra=[MINE], quant_config={"desc_act": True})
    assert "Unknown model" in refused(MINE["name"], tp=2)


# ---------------------------------------------------------------- the checkpoint against its row
def checkpoint(quant=None, torch_dtype="bfloat16"):
    return {"path": "/data/weights/x", "quantization_config": quant, "torch_dtype": torch_dtype}


GPTQ4 = {"quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": False, "sym": True}


@pytest.mark.parametrize(
    "name,quant,needle",
    [
        (
            "Qwen3-8B-GPTQ-Int4",
            dict(GPTQ4, bits=8),
            "The checkpoint at /data/weights/x is bits: 8 but Qwen3-8B-GPTQ-Int4's row "
            "(guide:AI3.2_GR_1202, INT4 gptq) needs bits: 4 (INT4 is W4A16 here); plan it under an INT8 row, or add one with "
            "qwen3_catalog_extra.",
        ),
        ("Qwen3-8B-AWQ", {"quant_method": "awq", "bits": 8, "group_size": 128}, "is bits: 8 but Qwen3-8B-AWQ's row"),
        ("Qwen3-8B-AWQ", {"quant_method": "awq", "w_bit": 3}, "is bits: 3 but Qwen3-8B-AWQ's row"),
        (
            "Qwen3-8B-GPTQ-Int4",
            {"quant_method": "gptq", "desc_act": False},
            "declares no bits in its quantization_config",
        ),
        ("Qwen3-8B-GPTQ-Int4", dict(GPTQ4, quant_method="awq"), "is quant_method awq but Qwen3-8B-GPTQ-Int4's row"),
        (
            "Qwen3-8B-GPTQ-Int4",
            None,
            "has no quantization_config (config.json or quantize_config.json) but "
            "Qwen3-8B-GPTQ-Int4's row (guide:AI3.2_GR_1202, INT4 gptq) needs an INT4 checkpoint",
        ),
        ("Qwen3-8B-FP8", GPTQ4, "is quant_method gptq but Qwen3-8B-FP8's row (guide:AI3.2_GR_1202, FP8 fp8) needs fp8"),
        ("Qwen3-8B-FP8", None, "has no quantization_config"),
        (
            "Qwen3-8B",
            {"quant_method": "fp8", "fmt": "e4m3"},
            "has a quantization_config (quant_method fp8) but Qwen3-8B's "
            "row (guide:AI3.2_GR_1202, BF16) is unquantized",
        ),
        (
            "Qwen3-8B-GPTQ-Int4",
            dict(GPTQ4, desc_act=True),
            "This Qwen3-8B-GPTQ-Int4 checkpoint is GPTQ with desc_act: true",
        ),
    ],
)
def test_a_checkpoint_that_does_not_match_its_row_is_refused(name, quant, needle):
    with pytest.raises(planner.PlanError) as info:
        planner.plan(name, tp=2, checkpoint=checkpoint(quant))
    message = str(info.value)
    assert needle in message and "\n" not in message and message.endswith(".")


@pytest.mark.parametrize(
    "name,revision,quant",
    [
        ("Qwen3-8B-GPTQ-Int4", SEED, GPTQ4),
        (
            "Qwen3-8B-GPTQ-Int4",
            SEED,
            {"bits": 4, "group_size": 128, "desc_act": False, "sym": True},
        ),  # quantize_config.json
        (
            "Qwen3-8B-AWQ",
            SEED,
            {"quant_method": "awq", "bits": 4, "group_size": 128, "zero_point": True, "version": "gemm"},
        ),
        ("Qwen3-8B-GPTQ-INT8", CURRENT, dict(GPTQ4, bits=8)),
        ("Qwen3-4B-Instruct-2507-GPTQ-INT4", CURRENT, dict(GPTQ4, quant_method="auto-round")),
        ("Qwen3-8B-FP8", SEED, {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic"}),
        ("Qwen3-8B", SEED, None),
    ],
)
def test_a_matching_checkpoint_plans(name, revision, quant):
    p = planner.plan(name, tp=2, revision=revision, checkpoint=checkpoint(quant, torch_dtype="float16"))
    assert p["quant_config"] == quant and not any("torch_dtype" in n for n in p["notes"])


def test_the_float16_tip_is_a_note_where_the_revision_gives_it():
    p = planner.plan(
        "Qwen3-8B-AWQ",
        tp=2,
        revision=CURRENT,
        checkpoint=checkpoint({"quant_method": "awq", "bits": 4}, torch_dtype="bfloat16"),
    )
    assert (
        'The guide (VVI-26.02) says W4A16 checkpoints run faster with "torch_dtype": "float16"; this one\'s '
        "config.json says bfloat16."
    ) in p["notes"]
    # The seed's revision gives no such tip; INT8 and FP8 are not W4A16.
    assert not any(
        "float16" in n
        for n in planner.plan("Qwen3-8B-AWQ", tp=2, checkpoint=checkpoint({"quant_method": "awq", "bits": 4}))["notes"]
    )
    assert not any(
        "float16" in n
        for n in planner.plan("Qwen3-8B-GPTQ-INT8", tp=2, revision=CURRENT, checkpoint=checkpoint(dict(GPTQ4, bits=8)))[
            "notes"
        ]
    )


def test_the_operators_quant_config_is_checked_for_what_it_gives():
    """qwen3_quant_config describes weights not on the host yet: a wrong value is refused, a missing one is not."""
    assert "is bits: 8 but" in refused("Qwen3-8B-GPTQ-Int4", tp=2, quant_config={"bits": 8})
    assert plan("Qwen3-8B-GPTQ-Int4", tp=2, quant_config={"desc_act": False})
    assert "has a quantization_config" in refused("Qwen3-8B", tp=2, quant_config={"quant_method": "gptq", "bits": 4})
