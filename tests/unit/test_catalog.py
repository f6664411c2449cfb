"""The catalog against the guide's tables, cell by cell, for each revision of the guide.

GUIDE_MODELS and GUIDE_LIMITS (the seed's revision, AI3.2_GR_1202) and CURRENT_MODELS and
CURRENT_LIMITS (VVI-26.02, Vastai/VastModelZOO llm/qwen3/vllm/README.md at b14e7070) are typed from
the two documents (模型支持 and 使用限制) independently of plugins/plugin_utils/guide/*.yml, so a slip
in either shows up here.
"""

import pytest

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _catalog as cat

SEED = "AI3.2_GR_1202"
CURRENT = "VVI-26.02"

# name, huggingface, modelscope (None = "/"), parameter, dtype, parallel
GUIDE_MODELS = """
Qwen3-0.6B | Qwen/Qwen3-0.6B | Qwen/Qwen3-0.6B | 0.6B | BF16 | TP2/4/8
Qwen3-0.6B-FP8 | Qwen/Qwen3-0.6B-FP8 | Qwen/Qwen3-0.6B-FP8 | 0.6B | FP8 | TP2/4/8
Qwen3-0_6B_int4_awq | AngelSlim/Qwen3-0_6B_int4_awq | AngelSlim/Qwen3-0_6B_int4_awq | 0.6B | INT4 | TP2/4/8
Qwen3-0.6B-GPTQ-Int4 | JunHowie/Qwen3-0.6B-GPTQ-Int4 | JunHowie/Qwen3-0.6B-GPTQ-Int4 | 0.6B | INT4 | TP2/4/8
Qwen3-1.7B | Qwen/Qwen3-1.7B | Qwen/Qwen3-1.7B | 1.7B | BF16 | TP2/4/8
Qwen3-1.7B-FP8 | Qwen/Qwen3-1.7B-FP8 | Qwen/Qwen3-1.7B-FP8 | 1.7B | FP8 | TP2/4/8
Qwen3-1_7B_int4_awq | AngelSlim/Qwen3-1_7B_int4_awq | AngelSlim/Qwen3-1_7B_int4_awq | 1.7B | INT4 | TP2/4/8
Qwen3-1.7B-GPTQ-Int4 | JunHowie/Qwen3-1.7B-GPTQ-Int4 | JunHowie/Qwen3-1.7B-GPTQ-Int4 | 1.7B | INT4 | TP2/4/8
Qwen3-4B | Qwen/Qwen3-4B | Qwen/Qwen3-4B | 4B | BF16 | TP2/8
Qwen3-4B-FP8 | Qwen/Qwen3-4B-FP8 | Qwen/Qwen3-4B-FP8 | 4B | FP8 | TP2/8
Qwen3-4B-Instruct-2507-FP8 | Qwen/Qwen3-4B-Instruct-2507-FP8 | Qwen/Qwen3-4B-Instruct-2507-FP8 | 4B | FP8 | TP2/8
Qwen3-4B-Thinking-2507-FP8 | Qwen/Qwen3-4B-Thinking-2507-FP8 | Qwen/Qwen3-4B-Thinking-2507-FP8 | 4B | FP8 | TP2/8
Qwen3-4B-AWQ | Qwen/Qwen3-4B-AWQ | Qwen/Qwen3-4B-AWQ | 4B | INT4 | TP2/4
Qwen3-4B-GPTQ-Int4 | JunHowie/Qwen3-4B-GPTQ-Int4 | JunHowie/Qwen3-4B-GPTQ-Int4 | 4B | INT4 | TP2/8
Qwen3-8B | Qwen/Qwen3-8B | Qwen/Qwen3-8B | 8B | BF16 | TP2/8
Qwen3-8B-FP8 | Qwen/Qwen3-8B-FP8 | Qwen/Qwen3-8B-FP8 | 8B | FP8 | TP2/8
Qwen3-8B-AWQ | Qwen/Qwen3-8B-AWQ | Qwen/Qwen3-8B-AWQ | 8B | INT4 | TP2/4/8
Qwen3-8B-GPTQ-Int4 | JunHowie/Qwen3-8B-GPTQ-Int4 | JunHowie/Qwen3-8B-GPTQ-Int4 | 8B | INT4 | TP2/8
Qwen3-14B | Qwen/Qwen3-14B | Qwen/Qwen3-14B | 14B | BF16 | TP2/4/8
Qwen3-14B-FP8 | Qwen/Qwen3-14B-FP8 | Qwen/Qwen3-14B-FP8 | 14B | FP8 | TP2/4/8
Qwen3-14B-AWQ | JunHowie/Qwen3-14B-AWQ | JunHowie/Qwen3-14B-AWQ | 14B | INT4 | TP2/4/8
Qwen3-14B-GPTQ-Int4 | JunHowie/Qwen3-14B-GPTQ-Int4 | JunHowie/Qwen3-14B-GPTQ-Int4 | 14B | INT4 | TP2/4/8
Qwen3-32B | Qwen/Qwen3-32B | Qwen/Qwen3-32B | 32B | BF16 | TP4/8
Qwen3-32B-FP8 | Qwen/Qwen3-32B-FP8 | Qwen/Qwen3-32B-FP8 | 32B | FP8 | TP4/8
Qwen3-32B-AWQ | Qwen/Qwen3-32B-AWQ | Qwen/Qwen3-32B-AWQ | 32B | INT4 | TP4/8
Qwen3-32B-GPTQ-Int4 | JunHowie/Qwen3-32B-GPTQ-Int4 | JunHowie/Qwen3-32B-GPTQ-Int4 | 32B | INT4 | TP4/8
Qwen3-30B-A3B-Instruct-2507-GPTQ-Int4 | lancew/Qwen3-30B-A3B-Instruct-2507-GPTQ-Int4 | / | 30B-A3B | INT4 | TP2/4
Qwen3-30B-A3B-Thinking-2507-GPTQ-Int4 | lancew/Qwen3-30B-A3B-Thinking-2507-GPTQ-Int4 | / | 30B-A3B | INT4 | TP2/4
Qwen3-30B-A3B-GPTQ-Int4 | Qwen/Qwen3-30B-A3B-GPTQ-Int4 | Qwen/Qwen3-30B-A3B-GPTQ-Int4 | 30B-A3B | INT4 | TP2/4
Qwen3-30B-A3B-FP8 | Qwen/Qwen3-30B-A3B-FP8 | Qwen/Qwen3-30B-A3B-FP8 | 30B-A3B | FP8 | TP2/4
Qwen3-30B-A3B-Instruct-2507-FP8 | Qwen/Qwen3-30B-A3B-Instruct-2507-FP8 | Qwen/Qwen3-30B-A3B-Instruct-2507-FP8 | 30B-A3B | FP8 | TP2/4
Qwen3-30B-A3B-Thinking-2507-FP8 | Qwen/Qwen3-30B-A3B-Thinking-2507-FP8 | Qwen/Qwen3-30B-A3B-Thinking-2507-FP8 | 30B-A3B | FP8 | TP2/4
Qwen3-Coder-30B-A3B-Instruct-FP8 | Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8 | Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8 | 30B-A3B | FP8 | TP2/4
Qwen3-235B-A22B-FP8 | Qwen/Qwen3-235B-A22B-FP8 | Qwen/Qwen3-235B-A22B-FP8 | 235B-A22B | FP8 | TP16/32
Qwen3-235B-A22B-Instruct-2507-FP8 | Qwen/Qwen3-235B-A22B-Instruct-2507-FP8 | Qwen/Qwen3-235B-A22B-Instruct-2507-FP8 | 235B-A22B | FP8 | TP16/32
Qwen3-235B-A22B-Thinking-2507-FP8 | Qwen/Qwen3-235B-A22B-Thinking-2507-FP8 | Qwen/Qwen3-235B-A22B-Thinking-2507-FP8 | 235B-A22B | FP8 | TP16/32
"""
# The Coder row above carries the corrected ModelScope id; the guide links Qwen3-30B-A3B-Instruct-2507-FP8.


