"""playbooks/download.yml (role vacc.qwen3.model_download) end to end, ansible-playbook in a subprocess.

The local source is tested for real. The hubs are not reachable from here, so hfd / hf / modelscope run
against a local HTTP server standing in for the endpoint and fake CLIs that log how they were called and
copy a fixture checkpoint.
"""

import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import threading

import pytest
from fake_checkpoint import CONFIG, sharded

from ansible_collections.vacc.qwen3.plugins.modules import model_verify as mv

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
DOWNLOAD = os.path.join(ROOT, "playbooks/download.yml")
LOCAL_INV = os.path.join(ROOT, "inventories/local")
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


# The local inventory is a lab (weights written by lab_tiny_model under another directory name): put the
# role's defaults back so each test says what it uses; a later -e wins. A given key: no test writes one.
ROLE_DEFAULTS = ["-e", "model_download_source=hfd", "-e", "qwen3_model_dir="]
GIVEN_KEY = ["-e", "qwen3_api_key=test-download-key"]


def play(*extra, inventory=LOCAL_INV, playbook=DOWNLOAD, env=None, lab=False):
    run_env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", **(env or {}))
    defaults = ROLE_DEFAULTS if inventory == LOCAL_INV and not lab else []
    pin = ["-e", "model_download_hfd_sha256=" + hashlib.sha256(FAKE_HFD.encode()).hexdigest()]
    res = subprocess.run(
        [PLAYBOOK_BIN, "-i", inventory, playbook] + defaults + GIVEN_KEY + pin + list(extra),
        cwd=ROOT,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    res.recap = {
        h: {"ok": int(o), "changed": int(c), "unreachable": int(u), "failed": int(f)}
        for h, o, c, u, f in RECAP.findall(res.stdout)
    }
    res.flat = " ".join((res.stdout + res.stderr).split())
    return res


def ok(res):
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-3000:]
    return res


def local_args(src, weights, model="Qwen3-0.6B"):
    return [
        "-e",
        "model_download_source=local",
        "-e",
        "model_download_local_path=%s" % src,
        "-e",
        "qwen3_weights_dir=%s" % weights,
        "-e",
        "qwen3_model=%s" % model,
    ]


def verified(path):
    return mv.verify(str(path))


# ---------------------------------------------------------------- local source, for real
def test_local_source_copies_then_changes_nothing_and_repairs_a_truncated_shard(tmp_path):
    src = sharded(tmp_path, "source")
    weights = tmp_path / "weights"
    dest = weights / "Qwen3-0.6B"

    first = ok(play(*local_args(src, weights)))
    assert first.recap["localhost"]["changed"] > 0
    assert verified(dest)["verified"] and verified(dest)["fingerprint"] == verified(src)["fingerprint"]
    assert "Qwen3-0.6B: verified" in first.flat

    second = ok(play(*local_args(src, weights)))
    assert second.recap["localhost"]["changed"] == 0

    shard = dest / "model-00002-of-00002.safetensors"
    shard.write_bytes(shard.read_bytes()[:-7])
    assert "is truncated" in verified(dest)["problems"][0]
    third = ok(play(*local_args(src, weights)))
    assert third.recap["localhost"]["changed"] > 0
    assert verified(dest)["verified"]


def test_local_source_on_the_host_and_check_mode(tmp_path):
    src = sharded(tmp_path, "source")
    weights = tmp_path / "weights"
    args = local_args(src, weights) + ["-e", "model_download_local_remote=true"]
    dry = ok(play("--check", *args))
    assert dry.recap["localhost"]["changed"] > 0 and not weights.exists()
    first = ok(play(*args))
    # rsync ran on the host itself
    assert re.search(r"Copy with rsync run on self\] \**\nchanged: \[localhost\]", first.stdout)
    assert verified(weights / "Qwen3-0.6B")["fingerprint"] == verified(src)["fingerprint"]
    assert ok(play(*args)).recap["localhost"]["changed"] == 0


