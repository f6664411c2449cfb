"""The quantize role's script, the parts that need no gptqmodel: calibration files as the vendor's C4
shard and the role's own set come, and the metadata put back after transformers 5 re-saved it."""

import gzip
import importlib.util
import json
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = importlib.util.spec_from_file_location(
    "vacc_quantize", os.path.join(ROOT, "roles/quantize/files/vacc_quantize.py")
)
vq = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(vq)


def test_calibration_files(tmp_path):
    rows = [{"text": "a" * 50, "timestamp": "x", "url": "u"}, {"text": ""}, {"text": "b" * 50}, {"text": "c"}]
    with gzip.open(tmp_path / "c4-train.00001-of-01024.json.gz", "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    assert vq.read_texts(tmp_path / "c4-train.00001-of-01024.json.gz", 2) == ["a" * 50, "b" * 50]
    (tmp_path / "t.txt").write_text("one\nline\n\n\ntwo\n\n", encoding="utf-8")
    assert vq.read_texts(tmp_path / "t.txt", 10) == ["one\nline", "two"]
    own = vq.read_texts(os.path.join(ROOT, "roles/quantize/files/calibration/default.jsonl"), 1024)
    assert len(own) == 62 and all(len(t) >= 100 for t in own)
    (tmp_path / "bad.jsonl").write_text('{"text": "x"}\n["no"]\n', encoding="utf-8")
    with pytest.raises(SystemExit, match="line 2 is not a JSON object with a text field"):
        vq.read_texts(tmp_path / "bad.jsonl", 10)
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="holds no calibration text"):
        vq.read_texts(tmp_path / "empty.jsonl", 10)


def test_metadata_is_the_sources(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    (src / "config.json").write_text(json.dumps({"model_type": "qwen3_moe", "rope_theta": 1000000, "num_experts": 8}))
    (src / "tokenizer_config.json").write_text('{"chat_template": "T"}')
    (src / "tokenizer.json").write_text("{}")
    # what transformers 5 writes: rope_theta moved, its own tokenizer_config, a chat_template.jinja the source lacks
    (out / "config.json").write_text(
        json.dumps(
            {
                "model_type": "qwen3_moe",
                "rope_parameters": {"rope_theta": 1000000},
                "quantization_config": {"quant_method": "gptq", "bits": 4},
            }
        )
    )
    (out / "tokenizer_config.json").write_text('{"backend": "tokenizers"}')
    (out / "chat_template.jinja").write_text("T")
    qc = vq.quantization_config_of(out)
    vq.restore_metadata(src, out, qc)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg == {
        "model_type": "qwen3_moe",
        "rope_theta": 1000000,
        "num_experts": 8,
        "quantization_config": {"quant_method": "gptq", "bits": 4},
    }
    assert (out / "tokenizer_config.json").read_text() == '{"chat_template": "T"}'
    assert (out / "tokenizer.json").exists() and not (out / "chat_template.jinja").exists()
