#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors
# Apache License 2.0 (see galaxy.yml)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gptq_verify
short_description: Check a GPTQ checkpoint against its source by reading the safetensors itself
version_added: "0.2.0"
description:
  - Reads the safetensors headers and tensors of a GPTQ checkpoint directly (not through gptqmodel or
    transformers, which wrote it) and compares them with the BF16 source it was quantized from.
  - C(config.json) - C(quantization_config) says C(gptq) with the expected I(bits) and I(group_size),
    C(desc_act) false and C(sym) true; every other key equals the source's (a transformers 5 re-save
    moves C(rope_theta) under C(rope_parameters), which older engines read as 10000), except
    C(torch_dtype) when the unquantized weights were written in another dtype.
  - The tokenizer and generation files are the source's, byte for byte.
  - Every quantized Linear has C(qweight) (int32, [K*bits/32, N]), C(qzeros) (int32, [K/group, N*bits/32]),
    C(scales) (float16, [K/group, N]) and C(g_idx) (int32, [K]) for the source's [N, K] weight; C(g_idx) is
    the plain order (C(i // group), what desc_act false means) and every zero point is the symmetric one.
  - No module matching I(exclude) (the MoE router C(mlp.gate), C(lm_head)) is quantized, every other
    Linear of the decoder layers is, and every tensor left unquantized (embeddings, norms, routers,
    C(lm_head)) holds the source's values.
  - With I(check_values) (needs numpy), each quantized weight is dequantized and compared with the source;
    its relative error (Frobenius norm) must stay below I(max_rel_error).
  - Never changes anything.
author:
  - vacc.qwen3 contributors (@vacc-qwen3)
options:
  path:
    description: The quantized checkpoint directory.
    type: path
    required: true
  source:
    description: The BF16 checkpoint it was quantized from.
    type: path
    required: true
  bits:
    description: Bits per weight.
    type: int
    default: 4
  group_size:
    description: Quantization group size along the input dimension.
    type: int
    default: 128
  exclude:
    description: Regular expressions (searched in module names) of modules that must stay unquantized.
    type: list
    elements: str
    default: ['\.mlp\.gate$', '^lm_head$']
  check_values:
    description: Dequantize every quantized weight and compare it with the source's; compare unquantized tensors by value across dtypes.
    type: bool
    default: true
  max_rel_error:
    description: Largest relative error (Frobenius norm) of a dequantized weight against the source's.
    type: float
    default: 0.2
  fail_on_problems:
    description: Fail the task when a problem is found (the first one in the message, all in I(problems)).
    type: bool
    default: true
requirements:
  - numpy, for I(check_values) and for unquantized tensors written in another dtype than the source's
attributes:
  check_mode:
    support: full
    description: Runs the same in check mode; it only reads.
  diff_mode:
    support: none
    description: Nothing changes.
"""

EXAMPLES = r"""
- name: Verify the quantized checkpoint before publishing it
  vacc.qwen3.gptq_verify:
    path: /data/weights/.Qwen3-30B-A3B-Instruct-2507-GPTQ-Int4.work/staging
    source: /data/weights/Qwen3-30B-A3B-Instruct-2507
"""

RETURN = r"""
verified:
  description: True when no problem was found.
  returned: always
  type: bool
problems:
  description: One sentence per problem.
  returned: always
  type: list
  elements: str
quantized_modules:
  description: Number of quantized Linear modules.
  returned: always
  type: int
  sample: 18432
unquantized_tensors:
  description: Number of tensors left unquantized and compared with the source.
  returned: always
  type: int
max_rel_error:
  description: The largest relative error of a dequantized weight (null without I(check_values)).
  returned: always
  type: float
quantization_config:
  description: The checkpoint's C(quantization_config).
  returned: always
  type: dict
"""

import hashlib
import json
import os
import re
import struct
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.vacc.qwen3.plugins.module_utils._safetensors import load_json, read_safetensors_header

try:
    import numpy as np

    HAS_NUMPY, NUMPY_ERROR = True, None
except ImportError:
    np, HAS_NUMPY, NUMPY_ERROR = None, False, traceback.format_exc()

QUANT_SUFFIXES = ("qweight", "qzeros", "scales", "g_idx")
META_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.json",
    "merges.txt",
    "generation_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
)
NP_DTYPES = {"F16": "<f2", "F32": "<f4", "I32": "<i4", "I64": "<i8", "BF16": "<u2", "U8": "u1", "I8": "i1"}


class Tensors:
    """name -> header entry of every tensor of a checkpoint directory; reads bytes on demand."""

    def __init__(self, path):
        self.path, self.entries = path, {}
        index = os.path.join(path, "model.safetensors.index.json")
        if os.path.isfile(index):
            files = sorted(set(load_json(index)["weight_map"].values()))
        else:
            files = sorted(n for n in os.listdir(path) if n.endswith(".safetensors"))
        if not files:
            raise ValueError("%s holds no safetensors file" % path)
        for name in files:
            fpath = os.path.join(path, name)
            shard = read_safetensors_header(fpath)
            for tname, info in shard["entries"].items():
                self.entries[tname] = dict(info, file=fpath, base=shard["data_start"])

    def raw(self, name):
        e = self.entries[name]
        start, end = e["data_offsets"]
        with open(e["file"], "rb") as f:
            f.seek(e["base"] + start)
            return f.read(end - start)

    def array(self, name):
        e = self.entries[name]
        a = np.frombuffer(self.raw(name), dtype=NP_DTYPES[e["dtype"]]).reshape(e["shape"])
        if e["dtype"] == "BF16":  # bf16 is the upper half of a float32
            a = (a.astype(np.uint32) << 16).view(np.float32)
        return a.astype(np.float32) if a.dtype.kind == "f" else a


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def check_config(path, source, bits, group_size):
    problems = []
    cfg, src = load_json(os.path.join(path, "config.json")), load_json(os.path.join(source, "config.json"))
    qc = cfg.get("quantization_config") or {}
    want = {"quant_method": "gptq", "bits": bits, "group_size": group_size, "desc_act": False, "sym": True}
    for key, value in want.items():
        if qc.get(key) != value:
            problems.append(
                "config.json's quantization_config has %s %s, not %s."
                % (key, json.dumps(qc.get(key)), json.dumps(value))
            )
    for key, value in src.items():
        if key in ("torch_dtype", "dtype", "quantization_config"):
            continue
        if cfg.get(key) != value:
            problems.append(
                "config.json's %s is %s, not the source's %s (restore the source's config.json)."
                % (key, json.dumps(cfg.get(key)), json.dumps(value))
            )
    for name in META_FILES:
        s, o = os.path.join(source, name), os.path.join(path, name)
        if os.path.isfile(s) and (not os.path.isfile(o) or _sha(open(o, "rb").read()) != _sha(open(s, "rb").read())):
            problems.append("%s is not the source's (copy the source's tokenizer and generation files back)." % name)
    return qc, problems


def check_tensors(path, source, bits, group_size, exclude, check_values, max_rel_error, tied=False):
    problems, out, src = [], Tensors(path), Tensors(source)
    pack = 32 // bits
    sym_zero = sum((2 ** (bits - 1) - 1) << (bits * i) for i in range(pack))
    sym_zero = sym_zero - (1 << 32) if sym_zero >= 1 << 31 else sym_zero
    excluded = [re.compile(rx) for rx in exclude]
    prefixes = sorted(n[: -len(".qweight")] for n in out.entries if n.endswith(".qweight"))
    worst = None
    for p in prefixes:
        if any(rx.search(p) for rx in excluded):
            problems.append("%s is quantized, but the recipe leaves it unquantized." % p)
        parts = {s: out.entries.get("%s.%s" % (p, s)) for s in QUANT_SUFFIXES}
        missing = [s for s, e in parts.items() if e is None]
        if missing:
            problems.append("%s has no %s." % (p, " / ".join(missing)))
            continue
        w = src.entries.get(p + ".weight")
        if w is None or len(w["shape"]) != 2:
            problems.append("%s is quantized but the source has no 2-D %s.weight." % (p, p))
            continue
        n, k = w["shape"]
        groups = -(-k // group_size)
        want = {
            "qweight": ("I32", [k // pack, n]),
            "qzeros": ("I32", [groups, n // pack]),
            "scales": ("F16", [groups, n]),
            "g_idx": ("I32", [k]),
        }
        bad = [
            "%s %s %s (expected %s %s)" % (s, parts[s]["dtype"], parts[s]["shape"], d, sh)
            for s, (d, sh) in want.items()
            if [parts[s]["dtype"], parts[s]["shape"]] != [d, sh]
        ]
        if bad:
            problems.append("%s has the wrong layout for a %dx%d weight: %s." % (p, n, k, "; ".join(bad)))
            continue
        g_idx = struct.unpack("<%di" % k, out.raw(p + ".g_idx"))
        if any(g != i // group_size for i, g in enumerate(g_idx)):
            problems.append(
                "%s.g_idx is not in plain order (i // %d): an act-order (desc_act) checkpoint." % (p, group_size)
            )
        zeros = out.raw(p + ".qzeros")
        if zeros != struct.pack("<i", sym_zero) * (len(zeros) // 4):
            problems.append(
                "%s.qzeros holds zero points other than the symmetric %d: not sym." % (p, 2 ** (bits - 1) - 1)
            )
        if check_values:
            err = _rel_error(out, src, p, bits, group_size, k, n)
            worst = err if worst is None else max(worst, err)
            if err > max_rel_error:
                problems.append(
                    "%s dequantizes %.3f away from the source (relative), more than %s." % (p, err, max_rel_error)
                )
    quantized = set(prefixes)
    compared = 0
    for name, e in sorted(src.entries.items()):
        module = name[: -len(".weight")] if name.endswith(".weight") else None
        if module in quantized:
            continue
        if module and len(e["shape"]) == 2 and ".layers." in name and not any(rx.search(module) for rx in excluded):
            problems.append(
                "%s was left unquantized; the recipe quantizes every Linear of the decoder layers." % module
            )
        o = out.entries.get(name)
        if o is None:
            problems.append("%s of the source is missing." % name)
            continue
        compared += 1
        if o["shape"] != e["shape"]:
            problems.append("%s has shape %s, the source %s." % (name, o["shape"], e["shape"]))
        elif o["dtype"] == e["dtype"]:
            if out.raw(name) != src.raw(name):
                problems.append("%s differs from the source's; it must stay unchanged." % name)
        elif check_values:
            a, b = out.array(name), src.array(name)
            if not np.allclose(a, b, rtol=2**-10, atol=6e-8):
                problems.append("%s (%s) holds other values than the source's (%s)." % (name, o["dtype"], e["dtype"]))
    known = set(src.entries) | {"%s.%s" % (p, s) for p in prefixes for s in QUANT_SUFFIXES}
    if tied and "lm_head.weight" in out.entries and "model.embed_tokens.weight" in src.entries:
        # a writer that unties tied embeddings saves lm_head as a copy of them; the engine ignores it when tied
        known.add("lm_head.weight")
        if check_values and not np.allclose(
            out.array("lm_head.weight"), src.array("model.embed_tokens.weight"), rtol=2**-10, atol=6e-8
        ):
            problems.append("lm_head.weight is not a copy of the tied embeddings.")
    extra = sorted(set(out.entries) - known)
    if extra:
        problems.append("tensors the source does not explain: %s." % ", ".join(extra[:5]))
    if not prefixes:
        problems.append("no module is quantized.")
    return {
        "quantized_modules": len(prefixes),
        "unquantized_tensors": compared,
        "max_rel_error": None if worst is None else round(float(worst), 4),
    }, problems


def _rel_error(out, src, p, bits, group_size, k, n):
    """Dequantize GPTQ v1 (zero points stored minus one) and compare with the source weight."""
    pack, mask = 32 // bits, (1 << bits) - 1
    qw = out.array(p + ".qweight").view(np.uint32)  # [k/pack, n]
    shifts = (np.arange(pack, dtype=np.uint32) * bits)[None, :, None]
    q = ((qw[:, None, :] >> shifts) & mask).reshape(k, n).astype(np.float32)
    qz = out.array(p + ".qzeros").view(np.uint32)  # [groups, n/pack]
    z = ((qz[:, :, None] >> shifts.reshape(1, 1, pack)) & mask).reshape(qz.shape[0], n).astype(np.float32) + 1
    scales = out.array(p + ".scales")  # [groups, n]
    g = np.arange(k) // group_size
    deq = (q - z[g]) * scales[g]  # [k, n]
    w = src.array(p + ".weight").T  # [k, n]
    return float(np.linalg.norm(deq - w) / max(np.linalg.norm(w), 1e-12))


def verify(
    path, source, bits=4, group_size=128, exclude=(r"\.mlp\.gate$", r"^lm_head$"), check_values=True, max_rel_error=0.2
):
    """(result dict, problems)"""
    if 32 % bits:
        return {}, ["bits %d does not pack into int32." % bits]
    for d in (path, source):
        if not os.path.isfile(os.path.join(d, "config.json")):
            return {}, ["%s has no config.json." % d]
    qc, problems = check_config(path, source, bits, group_size)
    tied = bool(load_json(os.path.join(source, "config.json")).get("tie_word_embeddings"))
    facts, more = check_tensors(path, source, bits, group_size, list(exclude), check_values, max_rel_error, tied)
    facts["quantization_config"] = qc
    return facts, problems + more


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            source=dict(type="path", required=True),
            bits=dict(type="int", default=4),
            group_size=dict(type="int", default=128),
            exclude=dict(type="list", elements="str", default=[r"\.mlp\.gate$", r"^lm_head$"]),
            check_values=dict(type="bool", default=True),
            max_rel_error=dict(type="float", default=0.2),
            fail_on_problems=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["check_values"] and not HAS_NUMPY:
        module.fail_json(msg=missing_required_lib("numpy", reason="for check_values"), exception=NUMPY_ERROR)
    try:
        facts, problems = verify(
            p["path"], p["source"], p["bits"], p["group_size"], p["exclude"], p["check_values"], p["max_rel_error"]
        )
    except (OSError, ValueError, KeyError, struct.error) as exc:
        facts, problems = {}, ["%s is unreadable as a checkpoint: %s." % (p["path"], exc)]
    result = dict(
        changed=False,
        verified=not problems,
        problems=problems,
        quantized_modules=facts.get("quantized_modules", 0),
        unquantized_tensors=facts.get("unquantized_tensors", 0),
        max_rel_error=facts.get("max_rel_error"),
        quantization_config=facts.get("quantization_config") or {},
    )
    if problems and p["fail_on_problems"]:
        more = " (%d more problems: see problems)" % (len(problems) - 1) if len(problems) > 1 else ""
        module.fail_json(msg="Refused: %s%s" % (problems[0].rstrip("."), more + "."), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
