"""The catalog against the guide's tables, cell by cell.

GUIDE_MODELS and GUIDE_LIMITS are typed from the guide (模型支持 and 使用限制) independently of
plugins/module_utils/qwen3_catalog.py, so a slip in either shows up here.
"""
import pytest

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _catalog as cat

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


def _guide_rows():
    for line in GUIDE_MODELS.strip().splitlines():
        name, hf, ms, params, dtype, parallel = [c.strip() for c in line.split("|")]
        tps = [int(t) for t in parallel[2:].split("/")]
        yield name, hf, None if ms == "/" else ms, params, dtype, tps


GUIDE_ROWS = list(_guide_rows())

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


@pytest.mark.parametrize("family,kv_kib", [("0.6B", 112), ("1.7B", 112), ("4B", 144), ("8B", 144),
                                           ("14B", 160), ("32B", 256), ("30B-A3B", 96), ("235B-A22B", 188)])
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
