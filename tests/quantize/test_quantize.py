"""playbooks/quantize.yml on this machine's CPU: the lab's tiny random Qwen3-MoE (and the tiny dense Qwen3)
quantized by the quantize role with the vendor's recipe and the production group size 128, checked here by
reading the safetensors directly, by the transformers generation the vendor's engine uses, and by the logits.

Needs `make lab` (the tiny checkpoints in the local inventory's weights directory). The first run installs
gptqmodel's venv (about 100 s; kept in the weights directory) and transformers 4.53 under .cache/.
Each quantization of the tiny MoE (16 calibration texts) takes seconds to a minute, with the machine's load.
"""

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.dirname(sys.executable)
with open(os.path.join(ROOT, "inventories/local/group_vars/all.yml"), encoding="utf-8") as _f:
    WEIGHTS = yaml.safe_load(_f)["qwen3_weights_dir"]
MOE, DENSE = os.path.join(WEIGHTS, "qwen3-tiny-moe"), os.path.join(WEIGHTS, "qwen3-tiny")
QVENV_PY = os.path.join(WEIGHTS, ".quantize-venv", "bin", "python")
OLD_TF = os.path.join(ROOT, ".cache", "quantize-transformers-4.53")
# Calibration texts per run: the time of a CPU run grows with them. The tiny MoE whose logits are compared
# gets all 62 of the role's set, as the playbook without arguments does (with 16, one prompt's cosine fell
# to 0.947); the runs that only check the flow get 16.
SAMPLES, MOE_SAMPLES = 16, 62


def env():
    return dict(
        os.environ,
        ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        PATH=BIN + os.pathsep + os.environ.get("PATH", ""),
    )


def play(tmp, extra, timeout=900):
    """The playbook with the local inventory, the test's output places and SAMPLES calibration texts."""
    base = {"quantize_results_dir": str(tmp / "results"), "quantize_samples": SAMPLES}
    args = [
        os.path.join(BIN, "ansible-playbook"),
        "-i",
        os.path.join(ROOT, "inventories/local"),
        os.path.join(ROOT, "playbooks/quantize.yml"),
        "-e",
        json.dumps(dict(base, **extra)),
    ]
    proc = subprocess.run(args, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=timeout, check=False)
    proc.out = proc.stdout + proc.stderr
    return proc


def recap(proc):
    m = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout)
    assert m, proc.out[-3000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, m.groups())))


