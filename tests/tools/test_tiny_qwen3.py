"""Tests for roles/lab_tiny_model/files/make_tiny_qwen3.py (the tiny offline Qwen3 checkpoint).

Needs the script's dependencies in the Python running pytest:
    pip install -r roles/lab_tiny_model/files/requirements.txt
plus jinja2 (ansible brings it). Missing dependencies fail the tests, never skip them.
"""

import hashlib
import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = ROOT / "roles" / "lab_tiny_model" / "files"
SCRIPT = FILES / "make_tiny_qwen3.py"
INSTALL = f"{sys.executable} -m pip install -r {FILES / 'requirements.txt'} jinja2"

NON_THINKING_IDS = [151644, 872, 198, 6023, 151645, 198, 151644, 77091, 198, 151667, 271, 151668, 271]


def _need(module):
    try:
        return __import__(module)
    except ImportError as exc:
        pytest.fail(f"{module} is missing ({exc}); run the install step: {INSTALL}", pytrace=False)


def _script_deps():
    missing = []
    for mod in ("numpy", "tokenizers", "safetensors", "dashscope"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        pytest.fail(f"missing {', '.join(missing)}; run the install step: {INSTALL}", pytrace=False)


def _make(out, *args):
    _script_deps()
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"make_tiny_qwen3 failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def _header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    return n, header


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _expected_shapes():
    v, h, heads, kv, hd, inter = 151936, 256, 2, 1, 128, 512
    shapes = {"model.embed_tokens.weight": [v, h], "model.norm.weight": [h]}
    for i in range(2):
        p = f"model.layers.{i}."
        shapes.update(
            {
                p + "input_layernorm.weight": [h],
                p + "post_attention_layernorm.weight": [h],
                p + "self_attn.q_proj.weight": [heads * hd, h],
                p + "self_attn.k_proj.weight": [kv * hd, h],
                p + "self_attn.v_proj.weight": [kv * hd, h],
                p + "self_attn.o_proj.weight": [h, heads * hd],
                p + "self_attn.q_norm.weight": [hd],
                p + "self_attn.k_norm.weight": [hd],
                p + "mlp.gate_proj.weight": [inter, h],
                p + "mlp.up_proj.weight": [inter, h],
                p + "mlp.down_proj.weight": [h, inter],
            }
        )
    return shapes


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return _make(tmp_path_factory.mktemp("tiny") / "qwen3-tiny", "--seed", "1")


def test_files(model):
    names = {p.name for p in model.iterdir()}
    assert {
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.json",
        "merges.txt",
    } <= names
    assert "model.safetensors.index.json" not in names
    assert not [p for p in model.parent.iterdir() if p.name.startswith(".")], "temp dir left behind"


def test_tokenizer_encodings(model):
    tokenizers = _need("tokenizers")
    tk = tokenizers.Tokenizer.from_file(str(model / "tokenizer.json"))
    assert tk.encode("Hello world").ids == [9707, 1879]
    assert tk.encode("你好，世界！").ids == [108386, 3837, 99489, 6313]
    text = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
    assert tk.encode(text).ids == NON_THINKING_IDS
    assert tk.decode(NON_THINKING_IDS, skip_special_tokens=False) == text
    assert tk.get_vocab_size(with_added_tokens=True) == 151669
    assert tk.token_to_id("<|endoftext|>") == 151643 and tk.token_to_id("</think>") == 151668


def test_added_tokens(model):
    tj = json.loads((model / "tokenizer.json").read_text(encoding="utf-8"))
    added = tj["added_tokens"]
    assert [t["id"] for t in added] == list(range(151643, 151669))
    assert [t["special"] for t in added] == [True] * 14 + [False] * 12
    assert added[0]["content"] == "<|endoftext|>" and added[-2]["content"] == "<think>"
    assert tj["normalizer"]["type"] == "NFC"
    assert [p["type"] for p in tj["pre_tokenizer"]["pretokenizers"]] == ["Split", "ByteLevel"]
    assert tj["decoder"]["type"] == "ByteLevel" and tj["model"]["type"] == "BPE"
    assert len(tj["model"]["vocab"]) == 151643
    vocab = json.loads((model / "vocab.json").read_text(encoding="utf-8"))
    assert len(vocab) == 151643 and vocab["Hello"] == 9707
    assert (model / "merges.txt").read_text(encoding="utf-8").startswith("#version: 0.2\n")


def test_tokenizer_config(model):
    tc = json.loads((model / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert tc["tokenizer_class"] == "Qwen2Tokenizer"
    assert tc["eos_token"] == "<|im_end|>" and tc["pad_token"] == "<|endoftext|>"
    assert tc["bos_token"] is None and tc["add_bos_token"] is False
    assert tc["model_max_length"] == 131072
    dec = tc["added_tokens_decoder"]
    assert sorted(map(int, dec)) == list(range(151643, 151669))
    assert dec["151645"]["content"] == "<|im_end|>" and dec["151645"]["special"] is True
    assert dec["151667"]["content"] == "<think>" and dec["151667"]["special"] is False
    template = (FILES / "qwen3_chat_template.jinja").read_text(encoding="utf-8")
    assert tc["chat_template"] == template.rstrip("\n")


def test_chat_template_renders(model):
    jinja2 = _need("jinja2.sandbox")  # imports jinja2 with its sandbox submodule
    tc = json.loads((model / "tokenizer_config.json").read_text(encoding="utf-8"))
    # The environment transformers uses for chat templates.
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = lambda x, **kw: json.dumps(x, ensure_ascii=False, **kw)
    tmpl = env.from_string(tc["chat_template"])
    msgs = [{"role": "user", "content": "hi"}]
    off = tmpl.render(messages=msgs, add_generation_prompt=True, enable_thinking=False)
    assert off == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
    on = tmpl.render(messages=msgs, add_generation_prompt=True)
    assert on == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    tokenizers = _need("tokenizers")
    tk = tokenizers.Tokenizer.from_file(str(model / "tokenizer.json"))
    assert tk.encode(off).ids == NON_THINKING_IDS


def test_config(model):
    c = json.loads((model / "config.json").read_text())
    assert c["architectures"] == ["Qwen3ForCausalLM"] and c["model_type"] == "qwen3"
    expected = {
        "vocab_size": 151936,
        "hidden_size": 256,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "head_dim": 128,
        "intermediate_size": 512,
        "tie_word_embeddings": True,
        "max_position_embeddings": 40960,
        "rope_theta": 1000000,
        "torch_dtype": "bfloat16",
        "bos_token_id": 151643,
        "eos_token_id": 151645,
    }
    assert {k: c[k] for k in expected} == expected
    g = json.loads((model / "generation_config.json").read_text())
    assert g["eos_token_id"] == [151645, 151643] and g["pad_token_id"] == 151643


def test_safetensors_header(model):
    path = model / "model.safetensors"
    n, header = _header(path)
    assert n % 8 == 0
    assert header.pop("__metadata__") == {"format": "pt"}
    assert {k: v["shape"] for k, v in header.items()} == _expected_shapes()
    assert {v["dtype"] for v in header.values()} == {"BF16"}
    assert "lm_head.weight" not in header  # tied embeddings
    spans = sorted(v["data_offsets"] for v in header.values())
    for (dummy, b), (c, dummy2) in zip(spans, spans[1:]):
        assert b == c  # contiguous, no gaps or overlaps
    for v in header.values():
        a, b = v["data_offsets"]
        count = 1
        for d in v["shape"]:
            count *= d
        assert b - a == 2 * count
    assert spans[0][0] == 0 and path.stat().st_size == 8 + n + spans[-1][1]


def test_weights_are_sane(model):
    np = _need("numpy")
    n, header = _header(model / "model.safetensors")
    raw = (model / "model.safetensors").read_bytes()[8 + n :]

    def tensor(name):
        a, b = header[name]["data_offsets"]
        bits = np.frombuffer(raw[a:b], dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32).reshape(header[name]["shape"])

    norm = tensor("model.layers.0.input_layernorm.weight")
    assert (norm == 1.0).all()
    emb = tensor("model.embed_tokens.weight")
    assert np.isfinite(emb).all() and 0.015 < float(emb.std()) < 0.025


def test_deterministic(model, tmp_path):
    again = _make(tmp_path / "again", "--seed", "1")
    for p in sorted(model.iterdir()):
        assert _sha(p) == _sha(again / p.name), p.name
    other = _make(tmp_path / "other", "--seed", "2")
    assert _sha(other / "model.safetensors") != _sha(model / "model.safetensors")
    assert _sha(other / "tokenizer.json") == _sha(model / "tokenizer.json")


def test_sharded(model, tmp_path):
    out = _make(tmp_path / "sharded", "--seed", "1", "--shards", "3")
    assert not (out / "model.safetensors").exists()
    index = json.loads((out / "model.safetensors.index.json").read_text())
    wmap = index["weight_map"]
    files = sorted(set(wmap.values()))
    assert files == [f"model-0000{i}-of-00003.safetensors" for i in (1, 2, 3)]
    assert sorted(p.name for p in out.glob("*.safetensors")) == files
    assert set(wmap) == set(_expected_shapes())

    dummy, single = _header(model / "model.safetensors")
    single_raw = (model / "model.safetensors").read_bytes()
    n1 = _header(model / "model.safetensors")[0]
    total = 0
    for f in files:
        n, header = _header(out / f)
        header.pop("__metadata__")
        assert {k for k, v in wmap.items() if v == f} == set(header)
        raw = (out / f).read_bytes()
        for k, v in header.items():
            a, b = v["data_offsets"]
            sa, sb = single[k]["data_offsets"]
            # Same tensor bytes as the single-file checkpoint of the same seed.
            assert raw[8 + n + a : 8 + n + b] == single_raw[8 + n1 + sa : 8 + n1 + sb], k
            total += b - a
    assert index["metadata"]["total_size"] == total


def test_refuses_to_clobber(model):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(model)], capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode != 0 and "--force" in proc.stderr
    assert (model / "model.safetensors").exists()


def test_bad_tiktoken(tmp_path):
    _script_deps()
    bad = tmp_path / "bad.tiktoken"
    bad.write_text("SGVsbG8= 0\n")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path / "m"), "--tiktoken", str(bad)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode != 0 and "not Qwen's tiktoken" in proc.stderr
    assert not (tmp_path / "m").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temp dir left behind"


def test_moe_layout(tmp_path):
    """--moe: Qwen3-30B-A3B's layout in small, every size GPTQ group 128 divides."""
    out = _make(tmp_path / "moe", "--moe", "--name", "qwen3-tiny-moe")
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["architectures"] == ["Qwen3MoeForCausalLM"] and cfg["model_type"] == "qwen3_moe"
    assert (cfg["num_experts"], cfg["num_experts_per_tok"], cfg["moe_intermediate_size"]) == (8, 2, 128)
    assert cfg["tie_word_embeddings"] is False and cfg["rope_theta"] == 1000000
    dummy, header = _header(out / "model.safetensors")
    header.pop("__metadata__")
    assert header["lm_head.weight"]["shape"] == [151936, 256]
    assert header["model.layers.1.mlp.gate.weight"]["shape"] == [8, 256]
    assert header["model.layers.0.mlp.experts.7.down_proj.weight"]["shape"] == [256, 128]
    assert not any(".mlp.gate_proj." in k for k in header), "a MoE layer has no dense MLP"
    linears = [v["shape"] for k, v in header.items() if k.endswith("proj.weight")]
    assert linears and all(s[1] % 128 == 0 for s in linears), "every Linear's input size is a multiple of 128"
