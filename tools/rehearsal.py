"""A dress rehearsal of a customer's first contact (make rehearsal, make rehearsal-down).

    python3 tools/rehearsal.py run [--hosts N] [--keep]   # make rehearsal  (REHEARSAL_HOSTS, REHEARSAL_KEEP)
    python3 tools/rehearsal.py down                        # make rehearsal-down

What a customer has, made here: servers reached over SSH (the fleet lab, tools/fleet_lab.py: N servers and a
gateway host driving this machine's Docker engine), a registry of their own mirroring the vendor's Harbor
(Debian's docker-registry, distribution 2.8: TLS from a CA made for the rehearsal, htpasswd users, anonymous
pulls refused) holding the images under the vendor's paths, and an Ansible project of their own in a temporary
directory outside this clone: its ansible.cfg, inventory (registry credentials in an Ansible Vault file with a
vault password file), the collection installed from `make dist`'s directory with `ansible-galaxy collection
install --offline`, run with ansible-core 2.17 from a venv in the project (ansible-core alone, from PyPI).

The FQCN playbooks run in order; after each, every container the collection started runs an image pulled from
the registry (its RepoDigests name the registry) and none a vacc-qwen3/* lab image. The project's
results/rehearsal/summary.json (copied to this clone's results/rehearsal/) records each step: playbook, rc,
seconds, changed, and the image digests that ran. `run` removes everything at the end unless --keep; `down`
removes what a run left (fleet, engines, registry, its certs.d entry, the project, the mirror's tags).
Only the stdlib, the docker CLI, openssl and htpasswd are used.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fleet_lab  # noqa: E402  (the servers: same directory)

ROOT = Path(__file__).resolve().parent.parent
STATE = Path("/tmp/vacc-rehearsal.state.json")  # what `down` removes (a run may have been interrupted)
CORE = "2.17"  # the oldest ansible-core meta/runtime.yml claims
CERTS_D = Path(os.environ.get("REHEARSAL_CERTS_D", "/etc/docker/certs.d"))
REGISTRY_USER = "robot$rehearsal"
LAB_WEIGHTS = Path("/var/lib/vacc-qwen3/weights/qwen3-tiny")  # what `make lab` wrote: the customer's copy of it
# The project's offline EvalScope datasets, in EvalScope's local layout; taken from the installed collection's
# made-up samples (the tarball ships them), as a customer copies what they fetched on a connected machine.
DATASETS = "datasets"
INSTALLED = Path("collections", "ansible_collections", "vacc", "qwen3")
# What a customer pulls, under the vendor's paths in their mirror: (the lab's offline build on this machine, the
# name the shipped defaults or the guide give it). Docker Hub is out of reach here, so the published images
# (haproxy, prom/*) are the lab's offline builds retagged under the published names; the roles tell a build from
# a published image by its label, not its name.
MIRRORED = {
    "engine": ("vacc-qwen3/vllm-cpu-standin:0.32.0", "ai_deliver/vllm_vacc:AI3.2_GR_1202"),
    "haproxy": ("vacc-qwen3/haproxy:bookworm", "library/haproxy:3.0.8"),
    "webui": ("vacc-qwen3/open-webui:0.12.4", "ai_deliver/vast-webui:latest"),
    "prometheus": ("vacc-qwen3/prometheus:bookworm", "prom/prometheus:v3.5.0"),
    "node_exporter": ("vacc-qwen3/node-exporter:bookworm", "prom/node-exporter:v1.8.2"),
}
# The playbooks in the order a customer runs them; (name, extra -e arguments).
STEPS = [
    ("plan", []),
    ("download", ["-e", "model_download_strategy=broadcast"]),
    ("deploy", []),
    ("gateway", []),
    ("smoke", []),
    ("benchmark", []),
    ("evaluate", []),
    ("webui", []),
    ("monitoring", []),
    ("status", []),
    ("deploy", []),  # the second deploy: must change nothing
    ("teardown", []),
]
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


class RehearsalError(Exception):
    """A one-sentence reason the rehearsal stops."""


def sh(*args, check=True, env=None, stdin=None, timeout=600, cwd=None) -> subprocess.CompletedProcess:
    res = subprocess.run(
        list(args), input=stdin, capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd, check=False
    )
    if check and res.returncode != 0:
        tail = (res.stderr.strip() or res.stdout.strip() or "exit %d" % res.returncode).splitlines()[-1]
        raise RehearsalError("%s failed: %s" % (" ".join(str(a) for a in args[:3]), tail))
    return res


def say(text: str):
    print("rehearsal: " + text, flush=True)


def load_state() -> dict:
    return json.loads(STATE.read_text()) if STATE.exists() else {}


def save_state(state: dict):
    STATE.write_text(json.dumps(state, indent=1))


# --- the registry ----------------------------------------------------------------------------------
def make_ca(tls: Path, address_ip: str):
    """A CA made for this rehearsal and the registry's certificate for its IP address (SAN), signed by it."""
    tls.mkdir(mode=0o700)
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=vacc-rehearsal CA",
       "-keyout", str(tls / "ca.key"), "-out", str(tls / "ca.crt"))  # fmt: skip
    ext = tls / "san.ext"
    ext.write_text("subjectAltName = IP:%s\nextendedKeyUsage = serverAuth\n" % address_ip)
    sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=%s" % address_ip,
       "-keyout", str(tls / "registry.key"), "-out", str(tls / "registry.csr"))  # fmt: skip
    sh("openssl", "x509", "-req", "-in", str(tls / "registry.csr"), "-CA", str(tls / "ca.crt"), "-CAkey",
       str(tls / "ca.key"), "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(tls / "registry.crt"))  # fmt: skip


def start_registry(work: Path, ip: str, password: str, state: dict) -> str:
    """Debian's docker-registry on ip:<free port>, TLS and htpasswd; the engine trusts its CA (certs.d)."""
    if shutil.which("docker-registry") is None or shutil.which("htpasswd") is None:
        raise RehearsalError("docker-registry or htpasswd is missing; run `make lab` (scripts/lab-bootstrap.sh)")
    make_ca(work / "tls", ip)
    (work / "htpasswd").write_text(sh("htpasswd", "-Bbn", REGISTRY_USER, password).stdout)
    with socket.socket() as probe:
        probe.bind((ip, 0))
        port = probe.getsockname()[1]
    address = "%s:%d" % (ip, port)
    config = {
        "version": 0.1,
        "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(work / "data")}, "delete": {"enabled": True}},
        "http": {
            "addr": address,
            "tls": {"certificate": str(work / "tls" / "registry.crt"), "key": str(work / "tls" / "registry.key")},
        },
        "auth": {"htpasswd": {"realm": "vacc-rehearsal", "path": str(work / "htpasswd")}},
    }
    (work / "registry.yml").write_text(json.dumps(config))  # JSON is YAML
    certs = CERTS_D / address
    certs.mkdir(parents=True, exist_ok=True)
    shutil.copy(work / "tls" / "ca.crt", certs / "ca.crt")
    state["certs_d"] = str(certs)
    log = open(work / "registry.log", "w", encoding="utf-8")  # pylint: disable=consider-using-with
    proc = subprocess.Popen(  # pylint: disable=consider-using-with
        ["docker-registry", "serve", str(work / "registry.yml")], stdout=log, stderr=log, start_new_session=True
    )
    state["registry_pid"] = proc.pid
    save_state(state)
    context = ssl.create_default_context(cafile=str(work / "tls" / "ca.crt"))
    deadline, status = time.monotonic() + 30, None
    while status is None and time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen("https://%s/v2/" % address, timeout=2, context=context)  # noqa: S310
            status = 200
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError:
            time.sleep(0.2)  # polling the port with a bound
    if status is None:
        raise RehearsalError("the registry did not answer on %s; see %s" % (address, work / "registry.log"))
    if status != 401:
        raise RehearsalError("the registry answered an anonymous request with %s, not 401" % status)
    return address


def push_images(address: str, password: str, docker_config: Path, state: dict) -> dict:
    """Push the lab's builds under the vendor's paths; then drop the local tags so the hosts really pull."""
    env = dict(os.environ, DOCKER_CONFIG=str(docker_config))
    sh("docker", "login", "--username", REGISTRY_USER, "--password-stdin", address, env=env, stdin=password)
    pushed = {}
    for what, (local, path) in MIRRORED.items():
        if fleet_lab.inspect("image", local) is None:
            raise RehearsalError("the lab image %s is missing; run `make lab`" % local)
        ref = "%s/%s" % (address, path)
        state.setdefault("tags", []).append(ref)
        save_state(state)
        t0 = time.monotonic()
        sh("docker", "tag", local, ref)
        out = sh("docker", "push", ref, env=env, timeout=1800).stdout
        digest = re.search(r"digest: (sha256:[0-9a-f]{64})", out).group(1)
        sh("docker", "image", "rm", ref)
        sh("docker", "image", "rm", "%s@%s" % (ref.rsplit(":", 1)[0], digest), check=False)
        pushed[what] = {"image": ref, "digest": digest, "from": local, "push_s": round(time.monotonic() - t0, 1)}
        say("pushed %s as %s (%s, %.0fs)" % (local, ref, digest[:19], pushed[what]["push_s"]))
    sh("docker", "logout", address, env=env)
    # Anonymous: a pull without credentials (an empty client config) is refused.
    anon = Path(tempfile.mkdtemp(prefix="anon-", dir=docker_config.parent))
    res = sh("docker", "pull", pushed["engine"]["image"], check=False, env=dict(os.environ, DOCKER_CONFIG=str(anon)))
    if res.returncode == 0:
        raise RehearsalError("the registry let an anonymous client pull %s" % pushed["engine"]["image"])
    pushed["anonymous_pull"] = "refused: " + (res.stderr.strip().splitlines() or ["?"])[-1]
    say("anonymous pull %s" % pushed["anonymous_pull"])
    return pushed


# --- the customer's project ----------------------------------------------------------------------
def write_json(path: Path, data, mode=0o644):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    os.chmod(path, mode)


def make_project(project: Path, hosts: list, addresses: dict, engine_address: str, address: str, password: str):
    """ansible.cfg, inventory, vaulted registry credentials, the collection installed offline from dist/."""
    dist = ROOT / "dist"
    if not (dist / "requirements.yml").exists():
        raise RehearsalError("dist/requirements.yml is missing; run `make dist` first")
    shutil.copytree(dist, project / "dist")
    # The project's own venv: ansible-core alone, from PyPI, at the pin the tests use (tests/cores/<v>.txt).
    sh(sys.executable, "-m", "venv", str(project / "venv"))
    pins = [
        line for line in (ROOT / "tests" / "cores" / ("%s.txt" % CORE)).read_text().split("\n") if line[:1].isalpha()
    ]
    sh(str(project / "venv" / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", *pins, timeout=900)
    (project / "home").mkdir()
    ssh_dir = project / "ssh"
    ssh_dir.mkdir(mode=0o700)
    shutil.copy(fleet_lab.KEY, ssh_dir / "id_ed25519")
    os.chmod(ssh_dir / "id_ed25519", 0o600)
    # The customer's copy of the checkpoint (see README: why not hfd here).
    shutil.copytree(LAB_WEIGHTS, project / "models" / "Qwen3-0.6B")
    (project / "ansible.cfg").write_text(
        "[defaults]\ncollections_path = ./collections\ncollections_scan_sys_path = false\n"
        "inventory = ./inventory\nvault_password_file = ./.vault_pass\nhost_key_checking = false\n"
        "forks = 10\n\n[ssh_connection]\npipelining = true\n"
    )
    (project / ".vault_pass").write_text(os.urandom(24).hex() + "\n")
    os.chmod(project / ".vault_pass", 0o600)
    ca_text = (project.parent / "registry" / "tls" / "ca.crt").read_text()
    vault = write_inventory(project, hosts, addresses, engine_address, address, password, ca_text)
    res = run_tool(project, "ansible-vault", "encrypt", str(vault))
    if res.returncode != 0 or not vault.read_text().startswith("$ANSIBLE_VAULT"):
        raise RehearsalError("ansible-vault encrypt failed: %s" % res.stderr.strip())
    res = run_tool(project, "ansible-galaxy", "collection", "install", "--offline", "-r", "dist/requirements.yml")
    if res.returncode != 0:
        raise RehearsalError("ansible-galaxy collection install --offline failed: %s" % res.stderr.strip()[-300:])
    shutil.copytree(project / INSTALLED / "roles" / "accuracy" / "files" / "datasets", project / DATASETS)


def write_inventory(project: Path, hosts, addresses, engine_address, address, password, ca_text) -> Path:
    """The customer's inventory/ (JSON is YAML); returns the registry credentials' file, still to be encrypted."""
    ssh_dir = project / "ssh"
    servers = [h for h in hosts if h.role == "server"]
    gateways = [h for h in hosts if h.role == "gateway"]
    inv = project / "inventory"
    write_json(
        inv / "hosts.yml",
        {
            "all": {
                "vars": {"ansible_user": "root", "ansible_ssh_private_key_file": str(ssh_dir / "id_ed25519")},
                "children": {
                    "vacc_servers": {"hosts": {h.name: {"ansible_host": addresses[h.name]} for h in servers}},
                    "qwen3_gateway": {"hosts": {h.name: {"ansible_host": addresses[h.name]} for h in gateways}},
                    "qwen3_monitoring": {"hosts": {h.name: {} for h in gateways}},
                },
            }
        },
    )
    mirror = lambda what: "%s/%s" % (address, MIRRORED[what][1])  # noqa: E731
    # What a customer sets: servers and cards, the model, where images and weights come from.
    write_json(
        inv / "group_vars" / "all" / "customer.json",
        {
            "qwen3_model": "Qwen3-0.6B",
            "vacc_card": "VA16",
            "vacc_cards": 1,
            "qwen3_tp": 2,
            "qwen3_instances": 1,
            "qwen3_service_image": mirror("engine"),
            "vllm_service_lb_image": mirror("haproxy"),
            "gateway_image": mirror("haproxy"),
            "model_download_source": "local",
            "model_download_local_path": str(project / "models" / "Qwen3-0.6B"),
            "webui_vendor_image": mirror("webui").rsplit(":", 1)[0],  # the role picks the guide's tag (latest)
            "monitoring_prometheus_image": mirror("prometheus"),
            "monitoring_node_exporter_image": mirror("node_exporter"),
            # No hub from the servers or the controller: EvalScope reads the datasets fetched beforehand
            # (`modelscope download --dataset ...` on a connected machine) from the project's datasets/.
            "accuracy_dataset_dir": str(project / DATASETS),
            "accuracy_offline": True,
            "accuracy_dataset_args": {"ceval": {"subset_list": ["middle_school_mathematics"]}},
        },
    )
    registry = {
        "qwen3_registry": {
            "address": address,
            "username": REGISTRY_USER,
            "password": password,
            "ca_cert": ca_text,
            "logout": True,
        }
    }
    vault = inv / "group_vars" / "all" / "registry.yml"
    write_json(vault, registry, mode=0o600)
    # What this machine needs that a VA16 server would not (README: "Use it from your own Ansible project").
    write_json(
        inv / "group_vars" / "all" / "this_machine.json",
        {
            "_": "Not a customer's settings: the CPU stand-in engine and test hosts that share one Docker engine",
            "vacc_dies": 4,
            "qwen3_model_dir": "qwen3-tiny",
            "qwen3_served_model_name": "qwen3-tiny",
            "qwen3_service_privileged": False,
            "qwen3_service_shm_size": "1g",
            "qwen3_service_engine_tp": 1,
            "qwen3_service_extra_env": {"VLLM_CPU_KVCACHE_SPACE": "1"},
            "qwen3_service_extra_args": ["--dtype", "bfloat16"],
            "vllm_service_wait_timeout": 600,
            "preflight_min_memory_gb": 4,
            # The random tiny model on 2 CPU cores: small benchmark cases, short answers (it never stops by
            # itself), no thinking in the UI; this sandbox's / refuses an rslave mount.
            "benchmark_input_len": 32,
            "benchmark_output_len": 16,
            "accuracy_max_tokens": 256,
            "webui_default_model_params": {
                "max_tokens": 256,
                "custom_params": {"chat_template_kwargs": {"enable_thinking": False}},
            },
            "monitoring_node_exporter_rootfs_options": "ro",
        },
    )
    for host in hosts:
        blocks = (fleet_lab.server_host_vars if host.role == "server" else fleet_lab.gateway_host_vars)(
            host, engine_address
        )
        variables = {}
        for _comment, block in blocks:
            # The lab's image choices are not taken: the rehearsal pulls what the inventory above names.
            variables.update({k: v for k, v in block.items() if "image" not in k})
        write_json(inv / "host_vars" / ("%s.json" % host.name), variables)
    return vault


def tool_env(project: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "VIRTUAL_ENV"}
    env.update(
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        HOME=str(project / "home"),
        PWD=str(project),  # as a shell in the project says: the roles put results/ under $PWD
        PATH=str(project / "venv" / "bin") + os.pathsep + "/usr/bin:/bin",
    )
    return env


def run_tool(project: Path, tool: str, *args, timeout=1800):
    return subprocess.run(
        [str(project / "venv" / "bin" / tool), *args],
        cwd=project,
        env=tool_env(project),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# --- the checks after each playbook ----------------------------------------------------------------
def running_images(hosts: list, address: str) -> list:
    """Every container the collection started for the rehearsal's hosts: the image each runs and where from."""
    rows = []
    for host in hosts:
        for cid in fleet_lab.ids("ps", "-q", "--filter", "label=%s=%s" % (fleet_lab.ENGINE_HOST, host.name)):
            meta = fleet_lab.inspect("container", cid)
            if meta is None:
                continue
            image = fleet_lab.inspect("image", meta["Image"]) or {}
            from_registry = [d for d in image.get("RepoDigests") or [] if d.startswith(address + "/")]
            rows.append(
                {
                    "host": host.name,
                    "container": meta["Name"].lstrip("/"),
                    "image": meta["Config"]["Image"],
                    "digest": from_registry[0] if from_registry else None,
                }
            )
    return rows


def check_images(rows: list, address: str) -> list:
    bad = []
    for row in rows:
        if row["image"].startswith("vacc-qwen3/"):
            bad.append("%s runs the lab image %s" % (row["container"], row["image"]))
        elif not row["image"].startswith(address + "/") or not row["digest"]:
            bad.append("%s runs %s, not an image pulled from %s" % (row["container"], row["image"], address))
    return bad


# What each playbook leaves in the project's results/ (its working directory), per server where per host.
RESULTS = {
    "benchmark": ["benchmark/*/{host}/*.json", "report/*"],
    "evaluate": ["accuracy/*-{host}/summary.json"],
    "monitoring": ["monitoring/fleet.html"],
}


def check_results(results: Path, name: str, servers: list) -> tuple:
    """({pattern: files found}, [what is missing]) for the results playbook `name` writes under results/."""
    found, missing = {}, []
    for pattern in RESULTS.get(name, []):
        for host in servers if "{host}" in pattern else [None]:
            glob = pattern.format(host=host)
            files = sorted(str(p.relative_to(results)) for p in results.glob(glob) if p.is_file())
            found[glob] = len(files)
            if not files:
                missing.append("no results/%s" % glob)
    return found, missing


# --- commands ------------------------------------------------------------------------------------
def cmd_run(count: int, keep: bool) -> int:
    t_start = time.monotonic()
    if os.geteuid() != 0:
        raise RehearsalError("run as root: the registry's CA goes into %s" % CERTS_D)
    if load_state():
        raise RehearsalError("a rehearsal is already set up (%s); run `make rehearsal-down` first" % STATE)
    if fleet_lab.lab_containers():
        raise RehearsalError("a fleet lab is up; the rehearsal starts its own: run `make fleet-down` first")
    state = {"started": time.time()}
    base = Path(tempfile.mkdtemp(prefix="vacc-rehearsal-"))
    state["tmp"] = str(base)
    save_state(state)
    ok = False
    try:
        t0 = time.monotonic()
        say("starting the fleet lab (%d servers + gateway host)" % count)
        state["fleet"] = True  # before it starts: an interrupted start is removed by `down` too
        save_state(state)
        if fleet_lab.main(["up", "--hosts", str(count)]) != 0:
            raise RehearsalError("the fleet lab did not start")
        hosts = fleet_lab.fleet_hosts(count)
        addresses = {h.name: fleet_lab.host_address(h) for h in hosts}
        engine_address = fleet_lab.network_gateway(fleet_lab.inspect("network", fleet_lab.NETWORK))
        setup = {"fleet_s": round(time.monotonic() - t0, 1)}
        t0 = time.monotonic()
        password = os.urandom(18).hex()
        (base / "registry").mkdir()
        address = start_registry(base / "registry", engine_address, password, state)
        say("registry https://%s (htpasswd, CA in %s)" % (address, state["certs_d"]))
        pushed = push_images(address, password, base / "docker-config", state)
        setup["registry_s"] = round(time.monotonic() - t0, 1)
        t0 = time.monotonic()
        project = base / "project"
        project.mkdir()
        make_project(project, hosts, addresses, engine_address, address, password)
        setup["project_s"] = round(time.monotonic() - t0, 1)
        say("project %s: collection installed offline with ansible-core %s" % (project, CORE))
        steps, failures = [], []
        for name, extra in STEPS:
            t0 = time.monotonic()
            res = run_tool(project, "ansible-playbook", "vacc.qwen3." + name, *extra)
            log = project / "results" / "rehearsal" / ("%02d-%s.log" % (len(steps) + 1, name))
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(res.stdout + res.stderr)
            recap = RECAP.findall(res.stdout)
            step = {
                "playbook": "vacc.qwen3." + name,
                "args": extra,
                "rc": res.returncode,
                "seconds": round(time.monotonic() - t0, 1),
                "changed": sum(int(r[2]) for r in recap),
                "hosts": {r[0]: {"ok": int(r[1]), "changed": int(r[2]), "failed": int(r[4])} for r in recap},
            }
            step["containers"] = running_images(hosts, address)
            bad = check_images(step["containers"], address)
            if res.returncode == 0 and name in RESULTS:
                step["results"], lost = check_results(
                    project / "results", name, [h.name for h in hosts if h.role == "server"]
                )
                bad += lost
            steps.append(step)
            say("%-20s rc=%d changed=%d %.0fs%s" % (step["playbook"], step["rc"], step["changed"], step["seconds"],
                "; " + "; ".join(bad) if bad else ""))  # fmt: skip
            failures += ["%s: %s" % (step["playbook"], b) for b in bad]
            if res.returncode != 0:
                failures.append("%s failed (rc %d); see %s" % (step["playbook"], res.returncode, log))
                print("\n".join((res.stdout + res.stderr).splitlines()[-40:]))
                break
        deploys = [s for s in steps if s["playbook"] == "vacc.qwen3.deploy"]
        if len(deploys) == 2 and deploys[1]["changed"] != 0:
            failures.append("the second deploy changed %d things (must be 0)" % deploys[1]["changed"])
        if not any(s["containers"] for s in steps):
            failures.append("no playbook left a container running to check")
        summary = {
            "ansible_core": CORE,
            "hosts": [h.name for h in hosts],
            "registry": address,
            "pushed": pushed,
            "setup": setup,
            "steps": steps,
            "digests_ran": sorted({c["digest"] for s in steps for c in s["containers"] if c["digest"]}),
            "failures": failures,
            "seconds": round(time.monotonic() - t_start, 1),
        }
        write_json(project / "results" / "rehearsal" / "summary.json", summary)
        out = ROOT / "results" / "rehearsal"
        out.mkdir(parents=True, exist_ok=True)
        shutil.copytree(project / "results" / "rehearsal", out, dirs_exist_ok=True)  # the summary and the logs
        say("summary %s (copied to %s)" % (project / "results" / "rehearsal" / "summary.json", out))
        ok = not failures and len(steps) == len(STEPS)
        for failure in failures:
            say("FAILED: " + failure)
    finally:
        if not keep:
            cmd_down()
    say("%s in %.0fs" % ("passed" if ok else "FAILED", time.monotonic() - t_start))
    return 0 if ok else 1


def cmd_down() -> int:
    state = load_state()
    removed = []
    if state.get("fleet"):  # only a fleet this rehearsal started (run refuses to start beside another one)
        fleet_lab.main(["down"])
        removed.append("fleet lab")
    pid = state.get("registry_pid")
    if pid:
        try:
            os.killpg(pid, signal.SIGTERM)  # its own session (start_new_session): the registry alone
            removed.append("registry (pid %d)" % pid)
        except ProcessLookupError:
            pass
    for ref in state.get("tags", []):
        repo = ref.rsplit(":", 1)[0]
        refs = fleet_lab.docker("image", "ls", "--digests", "--format", "{{.Repository}}:{{.Tag}}@{{.Digest}}", repo)
        for line in refs.split():
            name, _, digest = line.partition("@")
            for one in (name, "%s@%s" % (repo, digest)):
                if not one.endswith(":<none>") and "<none>" not in one:
                    fleet_lab.docker("image", "rm", one, check=False)
        removed.append(repo)
    if state.get("certs_d") and Path(state["certs_d"]).exists():
        shutil.rmtree(state["certs_d"])
        removed.append(state["certs_d"])
    if state.get("tmp") and Path(state["tmp"]).exists():
        shutil.rmtree(state["tmp"])
        removed.append(state["tmp"])
    STATE.unlink(missing_ok=True)
    say("removed %s" % (", ".join(removed) if removed else "nothing (no rehearsal here)"))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="set up, run the playbooks, write the summary, remove it all (unless --keep)")
    run.add_argument("--hosts", type=int, default=int(os.environ.get("REHEARSAL_HOSTS") or 2))
    run.add_argument("--keep", action="store_true", default=bool(os.environ.get("REHEARSAL_KEEP")))
    sub.add_parser("down", help="remove what a rehearsal left")
    args = parser.parse_args(argv)
    try:
        return cmd_run(args.hosts, args.keep) if args.command == "run" else cmd_down()
    except (RehearsalError, fleet_lab.FleetError) as exc:
        print("rehearsal: %s" % exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