def _guide_rows(table):
    for line in table.strip().splitlines():
        name, hf, ms, params, dtype, parallel = [c.strip() for c in line.split("|")]
        tps = [int(t) for t in parallel[2:].split("/")]
        yield name, hf, None if ms == "/" else ms, params, dtype, tps


GUIDE_ROWS = list(_guide_rows(GUIDE_MODELS))

# family: {tp: (max_input_len, max_model_len)}, k = 1024
GUIDE_LIMITS = {
    "0.6B": {2: (None, 32768), 4: (None, 32768), 8: (None, 32768)},
    "1.7B": {2: (None, 32768), 4: (None, 32768), 8: (None, 32768)},
    "4B": {2: (57344, 65536), 4: (102400, 131072), 8: (102400, 131072)},
    "8B": {2: (57344, 65536), 4: (102400, 131072), 8: (102400, 131072)},
    "14B": {2: (57344, 65536), 4: (57344, 65536), 8: (102400, 131072)},
    "32B": {2: (57344, 65536), 4: (57344, 65536), 8: (102400, 131072)},
    "30B-A3B": {2: (57344, 65536), 4: (102400, 131072)},
    "235B-A22B": {16: (102400, 131072), 32: (102400, 131072)},
}


# The current revision (VVI-26.02). The guide spells two names -GPTQ-IN4 (their hub ids end -INT4:
# the catalog's names follow the ids), writes Int8 for two dtypes and links the vastai-ais MoE rows'
# ModelScope pages without /models/ (the ids are as below); "-" is no ModelScope entry.
CURRENT_MODELS = """
Qwen3-0.6B | Qwen/Qwen3-0.6B | Qwen/Qwen3-0.6B | 0.6B | BF16 | TP1/2/4/8
Qwen3-0.6B-FP8 | Qwen/Qwen3-0.6B-FP8 | Qwen/Qwen3-0.6B-FP8 | 0.6B | FP8 | TP1/2/4/8
Qwen3-0.6B-GPTQ-Int8 | Qwen/Qwen3-0.6B-GPTQ-Int8 | Qwen/Qwen3-0.6B-GPTQ-Int8 | 0.6B | INT8 | TP1/2/4/8
Qwen3-1.7B | Qwen/Qwen3-1.7B | Qwen/Qwen3-1.7B | 1.7B | BF16 | TP1/2/4/8
Qwen3-1.7B-FP8 | Qwen/Qwen3-1.7B-FP8 | Qwen/Qwen3-1.7B-FP8 | 1.7B | FP8 | TP1/2/4/8
Qwen3-1.7B-GPTQ-Int8 | Qwen/Qwen3-1.7B-GPTQ-Int8 | Qwen/Qwen3-1.7B-GPTQ-Int8 | 1.7B | INT8 | TP1/2/4/8
Qwen3-4B | Qwen/Qwen3-4B | Qwen/Qwen3-4B | 4B | BF16 | TP1/2/4/8
Qwen3-4B-FP8 | Qwen/Qwen3-4B-FP8 | Qwen/Qwen3-4B-FP8 | 4B | FP8 | TP2/4/8
Qwen3-4B-Instruct-2507-FP8 | Qwen/Qwen3-4B-Instruct-2507-FP8 | Qwen/Qwen3-4B-Instruct-2507-FP8 | 4B | FP8 | TP2/4/8
Qwen3-4B-Thinking-2507-FP8 | Qwen/Qwen3-4B-Thinking-2507-FP8 | Qwen/Qwen3-4B-Thinking-2507-FP8 | 4B | FP8 | TP2/4/8
Qwen3-4B-Instruct-2507-GPTQ-INT8 | vastai-ais/Qwen3-4B-Instruct-2507-GPTQ-INT8 | vastai-ais/Qwen3-4B-Instruct-2507-GPTQ-INT8 | 4B | INT8 | TP1/2/4/8
Qwen3-4B-Instruct-2507-GPTQ-INT4 | vastai-ais/Qwen3-4B-Instruct-2507-GPTQ-INT4 | vastai-ais/Qwen3-4B-Instruct-2507-GPTQ-INT4 | 4B | INT4 | TP1/2/4/8
Qwen3-4B-Thinking-2507-GPTQ-INT8 | vastai-ais/Qwen3-4B-Thinking-2507-GPTQ-INT8 | vastai-ais/Qwen3-4B-Thinking-2507-GPTQ-INT8 | 4B | INT8 | TP1/2/4/8
Qwen3-4B-Thinking-2507-GPTQ-INT4 | vastai-ais/Qwen3-4B-Thinking-2507-GPTQ-INT4 | vastai-ais/Qwen3-4B-Thinking-2507-GPTQ-INT4 | 4B | INT4 | TP1/2/4/8
Qwen3-4B-AWQ | Qwen/Qwen3-4B-AWQ | Qwen/Qwen3-4B-AWQ | 4B | INT4 | TP1/2/4/8
Qwen3-8B | Qwen/Qwen3-8B | Qwen/Qwen3-8B | 8B | BF16 | TP2/4/8
Qwen3-8B-FP8 | Qwen/Qwen3-8B-FP8 | Qwen/Qwen3-8B-FP8 | 8B | FP8 | TP2/4/8
Qwen3-8B-AWQ | Qwen/Qwen3-8B-AWQ | Qwen/Qwen3-8B-AWQ | 8B | INT4 | TP2/4/8
Qwen3-8B-GPTQ-INT8 | lancew/Qwen3-8B-GPTQ-INT8 | / | 8B | INT8 | TP2/4/8
Qwen3-14B | Qwen/Qwen3-14B | Qwen/Qwen3-14B | 14B | BF16 | TP2/4/8
Qwen3-14B-FP8 | Qwen/Qwen3-14B-FP8 | Qwen/Qwen3-14B-FP8 | 14B | FP8 | TP2/4/8
Qwen3-14B-AWQ | Qwen/Qwen3-14B-AWQ | Qwen/Qwen3-14B-AWQ | 14B | INT4 | TP2/4/8
Qwen3-14B-GPTQ-INT8 | lancew/Qwen3-14B-GPTQ-INT8 | / | 14B | INT8 | TP2/4/8
Qwen3-32B | Qwen/Qwen3-32B | Qwen/Qwen3-32B | 32B | BF16 | TP4/8/16
Qwen3-32B-FP8 | Qwen/Qwen3-32B-FP8 | Qwen/Qwen3-32B-FP8 | 32B | FP8 | TP4/8/16
Qwen3-32B-AWQ | Qwen/Qwen3-32B-AWQ | Qwen/Qwen3-32B-AWQ | 32B | INT4 | TP4/8/16
Qwen3-32B-GPTQ-INT8 | lancew/Qwen3-32B-GPTQ-INT8 | / | 32B | INT8 | TP4/8/16
Qwen3-30B-A3B-Instruct-2507-GPTQ-Int4 | vastai-ais/Qwen3-30B-A3B-Instruct-2507-GPTQ-Int4 | vastai-ais/Qwen3-30B-A3B-Instruct-2507-GPTQ-Int4 | 30B-A3B | INT4 | TP2/4
Qwen3-30B-A3B-Thinking-2507-GPTQ-Int4 | vastai-ais/Qwen3-30B-A3B-Thinking-2507-GPTQ-Int4 | vastai-ais/Qwen3-30B-A3B-Thinking-2507-GPTQ-Int4 | 30B-A3B | INT4 | TP2/4
Qwen3-30B-A3B-GPTQ-Int4 | Qwen/Qwen3-30B-A3B-GPTQ-Int4 | Qwen/Qwen3-30B-A3B-GPTQ-Int4 | 30B-A3B | INT4 | TP2/4
Qwen3-30B-A3B-FP8 | Qwen/Qwen3-30B-A3B-FP8 | Qwen/Qwen3-30B-A3B-FP8 | 30B-A3B | FP8 | TP2/4/8/16
Qwen3-30B-A3B-Instruct-2507-FP8 | Qwen/Qwen3-30B-A3B-Instruct-2507-FP8 | Qwen/Qwen3-30B-A3B-Instruct-2507-FP8 | 30B-A3B | FP8 | TP2/4/8/16
Qwen3-30B-A3B-Thinking-2507-FP8 | Qwen/Qwen3-30B-A3B-Thinking-2507-FP8 | Qwen/Qwen3-30B-A3B-Thinking-2507-FP8 | 30B-A3B | FP8 | TP2/4/8/16
Qwen3-Coder-30B-A3B-Instruct-FP8 | Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8 | Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8 | 30B-A3B | FP8 | TP2/4/8/16
Qwen3-235B-A22B-FP8 | Qwen/Qwen3-235B-A22B-FP8 | Qwen/Qwen3-235B-A22B-FP8 | 235B-A22B | FP8 | TP16/32
Qwen3-235B-A22B-Instruct-2507-FP8 | Qwen/Qwen3-235B-A22B-Instruct-2507-FP8 | Qwen/Qwen3-235B-A22B-Instruct-2507-FP8 | 235B-A22B | FP8 | TP16/32
Qwen3-235B-A22B-Thinking-2507-FP8 | Qwen/Qwen3-235B-A22B-Thinking-2507-FP8 | Qwen/Qwen3-235B-A22B-Thinking-2507-FP8 | 235B-A22B | FP8 | TP16/32
"""
CURRENT_ROWS = list(_guide_rows(CURRENT_MODELS))
CURRENT_LIMITS = {
    "0.6B": {1: (None, 32768), 2: (None, 32768), 4: (None, 32768), 8: (None, 32768)},
    "1.7B": {1: (None, 32768), 2: (None, 32768), 4: (None, 32768), 8: (None, 32768)},
    "4B": {1: (57344, 65536), 2: (57344, 65536), 4: (102400, 131072), 8: (102400, 131072)},
    "8B": {2: (57344, 65536), 4: (102400, 131072), 8: (102400, 131072)},
    "14B": {2: (57344, 65536), 4: (57344, 65536), 8: (102400, 131072)},
    "32B": {4: (57344, 65536), 8: (102400, 131072), 16: (102400, 131072)},
    "30B-A3B": {2: (57344, 65536), 4: (102400, 131072), 8: (102400, 131072), 16: (102400, 131072)},
    "235B-A22B": {16: (102400, 131072), 32: (102400, 131072)},
}
# revision: (typed rows, typed limits, image tag)
REVISIONS = {SEED: (GUIDE_ROWS, GUIDE_LIMITS, "AI3.2_GR_1202"), CURRENT: (CURRENT_ROWS, CURRENT_LIMITS, "VVI-26.02")}
ALL_ROWS = [(rev, row) for rev, (rows, dummy, dummy2) in REVISIONS.items() for row in rows]
ALL_LIMITS = [
    (rev, family, tp)
    for rev, (dummy, limits, dummy2) in REVISIONS.items()
    for family in limits
    for tp in limits[family]
]


