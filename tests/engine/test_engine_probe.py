"""The engine image asked, not assumed (vacc.qwen3.engine_probe), on this machine's Docker engine: the CPU
stand-in itself, and test images built FROM it whose `vllm` reports another version and prints that version's
`vllm serve --help` (vLLM 0.9.2 and 0.10.0, trimmed, tests/unit/fixtures/vllm_help/) - the planned argv
follows each flag set; the probe runs once per digest; an image missing --max-num-seqs or --reasoning-parser
is refused by a deploy of the running local service before any of its containers changes.

Needs `make lab` (the stand-in image); the refusal and the smoke use the local service (tests/local_service.py
deploys it when it does not answer to this checkout's key)."""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import local_service
import pytest

ROOT = Path(__file__).resolve().parents[2]
STANDIN = os.environ.get("VACC_QWEN3_ENGINE_IMAGE", "vacc-qwen3/vllm-cpu-standin:0.32.0")
HELP_DIR = ROOT / "tests" / "unit" / "fixtures" / "vllm_help"
TEST_REPO = "vacc-qwen3/test-engine"
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
# The thinking model past its native context: a reasoning parser and YaRN rope scaling in its argv.
PLAN_VARS = [
    "qwen3_model=Qwen3-30B-A3B-FP8",
    "qwen3_tp=4",
    "qwen3_max_model_len=131072",
    "vacc_card=VA16",
    "vacc_cards=1",
    "qwen3_api_key=probe-test-key",
]
FAKE_VLLM = """#!/bin/sh
# vacc.qwen3 test image: this `vllm` is vLLM %s as far as its version and serve flags go; the rest is the stand-in's.
case "$1 $2" in
  "--version "*) echo %s; exit 0 ;;
  "serve --help"*) cat /opt/vacc-test/help.txt; exit 0 ;;
esac
exec /opt/vllm/bin/vllm "$@"
"""


def docker(*args, check=True, timeout=300):
    res = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and res.returncode:
        pytest.fail("docker %s -> rc %d\n%s" % (" ".join(args), res.returncode, res.stderr[-2000:]))
    return res


def build_test_engine(version, drop=()):
    """An image FROM the stand-in whose vllm says `version` and prints its help without the options `drop`."""
    tag = "%s:%s%s" % (TEST_REPO, version, "".join("-no" + d for d in drop))
    help_lines = [
        line
        for line in (HELP_DIR / (version + ".txt")).read_text().splitlines()
        if not any(line.lstrip().startswith(d + " ") or line.strip() == d for d in drop)
    ]
    with tempfile.TemporaryDirectory() as ctx:
        Path(ctx, "help.txt").write_text("\n".join(help_lines) + "\n")
        Path(ctx, "vllm").write_text(FAKE_VLLM % (version, version))
        Path(ctx, "Dockerfile").write_text(
            "FROM %s\nCOPY help.txt /opt/vacc-test/help.txt\nCOPY vllm /opt/vacc-test/bin/vllm\n"
            "RUN chmod 755 /opt/vacc-test/bin/vllm\nENV PATH=/opt/vacc-test/bin:$PATH\n"
            "LABEL vacc.qwen3.vllm-version=%s vacc.qwen3.test-engine=true\n" % (STANDIN, version)
        )
        docker("build", "-q", "-t", tag, ctx, timeout=600)
    return tag


@pytest.fixture(scope="module")
def standin():
    if docker("image", "inspect", STANDIN, check=False).returncode:
        pytest.fail("%s is not built: run make lab" % STANDIN)
    return STANDIN


def probe(tmp_path, image, cache, *extra):
    out = tmp_path / ("probe-%d.json" % time.monotonic_ns())
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    cmd = [
        ANSIBLE_PLAYBOOK,
        "-i",
        "localhost,",
        str(ROOT / "tests/engine/probe.yml"),
        "-e",
        "ansible_python_interpreter=%s" % sys.executable,
        "-e",
        "probe_image=%s" % image,
        "-e",
        "probe_dir=%s" % cache,
        "-e",
        "probe_out=%s" % out,
        "-e",
        "qwen3_service_image=%s" % image,
        "-e",
        "qwen3_secrets_dir=%s" % (tmp_path / "secrets"),
    ]
    for item in PLAN_VARS + list(extra):
        cmd += ["-e", item]
    began = time.monotonic()
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    return json.loads(out.read_text()), time.monotonic() - began


def argv_of(result):
    return result["service"]["instances"][0]["command"]