def test_lab_inventory_weights_in_place_are_only_verified(tmp_path):
    """The local inventory's flow: lab_tiny_model wrote the checkpoint as qwen3_model_dir; nothing is fetched."""
    sharded(tmp_path, "qwen3-tiny")
    res = ok(play("-e", "qwen3_weights_dir=%s" % tmp_path, lab=True))
    assert res.recap["localhost"]["changed"] == 0
    assert "%s: verified" % (tmp_path / "qwen3-tiny") in res.flat


def play_with(tmp_path, roles, *extra):
    """A play of the given roles on the local inventory (what a user composes)."""
    playbook = tmp_path / "roles.yml"
    playbook.write_text(
        "- hosts: all\n  gather_facts: false\n  roles: %s\n" % json.dumps(["vacc.qwen3." + r for r in roles])
    )
    return play(*extra, playbook=str(playbook))


@pytest.mark.parametrize("where", ["config.json", "quantize_config.json"])
def test_a_downloaded_desc_act_checkpoint_is_refused_by_the_plan(tmp_path, where):
    """The download's own verification plans again from the weights: their quantization config (from
    config.json, or quantize_config.json as vLLM reads it) feeds the plan, which refuses desc_act: true."""
    quant = {"quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": True, "sym": True}
    config = dict(CONFIG, quantization_config=quant) if where == "config.json" else CONFIG
    src = sharded(tmp_path, "gptq", config=config)
    if where == "quantize_config.json":
        (tmp_path / "gptq" / where).write_text(json.dumps({k: v for k, v in quant.items() if k != "quant_method"}))
    res = play(*local_args(src, tmp_path / "w", model="Qwen3-0.6B-GPTQ-Int4"))
    assert res.returncode != 0
    assert "quantization gptq" in res.flat
    assert (
        "This Qwen3-0.6B-GPTQ-Int4 checkpoint is GPTQ with desc_act: true, which this platform does not load"
        in res.flat
    )


def test_a_downloaded_desc_act_false_checkpoint_plans(tmp_path):
    """The same download with desc_act: false in config.json plans fine (one run: both cases above end here)."""
    quant = {"quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": False, "sym": True}
    src = sharded(tmp_path, "gptq", config=dict(CONFIG, quantization_config=quant))
    ok(play(*local_args(src, tmp_path / "w2", model="Qwen3-0.6B-GPTQ-Int4")))


def test_weights_in_place_are_read_before_the_first_plan(tmp_path):
    """Without model_download in the play, the planning step itself reads the weights: a desc_act: true
    checkpoint already on the host is refused by the service role before anything is started."""
    weights = tmp_path / "w"
    sharded(weights, "Qwen3-0.6B-GPTQ-Int4")
    (weights / "Qwen3-0.6B-GPTQ-Int4" / "quantize_config.json").write_text(json.dumps({"bits": 4, "desc_act": True}))
    res = play_with(
        tmp_path, ["vllm_service"], "-e", "qwen3_model=Qwen3-0.6B-GPTQ-Int4", "-e", "qwen3_weights_dir=%s" % weights
    )
    assert res.returncode != 0 and res.recap["localhost"]["changed"] == 0
    assert "checkpoint is GPTQ with desc_act: true" in res.flat
    assert "vllm_service : Check the weights are complete" not in res.stdout, "refused before the role's own tasks"


