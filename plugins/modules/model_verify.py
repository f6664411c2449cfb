#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors
# Apache License 2.0 (see galaxy.yml)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: model_verify
short_description: Check that a Hugging Face style checkpoint directory is complete and loadable
version_added: "0.1.0"
description:
  - Checks a model directory the way a serving engine will read it, without reading the weights
    themselves, so it takes well under a second even for a 235B checkpoint.
  - C(config.json) must be present and parse as a JSON object; the fields the plan needs are returned
    (I(config)), and so is its quantization config (C(config.json)'s C(quantization_config), else
    C(quantize_config.json), which vLLM also reads), so a plan can refuse a GPTQ checkpoint with
    C(desc_act=true).
  - A checkpoint that carries its own code (C(auto_map) in C(config.json), or C(*.py) files) is a
    problem unless I(allow_custom_code), since the service runs C(--trust-remote-code), as the guide does,
    and would execute it.
  - Weights - every shard named in C(model.safetensors.index.json) (or the single
    C(model.safetensors)) must be present with a readable safetensors header (8-byte little-endian
    length, then JSON), and the file size must be exactly 8 + header length + the largest
    C(data_offsets) end, so a truncated (or padded) download is caught. Every tensor the index names
    must be in the shard it points to. An C(<shard>.aria2) control file beside a shard means aria2
    has not finished it.
  - Tokenizer - C(tokenizer.json), or C(vocab.json) with C(merges.txt); and C(tokenizer_config.json).
  - Returns a cheap I(fingerprint) so two copies can be compared without hashing the weights.
  - Never changes anything; safe in check mode.
author:
  - vacc.qwen3 contributors (@vacc-qwen3)
options:
  path:
    description:
      - The model directory (the one holding C(config.json)).
    type: path
    required: true
  fail_on_problems:
    description:
      - Fail the task when any problem is found, with the problems joined into the message.
      - With C(false) the task succeeds and I(verified) says whether the checkpoint is complete.
    type: bool
    default: true
  require_tokenizer:
    description:
      - Count missing tokenizer files as problems. Turn off for weights-only copies.
    type: bool
    default: true
  expect:
    description:
      - C(config.json) values the checkpoint must have, key to value (for example C(num_hidden_layers)
        C(28)); each mismatch is a problem (a directory holding a different model than the one named).
    type: dict
    default: {}
  allow_custom_code:
    description:
      - Accept a checkpoint that carries its own code (C(auto_map), C(*.py)); the engine would run it.
    type: bool
    default: false
  max_header_bytes:
    description:
      - Largest safetensors header accepted, in bytes. A larger length prefix means a corrupt file.
    type: int
    default: 104857600
attributes:
  check_mode:
    support: full
    description: Runs the same in check mode; it only reads.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
notes:
  - Only the top level of I(path) is checked for weights and tokenizer files, as C(from_pretrained)
    and vLLM read them.
  - The I(fingerprint) covers the safetensors index, each shard's name, size and header bytes, and the
    name, size and content of every other non-hidden file up to 64 MiB (config, tokenizer, ...);
    hidden files and directories (C(.cache), C(.hfd), C(.git)) and C(*.aria2) files are left out, as
    they are download state, not the model. Two copies with the same fingerprint hold the same
    tensors at the same offsets; the tensor bytes themselves are not hashed.
"""

EXAMPLES = r"""
- name: Verify the weights before starting the service
  vacc.qwen3.model_verify:
    path: /data/weights/Qwen3-30B-A3B-GPTQ-Int4
  register: weights

- name: Pass the checkpoint's quantization config to the plan
  ansible.builtin.set_fact:
    qwen3_quant_config: "{{ weights.quantization_config }}"

- name: Only look (e.g. to decide whether to download)
  vacc.qwen3.model_verify:
    path: /data/weights/Qwen3-8B
    fail_on_problems: false
    expect:
      num_hidden_layers: 36
  register: present

- name: Same copy on two hosts?
  ansible.builtin.debug:
    msg: "{{ hostvars['a'].present.fingerprint == hostvars['b'].present.fingerprint }}"