def test_revisions_shipped():
    assert cat.revisions() == [SEED, CURRENT]
    for revision, (rows, limits, tag) in REVISIONS.items():
        guide = cat.guide(revision)
        assert guide.revision == revision and guide.image_tag == tag
        assert [r[0] for r in rows] == list(guide.models), "catalog order follows the guide"
        assert {f: sorted(t for tps, dummy, dummy2 in rows_ for t in tps) for f, rows_ in guide.limits.items()} == {
            f: sorted(cells) for f, cells in limits.items()
        }
        assert all(m["source"] == "guide:" + revision and m["revision"] == revision for m in guide.models.values())
    assert len(cat.guide(CURRENT).models) == 37
    assert sum(m["dtype"] == "INT8" for m in cat.guide(CURRENT).models.values()) == 7


@pytest.mark.parametrize("revision,row", ALL_ROWS, ids=["%s-%s" % (r, row[0]) for r, row in ALL_ROWS])
def test_every_revisions_model_row(revision, row):
    name, hf, ms, params, dtype, tps = row
    m = cat.guide(revision).models[name]
    assert (m["hf_repo"], m["modelscope_repo"], m["params"], m["dtype"], m["tp"]) == (hf, ms, params, dtype, tps)
    assert m["hf_url"] == "https://huggingface.co/" + hf
    assert m["quant_method"] == {"BF16": None, "FP8": "fp8"}.get(
        dtype, "awq" if ("AWQ" in name or "awq" in name) else "gptq"
    )