@pytest.mark.parametrize("bits,refused", [(8, True), (4, False)])
def test_a_checkpoint_is_checked_against_its_row_before_the_first_plan(tmp_path, bits, refused):
    """An INT4 row is W4A16: a bits: 8 checkpoint under it is refused, naming the checkpoint, the field and the
    row, before the service role's own tasks; bits: 4 plans, with the current guide's float16 tip as a note."""
    weights = tmp_path / "w"
    sharded(weights, "Qwen3-4B-AWQ")  # the fixture's config.json says torch_dtype bfloat16
    quant = {"quant_method": "awq", "bits": bits, "group_size": 128, "zero_point": True, "version": "gemm"}
    config = weights / "Qwen3-4B-AWQ" / "config.json"
    config.write_text(json.dumps(dict(json.loads(config.read_text()), quantization_config=quant)))
    args = [
        "-e",
        "qwen3_model=Qwen3-4B-AWQ",
        "-e",
        "qwen3_weights_dir=%s" % weights,
        "-e",
        "qwen3_guide_revision=VVI-26.02",
    ]
    if refused:
        res = play_with(tmp_path, ["vllm_service"], *args)
        assert res.returncode != 0 and res.recap["localhost"]["changed"] == 0
        assert (
            "The checkpoint at %s is bits: 8 but Qwen3-4B-AWQ's row (guide:VVI-26.02, INT4 awq) needs bits: 4 "
            "(INT4 is W4A16 here)" % (weights / "Qwen3-4B-AWQ")
        ) in res.flat
        assert "vllm_service : Check the weights are complete" not in res.stdout, "refused before the role's own tasks"
    else:
        playbook = tmp_path / "plan_only.yml"
        playbook.write_text(
            "- hosts: all\n  gather_facts: false\n  roles: [vacc.qwen3._common]\n  tasks:\n"
            "    - {ansible.builtin.debug: {var: qwen3_plan.notes}}\n"
        )
        res = ok(play(*args, playbook=str(playbook)))
        assert 'The guide (VVI-26.02) says W4A16 checkpoints run faster with "torch_dtype": "float16";' in res.flat
        assert "config.json says bfloat16." in res.flat


def test_a_checkpoint_with_its_own_code_is_refused_unless_allowed(tmp_path):
    src = sharded(tmp_path, "code", config=dict(CONFIG, auto_map={"AutoModel": "modeling_x.Model"}))
    (tmp_path / "code" / "modeling_x.py").write_text("import os\n")
    res = play(*local_args(src, tmp_path / "w"))
    assert res.returncode != 0
    assert "carries its own code (config.json auto_map, modeling_x.py)" in res.flat
    assert "model_download_allow_custom_code: true" in res.flat
    ok(play(*local_args(src, tmp_path / "w"), "-e", "model_download_allow_custom_code=true"))


# ---------------------------------------------------------------- refusals before anything changes
def test_unreachable_endpoint_fails_before_downloading(tmp_path):
    res = play(
        "-e",
        "model_download_hf_endpoint=http://127.0.0.1:9/",
        "-e",
        "qwen3_weights_dir=%s" % tmp_path,
        "-e",
        "model_download_hfd_path=%s" % (tmp_path / "hfd.sh"),
        "-e",
        "qwen3_model=Qwen3-0.6B",
    )
    assert res.returncode != 0 and res.recap["localhost"]["changed"] == 0
    assert (
        "http://127.0.0.1:9/ is not reachable from localhost; use model_download_source: local with "
        "model_download_local_path, or set model_download_hf_endpoint to a mirror you can reach."
    ) in res.flat
    assert not (tmp_path / "hfd.sh").exists() and not (tmp_path / "Qwen3-0.6B").exists()


