# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Reading a checkpoint's JSON files and safetensors headers, in one place: model_verify (the weights as
downloaded) and gptq_verify (a quantized checkpoint against its source) both read them. Standard library only:
this runs on the managed host."""

from __future__ import annotations

import json
import struct

# A header larger than this is refused rather than read into memory (real ones are a few MB at most).
MAX_HEADER_BYTES = 100 * 1024 * 1024


def load_json(path):
    """The JSON document at path; OSError or ValueError when it cannot be read."""
    with open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def read_json(path):
    """(data, None), or (None, why it is unreadable as a sentence fragment)."""
    try:
        return load_json(path), None
    except (OSError, ValueError) as exc:
        return None, str(exc).rstrip(".")


def read_safetensors_header(path, max_header_bytes=MAX_HEADER_BYTES):
    """The header of a safetensors file: dict(header_bytes, entries, tensors, dtypes, data_start, expected_size),
    where entries maps each tensor to its header entry (dtype, shape, data_offsets relative to data_start);
    or raise ValueError with why it is unreadable."""
    with open(path, "rb") as f:
        prefix = f.read(8)
        if len(prefix) < 8:
            raise ValueError("shorter than the 8-byte header length")
        (length,) = struct.unpack("<Q", prefix)
        if length == 0 or length > max_header_bytes:
            raise ValueError("header length %d is out of range" % length)
        raw = f.read(length)
    if len(raw) < length:
        raise ValueError("header of %d bytes is cut off after %d" % (length, len(raw)))
    try:
        header = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise ValueError("header is not JSON: %s" % str(exc).rstrip(".")) from None
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    data_end = 0
    entries = {}
    dtypes = set()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and o >= 0 for o in offsets)
            or offsets[0] > offsets[1]
        ):
            raise ValueError("tensor %s has no valid data_offsets" % name)
        data_end = max(data_end, offsets[1])
        entries[name] = info
        dtypes.add(str(info.get("dtype")))
    return {
        "header_bytes": prefix + raw,
        "entries": entries,
        "tensors": list(entries),
        "dtypes": dtypes,
        "data_start": 8 + length,
        "expected_size": 8 + length + data_end,
    }