@pytest.mark.parametrize("revision,family,tp", ALL_LIMITS)
def test_every_revisions_limit_cell(revision, family, tp):
    lim = cat.guide(revision).limits_for(family, tp)
    assert (lim["max_input_len"], lim["max_model_len"]) == REVISIONS[revision][1][family][tp]
    assert lim["max_concurrency"] == 4 and lim["mtp"] is False


def test_current_revisions_footnotes_and_spellings():
    current = cat.guide(CURRENT)
    # The current guide dropped the Qwen3-4B-AWQ TP8 footnote and lists TP1/2/4/8.
    assert current.known_failures == {} and current.models["Qwen3-4B-AWQ"]["tp"] == [1, 2, 4, 8]
    # The guide's own spelling finds the row named after the hub id.
    assert current.find("Qwen3-4B-Instruct-2507-GPTQ-IN4")["name"] == "Qwen3-4B-Instruct-2507-GPTQ-INT4"
    assert current.find("qwen3-4b-thinking-2507-gptq-in4")["name"] == "Qwen3-4B-Thinking-2507-GPTQ-INT4"
    assert current.w4a16_torch_dtype == "float16" and cat.guide(SEED).w4a16_torch_dtype is None
    assert current.models["Qwen3-4B-Thinking-2507-GPTQ-INT8"]["thinking"] == "thinking"
    assert current.models["Qwen3-4B-Instruct-2507-GPTQ-INT8"]["native_context"] == 262144
    assert current.min_hardware_for(current.models["Qwen3-235B-A22B-FP8"])["card_choices"] == ["VA16"]