@pytest.mark.parametrize(
    "extra,needle",
    [
        (
            ["-e", "model_download_source=modelscope", "-e", "qwen3_model=Qwen3-30B-A3B-Instruct-2507-GPTQ-Int4"],
            "The guide lists no ModelScope id for Qwen3-30B-A3B-Instruct-2507-GPTQ-Int4; use model_download_source: "
            "hfd (or hf), which fetches lancew/Qwen3-30B-A3B-Instruct-2507-GPTQ-Int4 through https://hf-mirror.com, or "
            "dragonfly with model_download_dragonfly_hub: hf.",
        ),
        (["-e", "qwen3_model=tiny-qwen3"], "Unknown model 'tiny-qwen3'"),
        (
            ["-e", "model_download_source=local"],
            "does not exist.) and model_download_source: local has no model_download_local_path; set it to a "
            "checkpoint directory on the controller",
        ),
        (["-e", "qwen3_model_dir=.."], "qwen3_model_dir '..' is not a safe name"),
        (["-e", "qwen3_model_dir=../weights"], "qwen3_model_dir '../weights' is not a safe name"),
    ],
    ids=["no-modelscope-id", "not-in-catalog", "local-without-path", "dir-dot-dot", "dir-escapes"],
)
@pytest.mark.parametrize("check", [False, True], ids=["run", "check-mode"])
def test_refusals(tmp_path, extra, needle, check):
    res = play("-e", "qwen3_weights_dir=%s" % tmp_path, *(extra + (["--check"] if check else [])))
    assert res.returncode != 0 and res.recap["localhost"]["changed"] == 0
    assert needle in res.flat
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- hubs, faked
FAKE_HFD = r"""#!/usr/bin/env bash
# Stands in for hfd.sh: logs its call, then "downloads" $FAKE_HUB_SRC. The first call stops half-way
# (a truncated shard, exit 1), as an interrupted download does.
set -eu
repo=$1; shift
dir= tool= threads=
while [ $# -gt 0 ]; do
  case $1 in
    --local-dir) dir=$2; shift 2 ;;
    --tool) tool=$2; shift 2 ;;
    -x) threads=$2; shift 2 ;;
    *) shift ;;
  esac
done
urls=absent; [ -e "$dir/.hfd/aria2c_urls.txt" ] && urls=present
echo "hfd repo=$repo endpoint=$HF_ENDPOINT tool=$tool threads=$threads dir=$dir urls=$urls" >> "$FAKE_HUB_LOG"
mkdir -p "$dir/.hfd"
echo stale-signed-urls > "$dir/.hfd/aria2c_urls.txt"
cp "$FAKE_HUB_SRC"/* "$dir/"
if [ ! -e "$FAKE_HUB_LOG.interrupted" ]; then
  touch "$FAKE_HUB_LOG.interrupted"
  truncate -s -10 "$dir/model-00002-of-00002.safetensors"
  exit 1
fi
"""

FAKE_HF = r"""#!/usr/bin/env bash
# Stands in for huggingface_hub's `hf`: hf download REPO --local-dir DIR
set -eu
[ "$1" = download ] && [ "$3" = --local-dir ]
echo "hf repo=$2 endpoint=$HF_ENDPOINT dir=$4" >> "$FAKE_HUB_LOG"
mkdir -p "$4"; cp "$FAKE_HUB_SRC"/* "$4/"
"""

FAKE_MODELSCOPE = r"""#!/usr/bin/env bash
# Stands in for `modelscope download --model REPO --local_dir DIR`
set -eu
[ "$1" = download ] && [ "$2" = --model ] && [ "$4" = --local_dir ]
echo "modelscope repo=$3 domain=$MODELSCOPE_DOMAIN dir=$5" >> "$FAKE_HUB_LOG"
mkdir -p "$5"; cp "$FAKE_HUB_SRC"/* "$5/"
"""


@pytest.fixture
def fake_endpoint(tmp_path):
    """An HTTP server standing in for the hub: answers the reachability check and serves hfd.sh."""
    root = tmp_path / "endpoint"
    (root / "hfd").mkdir(parents=True)
    (root / "hfd" / "hfd.sh").write_text(FAKE_HFD)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % server.server_port
    server.shutdown()


@pytest.fixture(scope="module")
def fake_venv(tmp_path_factory):
    """A real venv where pip sees the pinned modelscope / huggingface_hub as installed, with fake CLIs."""
    venv = tmp_path_factory.mktemp("dl") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    for name, version in (("modelscope", "1.40.2"), ("huggingface_hub", "2.4.0")):
        info = site / ("%s-%s.dist-info" % (name, version))
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version))
    for cli, script in (("hf", FAKE_HF), ("modelscope", FAKE_MODELSCOPE)):
        (venv / "bin" / cli).write_text(script)
        (venv / "bin" / cli).chmod(0o755)
    return venv


def hub_env(tmp_path, src):
    return {"FAKE_HUB_SRC": str(src), "FAKE_HUB_LOG": str(tmp_path / "hub.log")}


