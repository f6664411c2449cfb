"""Unit tests for the gptq_verify module on small hand-written checkpoints: a BF16 source and its GPTQ
(round to nearest, symmetric, group 128) made here with numpy, then broken one way at a time."""

import json
import shutil
import struct

import numpy as np
import pytest

from ansible_collections.vacc.qwen3.plugins.modules import gptq_verify as gv

H, V, G = 256, 64, 128
CONFIG = {
    "architectures": ["Qwen3MoeForCausalLM"],
    "model_type": "qwen3_moe",
    "rope_theta": 1000000,
    "num_experts": 2,
    "torch_dtype": "bfloat16",
    "hidden_size": H,
}


def bf16(a):
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2")


def write_st(path, tensors):
    header, off, blobs = {}, 0, []
    for name, (dtype, arr) in tensors.items():
        data = np.ascontiguousarray(arr).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(data)]}
        off += len(data)
        blobs.append(data)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def source_tensors():
    rng = np.random.default_rng(0)
    t = {
        "model.embed_tokens.weight": (V, H),
        "model.layers.0.input_layernorm.weight": (H,),
        "model.layers.0.self_attn.q_proj.weight": (H, H),
        "model.layers.0.mlp.gate.weight": (2, H),
        "model.layers.0.mlp.experts.0.down_proj.weight": (H, H),
        "model.norm.weight": (H,),
        "lm_head.weight": (V, H),
    }
    return {k: ("BF16", bf16(rng.standard_normal(s) * 0.02)) for k, s in t.items()}