@pytest.mark.parametrize(
    "image,revision",
    [
        ("harbor.vastaitech.com/ai_deliver/vllm_vacc:VVI-26.02", CURRENT),
        ("harbor.vastaitech.com/ai_deliver/vllm_vacc:VVI-26.02@sha256:" + "a" * 64, CURRENT),
        ("registry.local:5000/ai_deliver/vllm_vacc:AI3.2_GR_1202", SEED),
        ("harbor.vastaitech.com/ai_deliver/vllm_vacc:VVI-26.05", SEED),  # a tag no shipped revision documents
        ("registry.local:5000/vllm_vacc", SEED),
        ("vacc-qwen3/vllm-cpu-standin:0.32.0", SEED),
        (None, SEED),
    ],
)
def test_revision_for_image(image, revision):
    assert cat.revision_for_image(image) == revision


def test_unknown_revision_is_refused():
    with pytest.raises(
        cat.PlanError,
        match=r"^qwen3_guide_revision 'VVI-99' is not a revision .*; set it to "
        r"AI3.2_GR_1202 or VVI-26.02\.$",
    ):
        cat.guide("VVI-99")
    assert cat.guide("vvi-26.02").revision == CURRENT


ROW = {
    "name": "Qwen3-30B-A3B-Instruct-2507-GPTQ-Int4-mine",
    "family": "30B-A3B",
    "dtype": "INT4",
    "quant_method": "gptq",
    "tp": [2, 4],
    "thinking": "instruct",
    "hf_repo": None,
    "modelscope_repo": None,
}


