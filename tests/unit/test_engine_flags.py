"""The engine image asked, not assumed (issue 20): the help parser shared with the benchmark, the probe
record and its cache, and the argv built from the flags an image's `vllm serve --help` lists - vLLM
0.9.2 and 0.10.0 help texts (trimmed, tests/unit/fixtures/vllm_help/) and a 0.11.1+ flag set."""

import json
import os
import pathlib
import subprocess
import time

import pytest

from ansible_collections.vacc.qwen3.plugins.action.deployment_plan import (
    detail_lines,
    engine_for,
    engine_warning,
    plan_record,
)
from ansible_collections.vacc.qwen3.plugins.filter import qwen3 as filters
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _engine_help, _engine_probe, _inputs
from ansible_collections.vacc.qwen3.plugins.plugin_utils._bench_cases import help_flags as bench_help_flags
from ansible_collections.vacc.qwen3.plugins.plugin_utils._planner import PlanError, plan, vllm_args
from ansible_collections.vacc.qwen3.plugins.plugin_utils._service import service

HELP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "vllm_help")
ROOT_DIR = pathlib.Path(__file__).resolve().parents[2]


def help_text(version):
    with open(os.path.join(HELP_DIR, version + ".txt")) as fh:
        return fh.read()


def output(version, help_, platform="vllm_vacc=no\nvasmi=no"):
    return "\n".join(
        [
            _engine_probe.MARK + "version",
            "INFO 12-07 start",
            version,
            _engine_probe.MARK + "help",
            help_,
            _engine_probe.MARK + "platform",
            platform,
        ]
    )


def engine(version, drop=(), image="vendor/vllm_vacc:test"):
    """A probe record of an image whose help is the fixture of `version` without the options `drop`."""
    lines = [
        line
        for line in help_text(version).splitlines()
        if not any(line.lstrip().startswith(d + " ") or line.strip() == d for d in drop)
    ]
    return _engine_probe.record(image, "sha256:" + "ab" * 32, output(version, "\n".join(lines)))


def later():
    """A 0.11.1+ flag set: --rope-scaling gone (vllm-project/vllm#28006), --hf-overrides kept."""
    return engine("0.10.0", drop=("--rope-scaling",))


def test_help_options_of_092():
    opts = _engine_help.help_options(help_text("0.9.2"))
    assert opts["--reasoning-parser"] == ["deepseek_r1", "granite", "hunyuan_a13b", "qwen3"]
    assert opts["--tensor-parallel-size"] is None and "-tp" not in opts  # short aliases are not long flags
    assert "--enable-reasoning" in opts and "--no-enable-reasoning" in opts
    assert opts["--dtype"] == ["auto", "bfloat16", "float", "float16", "float32", "half"]
    # Named only inside a description: not an option of this help (the benchmark's loose reading would count it).
    assert "--tool-parser-plugin" not in opts
    assert "--tool-call-parser" in opts


def test_help_options_of_0100_and_the_fingerprints_differ():
    old, new = _engine_help.help_options(help_text("0.9.2")), _engine_help.help_options(help_text("0.10.0"))
    assert "--enable-reasoning" not in new and "--enable-reasoning" in old
    assert "mistral" in new["--reasoning-parser"]
    assert _engine_help.fingerprint(old) != _engine_help.fingerprint(new)
    assert _engine_help.fingerprint(dict(old)) == _engine_help.fingerprint(old)


def test_a_help_in_no_argparse_layout_falls_back_to_every_flag_named():
    assert _engine_help.help_options("serve takes --port and --max-num-seqs") == {
        "--max-num-seqs": None,
        "--port": None,
    }


def test_the_benchmark_reads_help_with_the_same_parser():
    text = "  --save-result   Save\n  --result-dir RESULT_DIR\n use --server-num for the vendor"
    assert bench_help_flags(text) == _engine_help.help_flags(text) == ["--result-dir", "--save-result", "--server-num"]


def test_record_of_a_probe():
    rec = _engine_probe.record(
        "img:1",
        "sha256:" + "0" * 64,
        output("0.9.2", help_text("0.9.2"), "vllm_vacc=yes\nvasmi=yes"),
        labels={"a": "b"},
    )
    assert rec["version"] == "0.9.2" and rec["platform"] == {"vllm_vacc": True, "vasmi": True}
    assert rec["fingerprint"] == _engine_help.fingerprint(rec["flags"]) and rec["labels"] == {"a": "b"}
    assert _engine_probe.version_of("WARNING x\n0.32.0+cpu\n") == "0.32.0+cpu"


