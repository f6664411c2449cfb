"""Checks on the image built by roles/lab_engine_image (the vLLM CPU stand-in for vllm_vacc).

Build it first:  ansible-playbook tests/engine/build.yml
Environment:
  VACC_QWEN3_ENGINE_IMAGE  image to check (default: the role's vacc-qwen3/vllm-cpu-standin:0.32.0)
  VACC_QWEN3_TINY_MODEL    the tiny model directory the image serves for the serve and bench checks
                           (default: the one `make lab` writes, /var/lib/vacc-qwen3/weights/qwen3-tiny)
The serve and bench checks use the local service's engine when it runs this image (tests/local_service.py
brings it up), else an engine of their own started as the vendor's guide starts one.
"""

import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import local_service
import pytest

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_IMAGE = "vacc-qwen3/vllm-cpu-standin:0.32.0"
IMAGE = os.environ.get("VACC_QWEN3_ENGINE_IMAGE", DEFAULT_IMAGE)
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


ENGINE = "vllm_service_0"  # the local service's first instance (tests/local_service.py)
ENGINE_KEY = "/run/secrets/vacc-qwen3/api_key"  # where that engine reads its key (the door sends it)


def local_engine_image():
    """The image the local service's first engine runs, or None when it does not run."""
    res = sh("docker", "inspect", "-f", "{{.State.Running}} {{.Config.Image}}", ENGINE, check=False)
    running, _, image = res.stdout.strip().partition(" ")
    return image if res.returncode == 0 and running == "true" else None


@pytest.fixture(scope="module")
def served(image):
    """A real `vllm serve` of the tiny model from this image: (container, base URL, key, model path, name).
    The local service's engine when it runs this image (the later stages need it anyway: one engine start
    fewer, ~40 s here); else one started as the vendor's guide starts it, removed afterwards."""
    if IMAGE == DEFAULT_IMAGE:
        key = local_service.ensure()
        if local_engine_image() == IMAGE:
            # Through the door, which checks the client key; the engine itself gets the door's.
            yield ENGINE, local_service.BASE.rsplit("/v1", 1)[0], key, "/weights/qwen3-tiny", local_service.MODEL
            return
    yield from own_engine()


def own_engine():
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
        yield name, base, key, "/weights/tiny", "tiny"
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def test_serve_chat_with_usage(served):
    _, base, key, _, model = served
    body = json.dumps(
        {
            "model": model,
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
    name, _, key, path, model = served
    # The engine's own key: the local service's engine reads it from a file the door's key never enters.
    key_from = f'"$(cat {ENGINE_KEY})"' if name == ENGINE else shlex.quote(key)
    bench = [
        "vllm",
        "bench",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "8000",
        "--model",
        path,
        "--served-model-name",
        model,
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
    ]
    script = f"OPENAI_API_KEY={key_from} exec {shlex.join(bench)}"
    res = sh("docker", "exec", name, "sh", "-c", script, timeout=600)
    result = json.loads(sh("docker", "exec", name, "cat", "/tmp/bench/result.json").stdout)
    sh("docker", "exec", name, "rm", "-rf", "/tmp/bench")
    assert result["completed"] == 4 and result["failed"] == 0, res.stdout[-2000:]
    assert result["total_input_tokens"] == 4 * 32
    assert result["total_output_tokens"] == 4 * 16
    assert result["max_concurrency"] == 2