def test_hfd_downloads_resumes_and_then_skips(tmp_path, fake_endpoint):
    src = sharded(tmp_path, "hub-copy")
    weights, hfd = tmp_path / "weights", tmp_path / "hfd.sh"
    args = [
        "-e",
        "model_download_hf_endpoint=%s" % fake_endpoint,
        "-e",
        "model_download_hfd_url=%s/hfd/hfd.sh" % fake_endpoint,
        "-e",
        "model_download_hfd_path=%s" % hfd,
        "-e",
        "model_download_install_packages=false",
        "-e",
        "model_download_poll=1",
        "-e",
        "qwen3_weights_dir=%s" % weights,
        "-e",
        "qwen3_model=Qwen3-0.6B",
    ]
    env = hub_env(tmp_path, src)
    dest = weights / "Qwen3-0.6B"

    interrupted = play(*args, env=env)
    assert interrupted.returncode != 0  # the fake stops half-way
    assert stat.S_IMODE(hfd.stat().st_mode) == 0o755
    resumed = ok(play(*args, env=env))
    assert resumed.recap["localhost"]["changed"] > 0 and verified(dest)["verified"]
    calls = (tmp_path / "hub.log").read_text().splitlines()
    # The guide's command line; the rerun found the mirror's stale signed-URL list gone.
    assert (
        calls
        == ["hfd repo=Qwen/Qwen3-0.6B endpoint=%s tool=aria2c threads=10 dir=%s urls=absent" % (fake_endpoint, dest)]
        * 2
    )
    ok_again = ok(play(*args, env=env))
    assert ok_again.recap["localhost"]["changed"] == 0
    assert len((tmp_path / "hub.log").read_text().splitlines()) == 2


@pytest.mark.parametrize(
    "pin,needle",
    [
        ("", "model_download_hfd_sha256 is not a sha256: hfd.sh runs as root on every host that fetches"),
        ("0" * 64, "did not match"),
    ],
    ids=["unpinned", "another-hfd.sh"],
)
def test_hfd_runs_only_the_pinned_copy(tmp_path, fake_endpoint, pin, needle):
    hfd = tmp_path / "hfd.sh"
    res = play(
        "-e",
        "model_download_hf_endpoint=%s" % fake_endpoint,
        "-e",
        "model_download_hfd_url=%s/hfd/hfd.sh" % fake_endpoint,
        "-e",
        "model_download_hfd_path=%s" % hfd,
        "-e",
        "model_download_install_packages=false",
        "-e",
        "qwen3_weights_dir=%s" % (tmp_path / "w"),
        "-e",
        "qwen3_model=Qwen3-0.6B",
        "-e",
        "model_download_hfd_sha256=%s" % pin,
        env=hub_env(tmp_path, sharded(tmp_path, "hub")),
    )
    assert res.returncode != 0 and needle in res.flat
    assert not hfd.exists() and not (tmp_path / "hub.log").exists(), "nothing ran"