def quantize(w):
    """w [n, k] float32 -> GPTQ v1 tensors (zero point 8 stored as 7)."""
    n, k = w.shape
    wt = w.T.reshape(k // G, G, n)
    scales = (np.abs(wt).max(axis=1) / 7.5).astype(np.float16)  # [groups, n]
    q = np.clip(np.round(wt / scales[:, None, :].astype(np.float32)) + 8, 0, 15).astype(np.uint32).reshape(k, n)
    qweight = np.zeros((k // 8, n), dtype=np.uint32)
    for j in range(8):
        qweight |= q[j::8] << (4 * j)
    qzeros = np.full((k // G, n // 8), 0x77777777, dtype=np.uint32)
    return {
        "qweight": ("I32", qweight.view(np.int32)),
        "qzeros": ("I32", qzeros.view(np.int32)),
        "scales": ("F16", scales),
        "g_idx": ("I32", (np.arange(k) // G).astype(np.int32)),
    }


def as_f32(u16):
    return (u16.astype(np.uint32) << 16).view(np.float32)


@pytest.fixture(name="dirs")
def _dirs(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    tensors = source_tensors()
    write_st(src / "model.safetensors", tensors)
    (src / "config.json").write_text(json.dumps(CONFIG))
    (src / "tokenizer_config.json").write_text('{"chat_template": "x"}')
    qt = {}
    for name, (dtype, arr) in tensors.items():
        mod = name[: -len(".weight")]
        if name.endswith("proj.weight"):
            qt.update({"%s.%s" % (mod, s): v for s, v in quantize(as_f32(arr)).items()})
        else:
            qt[name] = (dtype, arr)
    write_st(out / "model.safetensors", qt)
    cfg = dict(
        CONFIG, quantization_config={"quant_method": "gptq", "bits": 4, "group_size": G, "desc_act": False, "sym": True}
    )
    (out / "config.json").write_text(json.dumps(cfg))
    shutil.copy(src / "tokenizer_config.json", out / "tokenizer_config.json")
    return src, out, qt


def rewrite(out, qt, **changes):
    t = dict(qt)
    for name, value in changes.items():
        t[name.replace("__", ".")] = value
    write_st(out / "model.safetensors", t)


def test_a_good_checkpoint_passes(dirs):
    src, out, dummy = dirs
    facts, problems = gv.verify(str(out), str(src))
    assert problems == []
    assert facts["quantized_modules"] == 2 and facts["unquantized_tensors"] == 5
    assert 0 < facts["max_rel_error"] < 0.2


def test_desc_act_true_refused(dirs):
    src, out, dummy = dirs
    cfg = json.loads((out / "config.json").read_text())
    cfg["quantization_config"]["desc_act"] = True
    (out / "config.json").write_text(json.dumps(cfg))
    dummy, problems = gv.verify(str(out), str(src))
    assert problems == ["config.json's quantization_config has desc_act true, not false."]


def test_act_order_g_idx_refused(dirs):
    src, out, qt = dirs
    g = np.random.default_rng(1).permutation(np.arange(H) // G).astype(np.int32)
    rewrite(out, qt, **{"model.layers.0.self_attn.q_proj.g_idx": ("I32", g)})
    dummy, problems = gv.verify(str(out), str(src), check_values=False)
    assert problems == [
        "model.layers.0.self_attn.q_proj.g_idx is not in plain order (i // 128): an act-order (desc_act) checkpoint."
    ]


def test_quantized_router_refused(dirs):
    src, out, qt = dirs
    t = {k: v for k, v in qt.items() if not k.startswith("model.layers.0.mlp.gate.")}
    # a router of 2 outputs cannot be packed by 8: make a source with 8 experts' worth of rows instead
    w = np.full((8, H), 0.01, dtype=np.float32)
    t.update({"model.layers.0.mlp.gate.%s" % s: v for s, v in quantize(w).items()})
    write_st(out / "model.safetensors", t)
    dummy, problems = gv.verify(str(out), str(src), check_values=False)
    assert problems[0] == "model.layers.0.mlp.gate is quantized, but the recipe leaves it unquantized."


def test_asymmetric_zero_points_refused(dirs):
    src, out, qt = dirs
    z = np.full((H // G, H // 8), 0x76777777, dtype=np.uint32).view(np.int32)
    rewrite(out, qt, **{"model.layers.0.self_attn.q_proj.qzeros": ("I32", z)})
    dummy, problems = gv.verify(str(out), str(src), check_values=False)
    assert problems == ["model.layers.0.self_attn.q_proj.qzeros holds zero points other than the symmetric 7: not sym."]


def test_wrong_scales_layout_refused(dirs):
    src, out, qt = dirs
    rewrite(out, qt, **{"model.layers.0.self_attn.q_proj.scales": ("F32", np.ones((H // G, H), dtype=np.float32))})
    dummy, problems = gv.verify(str(out), str(src))
    assert problems[0].startswith(
        "model.layers.0.self_attn.q_proj has the wrong layout for a 256x256 weight: scales F32"
    )


def test_far_off_values_refused(dirs):
    src, out, qt = dirs
    rewrite(
        out, qt, **{"model.layers.0.self_attn.q_proj.scales": ("F16", np.full((H // G, H), 0.01, dtype=np.float16))}
    )
    dummy, problems = gv.verify(str(out), str(src))
    assert len(problems) == 1 and "dequantizes" in problems[0] and "model.layers.0.self_attn.q_proj" in problems[0]


def test_changed_embedding_refused(dirs):
    src, out, qt = dirs
    emb = qt["model.embed_tokens.weight"][1].copy()
    emb[0, 0] ^= 1
    rewrite(out, qt, **{"model.embed_tokens.weight": ("BF16", emb)})
    dummy, problems = gv.verify(str(out), str(src))
    assert problems == ["model.embed_tokens.weight differs from the source's; it must stay unchanged."]


def test_float16_copy_of_the_unquantized_weights_accepted(dirs):
    """The recipe loads float16: unquantized tensors then come back as F16 holding the same values."""
    src, out, qt = dirs
    t = {k: (("F16", as_f32(v[1]).astype(np.float16)) if v[0] == "BF16" else v) for k, v in qt.items()}
    write_st(out / "model.safetensors", t)
    dummy, problems = gv.verify(str(out), str(src))
    assert problems == []


def test_transformers5_metadata_refused(dirs):
    """rope_theta moved under rope_parameters and a re-saved tokenizer_config.json: the section 12 trap."""
    src, out, dummy = dirs
    cfg = json.loads((out / "config.json").read_text())
    cfg["rope_parameters"] = {"rope_theta": cfg.pop("rope_theta"), "rope_type": "default"}
    (out / "config.json").write_text(json.dumps(cfg))
    (out / "tokenizer_config.json").write_text('{"chat_template": "x", "backend": "tokenizers"}')
    dummy, problems = gv.verify(str(out), str(src))
    assert problems == [
        "config.json's rope_theta is null, not the source's 1000000 (restore the source's config.json).",
        "tokenizer_config.json is not the source's (copy the source's tokenizer and generation files back).",
    ]


def test_linear_left_unquantized_and_missing_tensor_refused(dirs):
    src, out, qt = dirs
    t = {k: v for k, v in qt.items() if "q_proj" not in k and k != "model.norm.weight"}
    write_st(out / "model.safetensors", t)
    dummy, problems = gv.verify(str(out), str(src))
    assert (
        "model.layers.0.self_attn.q_proj was left unquantized; the recipe quantizes every Linear of the decoder layers."
        in problems
    )
    assert "model.norm.weight of the source is missing." in problems


def test_an_untied_copy_of_tied_embeddings_is_accepted_only_as_a_copy(dirs):
    """gptqmodel unties tied embeddings when it saves: lm_head comes back as a copy of embed_tokens."""
    src, out, qt = dirs
    tensors = {k: v for k, v in source_tensors().items() if k != "lm_head.weight"}
    write_st(src / "model.safetensors", tensors)
    (src / "config.json").write_text(json.dumps(dict(CONFIG, tie_word_embeddings=True)))
    cfg = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps(dict(cfg, tie_word_embeddings=True)))
    rewrite(out, qt, **{"lm_head.weight": qt["model.embed_tokens.weight"]})
    assert gv.verify(str(out), str(src))[1] == []
    rewrite(out, qt, **{"lm_head.weight": ("BF16", np.zeros((V, H), dtype="<u2"))})
    assert gv.verify(str(out), str(src))[1] == ["lm_head.weight is not a copy of the tied embeddings."]
