"""Write a tiny, randomly initialised Qwen3ForCausalLM checkpoint with the real Qwen3 tokenizer.

The weights are noise: the point is that every real code path (vLLM serving, `vllm bench
serve`, EvalScope, Open WebUI) can load and run it offline, with token counts that match a
real Qwen3. The tokenizer is rebuilt from `qwen.tiktoken`, which the PyPI package `dashscope`
ships (ids 0..151642 of Qwen3 are exactly its BPE ranks), so no model hub is needed.

No torch: bf16 is written as the upper 16 bits of float32 (round to nearest even) into a
safetensors file laid out by hand.

With --moe it writes a tiny Qwen3MoeForCausalLM instead (the architecture of Qwen3-30B-A3B: 8
experts, top-2, a router `mlp.gate` per layer, an untied `lm_head`), the input of the quantize role.
Hidden and expert sizes are multiples of 128, so GPTQ's production group size 128 applies.

Usage: make_tiny_qwen3.py --out DIR [--moe] [--seed N] [--name NAME] [--shards N] [--tiktoken PATH] [--force]
"""

import argparse
import base64
import hashlib
import importlib.util
import json
import os
import shutil
import struct
import sys
import tempfile
import unicodedata
from pathlib import Path

try:
    import numpy as np
    from safetensors import safe_open
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import BPE
except ImportError as exc:  # a clear message instead of a bare traceback in a playbook log
    sys.exit(
        f"make_tiny_qwen3: missing dependency ({exc}); pip install -r {Path(__file__).with_name('requirements.txt')}"
    )

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "qwen3_chat_template.jinja"

# Qwen2/Qwen3 pre-tokenizer regex (same as tokenizer.json of the real models).
PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
N_BPE = 151643
# Added tokens in id order from 151643; the first 14 are special.
ADDED = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<tool_call>",
    "</tool_call>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
    "<tool_response>",
    "</tool_response>",
    "<think>",
    "</think>",
]
N_SPECIAL = 14
BOS_ID, EOS_ID, PAD_ID = 151643, 151645, 151643

# Tiny shape; head_dim stays 128 because vLLM's CPU attention rejects smaller heads.
VOCAB, HIDDEN, LAYERS, HEADS, KV_HEADS, HEAD_DIM, INTER = 151936, 256, 2, 2, 1, 128, 512
# The MoE variant (--moe): Qwen3-30B-A3B's layout in small (128 experts x 768, top-8 there).
# Each expert's down_proj has MOE_INTER inputs: 128 is the smallest size GPTQ group 128 accepts.
EXPERTS, TOP_K, MOE_INTER = 8, 2, 128

# Known encodings of the real Qwen3 tokenizer; checked before the output is published.
CHECKS = [
    ("Hello world", [9707, 1879]),
    ("你好，世界！", [108386, 3837, 99489, 6313]),
    (
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
        [151644, 872, 198, 6023, 151645, 198, 151644, 77091, 198, 151667, 271, 151668, 271],
    ),
]


def default_tiktoken():
    # find_spec locates the package without importing it (dashscope's import is heavy).
    spec = importlib.util.find_spec("dashscope")
    if spec is None or not spec.submodule_search_locations:
        sys.exit(
            "make_tiny_qwen3: dashscope is not installed; pip install -r "
            f"{HERE / 'requirements.txt'} or pass --tiktoken PATH"
        )
    for loc in spec.submodule_search_locations:
        p = Path(loc) / "resources" / "qwen.tiktoken"
        if p.is_file():
            return p
    sys.exit("make_tiny_qwen3: dashscope has no resources/qwen.tiktoken; pass --tiktoken PATH")


def load_ranks(path):
    ranks = {}
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                tok, rank = line.split()
                ranks[base64.b64decode(tok)] = int(rank)
    if len(ranks) != N_BPE or sorted(ranks.values()) != list(range(N_BPE)):
        sys.exit(f"make_tiny_qwen3: {path} is not Qwen's tiktoken file ({len(ranks)} ranks, expected 0..{N_BPE - 1})")
    return ranks


