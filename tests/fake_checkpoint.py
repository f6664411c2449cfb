"""Small hand-written Qwen3-shaped checkpoints (safetensors written byte by byte) for the tests."""

import json
import struct

CONFIG = {
    "architectures": ["Qwen3ForCausalLM"],
    "model_type": "qwen3",
    "torch_dtype": "bfloat16",
    "num_hidden_layers": 2,
    "hidden_size": 8,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 4,
    "vocab_size": 16,
    "max_position_embeddings": 128,
    "tie_word_embeddings": True,
}


def write_safetensors(path, tensors, metadata=None):
    """tensors: {name: (dtype, shape, bytes)}; writes the safetensors layout by hand."""
    header, blob = {}, b""
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    if metadata:
        header["__metadata__"] = metadata
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)  # the format pads the header to 8 bytes with spaces
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + blob)


def bf16(n):
    return ("BF16", [n], bytes(range(2 * n)))


def write_common(d, config=None, tokenizer="json"):
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps(config or CONFIG))
    (d / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 128}))
    if tokenizer == "json":
        (d / "tokenizer.json").write_text(json.dumps({"model": {"type": "BPE"}}))
    elif tokenizer == "bpe":
        (d / "vocab.json").write_text(json.dumps({"a": 0}))
        (d / "merges.txt").write_text("#version: 0.2\n")
    (d / "generation_config.json").write_text("{}")
    return d


def single(tmp_path, name="single", **kw):
    d = write_common(tmp_path / name, **kw)
    write_safetensors(
        d / "model.safetensors", {"embed.weight": bf16(8), "norm.weight": bf16(4)}, metadata={"format": "pt"}
    )
    return d


def sharded(tmp_path, name="sharded", **kw):
    d = write_common(tmp_path / name, **kw)
    shards = {
        "model-00001-of-00002.safetensors": {"embed.weight": bf16(8), "layers.0.w": bf16(6)},
        "model-00002-of-00002.safetensors": {"layers.1.w": bf16(6), "lm_head.weight": bf16(8)},
    }
    weight_map = {}
    for fname, tensors in shards.items():
        write_safetensors(d / fname, tensors)
        weight_map.update({t: fname for t in tensors})
    (d / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": 56}, "weight_map": weight_map})
    )
    return d