def test_an_operator_row_is_added_with_its_family_facts():
    guide = cat.guide(
        CURRENT,
        [
            ROW,
            dict(
                ROW,
                name="Qwen3-8B",
                family="8B",
                dtype="INT8",
                tp=["TP2", "4"],
                thinking=None,
                hf_repo="me/Qwen3-8B-int8",
            ),
        ],
    )
    mine = guide.models[ROW["name"]]
    assert mine["source"] == "inventory" and mine["kind"] == "moe" and mine["native_context"] == 262144
    assert mine["tp"] == [2, 4] and mine["thinking"] == "instruct" and mine["hf_url"] is None
    # A row of a guide row's name replaces it.
    assert guide.models["Qwen3-8B"]["dtype"] == "INT8" and guide.models["Qwen3-8B"]["tp"] == [2, 4]
    assert guide.models["Qwen3-8B"]["thinking"] == "hybrid" and guide.models["Qwen3-8B"]["source"] == "inventory"
    assert len(guide.models) == 38 and list(guide.models)[-1] == "Qwen3-8B"
    # The revision itself is untouched.
    assert cat.guide(CURRENT).models["Qwen3-8B"]["dtype"] == "BF16" and ROW["name"] not in cat.guide(CURRENT).models
    assert [e["name"] for e in guide.catalog()][-2:] == [ROW["name"], "Qwen3-8B"]