def test_an_image_that_does_not_answer_is_one_sentence():
    with pytest.raises(_engine_probe.ProbeError, match=r"^The engine image img:1 did not answer `vllm --version`"):
        _engine_probe.record("img:1", "sha256:1", "sh: vllm: not found")


def test_the_probe_script_asks_help_all_first():
    assert "$T vllm serve --help=all 2>/dev/null || $T vllm serve --help" in _engine_probe.SCRIPT
    assert "vllm_vacc" in _engine_probe.SCRIPT and "vasmi" in _engine_probe.SCRIPT


def test_a_hanging_vllm_fails_the_probe_in_bounded_time(tmp_path):
    """The script itself under sh, with a `vllm` that never answers: each question ends at its timeout and
    the record is refused in one sentence, instead of the deploy waiting forever."""
    fake = tmp_path / "vllm"
    fake.write_text("#!/bin/sh\nexec sleep 60\n")
    fake.chmod(0o755)
    env = dict(os.environ, PATH="%s:%s" % (tmp_path, os.environ["PATH"]))
    t0 = time.monotonic()
    out = subprocess.run(
        ["sh", "-c", _engine_probe.script(1)], env=env, capture_output=True, text=True, timeout=30, check=False
    ).stdout
    assert time.monotonic() - t0 < 15
    with pytest.raises(_engine_probe.ProbeError, match="did not answer"):
        _engine_probe.record("img:hangs", "sha256:1", out)


def test_cache_by_digest_and_by_reference(tmp_path):
    rec = engine("0.10.0")
    path = _engine_probe.store(str(tmp_path), rec)
    assert os.path.basename(path) == "sha256-" + "ab" * 32 + ".json"
    assert _engine_probe.cached_by_digest(str(tmp_path), rec["digest"]) == rec
    assert _engine_probe.cached_by_image(str(tmp_path), rec["image"]) == rec
    assert _engine_probe.cached_by_image(str(tmp_path), "other:1") is None
    assert _engine_probe.cached_by_digest(None, rec["digest"]) is None
    (tmp_path / os.path.basename(path)).write_text("{half")
    assert _engine_probe.cached_by_digest(str(tmp_path), rec["digest"]) is None


# ------------------------------------------------------------------ the argv from the probed flags
def thinking_long():
    p = plan("Qwen3-30B-A3B-FP8", tp=4, max_model_len=131072)  # hybrid thinking, YaRN past 40960
    assert p["reasoning_parser"] == "qwen3" and p["rope_scaling"]
    return p


def test_argv_of_092_has_enable_reasoning_and_rope_scaling():
    argv = vllm_args(thinking_long(), engine=engine("0.9.2"))
    i = argv.index("--reasoning-parser")
    assert argv[i - 1] == "--enable-reasoning" and argv[i + 1] == "qwen3"
    assert "--rope-scaling" in argv and "--hf-overrides" not in argv


def test_argv_of_0100_drops_enable_reasoning():
    argv = vllm_args(thinking_long(), engine=engine("0.10.0"))
    assert "--enable-reasoning" not in argv and argv[argv.index("--reasoning-parser") + 1] == "qwen3"
    assert "--rope-scaling" in argv


def test_argv_without_rope_scaling_uses_hf_overrides():
    argv = vllm_args(thinking_long(), engine=later())
    value = json.loads(argv[argv.index("--hf-overrides") + 1])
    assert value["max_position_embeddings"] == 131072 and value["rope_parameters"]["rope_type"] == "yarn"
    assert "--rope-scaling" not in argv


def test_the_three_argvs_differ_only_where_the_flag_sets_do():
    p = thinking_long()
    a, b, c = (vllm_args(p, engine=e) for e in (engine("0.9.2"), engine("0.10.0"), later()))
    assert [x for x in a if x != "--enable-reasoning"] == b
    assert b[: b.index("--rope-scaling")] == c[: c.index("--hf-overrides")]