"""

RETURN = r"""
verified:
  description: True when no problem was found.
  returned: always
  type: bool
  sample: true
problems:
  description: One sentence per problem found; empty when I(verified).
  returned: always
  type: list
  elements: str
  sample: ["Shard model-00002-of-00002.safetensors is truncated: 1048576 bytes of the 3908490048 its header describes."]
path:
  description: The directory checked.
  returned: always
  type: str
  sample: /data/weights/Qwen3-8B
exists:
  description: Whether I(path) is an existing directory.
  returned: always
  type: bool
  sample: true
config:
  description:
    - Fields of C(config.json) the plan reads (null when absent); empty when C(config.json) is unreadable.
    - I(torch_dtype) falls back to C(dtype), the key newer transformers releases write.
  returned: always
  type: dict
  sample:
    architectures: [Qwen3ForCausalLM]
    model_type: qwen3
    torch_dtype: bfloat16
    num_hidden_layers: 36
    hidden_size: 4096
    num_attention_heads: 32
    num_key_value_heads: 8
    head_dim: 128
    vocab_size: 151936
    max_position_embeddings: 40960
    tie_word_embeddings: false
custom_code:
  description: What in the checkpoint is code the engine would run (C(config.json auto_map), C(*.py) file names).
  returned: always
  type: list
  elements: str
  sample: []