@pytest.mark.parametrize(
    "change,sentence",
    [
        (
            {"family": "30B"},
            "family '30B' is not a Qwen3 family; set it to 0.6B, 1.7B, 4B, 8B, 14B, 32B, 30B-A3B or 235B-A22B.",
        ),
        ({"dtype": "INT3"}, "dtype 'INT3' is not one of BF16, FP8, INT4 or INT8; set it to the checkpoint's."),
        ({"quant_method": None}, "quant_method null does not go with dtype INT4; set it to gptq or awq."),
        ({"dtype": "BF16"}, "quant_method 'gptq' does not go with dtype BF16; set it to null."),
        ({"tp": [8]}, "guide revision VVI-26.02 has no usage limits for 30B-A3B at TP8"),
        ({"tp": "two"}, "tp 'two' must be a list of whole numbers"),
        ({"tp": [2, 2]}, "must list each TP once"),
        ({"thinking": "maybe"}, "thinking 'maybe' is not one of hybrid, instruct or thinking."),
        ({"hf_repo": "not a repo"}, "hf_repo 'not a repo' is not a hub id; write owner/name or null."),
        ({"name": "../x"}, "name '../x' is not a safe model name"),
        ({"bits": 4}, "has unknown field(s) bits; a row has name, family, dtype, quant_method, tp, thinking"),
        ({"known_failures": {8: "x"}}, "has unknown field(s) known_failures"),
    ],
)
def test_a_wrong_row_is_refused_in_one_sentence(change, sentence):
    with pytest.raises(cat.PlanError) as info:
        dummy = cat.guide(CURRENT if change.get("tp") != [8] else SEED, [dict(ROW, **change)]).models
    message = str(info.value)
    assert "\n" not in message and message.endswith(".")
    assert message.startswith("qwen3_catalog_extra[0]")
    assert sentence.replace("VVI-26.02", SEED if change.get("tp") == [8] else CURRENT) in message


@pytest.mark.parametrize(
    "rows,sentence",
    [
        ([{"name": "x"}], "qwen3_catalog_extra[0] lacks family, dtype, quant_method, tp; give every row"),
        (["Qwen3-8B"], "qwen3_catalog_extra[0] must be a mapping"),
        (
            [ROW, dict(ROW, name=ROW["name"].upper())],
            "qwen3_catalog_extra[1] names QWEN3-30B-A3B-INSTRUCT-2507-GPTQ-INT4-MINE a second time",
        ),
        ({"name": "x"}, "qwen3_catalog_extra must be a list of model rows"),
    ],
)
def test_a_wrong_list_is_refused(rows, sentence):
    with pytest.raises(cat.PlanError, match="^" + sentence.replace("[", r"\[").replace("]", r"\]")):
        cat.guide(SEED, rows)


def test_counts():
    assert len(cat.MODELS) == 36
    assert sum(m["kind"] == "dense" for m in cat.MODELS.values()) == 26
    assert sum(m["kind"] == "moe" for m in cat.MODELS.values()) == 10
    assert [r[0] for r in GUIDE_ROWS] == list(cat.MODELS), "catalog order follows the guide"


@pytest.mark.parametrize("row", GUIDE_ROWS, ids=[r[0] for r in GUIDE_ROWS])
def test_model_row(row):
    name, hf, ms, params, dtype, tps = row
    m = cat.MODELS[name]
    assert (m["hf_repo"], m["modelscope_repo"], m["params"], m["dtype"], m["tp"]) == (hf, ms, params, dtype, tps)
    assert m["hf_url"] == "https://huggingface.co/" + hf
    assert m["mtp"] is False


def test_coder_modelscope_corrected():
    assert cat.MODELS["Qwen3-Coder-30B-A3B-Instruct-FP8"]["modelscope_repo"] == "Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8"


@pytest.mark.parametrize("family,tp", [(f, t) for f, rows in GUIDE_LIMITS.items() for t in rows])
def test_limit_cell(family, tp):
    lim = cat.limits_for(family, tp)
    assert (lim["max_input_len"], lim["max_model_len"]) == GUIDE_LIMITS[family][tp]
    assert lim["max_concurrency"] == 4 and lim["mtp"] is False


def test_limits_cover_every_listed_tp():
    for m in cat.MODELS.values():
        for tp in m["tp"]:
            assert cat.limits_for(m["family"], tp) is not None, (m["name"], tp)


def test_quant_and_thinking():
    assert cat.MODELS["Qwen3-8B"]["quant_method"] is None
    assert cat.MODELS["Qwen3-8B-AWQ"]["quant_method"] == "awq"
    assert cat.MODELS["Qwen3-0_6B_int4_awq"]["quant_method"] == "awq"
    assert cat.MODELS["Qwen3-14B-GPTQ-Int4"]["quant_method"] == "gptq"
    assert cat.MODELS["Qwen3-32B-FP8"]["quant_method"] == "fp8"
    assert {m["thinking"] for m in cat.MODELS.values()} == {"hybrid", "instruct", "thinking"}
    assert cat.MODELS["Qwen3-235B-A22B-Instruct-2507-FP8"]["thinking"] == "instruct"
    assert cat.MODELS["Qwen3-Coder-30B-A3B-Instruct-FP8"]["thinking"] == "instruct"
    assert cat.MODELS["Qwen3-30B-A3B-Thinking-2507-GPTQ-Int4"]["thinking"] == "thinking"
    assert cat.MODELS["Qwen3-14B"]["thinking"] == "hybrid"