@pytest.mark.parametrize(
    "drop,flag",
    [
        (("--max-num-seqs",), "--max-num-seqs"),
        (("--reasoning-parser",), "--reasoning-parser"),
        (("--served-model-name",), "--served-model-name"),
        (("--rope-scaling", "--hf-overrides"), "--hf-overrides"),
    ],
)
def test_a_needed_flag_the_image_lacks_is_refused_in_one_sentence(drop, flag):
    with pytest.raises(PlanError) as exc:
        vllm_args(thinking_long(), engine=engine("0.10.0", drop=drop))
    message = str(exc.value)
    assert message.startswith("The engine image vendor/vllm_vacc:test (vLLM 0.10.0) does not offer %s, which " % flag)
    assert message.count(". ") == 0 and message.endswith(".")


def test_a_parser_choice_the_image_lacks_is_refused():
    p = plan("Qwen3-4B-Thinking-2507-FP8", tp=2)
    assert p["reasoning_parser"] == "deepseek_r1"
    rec = engine("0.10.0")
    rec["flags"]["--reasoning-parser"] = ["qwen3"]
    with pytest.raises(PlanError, match=r"offers --reasoning-parser \{qwen3\} but not deepseek_r1"):
        vllm_args(p, engine=rec)


def test_extra_args_must_be_listed_by_the_image():
    p = plan("Qwen3-8B", tp=2)
    argv = vllm_args(p, engine=engine("0.9.2"), extra_args=["--dtype", "bfloat16", "--swap-space=8"])
    assert argv[-3:] == ["--dtype", "bfloat16", "--swap-space=8"]
    with pytest.raises(
        PlanError,
        match=r"does not offer --kv-cache-dtype, which qwen3_service_extra_args needs; .* "
        r"or remove it from qwen3_service_extra_args\.$",
    ):
        vllm_args(p, engine=engine("0.9.2"), extra_args=["--kv-cache-dtype", "fp8"])


def test_without_a_probe_the_version_still_decides():
    p = thinking_long()
    assert vllm_args(p, vllm_version="0.9.2") == filters.qwen3_vllm_args(p, vllm_version="0.9.2")
    assert "--hf-overrides" in vllm_args(p, vllm_version="0.32.0")
    assert "--enable-reasoning" not in vllm_args(p, vllm_version=None)  # unset: 0.9.2's forms, assumed


# ------------------------------------------------------------------ the plan records the probe
def shape(tmp_path, fact=None, **values):
    values.setdefault("qwen3_model", "Qwen3-8B")
    v = _inputs.read(lambda name: values.get(name, _inputs.MISSING))
    s = _inputs.settings(v, "h1", inventory_dir=str(tmp_path))
    rec, source = engine_for(s, fact, str(tmp_path))
    p = _inputs.plan_values(v)
    return p, service(p, s, "h1", engine=rec, engine_source=source)


def test_the_service_and_plan_file_record_the_probe(tmp_path):
    rec = engine("0.10.0", image="vendor/vllm_vacc:test")
    p, svc = shape(tmp_path, fact=rec, qwen3_service_image="vendor/vllm_vacc:test")
    assert svc["engine"] == {
        "source": "probe",
        "image": "vendor/vllm_vacc:test",
        "digest": rec["digest"],
        "version": "0.10.0",
        "fingerprint": rec["fingerprint"],
        "platform": {"vllm_vacc": False, "vasmi": False},
    }
    assert "--enable-reasoning" not in svc["instances"][0]["command"]
    assert plan_record(p, svc)["service"]["engine"]["fingerprint"] == rec["fingerprint"]
    assert any(line.startswith("engine vLLM 0.10.0 (probe sha256:abababababab") for line in detail_lines("h1", p, svc))


def test_a_probe_of_another_image_is_not_used_and_the_cache_is(tmp_path):
    rec = engine("0.9.2", image="vendor/vllm_vacc:old")
    dummy, svc = shape(tmp_path, fact=rec, qwen3_service_image="vendor/vllm_vacc:new")
    assert svc["engine"]["source"] == "assumed" and svc["engine"]["fingerprint"] is None
    _engine_probe.store(str(tmp_path), dict(rec, image="vendor/vllm_vacc:new"))
    dummy, svc = shape(tmp_path, qwen3_service_image="vendor/vllm_vacc:new")
    assert svc["engine"]["source"] == "cache" and svc["engine"]["version"] == "0.9.2"
    assert "--enable-reasoning" in svc["instances"][0]["command"]