@pytest.mark.parametrize(
    "source,model,expected",
    [
        ("hf", "Qwen3-8B-AWQ", "hf repo=Qwen/Qwen3-8B-AWQ endpoint={endpoint} dir={dest}"),
        (
            "modelscope",
            "Qwen3-Coder-30B-A3B-Instruct-FP8",
            "modelscope repo=Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8 domain={netloc} dir={dest}",
        ),
    ],
    ids=["hf", "modelscope"],
)
def test_venv_clis(tmp_path, fake_endpoint, fake_venv, source, model, expected):
    # The hub's copy matches its row (the plan after the download checks it): AWQ W4A16, FP8.
    quant = (
        {"quant_method": "awq", "bits": 4, "group_size": 128}
        if "AWQ" in model
        else {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic"}
    )
    src = sharded(tmp_path, "hub-copy", config=dict(CONFIG, quantization_config=quant))
    weights = tmp_path / "weights"
    args = [
        "-e",
        "model_download_source=%s" % source,
        "-e",
        "model_download_venv=%s" % fake_venv,
        "-e",
        "model_download_hf_endpoint=%s" % fake_endpoint,
        "-e",
        "model_download_modelscope_endpoint=%s" % fake_endpoint,
        "-e",
        "model_download_install_packages=false",
        "-e",
        "model_download_poll=1",
        "-e",
        "qwen3_weights_dir=%s" % weights,
        "-e",
        "qwen3_model=%s" % model,
    ]
    first = ok(play(*args, env=hub_env(tmp_path, src)))
    assert first.recap["localhost"]["changed"] > 0 and verified(weights / model)["verified"]
    assert (tmp_path / "hub.log").read_text().splitlines() == [
        expected.format(endpoint=fake_endpoint, netloc=fake_endpoint.split("//")[1], dest=weights / model)
    ]


# ---------------------------------------------------------------- fleets: strategy once
def two_hosts(tmp_path, shared=False):
    inv = tmp_path / "inventory.yml"
    hosts = {
        name: {"qwen3_weights_dir": str(tmp_path / ("shared" if shared else name))} for name in ("node-a", "node-b")
    }
    # Both hosts are this machine (local connection) with their own weights directories.
    inv.write_text(
        json.dumps(
            {
                "all": {
                    "vars": {
                        "ansible_connection": "local",
                        "ansible_host": "127.0.0.1",
                        "qwen3_model": "Qwen3-0.6B",
                        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                    },
                    "children": {"vacc_servers": {"hosts": hosts}},
                }
            }
        )
    )
    return str(inv)


@pytest.mark.skipif(shutil.which("rsync") is None, reason="rsync is needed (apt-get install rsync)")
def test_once_seed_fetches_and_the_other_host_copies_from_it(tmp_path):
    src = sharded(tmp_path, "source")
    inv = two_hosts(tmp_path)
    args = [
        "-e",
        "model_download_source=local",
        "-e",
        "model_download_local_path=%s" % src,
        "-e",
        "model_download_strategy=once",
    ]
    a, b = tmp_path / "node-a" / "Qwen3-0.6B", tmp_path / "node-b" / "Qwen3-0.6B"

    first = ok(play(*args, inventory=inv))
    assert first.recap["node-a"]["changed"] > 0 and first.recap["node-b"]["changed"] > 0
    assert "changed: [node-b -> node-a(127.0.0.1)]" in first.stdout  # rsync ran on the seed
    assert verified(a)["fingerprint"] == verified(b)["fingerprint"] == verified(src)["fingerprint"]

    second = ok(play(*args, inventory=inv))
    assert {h: r["changed"] for h, r in second.recap.items()} == {"node-a": 0, "node-b": 0}

    # A broken copy on the receiver is repaired from the seed alone.
    (b / "tokenizer.json").unlink()
    third = ok(play(*args, inventory=inv))
    assert third.recap["node-a"]["changed"] == 0 and third.recap["node-b"]["changed"] > 0
    assert verified(b)["verified"]


def test_once_with_a_failed_seed_says_so(tmp_path):
    res = play(
        "-e",
        "model_download_hf_endpoint=http://127.0.0.1:9/",
        "-e",
        "model_download_strategy=once",
        inventory=two_hosts(tmp_path),
    )
    assert res.recap["node-a"]["failed"] == 1 and res.recap["node-b"]["failed"] == 1
    assert "http://127.0.0.1:9/ is not reachable from node-a;" in res.flat
    assert (
        "The seed host node-a failed, so there is no copy to distribute; fix it, or set "
        "model_download_seed_host to another host."
    ) in res.flat


def test_shared_path_only_the_seed_writes(tmp_path):
    src = sharded(tmp_path, "source")
    res = ok(
        play(
            "-e",
            "model_download_source=local",
            "-e",
            "model_download_local_path=%s" % src,
            "-e",
            "model_download_shared_path=true",
            inventory=two_hosts(tmp_path, shared=True),
        )
    )
    assert res.recap["node-a"]["changed"] > 0 and res.recap["node-b"]["changed"] == 0
    assert verified(tmp_path / "shared" / "Qwen3-0.6B")["verified"]


def test_once_controller_seed_fetches_and_pushes(tmp_path, fake_endpoint):
    src = sharded(tmp_path, "hub-copy")
    (tmp_path / "hub.log.interrupted").touch()  # this fake hfd.sh runs through
    seed = tmp_path / "controller" / "Qwen3-0.6B"
    args = [
        "-e",
        "model_download_hf_endpoint=%s" % fake_endpoint,
        "-e",
        "model_download_hfd_url=%s/hfd/hfd.sh" % fake_endpoint,
        "-e",
        "model_download_hfd_path=%s" % (tmp_path / "hfd.sh"),
        "-e",
        "model_download_install_packages=false",
        "-e",
        "model_download_poll=1",
        "-e",
        "model_download_strategy=once",
        "-e",
        "model_download_seed_host=localhost",
        "-e",
        "model_download_seed_dest=%s" % seed,
    ]
    inv, env = two_hosts(tmp_path), hub_env(tmp_path, src)

    first = ok(play(*args, inventory=inv, env=env))
    assert (tmp_path / "hub.log").read_text().splitlines() == [
        "hfd repo=Qwen/Qwen3-0.6B endpoint=%s tool=aria2c threads=10 dir=%s urls=absent" % (fake_endpoint, seed)
    ]
    for host in ("node-a", "node-b"):
        copy = tmp_path / host / "Qwen3-0.6B"
        assert first.recap[host]["changed"] > 0
        assert verified(copy)["fingerprint"] == verified(seed)["fingerprint"]
        assert not (copy / ".hfd").exists()  # download state stays on the seed
    second = ok(play(*args, inventory=inv, env=env))
    assert {h: r["changed"] for h, r in second.recap.items()} == {"node-a": 0, "node-b": 0}


# ---------------------------------------------------------------- dragonfly: the handoff to dfget
FAKE_DFGET = """#!/bin/sh
# Stands in for Dragonfly's dfget: logs how it was called, copies the fixture checkpoint into -O.
[ "$1" = --version ] && { echo "dfget 2.1.0 (fake)"; exit 0; }
echo "dfget $*" >> "$FAKE_HUB_LOG"
[ "$2" = -O ] && [ "$4" = --recursive ] || exit 2
mkdir -p "$3"; cp "$FAKE_HUB_SRC"/* "$3"
"""


@pytest.mark.parametrize("hub,repo", [("hf", "Qwen/Qwen3-0.6B"), ("modelscope", "Qwen/Qwen3-0.6B")])
def test_dragonfly_hands_the_download_to_dfget_then_skips(tmp_path, hub, repo):
    dfget = tmp_path / "dfget"
    dfget.write_text(FAKE_DFGET)
    dfget.chmod(0o755)
    weights = tmp_path / "weights"
    args = [
        "-e",
        "model_download_source=dragonfly",
        "-e",
        "model_download_dfget_path=%s" % dfget,
        "-e",
        "model_download_dragonfly_hub=%s" % hub,
        "-e",
        "model_download_install_packages=false",
        "-e",
        "model_download_poll=1",
        "-e",
        "qwen3_weights_dir=%s" % weights,
        "-e",
        "qwen3_model=Qwen3-0.6B",
    ]
    env = hub_env(tmp_path, sharded(tmp_path, "hub-copy"))
    first = ok(play(*args, env=env))
    assert first.recap["localhost"]["changed"] > 0 and verified(weights / "Qwen3-0.6B")["verified"]
    assert (tmp_path / "hub.log").read_text().splitlines() == [
        "dfget %s://%s -O %s/ --recursive" % (hub, repo, weights / "Qwen3-0.6B")
    ]
    again = ok(play(*args, env=env))
    assert again.recap["localhost"]["changed"] == 0
    assert len((tmp_path / "hub.log").read_text().splitlines()) == 1, "a verified copy is not fetched again"


def test_dragonfly_without_dfget_says_what_to_install(tmp_path):
    res = play(
        "-e",
        "model_download_source=dragonfly",
        "-e",
        "model_download_dfget_path=%s" % (tmp_path / "none"),
        "-e",
        "model_download_install_packages=false",
        "-e",
        "qwen3_weights_dir=%s" % (tmp_path / "w"),
        "-e",
        "qwen3_model=Qwen3-0.6B",
    )
    assert res.returncode != 0 and "install the Dragonfly client (dfdaemon and dfget)" in res.flat
