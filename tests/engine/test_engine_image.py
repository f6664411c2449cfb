"""Checks on the image built by roles/lab_engine_image (the vLLM CPU stand-in for vllm_vacc).

Build it first:  ansible-playbook tests/engine/build.yml
Environment:
  VACC_QWEN3_ENGINE_IMAGE  image to check (default: the role's vacc-qwen3/vllm-cpu-standin:0.32.0)
  VACC_QWEN3_TINY_MODEL    the tiny model directory the image serves for the serve and bench checks
                           (default: the one `make lab` writes, /var/lib/vacc-qwen3/weights/qwen3-tiny)
"""

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("VACC_QWEN3_ENGINE_IMAGE", "vacc-qwen3/vllm-cpu-standin:0.32.0")
VENDOR = "harbor.vastaitech.com/ai_deliver/vllm_vacc"


def sh(*args, timeout=300, check=True):
    res = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if check and res.returncode != 0:
        pytest.fail(f"{' '.join(args)} -> rc {res.returncode}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res


def playbook(*extra, timeout=600):
    exe = Path(sys.executable).with_name("ansible-playbook")
    exe = str(exe) if exe.exists() else shutil.which("ansible-playbook")
    if not exe:
        pytest.fail("ansible-playbook not found: run make venv")
    return subprocess.run(
        [exe, "tests/engine/build.yml", *extra], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def image():
    if not shutil.which("docker") or subprocess.run(["docker", "info"], capture_output=True, check=False).returncode:
        pytest.fail("no Docker engine: run make lab")
    res = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, text=True, check=False)
    if res.returncode:
        pytest.fail(f"{IMAGE} is not built: run make lab")
    return json.loads(res.stdout)[0]


def run_in(cmd, timeout=300):
    # --network none: nothing in these checks may need the network.
    return sh("docker", "run", "--rm", "--network", "none", IMAGE, "bash", "-c", cmd, timeout=timeout)


def test_vllm_version(image):
    out = run_in("vllm --version").stdout
    assert "0.32.0" in out


def test_labels_say_stand_in(image):
    labels = image["Config"]["Labels"]
    assert labels["vacc.qwen3.stand-in-for"] == VENDOR
    assert labels["vacc.qwen3.vllm-version"] == "0.32.0"
    assert labels["vacc.qwen3.torch-version"] == "2.13.0+cpu"
    assert len(labels["vacc.qwen3.recipe-sha256"]) == 64
    assert "stand-in for vllm_vacc" in labels["org.opencontainers.image.title"]
    assert VENDOR in labels["org.opencontainers.image.description"]


def test_shaped_like_vendor_image(image):
    # Run as `IMAGE vllm serve ...`, as the vendor's guide does: no entrypoint may intercept it.
    assert not image["Config"]["Entrypoint"]
    assert image["Config"]["WorkingDir"] == "/test/benchmark"
    out = run_in("command -v vllm; test -d /weights && echo weights").stdout.split()
    assert out == ["/opt/vllm/bin/vllm", "weights"]


def test_recipe_fixes(image):
    # torchvision/torchaudio/torchcodec gone; torch is the CPU build; the platform is CPU.
    code = (
        "import importlib.util as u, torch; from vllm.platforms import current_platform as p; "
        "print([m for m in ('torchvision','torchaudio','torchcodec') if u.find_spec(m)], "
        "torch.__version__, p.device_type)"
    )
    out = run_in(f'python -c "{code}"').stdout.strip().splitlines()[-1]
    assert out == "[] 2.13.0+cpu cpu"


def test_bench_serve_help(image):
    out = run_in("vllm bench serve --help=all").stdout
    for flag in (
        "--dataset-name",
        "--random-input-len",
        "--random-output-len",
        "--max-concurrency",
        "--ignore-eos",
        "--served-model-name",
        "--save-result",
        "--result-dir",
        "--result-filename",
    ):
        assert flag in out, flag
    # The vendor's patched benchmark adds --server-num; upstream vLLM has none: callers must drop it.
    assert "--server-num" not in out


def test_role_reuses_image(image):
    res = playbook(
        "-e",
        f"lab_engine_image_name={IMAGE.rsplit(':', 1)[0]}",
        "-e",
        f"lab_engine_image_tag={IMAGE.rsplit(':', 1)[1]}",
    )
    assert res.returncode == 0, res.stdout[-3000:]
    assert "changed=0" in res.stdout, res.stdout[-3000:]
    assert "stand-in for harbor.vastaitech.com/ai_deliver/vllm_vacc" in res.stdout


def test_build_inputs_name_the_wheel_variable(image):
    # A missing image forces a build; no wheel must stop it before building, with the variable named
    # (in check mode too: the inputs are checked either way).
    res = playbook(
        "--check",
        "--tags",
        "lab_engine_image_build",
        "-e",
        "lab_engine_image_name=vacc-qwen3/no-such-image",
        "-e",
        f"lab_engine_image_base={IMAGE}",
        "-e",
        "lab_engine_image_torch_wheel_dir=/nonexistent",
    )
    assert res.returncode != 0
    assert "Set lab_engine_image_torch_wheel to the path" in res.stdout


@pytest.fixture(scope="module")
def served(image):
    model = os.environ.get("VACC_QWEN3_TINY_MODEL", "/var/lib/vacc-qwen3/weights/qwen3-tiny")
    if not Path(model, "config.json").exists():
        pytest.fail(f"no tiny model at {model}: run make lab")
    key = secrets.token_hex(8)
    name = f"vacc-qwen3-engine-test-{secrets.token_hex(3)}"
    # --ipc=host as in the vendor's command: vLLM's engine needs more than Docker's 64 MiB /dev/shm.
    sh(
        "docker",
        "run",
        "-d",
        "--name",
        name,
        "--ipc=host",
        "-p",
        "127.0.0.1::8000",
        "-v",
        f"{Path(model).resolve()}:/weights/tiny:ro",
        "-e",
        "VLLM_CPU_KVCACHE_SPACE=1",
        IMAGE,
        "vllm",
        "serve",
        "/weights/tiny",
        "--served-model-name",
        "tiny",
        "--max-model-len",
        "2048",
        "--dtype",
        "bfloat16",
        "--enforce-eager",
        "--api-key",
        key,
        "--reasoning-parser",
        "qwen3",
    )
    try:
        port = sh("docker", "port", name, "8000/tcp").stdout.strip().splitlines()[0].rsplit(":", 1)[1]
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300  # bounded: ~35 s on 2 cores
        while True:
            try:
                req = urllib.request.Request(f"{base}/v1/models", headers={"Authorization": f"Bearer {key}"})
                with urllib.request.urlopen(req, timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            state = sh("docker", "inspect", "-f", "{{.State.Running}}", name).stdout.strip()
            if state != "true" or time.monotonic() > deadline:
                pytest.fail("vllm serve did not come up:\n" + sh("docker", "logs", name, check=False).stderr[-4000:])
            time.sleep(2)  # poll interval
        yield name, base, key
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def test_serve_chat_with_usage(served):
    dummy, base, key = served
    body = json.dumps(
        {
            "model": "tiny",
            "max_tokens": 8,
            "messages": [{"role": "user", "content": "hi"}],
            "chat_template_kwargs": {"enable_thinking": False},
        }
    ).encode()
    req = urllib.request.Request(
        f"{base}/v1/chat/completions",
        data=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=120) as r:
        out = json.load(r)
    # 13 = <|im_start|>user\nhi<|im_end|>\n + the non-thinking generation prompt (real Qwen3 tokenizer).
    assert out["usage"]["prompt_tokens"] == 13
    assert 1 <= out["usage"]["completion_tokens"] <= 8
    # Without a key: 401.
    req = urllib.request.Request(f"{base}/v1/models")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 401


def test_bench_serve_in_container(served):
    name, dummy, key = served
    res = sh(
        "docker",
        "exec",
        "-e",
        f"OPENAI_API_KEY={key}",
        name,
        "vllm",
        "bench",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "8000",
        "--model",
        "/weights/tiny",
        "--served-model-name",
        "tiny",
        "--dataset-name",
        "random",
        "--random-input-len",
        "32",
        "--random-output-len",
        "16",
        "--num-prompts",
        "4",
        "--max-concurrency",
        "2",
        "--ignore-eos",
        "--save-result",
        "--result-dir",
        "/tmp/bench",
        "--result-filename",
        "result.json",
        timeout=600,
    )
    result = json.loads(sh("docker", "exec", name, "cat", "/tmp/bench/result.json").stdout)
    assert result["completed"] == 4 and result["failed"] == 0, res.stdout[-2000:]
    assert result["total_input_tokens"] == 4 * 32
    assert result["total_output_tokens"] == 4 * 16
    assert result["max_concurrency"] == 2