def bytes_to_unicode():
    # GPT-2 byte-level alphabet, as ByteLevel pre-tokenizer/decoder use it.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def vocab_and_merges(ranks):
    # transformers' TikTokenConverter: every split of a token into two known tokens is a merge,
    # ranked by the merged token's rank (tiktoken merges the lowest-ranked pair first).
    enc = bytes_to_unicode()

    def s(b):
        return "".join(enc[x] for x in b)

    vocab = {s(tok): r for tok, r in ranks.items()}
    merges = []
    for tok, r in ranks.items():
        if len(tok) == 1:
            continue
        local = [(tok[:i], tok[i:], r) for i in range(1, len(tok)) if tok[:i] in ranks and tok[i:] in ranks]
        local.sort(key=lambda m: (ranks[m[0]], ranks[m[1]]))
        merges.extend(local)
    merges.sort(key=lambda m: m[2])  # stable: keeps the per-token order above
    return vocab, [(s(a), s(b)) for a, b, dummy in merges]


def build_tokenizer(ranks):
    vocab, merges = vocab_and_merges(ranks)
    # ignore_merges: a pre-token that is itself in the vocab maps straight to it, as in tiktoken.
    tk = Tokenizer(BPE(vocab, merges, fuse_unk=False, ignore_merges=True))
    tk.normalizer = normalizers.NFC()
    tk.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    tk.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tk.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    # One at a time so each gets the next id, in Qwen's order.
    for i, content in enumerate(ADDED):
        at = AddedToken(content, single_word=False, lstrip=False, rstrip=False, normalized=False, special=i < N_SPECIAL)
        if i < N_SPECIAL:
            tk.add_special_tokens([at])
        else:
            tk.add_tokens([at])
    for i, content in enumerate(ADDED):
        if tk.token_to_id(content) != N_BPE + i:
            raise SystemExit(f"make_tiny_qwen3: {content} got id {tk.token_to_id(content)}, not {N_BPE + i}")
    return tk, vocab, merges