def test_known_failure_recorded():
    assert ("Qwen3-4B-AWQ", 8) in cat.KNOWN_FAILURES
    entry = [e for e in cat.catalog() if e["name"] == "Qwen3-4B-AWQ"][0]
    assert "8" in entry["known_failures"]


@pytest.mark.parametrize(
    "family,kv_kib",
    [
        ("0.6B", 112),
        ("1.7B", 112),
        ("4B", 144),
        ("8B", 144),
        ("14B", 160),
        ("32B", 256),
        ("30B-A3B", 96),
        ("235B-A22B", 188),
    ],
)
def test_architecture_kv_per_token(family, kv_kib):
    assert cat.kv_bytes_per_token(family) == kv_kib * 1024


def test_hardware():
    assert cat.CARDS["VA16"] == {"memory_gb": 128, "dies": 4, "die_memory_gb": 32}
    assert cat.CARDS["VA10L"] == {"memory_gb": 128, "dies": 4, "die_memory_gb": 32}
    assert cat.CARDS["VA1L"]["memory_gb"] == 64 and cat.CARDS["VA1L"]["dies"] is None
    assert cat.CARDS_PER_SERVER * cat.CARDS["VA16"]["dies"] == 16
    assert cat.MIN_HARDWARE["235B-A22B"]["cards"] == 4
    assert cat.MIN_HARDWARE["235B-A22B"]["card_choices"] == ["VA16"]


def test_native_context():
    assert cat.MODELS["Qwen3-8B"]["native_context"] == 40960
    assert cat.MODELS["Qwen3-235B-A22B-Instruct-2507-FP8"]["native_context"] == 262144
    assert cat.MODELS["Qwen3-Coder-30B-A3B-Instruct-FP8"]["native_context"] == 262144


def test_the_readme_model_table_says_which_revision_lists_each_row():
    import os

    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md"), encoding="utf-8").read()
    section = readme.split("## Models and guide revisions", 1)[1].split("\n## ", 1)[0]
    header = "| model | family | dtype | TP in `%s` | TP in `%s` |" % (SEED, CURRENT)
    assert header in section
    rows = {}
    for line in section.split(header, 1)[1].strip().splitlines()[1:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells
    expected = {}
    for revision, (typed, dummy, dummy2) in REVISIONS.items():
        for name, dummy3, dummy4, family, dtype, tps in typed:
            listed = "/".join("%d%s" % (t, "*" if (name, t) in cat.guide(revision).known_failures else "") for t in tps)
            expected.setdefault(name, {"family": family, "dtype": dtype})[revision] = listed
    assert list(rows) == list(expected), "one row per model of any revision, the seed's order first"
    for name, cells in rows.items():
        assert cells[1] == expected[name]["family"] and cells[2].split()[0] == expected[name]["dtype"], name
        assert cells[3:] == [expected[name].get(SEED, "-"), expected[name].get(CURRENT, "-")], name


def test_every_place_that_offers_the_revisions_offers_the_shipped_ones():
    """A new guide/<revision>.yml is offered by the role spec (and so the AWX survey), the lookup and the filter."""
    import os

    import yaml

    from ansible_collections.vacc.qwen3.plugins.lookup import qwen3_models

    root = os.path.join(os.path.dirname(__file__), "..", "..")
    spec = yaml.safe_load(open(os.path.join(root, "roles/_common/meta/argument_specs.yml"), encoding="utf-8"))
    assert spec["argument_specs"]["main"]["options"]["qwen3_guide_revision"]["choices"] == cat.revisions()
    assert yaml.safe_load(qwen3_models.DOCUMENTATION)["options"]["revision"]["choices"] == cat.revisions()
    filter_doc = yaml.safe_load(open(os.path.join(root, "plugins/filter/qwen3_plan.yml"), encoding="utf-8"))
    assert filter_doc["DOCUMENTATION"]["options"]["revision"]["choices"] == cat.revisions()
