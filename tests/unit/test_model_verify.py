"""Unit tests for the model_verify module on small hand-written checkpoints."""

import json
import struct

import pytest
from fake_checkpoint import CONFIG, bf16, sharded, single, write_common, write_safetensors  # noqa: F401

from ansible_collections.vacc.qwen3.plugins.modules import model_verify as mv


def test_good_single_file(tmp_path):
    r = mv.verify(str(single(tmp_path)))
    assert r["verified"] and r["problems"] == []
    assert r["weights_format"] == "single" and r["tensor_count"] == 2 and r["tensor_dtypes"] == ["BF16"]
    assert r["config"]["architectures"] == ["Qwen3ForCausalLM"] and r["config"]["num_hidden_layers"] == 2
    assert r["config"]["torch_dtype"] == "bfloat16"
    assert r["quantization_config"] is None
    assert r["tokenizer_files"] == ["tokenizer.json", "tokenizer_config.json"]
    assert r["size_bytes"] == sum(p.stat().st_size for p in (tmp_path / "single").iterdir())
    assert len(r["fingerprint"]) == 64


def test_good_sharded_with_bpe_tokenizer(tmp_path):
    r = mv.verify(str(sharded(tmp_path, tokenizer="bpe")))
    assert r["verified"], r["problems"]
    assert r["weights_format"] == "sharded" and [s["name"] for s in r["shards"]] == [
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    ]
    assert all(s["size"] == s["expected_size"] for s in r["shards"])
    assert r["tensor_count"] == 4


def test_missing_shard(tmp_path):
    d = sharded(tmp_path)
    (d / "model-00002-of-00002.safetensors").unlink()
    r = mv.verify(str(d))
    assert not r["verified"]
    assert r["problems"] == ["Shard model-00002-of-00002.safetensors named in model.safetensors.index.json is missing."]


def test_truncated_shard(tmp_path):
    d = sharded(tmp_path)
    shard = d / "model-00001-of-00002.safetensors"
    full = shard.stat().st_size
    shard.write_bytes(shard.read_bytes()[:-5])
    r = mv.verify(str(d))
    assert r["problems"] == [
        "Shard model-00001-of-00002.safetensors is truncated: %d bytes of the %d its "
        "header describes." % (full - 5, full)
    ]


def test_padded_shard_is_refused(tmp_path):
    d = single(tmp_path)
    with open(d / "model.safetensors", "ab") as f:
        f.write(b"\0" * 3)
    r = mv.verify(str(d))
    assert not r["verified"] and "has 3 bytes after the data" in r["problems"][0]


@pytest.mark.parametrize(
    "content,why",
    [
        (struct.pack("<Q", 40) + b"{not json" + b" " * 31, "header is not JSON"),
        (struct.pack("<Q", 1 << 40) + b"{}", "header length 1099511627776 is out of range"),
        (struct.pack("<Q", 64) + b"{}", "header of 64 bytes is cut off after 2"),
        (b"\x01\x02", "shorter than the 8-byte header length"),
        (struct.pack("<Q", 16) + b'{"w": {"a": 1} }', "tensor w has no valid data_offsets"),
    ],
)
def test_corrupt_header(tmp_path, content, why):
    d = single(tmp_path)
    (d / "model.safetensors").write_bytes(content)
    r = mv.verify(str(d))
    assert not r["verified"] and len(r["problems"]) == 1
    assert r["problems"][0].startswith("Shard model.safetensors has a corrupt header (%s" % why)


def test_index_tensor_not_in_its_shard(tmp_path):
    d = sharded(tmp_path)
    index = json.loads((d / "model.safetensors.index.json").read_text())
    index["weight_map"]["layers.2.w"] = "model-00002-of-00002.safetensors"
    (d / "model.safetensors.index.json").write_text(json.dumps(index))
    r = mv.verify(str(d))
    assert r["problems"] == [
        "Shard model-00002-of-00002.safetensors lacks 1 tensor(s) the index puts in it, e.g. layers.2.w."
    ]


def test_aria2_control_file_means_unfinished(tmp_path):
    d = single(tmp_path)
    (d / "model.safetensors.aria2").write_bytes(b"\0" * 10)
    r = mv.verify(str(d))
    assert r["problems"] == [
        "Shard model.safetensors is still being downloaded (model.safetensors.aria2 is beside it)."
    ]


def test_missing_tokenizer(tmp_path):
    d = single(tmp_path, tokenizer=None)
    r = mv.verify(str(d))
    assert r["problems"] == ["No tokenizer: neither tokenizer.json nor vocab.json with merges.txt is present."]
    (d / "tokenizer_config.json").unlink()
    assert len(mv.verify(str(d))["problems"]) == 2
    assert mv.verify(str(d), require_tokenizer=False)["verified"]


def test_vocab_without_merges_is_not_a_tokenizer(tmp_path):
    d = single(tmp_path, tokenizer="bpe")
    (d / "merges.txt").unlink()
    assert mv.verify(str(d))["problems"][0].startswith("No tokenizer:")


def test_gptq_desc_act_returned(tmp_path):
    quant = {"quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": True, "sym": True}
    d = sharded(tmp_path, config=dict(CONFIG, quantization_config=quant))
    r = mv.verify(str(d))
    assert r["verified"] and r["quantization_config"] == quant