quantization_config:
  description:
    - The C(quantization_config) of C(config.json), else the content of C(quantize_config.json) (the
      file AutoGPTQ writes and vLLM reads as GPTQ's; C(quant_method) gptq unless it says otherwise), or null
      for an unquantized checkpoint.
  returned: always
  type: dict
  sample: {quant_method: gptq, bits: 4, group_size: 128, desc_act: false, sym: true}
weights_format:
  description: C(sharded) (an index), C(single) (one C(model.safetensors)) or C(none).
  returned: always
  type: str
  sample: sharded
shards:
  description: One entry per safetensors file checked.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: File name.
      type: str
    size:
      description: File size in bytes, or null when missing.
      type: int
    expected_size:
      description: Size the header describes (8 + header length + data end), or null when unreadable.
      type: int
    tensors:
      description: Tensors in the header.
      type: int
  sample: [{name: model-00001-of-00002.safetensors, size: 4967229296, expected_size: 4967229296, tensors: 399}]
tensor_count:
  description: Tensors found in all readable shard headers.
  returned: always
  type: int
  sample: 399
tensor_dtypes:
  description: The safetensors dtypes seen (for example C(BF16), C(F8_E4M3), C(I32)), sorted.
  returned: always
  type: list
  elements: str
  sample: [BF16, F8_E4M3]
tokenizer_files:
  description: Tokenizer files present.
  returned: always
  type: list
  elements: str
  sample: [tokenizer.json, tokenizer_config.json, vocab.json, merges.txt]
size_bytes:
  description: Bytes in the non-hidden files of I(path) (what a copy moves).
  returned: always
  type: int
  sample: 16388517912
fingerprint:
  description: sha256 (hex) of the index, the shard names, sizes and headers, and the small files; see the notes. Null when I(path) does not exist.
  returned: always
  type: str
  sample: 3f0a5c1e0d3b4c...
"""

import hashlib
import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vacc.qwen3.plugins.module_utils._safetensors import (
    MAX_HEADER_BYTES,
    read_json,
    read_safetensors_header,
)

INDEX = "model.safetensors.index.json"
SINGLE = "model.safetensors"
SMALL_FILE_LIMIT = 64 * 1024 * 1024  # hash content below this; larger non-shard files by size only
CONFIG_FIELDS = (
    "architectures",
    "model_type",
    "torch_dtype",
    "num_hidden_layers",
    "hidden_size",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "intermediate_size",
    "moe_intermediate_size",
    "num_experts",
    "num_experts_per_tok",
    "vocab_size",
    "max_position_embeddings",
    "tie_word_embeddings",
    "rope_theta",
    "rope_scaling",
    "rope_parameters",
)


def _is_download_state(name):
    # Download tools' bookkeeping, not the model: hidden dirs/files and aria2 control files.
    return name.startswith(".") or name.endswith(".aria2")


def _fingerprint(path, shard_headers):
    h = hashlib.sha256()
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not _is_download_state(d))
        for name in sorted(files):
            if _is_download_state(name):
                continue
            full = os.path.join(root, name)
            rel = os.path.relpath(full, path)
            try:
                size = os.path.getsize(full)
            except OSError:
                continue
            h.update(("%s\0%d\0" % (rel, size)).encode("utf-8"))
            if rel in shard_headers:
                h.update(shard_headers[rel])
            elif size <= SMALL_FILE_LIMIT and not name.endswith(".safetensors"):
                with open(full, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
            h.update(b"\n")
    return h.hexdigest()


def _size_bytes(path):
    total = 0
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if not _is_download_state(d)]
        for name in files:
            if not _is_download_state(name):
                try:
                    total += os.path.getsize(os.path.join(root, name))
                except OSError:
                    pass
    return total


def verify(path, require_tokenizer=True, expect=None, max_header_bytes=MAX_HEADER_BYTES, allow_custom_code=False):
    """Check the checkpoint at `path`; returns the module's result (without changed/msg)."""
    result = {
        "path": path,
        "exists": False,
        "verified": False,
        "problems": [],
        "config": {},
        "quantization_config": None,
        "custom_code": [],
        "weights_format": "none",
        "shards": [],
        "tensor_count": 0,
        "tensor_dtypes": [],
        "tokenizer_files": [],
        "size_bytes": 0,
        "fingerprint": None,
    }
    problems = result["problems"]
    if not os.path.exists(path):
        problems.append("%s does not exist." % path)
        return result
    if not os.path.isdir(path):
        problems.append("%s is not a directory." % path)
        return result
    result["exists"] = True

    # ---- config.json
    config_path = os.path.join(path, "config.json")
    if not os.path.isfile(config_path):
        problems.append("config.json is missing.")
    else:
        config, err = read_json(config_path)
        if err:
            problems.append("config.json is not valid JSON (%s)." % err)
        elif not isinstance(config, dict):
            problems.append("config.json is not a JSON object.")
        else:
            summary = {k: config.get(k) for k in CONFIG_FIELDS}
            if summary["torch_dtype"] is None:
                summary["torch_dtype"] = config.get("dtype")  # transformers >= 4.56 writes "dtype"
            result["config"] = summary
            result["quantization_config"] = config.get("quantization_config") or None
            if config.get("auto_map"):
                result["custom_code"].append("config.json auto_map")
            for key, want in sorted((expect or {}).items()):
                got = config.get(key)
                if got != want:
                    problems.append(
                        "config.json has %s %s where %s was expected: this is not the model "
                        "asked for." % (key, json.dumps(got), json.dumps(want))
                    )

    # vLLM reads a GPTQ checkpoint's quantize_config.json when config.json has no quantization_config.
    quantize_path = os.path.join(path, "quantize_config.json")
    if result["quantization_config"] is None and os.path.isfile(quantize_path):
        quantize, err = read_json(quantize_path)
        if err or not isinstance(quantize, dict):
            problems.append("quantize_config.json is not a JSON object%s." % (" (%s)" % err if err else ""))
        else:
            # AutoGPTQ writes this file; vLLM reads it as GPTQ's configuration.
            result["quantization_config"] = dict({"quant_method": "gptq"}, **quantize)

    # ---- code the engine would run under --trust-remote-code
    result["custom_code"] += sorted(n for n in os.listdir(path) if n.endswith(".py"))
    if result["custom_code"] and not allow_custom_code:
        problems.append(
            "The checkpoint carries its own code (%s), which the engine would run with "
            "--trust-remote-code; remove it, or set model_download_allow_custom_code: true if you "
            "trust it." % ", ".join(result["custom_code"])
        )

    # ---- weights
    shard_names = []
    index_tensors = {}
    index_path = os.path.join(path, INDEX)
    if os.path.isfile(index_path):
        result["weights_format"] = "sharded"
        index, err = read_json(index_path)
        weight_map = index.get("weight_map") if isinstance(index, dict) else None
        if err:
            problems.append("%s is not valid JSON (%s)." % (INDEX, err))
        elif not isinstance(weight_map, dict) or not weight_map:
            problems.append("%s has no weight_map." % INDEX)
        else:
            for tensor, shard in weight_map.items():
                index_tensors.setdefault(shard, []).append(tensor)
            shard_names = sorted(index_tensors)
    elif os.path.isfile(os.path.join(path, SINGLE)):
        result["weights_format"] = "single"
        shard_names = [SINGLE]
    else:
        problems.append("No weights: neither %s nor %s is present." % (SINGLE, INDEX))

    shard_headers = {}
    dtypes = set()
    for name in shard_names:
        full = os.path.join(path, name)
        entry = {"name": name, "size": None, "expected_size": None, "tensors": 0}
        result["shards"].append(entry)
        if not os.path.isfile(full):
            problems.append("Shard %s named in %s is missing." % (name, INDEX))
            continue
        size = entry["size"] = os.path.getsize(full)
        if os.path.exists(full + ".aria2"):
            problems.append("Shard %s is still being downloaded (%s.aria2 is beside it)." % (name, name))
        try:
            info = read_safetensors_header(full, max_header_bytes)
        except (OSError, ValueError) as exc:
            problems.append("Shard %s has a corrupt header (%s)." % (name, exc))
            continue
        shard_headers[name] = info["header_bytes"]
        entry["expected_size"] = info["expected_size"]
        entry["tensors"] = len(info["tensors"])
        result["tensor_count"] += len(info["tensors"])
        dtypes |= info["dtypes"]
        if size < info["expected_size"]:
            problems.append(
                "Shard %s is truncated: %d bytes of the %d its header describes." % (name, size, info["expected_size"])
            )
        elif size > info["expected_size"]:
            problems.append(
                "Shard %s has %d bytes after the data its header describes (safetensors "
                "refuses such a file)." % (name, size - info["expected_size"])
            )
        missing = sorted(set(index_tensors.get(name, [])) - set(info["tensors"]))
        if missing:
            problems.append(
                "Shard %s lacks %d tensor(s) the index puts in it, e.g. %s." % (name, len(missing), missing[0])
            )
    result["tensor_dtypes"] = sorted(dtypes)

    # ---- tokenizer
    present = [
        n
        for n in ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt")
        if os.path.isfile(os.path.join(path, n))
    ]
    result["tokenizer_files"] = present
    if require_tokenizer:
        if "tokenizer.json" not in present and not ("vocab.json" in present and "merges.txt" in present):
            problems.append("No tokenizer: neither tokenizer.json nor vocab.json with merges.txt is present.")
        if "tokenizer_config.json" not in present:
            problems.append("tokenizer_config.json is missing.")

    result["size_bytes"] = _size_bytes(path)
    result["fingerprint"] = _fingerprint(path, shard_headers)
    result["verified"] = not problems
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            fail_on_problems=dict(type="bool", default=True),
            require_tokenizer=dict(type="bool", default=True),
            expect=dict(type="dict", default={}),
            allow_custom_code=dict(type="bool", default=False),
            max_header_bytes=dict(type="int", default=MAX_HEADER_BYTES),
        ),
        supports_check_mode=True,
    )
    p = module.params
    result = verify(
        p["path"],
        require_tokenizer=p["require_tokenizer"],
        expect=p["expect"],
        max_header_bytes=p["max_header_bytes"],
        allow_custom_code=p["allow_custom_code"],
    )
    if result["problems"] and p["fail_on_problems"]:
        msg = " ".join(result["problems"])
        if result["exists"]:
            msg = "%s is not a complete checkpoint: %s" % (p["path"], msg)
        module.fail_json(msg=msg, changed=False, **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