def test_a_refusal_reaches_the_planning_step(tmp_path):
    rec = engine("0.10.0", drop=("--max-num-seqs",), image="vendor/vllm_vacc:test")
    with pytest.raises(
        PlanError,
        match=r"^The engine image vendor/vllm_vacc:test \(vLLM 0\.10\.0\) does not offer "
        r"--max-num-seqs",
    ):
        shape(tmp_path, fact=rec, qwen3_service_image="vendor/vllm_vacc:test")


def test_qwen3_vllm_version_is_unset_by_default(tmp_path):
    dummy, svc = shape(tmp_path)
    assert svc["engine"] == {
        "source": "assumed",
        "image": _inputs.VENDOR_IMAGE,
        "digest": None,
        "version": "0.9.2",
        "fingerprint": None,
        "platform": {},
    }
    dummy, svc = shape(tmp_path, qwen3_vllm_version="0.8.5")
    assert svc["engine"]["source"] == "qwen3_vllm_version" and "--enable-reasoning" in svc["instances"][0]["command"]


def test_qwen3_vllm_version_warns_as_an_override():
    s = {"vllm_version": "0.9.2", "image": "img:1"}
    assert engine_warning("h1", s, None) == (
        "h1: the engine's flags follow qwen3_vllm_version 0.9.2: the image img:1 "
        "has not been probed, so nothing checks them."
    )
    assert engine_warning("h1", s, {"version": "0.10.0"}) == (
        "h1: qwen3_vllm_version 0.9.2 is ignored: the image img:1 was probed (vLLM 0.10.0)."
    )
    assert engine_warning("h1", dict(s, vllm_version=None), None) is None


def test_the_gateways_models_carry_the_smallest_max_model_len():
    """The fleet gateway answers /v1/models itself (roles/gateway/templates/models.json.j2): each model with the
    smallest max_model_len of the servers serving it, vLLM's own field, so a client sizes prompts that fit anywhere."""
    import jinja2

    from ansible_collections.vacc.qwen3.plugins.filter.gateway_backends import gateway_backends

    def server(mml, name="qwen3-8b"):
        return {
            "qwen3_plan": {"served_model_name": name, "max_model_len": mml, "max_concurrency_total": 4},
            "qwen3_service": {"door": {"address": "10.0.0.1", "port": 8000}},
        }

    hv = {"a": server(32768), "b": server(16384), "c": server(40960, "other")}
    models = gateway_backends(hv, ["a", "b", "c"])
    assert [(m["name"], m["max_model_len"]) for m in models] == [("qwen3-8b", 16384), ("other", 40960)]
    env = jinja2.Environment()
    env.filters["to_json"] = json.dumps
    template = (ROOT_DIR / "roles" / "gateway" / "templates" / "models.json.j2").read_text()
    listed = json.loads(env.from_string(template).render(__gateway_models=models))
    assert [(m["id"], m["max_model_len"]) for m in listed["data"]] == [("qwen3-8b", 16384), ("other", 40960)]


def test_the_standins_flag_set():
    """The CPU stand-in's flag set as its probe recorded it (vLLM 0.32.0): no --rope-scaling, no --enable-reasoning,
    a free-form --reasoning-parser; the argv takes --hf-overrides and the fingerprint is the flag set's."""
    with open(os.path.join(HELP_DIR, "0.32.0-standin.flags.json")) as fh:
        stored = json.load(fh)
    assert _engine_help.fingerprint(stored["flags"]) == stored["fingerprint"]
    rec = dict(stored, image="vacc-qwen3/vllm-cpu-standin:0.32.0", digest="sha256:" + "bb" * 32)
    argv = vllm_args(thinking_long(), engine=rec)
    assert "--hf-overrides" in argv and "--rope-scaling" not in argv and "--enable-reasoning" not in argv
    assert argv[argv.index("--reasoning-parser") + 1] == "qwen3"
    assert vllm_args(thinking_long(), engine=rec) != vllm_args(thinking_long(), engine=engine("0.10.0"))