def tensors(path):
    """name -> (dtype, shape, sha256 of the bytes), read from the safetensors files themselves."""
    out = {}
    for name in sorted(os.listdir(path)):
        if not name.endswith(".safetensors"):
            continue
        with open(os.path.join(path, name), "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
            header.pop("__metadata__", None)
            for t, e in header.items():
                f.seek(8 + n + e["data_offsets"][0])
                data = f.read(e["data_offsets"][1] - e["data_offsets"][0])
                out[t] = (e["dtype"], e["shape"], hashlib.sha256(data).hexdigest())
    return out


@pytest.fixture(scope="module")
def moe(tmp_path_factory):
    for d in (MOE, DENSE):
        assert os.path.isfile(os.path.join(d, "config.json")), "%s is missing: run make lab first" % d
    tmp = tmp_path_factory.mktemp("quantize")
    dest = tmp / "qwen3-tiny-moe-GPTQ-Int4"
    proc = play(tmp, {"quantize_dest": str(dest), "quantize_samples": MOE_SAMPLES})
    assert proc.returncode == 0, proc.out[-5000:]
    return tmp, dest, proc


def test_moe_quantized_by_the_recipe(moe):
    tmp, dest, proc = moe
    cfg = json.loads((dest / "config.json").read_text())
    qc = cfg["quantization_config"]
    assert (qc["quant_method"], qc["bits"], qc["group_size"], qc["desc_act"], qc["sym"]) == (
        "gptq",
        4,
        128,
        False,
        True,
    )
    t = tensors(str(dest))
    experts = [k for k in t if ".mlp.experts." in k and k.endswith(".qweight")]
    assert len(experts) == 2 * 8 * 3, "every expert's gate/up/down of both layers is quantized"
    assert t["model.layers.0.mlp.experts.0.down_proj.qweight"][:2] == ("I32", [16, 256])
    assert t["model.layers.0.mlp.experts.0.down_proj.scales"][:2] == ("F16", [1, 256])
    assert t["model.layers.0.self_attn.q_proj.g_idx"][:2] == ("I32", [256])
    assert not [k for k in t if re.search(r"(\.mlp\.gate|lm_head)\.(qweight|qzeros|scales|g_idx)$", k)]
    assert t["model.layers.1.mlp.gate.weight"][:2] == ("F16", [8, 256]) and t["lm_head.weight"][1] == [151936, 256]
    # published with its log and record beside it; the work directory is gone
    log = (tmp / "qwen3-tiny-moe-GPTQ-Int4.quantize.log").read_text()
    assert "quantize layer 2 of 2" in log and "vacc_quantize: wrote" in log
    record = json.loads((tmp / "qwen3-tiny-moe-GPTQ-Int4.quantize.json").read_text())
    assert record["samples"] == MOE_SAMPLES and record["device"] == "cpu" and record["gptqmodel"].startswith("7.6.0")
    assert not (tmp / ".qwen3-tiny-moe-GPTQ-Int4.work").exists()
    assert (tmp / "qwen3-tiny-moe-GPTQ-Int4.quant_log.csv").is_file() and not (dest / "quant_log.csv").exists()
    assert (tmp / "qwen3-tiny-moe-GPTQ-Int4.gptqmodel.log").stat().st_size > 0
    assert not os.path.exists(os.path.join(ROOT, "playbooks", "logs")), "gptqmodel wrote its log into the checkout"
    print("quantize: tiny MoE in %.1f s (gptqmodel), %.1f s in all" % (record["quantize_s"], record["total_s"]))


def test_catalog_row(moe):
    tmp, dest, dummy = moe
    rows = yaml.safe_load((tmp / "results" / "qwen3-tiny-moe-GPTQ-Int4.catalog.yml").read_text())
    assert rows == [
        {
            "name": "qwen3-tiny-moe-GPTQ-Int4",
            "family": "30B-A3B",
            "dtype": "INT4",
            "quant_method": "gptq",
            "tp": [2, 4],
            "thinking": "hybrid",
            "hf_repo": None,
            "modelscope_repo": None,
        }
    ]


def test_the_plan_serves_the_row(moe, tmp_path):
    """The row the role writes is planned as it stands (qwen3_catalog_extra = the file), and the quantized
    checkpoint passes the check of a checkpoint against its row; the same checkpoint said to be 8-bit is refused."""
    tmp, dest, dummy = moe
    row_file = tmp / "results" / "qwen3-tiny-moe-GPTQ-Int4.catalog.yml"
    plans = tmp_path / "plans"
    proc = subprocess.run(
        [
            os.path.join(BIN, "ansible-playbook"),
            "-i",
            os.path.join(ROOT, "inventories/local"),
            os.path.join(ROOT, "playbooks/plan.yml"),
            "-e",
            "qwen3_catalog_extra=%s" % row_file,
            "-e",
            "qwen3_model=qwen3-tiny-moe-GPTQ-Int4",
            "-e",
            "qwen3_tp=2",
            "-e",
            "qwen3_plan_dir=%s" % plans,
            "-e",
            "qwen3_secrets_dir=%s" % (tmp_path / "secrets"),
        ],
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    plan = json.loads((plans / "localhost.json").read_text())
    plan = plan.get("plan", plan)
    assert (plan["model"], plan["dtype"], plan["quant_method"], plan["kind"], plan["tp"], plan["source"]) == (
        "qwen3-tiny-moe-GPTQ-Int4",
        "INT4",
        "gptq",
        "moe",
        2,
        "inventory",
    )

    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    _AnsibleCollectionFinder(paths=[os.path.join(ROOT, "collections")], scan_sys_paths=True)._install()
    from ansible_collections.vacc.qwen3.plugins.plugin_utils import _planner  # pylint: disable=import-error

    rows = yaml.safe_load(row_file.read_text())
    cfg = json.loads((dest / "config.json").read_text())
    checkpoint = {
        "path": str(dest),
        "quantization_config": cfg["quantization_config"],
        "torch_dtype": cfg.get("torch_dtype"),
    }
    assert _planner.plan("qwen3-tiny-moe-GPTQ-Int4", tp=2, extra=rows, checkpoint=checkpoint)["source"] == "inventory"
    wrong = dict(checkpoint, quantization_config=dict(cfg["quantization_config"], bits=8))
    with pytest.raises(_planner.PlanError, match="bits"):
        _planner.plan("qwen3-tiny-moe-GPTQ-Int4", tp=2, extra=rows, checkpoint=wrong)


def test_second_run_changes_nothing(moe):
    tmp, dest, dummy = moe
    proc = play(tmp, {"quantize_dest": str(dest), "quantize_samples": MOE_SAMPLES})
    assert proc.returncode == 0, proc.out[-3000:]
    assert recap(proc)["changed"] == 0, proc.out[-3000:]
    assert "Already quantized" in proc.stdout


@pytest.fixture(scope="module")
def old_transformers():
    """transformers 4.53 in a venv of its own under .cache (pinned: old-transformers.txt), no torch."""
    py = os.path.join(OLD_TF, "bin", "python")
    req = os.path.join(HERE, "old-transformers.txt")
    stamp = os.path.join(OLD_TF, ".installed")
    if not os.path.exists(stamp) or open(stamp, encoding="utf-8").read() != open(req, encoding="utf-8").read():
        shutil.rmtree(OLD_TF, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", OLD_TF], check=True)
        subprocess.run([os.path.join(OLD_TF, "bin", "pip"), "install", "-q", "-r", req], check=True, timeout=600)
        shutil.copyfile(req, stamp)
    return py


def test_metadata_read_by_the_engines_transformers(moe, old_transformers):
    """The section 12 trap: the engine's transformers generation reads what the source says."""
    dummy, dest, dummy = moe
    seen = {}
    for name, path in (("source", MOE), ("quantized", str(dest))):
        proc = subprocess.run(
            [old_transformers, os.path.join(HERE, "old_transformers.py"), path],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        seen[name] = json.loads(proc.stdout)
    q, s = seen["quantized"], seen["source"]
    assert q["transformers"] == "4.53.3"
    assert (q["rope_theta"], q["num_experts"], q["torch_dtype"], q["quant_method"]) == (1000000, 8, "float16", "gptq")
    assert (q["chat"], q["hello_ids"]) == (s["chat"], s["hello_ids"]) and q["hello_ids"] == [9707, 1879]


def test_logits_close_to_the_source(moe):
    dummy, dest, dummy = moe
    proc = subprocess.run(
        [QVENV_PY, os.path.join(HERE, "logits.py"), MOE, str(dest)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=dict(os.environ, GPTQMODEL_CPU_WORKERS="2"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    print("logits cosine, quantized vs BF16:", got)
    assert got["min"] >= 0.95, got


def test_same_inputs_same_tensors(moe):
    tmp, dest, dummy = moe
    again = tmp / "again"
    proc = play(tmp, {"quantize_dest": str(again), "quantize_name": "again", "quantize_samples": MOE_SAMPLES})
    assert proc.returncode == 0, proc.out[-3000:]
    first, second = tensors(str(dest)), tensors(str(again))
    assert first == second, sorted(k for k in first if first[k] != second.get(k))[:5]


def test_dense_quantized(tmp_path):
    dest = tmp_path / "qwen3-tiny-GPTQ-Int4"
    proc = play(
        tmp_path,
        {
            "quantize_source": DENSE,
            "quantize_dest": str(dest),
            "quantize_name": "qwen3-tiny-GPTQ-Int4",
            "quantize_family": "0.6B",
        },
    )
    assert proc.returncode == 0, proc.out[-5000:]
    t = tensors(str(dest))
    assert len([k for k in t if k.endswith(".qweight")]) == 2 * 7 and "lm_head.weight" not in t
    assert json.loads((dest / "config.json").read_text())["architectures"] == ["Qwen3ForCausalLM"]


def test_act_order_checkpoint_refused_and_not_published(tmp_path):
    dest = tmp_path / "desc-act"
    proc = play(tmp_path, {"quantize_dest": str(dest), "quantize_name": "desc-act", "quantize_desc_act": True})
    assert proc.returncode != 0
    assert "Refused: config.json's quantization_config has desc_act true, not false" in proc.out, proc.out[-3000:]
    assert not dest.exists() and (tmp_path / ".desc-act.work" / "staging").is_dir()


def test_quantized_router_refused(moe, tmp_path):
    """A checkpoint whose MoE routers were quantized (the recipe's exclusion missed) is refused."""
    dummy, dest, dummy = moe
    bad = tmp_path / "bad"
    shutil.copytree(dest, bad)
    with open(bad / "model.safetensors", "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        body = f.read()
    meta = header.pop("__metadata__", None)
    header.pop("model.layers.0.mlp.gate.weight")
    extra = {"qweight": ("I32", [32, 8]), "qzeros": ("I32", [2, 1]), "scales": ("F16", [2, 8]), "g_idx": ("I32", [256])}
    off, blobs = len(body), []
    for s, (dtype, shape) in extra.items():
        data = np.zeros(shape, dtype={"I32": np.int32, "F16": np.float16}[dtype]).tobytes()
        header["model.layers.0.mlp.gate." + s] = {
            "dtype": dtype,
            "shape": shape,
            "data_offsets": [off, off + len(data)],
        }
        off += len(data)
        blobs.append(data)
    if meta:
        header["__metadata__"] = meta
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    (bad / "model.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw + body + b"".join(blobs))
    proc = subprocess.run(
        [
            os.path.join(BIN, "ansible"),
            "localhost",
            "-i",
            os.path.join(ROOT, "inventories/local"),
            "-m",
            "vacc.qwen3.gptq_verify",
            "-a",
            "path=%s source=%s" % (bad, MOE),
            "-e",
            "ansible_python_interpreter=%s" % QVENV_PY,
        ],
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0
    assert "Refused: model.layers.0.mlp.gate is quantized, but the recipe leaves it unquantized" in proc.stdout, (
        proc.stdout[-3000:]
    )


def test_bad_group_size_refused_before_anything(tmp_path):
    proc = play(tmp_path, {"quantize_dest": str(tmp_path / "x"), "quantize_group_size": 96}, timeout=300)
    assert proc.returncode != 0
    assert "are not all multiples of quantize_group_size 96: choose a group size that divides them" in proc.out, (
        proc.out[-3000:]
    )
    assert not (tmp_path / "x").exists() and not (tmp_path / ".x.work").exists()


def test_serving_stops_here():
    """vLLM's CPU build serves a GPTQ MoE only with AMX (its WNA16 MoE kernels) and a GPTQ dense model only
    with its cpu_gemm_wna16 op (not built for AVX2): FACTS section 12. On a CPU without AMX and with no CUDA
    GPU the quantized checkpoint stops at the checks above; it is served on a CUDA host or the vendor's cards."""
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        flags = set(next(line for line in f if line.startswith("flags")).split(":", 1)[1].split())
    has_gpu = shutil.which("nvidia-smi") is not None
    print(
        "CPU flags: avx2=%s avx512f=%s amx_tile=%s; CUDA GPU: %s"
        % ("avx2" in flags, "avx512f" in flags, "amx_tile" in flags, has_gpu)
    )
    assert "amx_tile" not in flags and not has_gpu, (
        "this machine could serve the GPTQ checkpoint (AMX or a CUDA GPU): serve it with playbooks/deploy.yml here"
    )