def test_quantize_config_json_is_read_as_vllm_does(tmp_path):
    path = single(tmp_path)
    (path / "quantize_config.json").write_text(json.dumps({"bits": 4, "group_size": 128, "desc_act": True}))
    result = mv.verify(str(path))
    assert result["verified"]
    assert result["quantization_config"] == {"quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": True}
    # config.json's own quantization_config wins.
    quant = {"quant_method": "awq", "bits": 4}
    path2 = single(tmp_path, "awq", config=dict(CONFIG, quantization_config=quant))
    (path2 / "quantize_config.json").write_text(json.dumps({"bits": 4, "desc_act": True}))
    assert mv.verify(str(path2))["quantization_config"] == quant
    (path2 / "quantize_config.json").write_text("{not json")
    path3 = single(tmp_path, "bad")
    (path3 / "quantize_config.json").write_text("{not json")
    assert "quantize_config.json is not a JSON object" in mv.verify(str(path3))["problems"][0]


@pytest.mark.parametrize("what", ["auto_map", "py"])
def test_a_checkpoint_carrying_code_is_a_problem_unless_allowed(tmp_path, what):
    config = dict(CONFIG, auto_map={"AutoModelForCausalLM": "modeling.Model"}) if what == "auto_map" else CONFIG
    path = single(tmp_path, config=config)
    if what == "py":
        (path / "modeling_qwen3.py").write_text("print('runs under --trust-remote-code')\n")
    result = mv.verify(str(path))
    assert not result["verified"]
    assert result["custom_code"] == (["config.json auto_map"] if what == "auto_map" else ["modeling_qwen3.py"])
    assert "set model_download_allow_custom_code: true if you trust it" in result["problems"][0]
    assert mv.verify(str(path), allow_custom_code=True)["verified"]


def test_new_transformers_dtype_key(tmp_path):
    config = {k: v for k, v in CONFIG.items() if k != "torch_dtype"}
    config["dtype"] = "bfloat16"
    assert mv.verify(str(single(tmp_path, config=config)))["config"]["torch_dtype"] == "bfloat16"


def test_missing_and_bad_config(tmp_path):
    d = single(tmp_path)
    (d / "config.json").write_text("{oops")
    r = mv.verify(str(d))
    assert len(r["problems"]) == 1 and r["problems"][0].startswith("config.json is not valid JSON (")
    (d / "config.json").unlink()
    assert mv.verify(str(d))["problems"] == ["config.json is missing."]


def test_no_weights_and_no_dir(tmp_path):
    d = write_common(tmp_path / "empty")
    assert mv.verify(str(d))["problems"] == [
        "No weights: neither model.safetensors nor model.safetensors.index.json is present."
    ]
    r = mv.verify(str(tmp_path / "nope"))
    assert r["problems"] == ["%s does not exist." % (tmp_path / "nope")] and not r["exists"]
    assert r["fingerprint"] is None


def test_expect_catches_a_different_model(tmp_path):
    d = single(tmp_path)
    assert mv.verify(str(d), expect={"num_hidden_layers": 2})["verified"]
    r = mv.verify(str(d), expect={"num_hidden_layers": 28})
    assert r["problems"] == [
        "config.json has num_hidden_layers 2 where 28 was expected: this is not the model asked for."
    ]


def test_fingerprint_same_copy_same_value_and_ignores_download_state(tmp_path):
    a, b = sharded(tmp_path, "a"), sharded(tmp_path, "b")
    fa = mv.verify(str(a))["fingerprint"]
    assert mv.verify(str(b))["fingerprint"] == fa
    (b / ".hfd").mkdir()
    (b / ".hfd" / "repo_metadata.json").write_text("{}")
    (b / ".gitattributes").write_text("*.safetensors filter=lfs\n")
    assert mv.verify(str(b))["fingerprint"] == fa
    (b / "tokenizer.json").write_text("{}")  # a different small file changes it
    assert mv.verify(str(b))["fingerprint"] != fa


def test_fingerprint_sees_a_changed_header_but_not_tensor_bytes(tmp_path):
    a, b = single(tmp_path, "a"), single(tmp_path, "b")
    fa = mv.verify(str(a))["fingerprint"]
    raw = bytearray((b / "model.safetensors").read_bytes())
    raw[-1] ^= 0xFF  # same size and header, other data: by design not seen (not hashed)
    (b / "model.safetensors").write_bytes(bytes(raw))
    assert mv.verify(str(b))["fingerprint"] == fa
    write_safetensors(
        b / "model.safetensors",
        {"embed.weight": bf16(8), "norm.weight": ("F16", [4], bytes(8))},
        metadata={"format": "pt"},
    )
    assert mv.verify(str(b))["fingerprint"] != fa


def _run_main(args):
    from ansible.module_utils.testing import patch_module_args

    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        mv.main()
    return exc.value.code


def test_main_fails_with_problems_joined(tmp_path, capsys):
    d = sharded(tmp_path)
    (d / "model-00002-of-00002.safetensors").unlink()
    (d / "tokenizer_config.json").unlink()
    assert _run_main({"path": str(d)}) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["failed"] and not out["changed"] and not out["verified"]
    assert out["msg"] == (
        "%s is not a complete checkpoint: Shard model-00002-of-00002.safetensors named in "
        "model.safetensors.index.json is missing. tokenizer_config.json is missing." % d
    )


def test_main_reports_without_failing_and_in_check_mode(tmp_path, capsys):
    d = single(tmp_path)
    (d / "config.json").unlink()
    assert _run_main({"path": str(d), "fail_on_problems": False, "_ansible_check_mode": True}) == 0
    out = json.loads(capsys.readouterr().out)
    assert not out["changed"] and not out["verified"] and out["problems"] == ["config.json is missing."]