def test_the_standin_is_probed_once_per_digest(tmp_path, standin):
    cache = tmp_path / "engine"
    first, took_first = probe(tmp_path, standin, cache)
    rec = first["probe"]["ansible_facts"]["qwen3_engine"]
    assert first["probe"]["cached"] is False
    assert rec["version"].startswith("0.32.0") and rec["platform"] == {"vllm_vacc": False, "vasmi": False}
    assert rec["digest"] == json.loads(docker("image", "inspect", standin).stdout)[0]["Id"]
    for flag in ("--max-num-seqs", "--reasoning-parser", "--hf-overrides", "--served-model-name", "--enforce-eager"):
        assert flag in rec["flags"], flag
    assert "--rope-scaling" not in rec["flags"] and "--enable-reasoning" not in rec["flags"]
    assert rec["labels"].get("vacc.qwen3.stands-in-for") or rec["labels"]
    assert (cache / (rec["digest"].replace(":", "-") + ".json")).exists()
    argv = argv_of(first)
    assert "--hf-overrides" in argv and "--rope-scaling" not in argv and "--enable-reasoning" not in argv
    assert (
        first["service"]["engine"]["source"] == "probe"
        and first["service"]["engine"]["fingerprint"] == rec["fingerprint"]
    )
    # The throwaway container is gone.
    assert docker("ps", "-a", "-q", "--filter", "label=vacc.qwen3.component=engine-probe").stdout.strip() == ""
    second, took_second = probe(tmp_path, standin, cache)
    assert second["probe"]["cached"] is True and second["probe"]["ansible_facts"]["qwen3_engine"] == dict(rec)
    assert argv_of(second) == argv
    print("stand-in probe %.1f s, cached %.1f s (whole playbook runs)" % (took_first, took_second))


def test_the_argv_follows_each_versions_flag_set(tmp_path, standin):
    cache = tmp_path / "engine"
    got = {}
    for version in ("0.9.2", "0.10.0"):
        result, dummy = probe(tmp_path, build_test_engine(version), cache)
        rec = result["probe"]["ansible_facts"]["qwen3_engine"]
        assert rec["version"] == version and result["service"]["engine"]["version"] == version
        got[version] = argv_of(result)
    old, new = got["0.9.2"], got["0.10.0"]
    assert old[old.index("--reasoning-parser") - 1] == "--enable-reasoning"
    assert "--enable-reasoning" not in new
    assert "--rope-scaling" in old and "--rope-scaling" in new and "--hf-overrides" not in new
    assert [a for a in old if a != "--enable-reasoning"] == new
    # The plan playbook, contacting no host, takes the same flags from the controller's last probe.
    again, dummy = probe(tmp_path, build_test_engine("0.9.2"), cache)
    assert again["probe"]["cached"] is True and argv_of(again) == old


def _service_containers():
    ids = docker(
        "ps",
        "-q",
        "--no-trunc",
        "--filter",
        "label=vacc.qwen3.service=vllm_service",
        "--filter",
        "label=vacc.qwen3.host=localhost",
    ).stdout.split()
    return sorted(ids)


@pytest.mark.parametrize(
    "drop,flag", [(("--max-num-seqs",), "--max-num-seqs"), (("--reasoning-parser",), "--reasoning-parser")]
)
def test_a_deploy_with_an_image_lacking_a_needed_flag_changes_nothing(tmp_path, standin, drop, flag):
    local_service.ensure()
    before = _service_containers()
    image = build_test_engine("0.10.0", drop=drop)
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    res = subprocess.run(
        [
            ANSIBLE_PLAYBOOK,
            "-i",
            str(ROOT / "inventories/local"),
            str(ROOT / "playbooks/deploy.yml"),
            "-e",
            "qwen3_service_image=%s" % image,
            "-e",
            "qwen3_results_dir=%s" % tmp_path,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    out = re.sub(r"\s+", " ", res.stdout)
    assert res.returncode != 0, res.stdout[-4000:]
    assert ("The engine image %s (vLLM 0.10.0) does not offer %s, which " % (image, flag)) in out, res.stdout[-4000:]
    assert _service_containers() == before
    assert list((tmp_path / "engine").glob("sha256-*.json")), "the probe was not cached"


def test_the_overlength_contract_is_recorded_for_the_standin(tmp_path, standin):
    """vacc.qwen3.smoke against the running local service: /v1/models carries max_model_len; a prompt one token over
    max-model-len through the door gets vLLM's 400 with its message, recorded in results/smoke/<host>.json."""
    local_service.ensure()
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    res = subprocess.run(
        [
            ANSIBLE_PLAYBOOK,
            "-i",
            str(ROOT / "inventories/local"),
            str(ROOT / "playbooks/smoke.yml"),
            "-e",
            "qwen3_results_dir=%s" % tmp_path,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert res.returncode == 0, res.stdout[-4000:]
    record = json.loads((tmp_path / "smoke" / "localhost.json").read_text())
    assert record["models_max_model_len"] == record["max_model_len"] == 32768
    assert record["max_input_len"] is None  # Qwen3-0.6B has none in the guide: one case only
    [case] = record["overlength"]
    assert case["case"] == "over max-model-len" and case["prompt_tokens"] == 32769
    assert case["status"] == 400 and not case["failed"]
    assert "maximum context length" in case["message"] or "max_model_len" in case["message"], case
    assert 0 <= case["seconds"] < 120
    print("over max-model-len: %s in %ss: %s" % (case["status"], case["seconds"], case["message"][:120]))