def tokenizer_config(template):
    decoder = {
        str(N_BPE + i): {
            "content": c,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": i < N_SPECIAL,
        }
        for i, c in enumerate(ADDED)
    }
    return {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": ADDED[1:N_SPECIAL],
        "bos_token": None,
        "chat_template": template,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": 131072,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }


def model_config(name, moe=False):
    cfg = {
        "_name_or_path": name,
        "architectures": ["Qwen3ForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": BOS_ID,
        "eos_token_id": EOS_ID,
        "head_dim": HEAD_DIM,
        "hidden_act": "silu",
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": INTER,
        "max_position_embeddings": 40960,
        "max_window_layers": LAYERS,
        "model_type": "qwen3",
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "num_key_value_heads": KV_HEADS,
        "rms_norm_eps": 1e-06,
        "rope_scaling": None,
        "rope_theta": 1000000,
        "sliding_window": None,
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": VOCAB,
    }
    if moe:
        # Qwen3-30B-A3B's config.json keys; the router is a plain Linear named mlp.gate.
        cfg.update(
            {
                "architectures": ["Qwen3MoeForCausalLM"],
                "model_type": "qwen3_moe",
                "decoder_sparse_step": 1,
                "mlp_only_layers": [],
                "moe_intermediate_size": MOE_INTER,
                "norm_topk_prob": True,
                "num_experts": EXPERTS,
                "num_experts_per_tok": TOP_K,
                "output_router_logits": False,
                "router_aux_loss_coef": 0.001,
                "tie_word_embeddings": False,
            }
        )
    return cfg


GENERATION_CONFIG = {
    "bos_token_id": BOS_ID,
    "do_sample": True,
    "eos_token_id": [EOS_ID, BOS_ID],
    "pad_token_id": PAD_ID,
    "temperature": 0.6,
    "top_k": 20,
    "top_p": 0.95,
}


def param_shapes(moe=False):
    """Parameter names and shapes in module order: Qwen3ForCausalLM (no lm_head: tied), or
    Qwen3MoeForCausalLM (experts and router instead of the MLP, and its own lm_head)."""
    shapes = [("model.embed_tokens.weight", (VOCAB, HIDDEN))]
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        shapes += [
            (p + "input_layernorm.weight", (HIDDEN,)),
            (p + "self_attn.q_proj.weight", (HEADS * HEAD_DIM, HIDDEN)),
            (p + "self_attn.k_proj.weight", (KV_HEADS * HEAD_DIM, HIDDEN)),
            (p + "self_attn.v_proj.weight", (KV_HEADS * HEAD_DIM, HIDDEN)),
            (p + "self_attn.o_proj.weight", (HIDDEN, HEADS * HEAD_DIM)),
            (p + "self_attn.q_norm.weight", (HEAD_DIM,)),
            (p + "self_attn.k_norm.weight", (HEAD_DIM,)),
            (p + "post_attention_layernorm.weight", (HIDDEN,)),
        ]
        if not moe:
            shapes += [
                (p + "mlp.gate_proj.weight", (INTER, HIDDEN)),
                (p + "mlp.up_proj.weight", (INTER, HIDDEN)),
                (p + "mlp.down_proj.weight", (HIDDEN, INTER)),
            ]
            continue
        shapes.append((p + "mlp.gate.weight", (EXPERTS, HIDDEN)))
        for e in range(EXPERTS):
            q = f"{p}mlp.experts.{e}."
            shapes += [
                (q + "gate_proj.weight", (MOE_INTER, HIDDEN)),
                (q + "up_proj.weight", (MOE_INTER, HIDDEN)),
                (q + "down_proj.weight", (HIDDEN, MOE_INTER)),
            ]
    shapes.append(("model.norm.weight", (HIDDEN,)))
    if moe:
        shapes.append(("lm_head.weight", (VOCAB, HIDDEN)))
    return shapes


def bf16_bytes(x):
    # float32 -> bf16 with round-to-nearest-even; inputs are finite, so no NaN handling needed.
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    u = (u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)
    return u.astype("<u2").tobytes()


def make_weights(seed, moe=False):
    """name -> (shape, bf16 bytes). One RNG stream per tensor, so sharding never changes values."""
    out = {}
    for idx, (name, shape) in enumerate(param_shapes(moe)):
        if name.endswith("norm.weight"):
            arr = np.ones(shape, dtype=np.float32)
        else:
            rng = np.random.default_rng([seed, idx])
            arr = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
        out[name] = (shape, bf16_bytes(arr))
    return out


def write_safetensors(path, tensors):
    """tensors: list of (name, shape, bytes), written in that order."""
    header, offset = {}, 0
    for name, shape, data in tensors:
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # data starts 8-byte aligned, as the safetensors writer does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for dummy, dummy, data in tensors:
            f.write(data)


def split_shards(names, sizes, n):
    """Contiguous, non-empty groups; each closes at its fair share of the bytes still left
    (the embedding alone outweighs everything else, so a global target would leave near-empty shards)."""
    if not 1 <= n <= len(names):
        sys.exit(f"make_tiny_qwen3: --shards must be 1..{len(names)}")
    groups, cur, acc = [], [], 0
    left = sum(sizes.values())
    for i, name in enumerate(names):
        if not cur:
            target, acc = left / (n - len(groups)), 0
        cur.append(name)
        acc += sizes[name]
        left -= sizes[name]
        names_left, groups_left = len(names) - i - 1, n - len(groups) - 1
        if groups_left and (acc >= target or names_left == groups_left):
            groups.append(cur)
            cur = []
    groups.append(cur)
    assert len(groups) == n and all(groups), groups
    return groups


def write_weights(d, weights, shards, moe=False):
    names = [n for n, dummy in param_shapes(moe)]
    if shards == 1:
        write_safetensors(d / "model.safetensors", [(n, *weights[n]) for n in names])
        return
    sizes = {n: len(weights[n][1]) for n in names}
    weight_map = {}
    for k, group in enumerate(split_shards(names, sizes, shards), 1):
        fname = f"model-{k:05d}-of-{shards:05d}.safetensors"
        write_safetensors(d / fname, [(n, *weights[n]) for n in group])
        weight_map.update({n: fname for n in group})
    index = {"metadata": {"total_size": sum(sizes.values())}, "weight_map": weight_map}
    write_json(d / "model.safetensors.index.json", index)


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def check(d, shards, moe=False):
    tk = Tokenizer.from_file(str(d / "tokenizer.json"))
    for text, ids in CHECKS:
        got = tk.encode(text).ids
        if got != ids:
            raise SystemExit(f"make_tiny_qwen3: tokenizer check failed for {text!r}: {got} != {ids}")
        if tk.decode(got, skip_special_tokens=False) != unicodedata.normalize("NFC", text):
            raise SystemExit(f"make_tiny_qwen3: decode round trip failed for {text!r}")
    # Explicit raises, not asserts: these must hold under python -O too.
    files = sorted(d.glob("*.safetensors"))
    if len(files) != shards:
        raise SystemExit(f"make_tiny_qwen3: {len(files)} safetensors files, expected {shards}")
    seen = set()
    for f in files:  # safetensors' own reader accepts the hand-written files
        with safe_open(str(f), framework="numpy") as st:
            for k in st.keys():
                sl = st.get_slice(k)
                if sl.get_dtype() != "BF16":
                    raise SystemExit(f"make_tiny_qwen3: {k} is {sl.get_dtype()}, not BF16")
                seen.add((k, tuple(sl.get_shape())))
    if seen != set(param_shapes(moe)):
        raise SystemExit("make_tiny_qwen3: tensor names/shapes differ from Qwen3's")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument(
        "--out", required=True, type=Path, help="output directory (must not exist, or be empty, unless --force)"
    )
    ap.add_argument("--tiktoken", type=Path, help="qwen.tiktoken (default: the one in the installed dashscope package)")
    ap.add_argument("--seed", type=int, default=0, help="weights RNG seed (default 0)")
    ap.add_argument("--name", default="qwen3-tiny", help="model name recorded in config.json and README.md")
    ap.add_argument("--shards", type=int, default=1, help="split weights into N safetensors files with an index")
    ap.add_argument("--force", action="store_true", help="replace an existing non-empty --out")
    ap.add_argument("--moe", action="store_true", help="a tiny Qwen3MoeForCausalLM (8 experts, top-2) instead")
    a = ap.parse_args(argv)

    if not 1 <= a.shards <= len(param_shapes(a.moe)):
        ap.error(f"--shards must be 1..{len(param_shapes(a.moe))} (one tensor per shard at most)")
    if a.seed < 0:
        ap.error("--seed must be >= 0")
    out = a.out.resolve()
    if out.exists() and any(out.iterdir()) and not a.force:
        sys.exit(f"make_tiny_qwen3: {out} exists and is not empty (use --force to replace it)")
    tiktoken_path = a.tiktoken or default_tiktoken()
    template = TEMPLATE.read_text(encoding="utf-8").rstrip("\n")  # the upstream string has no final newline

    out.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename at the end, so a reader never sees half a checkpoint.
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        ranks = load_ranks(tiktoken_path)
        tk, vocab, merges = build_tokenizer(ranks)
        tk.save(str(tmp / "tokenizer.json"), pretty=False)  # 11 MB instead of 19
        write_json(tmp / "vocab.json", vocab)
        with open(tmp / "merges.txt", "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n")
            f.writelines(f"{x} {y}\n" for x, y in merges)
        write_json(tmp / "tokenizer_config.json", tokenizer_config(template))
        write_json(tmp / "config.json", model_config(a.name, a.moe))
        write_json(tmp / "generation_config.json", GENERATION_CONFIG)
        write_weights(tmp, make_weights(a.seed, a.moe), a.shards, a.moe)
        sha = hashlib.sha256(Path(tiktoken_path).read_bytes()).hexdigest()
        (tmp / "README.md").write_text(
            f"# {a.name}\n\nA tiny {model_config(a.name, a.moe)['architectures'][0]} with RANDOM weights (seed {a.seed}), for tests and labs only.\n"
            f"Tokenizer: the real Qwen3 one, rebuilt from qwen.tiktoken (sha256 {sha}).\n"
            f"Written by make_tiny_qwen3.py.\n",
            encoding="utf-8",
        )
        check(tmp, a.shards, a.moe)
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700; servers in containers may run as another user
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "x")
            os.replace(tmp, out)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f"make_tiny_qwen3: wrote {out}")


if __name__ == "__main__":
    main()
