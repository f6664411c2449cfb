"""The fleet lab: N Debian test "servers" and a gateway host on this machine, reached over real SSH.

    python tools/fleet_lab.py up [--hosts N] [--link-mbit M]   # make fleet  (FLEET_HOSTS, FLEET_LINK_MBIT)
    python tools/fleet_lab.py status
    python tools/fleet_lab.py down                              # make fleet-down

Each host is a container of vacc-qwen3/fleet-host:bookworm (tools/fleet_host/: sshd as the job of
PID 1, no systemd) on the user-defined bridge network vacc-fleet. It acts as one VA16 server: it
drives this machine's Docker engine through the mounted socket, so the engines it starts are sibling
containers, and its data directory is mounted at the same path inside and outside
(/var/lib/vacc-qwen3-fleet/<host>/) because the engine resolves bind-mount paths on this machine.
`up` is idempotent: what already matches is left alone (same container ids); it writes
inventories/fleet/ for the same playbooks as production. Only the stdlib and the docker CLI are used.
"""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

# --- What the generated inventory says: the one place to adjust role variable names ----------------
# Each block is (comment, variables); the comment is written above the block in the YAML.

# group_vars/vacc_servers.yml: plain variables (not a qwen3_lab_standin dict), so -e always wins.
SERVER_GROUP_VARS = [
    (
        "Each host plans as a one-card VA16 server would (4 dies declared: no vasmi in a test host);\n"
        "one TP2 instance per host keeps N hosts' CPU engines within this machine's cores.",
        {
            "qwen3_model": "Qwen3-0.6B",
            "vacc_card": "VA16",
            "vacc_cards": 1,
            "vacc_dies": 4,
            "qwen3_tp": 2,
            "qwen3_instances": 1,
        },
    ),
    (
        "The tiny random Qwen3 (roles/lab_tiny_model) stands in for the Qwen3-0.6B weights.",
        {
            "qwen3_model_dir": "qwen3-tiny",
            "qwen3_served_model_name": "qwen3-tiny",
        },
    ),
    (
        "Upstream vLLM's CPU build (roles/lab_engine_image) stands in for the vendor's vllm_vacc image: TP1 on\n"
        "the CPU, not privileged (no card to reach, and this sandbox refuses --privileged).",
        {
            "qwen3_service_image": "vacc-qwen3/vllm-cpu-standin:0.32.0",
            "qwen3_service_privileged": False,
            "qwen3_service_shm_size": "1g",
            "qwen3_service_engine_tp": 1,
            "qwen3_service_extra_env": {"VLLM_CPU_KVCACHE_SPACE": "1"},
            "qwen3_service_extra_args": ["--dtype", "bfloat16"],
        },
    ),
    (
        "The weights come from the tiny checkpoint `make lab` wrote on this machine (the controller).",
        {
            "model_download_source": "local",
            "model_download_local_path": "/var/lib/vacc-qwen3/weights/qwen3-tiny",
        },
    ),
    (
        "No registry here: every image is already in the shared engine's store (a missing one fails with a\n"
        "sentence). The lab chooses its offline builds where a real fleet pulls published images: HAProxy from\n"
        "the offline Debian base, Prometheus and the node exporter (with the vasmi collector) from Debian's packages.",
        {
            "vllm_service_pull": False,
            "vllm_service_lb_image": "vacc-qwen3/haproxy:bookworm",
            "vllm_service_lb_build": True,
            "vllm_service_lb_base_image": "vacc-qwen3/debian-base:bookworm",
            "monitoring_image_source": "build",
            "monitoring_prometheus_image": "vacc-qwen3/prometheus:bookworm",
            "monitoring_node_exporter_image": "vacc-qwen3/node-exporter:bookworm",
            "monitoring_image_base": "vacc-qwen3/debian-base:bookworm",
        },
    ),
    (
        "N CPU engines starting at once on 2 cores load slowly; a test host has a few GiB, not a server's.",
        {
            "vllm_service_wait_timeout": 600,
            "preflight_min_memory_gb": 4,
        },
    ),
    (
        "The lab serves a random tiny model and has no registry: Open WebUI is built offline and asks for\n"
        "short answers without thinking (as in inventories/local), the benchmark runs small cases, EvalScope\n"
        "the bundled samples; this sandbox refuses an rslave mount of /.",
        {
            "webui_image_source": "build",
            "webui_build_base": "vacc-qwen3/debian-base:bookworm",
            "webui_default_model_params": {
                "max_tokens": 256,
                "custom_params": {"chat_template_kwargs": {"enable_thinking": False}},
            },
            "benchmark_input_len": 32,
            "benchmark_output_len": 16,
            "accuracy_preset": "sample",
            "monitoring_node_exporter_rootfs_options": "ro",
        },
    ),
]


def server_host_vars(host: "Host", engine_address: str) -> list:
    """host_vars/fleet-<i>.yml: every name and port differs, since all hosts' engines share one engine."""
    i, data = host.index, host.data_dir
    return [
        (
            "Container and network names derive from the service name: distinct per host on the shared engine.",
            {
                "qwen3_service_name": "fleet%d_vllm" % i,
            },
        ),
        (
            "The server's public door (published on this machine) and its monitor port.",
            {
                "qwen3_service_port": 18100 + i,
                "qwen3_service_monitor_port": 19100 + i,
            },
        ),
        (
            "Published ports answer on this machine, which the fleet hosts see as the vacc-fleet network's\n"
            "gateway; 127.0.0.1 inside a test host is the test host itself, not where its engines publish.\n"
            "The door and its monitor listener are bound to that address only.",
            {
                "qwen3_service_address": engine_address,
                "qwen3_service_bind_address": engine_address,
                "qwen3_service_monitor_bind": engine_address,
            },
        ),
        (
            "The host's data directory, mounted at the same path in the host and on this machine: the engine\n"
            "resolves the bind mounts of the containers this host starts on this machine.",
            {
                "qwen3_weights_dir": "%s/weights" % data,
                "qwen3_service_config_dir": "%s/etc" % data,
                "vllm_service_lb_build_dir": "%s/build" % data,
                "vllm_service_textfile_dir": "%s/textfile" % data,
            },
        ),
        (
            "Its Open WebUI and node exporter on this machine's network too (host networking): distinct\n"
            "names and ports, on the address the host reaches (as the door), its secrets in the data directory (the\n"
            "engine mounts them from this machine); the node exporter reads the textfile directory the service writes.",
            {
                "webui_container_name": "fleet%d_webui" % i,
                "webui_data_volume": "fleet%d_webui" % i,
                "webui_port": 18180 + i,
                "webui_bind_address": engine_address,
                "webui_secrets_dir": "%s/etc/webui" % data,
                "monitoring_node_exporter_container": "fleet%d_node_exporter" % i,
                "monitoring_node_exporter_bind": engine_address,
                "monitoring_node_exporter_port": 19200 + i,
                "monitoring_textfile_dir": "%s/textfile" % data,
            },
        ),
    ]


def gateway_host_vars(host: "Host", engine_address: str) -> list:
    """host_vars/fleet-gw.yml."""
    data = host.data_dir
    return [
        (
            "The fleet's single entry point. The gateway container runs on this machine's network (host\n"
            "networking), so its ports are this machine's: the public one on the vacc-fleet gateway address, where\n"
            "the doors are too, and its monitor listener next to the servers' monitor ports.",
            {
                "gateway_port": 18100,
                "gateway_bind_address": engine_address,
                "gateway_monitor_bind": engine_address,
                "gateway_monitor_port": 19100,
                "gateway_name": "fleet_gw_gateway",
            },
        ),
        (
            "Its configuration and build context in the host's data directory, at the same path on this machine.",
            {
                "gateway_config_dir": "%s/etc/gateway" % data,
                "gateway_build_dir": "%s/build" % data,
            },
        ),
        (
            "The lab's offline builds, not the published images a real fleet pulls: HAProxy from the Debian base.",
            {
                "gateway_image": "vacc-qwen3/haproxy:bookworm",
                "gateway_image_build": True,
                "gateway_base_image": "vacc-qwen3/debian-base:bookworm",
            },
        ),
        (
            "It also runs the fleet's Prometheus (group qwen3_monitoring), on this machine's network beside a\n"
            "local demo's: its own names, port and configuration directory.",
            {
                "monitoring_prometheus_container": "fleet_prometheus",
                "monitoring_prometheus_data_volume": "fleet_prometheus",
                "monitoring_listen_address": engine_address,
                "monitoring_listen_port": 19190,
                "monitoring_config_dir": "%s/etc/prometheus" % data,
                "monitoring_image_source": "build",
                "monitoring_prometheus_image": "vacc-qwen3/prometheus:bookworm",
                "monitoring_node_exporter_image": "vacc-qwen3/node-exporter:bookworm",
                "monitoring_image_base": "vacc-qwen3/debian-base:bookworm",
            },
        ),
    ]


# --- The lab's objects -----------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parent.parent
IMAGE = "vacc-qwen3/fleet-host:bookworm"
BASE_IMAGE = os.environ.get("VACC_BASE_IMAGE", "vacc-qwen3/debian-base:bookworm")
RECIPE_DIR = ROOT / "tools" / "fleet_host"
NETWORK = "vacc-fleet"
CONTAINER_PREFIX = "vacc-"  # container vacc-fleet-1 is inventory host fleet-1
LAB = "vacc.qwen3.lab"  # label key: what the lab owns, by kind
LAB_HOST, LAB_NETWORK, LAB_IMAGE, LAB_STAGE = "fleet-host", "fleet-network", "fleet-host-image", "fleet-host-build"
HOST_NAME = "vacc.qwen3.fleet.host"  # label key: the container's inventory name
SPEC = "vacc.qwen3.fleet.spec"  # label key: hash of how the container was run
RECIPE = "vacc.qwen3.recipe-sha256"  # label key: hash of the image's recipe (as the repo's offline image builds)
ENGINE_HOST = "vacc.qwen3.host"  # label key the roles put on what a host starts on the engine
DATA_ROOT = Path("/var/lib/vacc-qwen3-fleet")
KEY = ROOT / ".fleet" / "id_ed25519"
INVENTORY = ROOT / "inventories" / "fleet"
DOCKER_SOCK = "/var/run/docker.sock"
SSH_OPTS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
SSH_WAIT_S = 60
MAX_HOSTS = 50  # ports 18100+i and 19100+i stay in their hundreds
GENERATED = "# Generated by tools/fleet_lab.py (make fleet); rewritten on every run: do not edit.\n"


class FleetError(Exception):
    """A one-sentence reason the command cannot go on."""


@dataclasses.dataclass(frozen=True)
class Host:
    """One fleet host: fleet-<i> (a VA16 server) or fleet-gw (the gateway)."""

    name: str
    index: int  # 1..N for servers, 0 for the gateway

    @property
    def role(self) -> str:
        return "gateway" if self.index == 0 else "server"

    @property
    def container(self) -> str:
        return CONTAINER_PREFIX + self.name

    @property
    def data_dir(self) -> Path:
        return DATA_ROOT / self.name


def fleet_hosts(count: int) -> list:
    return [Host("fleet-%d" % i, i) for i in range(1, count + 1)] + [Host("fleet-gw", 0)]


# --- docker CLI --------------------------------------------------------------------------------
def docker(*args, check=True, stdin=None, timeout=120) -> str:
    """Run the docker CLI; on failure, raise with docker's own last line."""
    try:
        res = subprocess.run(
            ["docker", *args], input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise FleetError("the docker CLI is not installed; run `make lab` first") from exc
    if check and res.returncode != 0:
        lines = (res.stderr.strip() or res.stdout.strip() or "exit %d" % res.returncode).splitlines()
        raise FleetError("docker %s failed: %s" % (" ".join(args[:2]), lines[-1]))
    return res.stdout.strip()


def ids(*args) -> list:
    return docker(*args).split()


def inspect(kind: str, name: str):
    """The object's inspect JSON, or None when it does not exist."""
    res = subprocess.run(["docker", kind, "inspect", name], capture_output=True, text=True, check=False)
    return json.loads(res.stdout)[0] if res.returncode == 0 else None


def require_engine():
    try:
        res = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except FileNotFoundError as exc:
        raise FleetError("the docker CLI is not installed; run `make lab` first") from exc
    if res.returncode != 0 or not res.stdout.strip():
        raise FleetError("no Docker engine answers on this machine; run `make lab` (it starts one)")


def engine_socket() -> str:
    """The engine's socket on this machine, which every host gets at /var/run/docker.sock."""
    host = os.environ.get("DOCKER_HOST", "")
    path = host[len("unix://") :] if host.startswith("unix://") else DOCKER_SOCK if not host else ""
    if not path:
        raise FleetError(
            "DOCKER_HOST=%s is not a local socket; the fleet hosts need this machine's engine socket" % host
        )
    if not Path(path).is_socket():
        raise FleetError("the Docker engine socket %s is missing; run `make lab` (it starts the engine)" % path)
    return path


def require_root():
    if os.geteuid() != 0:
        raise FleetError("run as root: the fleet's data directories live under %s" % DATA_ROOT)


# --- the host image ----------------------------------------------------------------------------
def recipe_hash(base_id: str) -> str:
    """The recipe is every file of tools/fleet_host/ plus the base image it starts from."""
    digest = hashlib.sha256(base_id.encode())
    for path in sorted(p for p in RECIPE_DIR.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(RECIPE_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def ensure_image() -> tuple:
    """(image id, built?): the fleet-host image, rebuilt only when its recipe changed."""
    base = inspect("image", BASE_IMAGE)
    if base is None:
        raise FleetError(
            "the base image %s is missing; run `make lab` (scripts/lab-bootstrap.sh builds it)" % BASE_IMAGE
        )
    want = recipe_hash(base["Id"])
    have = inspect("image", IMAGE)
    if have is not None and (have["Config"].get("Labels") or {}).get(RECIPE) == want:
        return have["Id"], False
    print("fleet: building %s (recipe %s)" % (IMAGE, want[:12]), flush=True)
    # host network: the RUN steps reach the Debian mirror where the bridge may have no way out.
    docker(
        "build",
        "--quiet",
        "--network",
        "host",
        "--build-arg",
        "BASE=" + BASE_IMAGE,
        "--label",
        "%s=%s" % (LAB, LAB_IMAGE),
        "--label",
        "%s=%s" % (RECIPE, want),
        "--label",
        "org.opencontainers.image.description=fleet lab test host (sshd, docker CLI) from " + BASE_IMAGE,
        "-t",
        IMAGE,
        str(RECIPE_DIR),
        timeout=1800,
    )
    return inspect("image", IMAGE)["Id"], True


def prune_images():
    """The legacy builder leaves the docker-cli stage untagged, and a rebuild the image it superseded:
    remove the dangling images with the lab's labels (an image a container still uses stays)."""
    for value in (LAB_STAGE, LAB_IMAGE):
        for image_id in ids("image", "ls", "-q", "--filter", "dangling=true", "--filter", "label=%s=%s" % (LAB, value)):
            docker("image", "rm", image_id, check=False)


# --- the key pair --------------------------------------------------------------------------------
def ensure_key() -> tuple:
    """(private, public) of the lab key, made once under .fleet/ (git-ignored), 0600."""
    KEY.parent.mkdir(mode=0o700, exist_ok=True)
    if not KEY.exists():
        if shutil.which("ssh-keygen") is None:
            raise FleetError("ssh-keygen is missing on this machine; install Debian's openssh-client")
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vacc-qwen3 fleet lab", "-f", str(KEY)], check=True
        )
        print("fleet: generated the lab key %s" % KEY.relative_to(ROOT))
    os.chmod(KEY, 0o600)  # ssh refuses a key others can read
    pub = KEY.with_suffix(".pub")
    if not pub.exists():
        pub.write_text(
            subprocess.run(["ssh-keygen", "-y", "-f", str(KEY)], capture_output=True, text=True, check=True).stdout
        )
    return KEY.read_text(), pub.read_text()


# --- network -----------------------------------------------------------------------------------
def ensure_network() -> tuple:
    """(network id, gateway address, created?) of the vacc-fleet bridge network."""
    net = inspect("network", NETWORK)
    created = False
    if net is None:
        docker("network", "create", "--driver", "bridge", "--label", "%s=%s" % (LAB, LAB_NETWORK), NETWORK)
        net, created = inspect("network", NETWORK), True
    elif (net.get("Labels") or {}).get(LAB) != LAB_NETWORK:
        raise FleetError(
            "a Docker network named %s exists that the fleet lab did not create; remove or rename it" % NETWORK
        )
    return net["Id"], network_gateway(net), created


def network_gateway(net: dict) -> str:
    """The network's gateway address: this machine as the fleet hosts see it."""
    for cfg in (net.get("IPAM") or {}).get("Config") or []:
        if cfg.get("Gateway"):
            return cfg["Gateway"]
    raise FleetError("the network %s has no gateway address in its IPAM config" % NETWORK)


# --- hosts -------------------------------------------------------------------------------------
def run_args(host: Host, image_id: str) -> list:
    """How a fleet host runs: its spec hash covers all of this, so a change recreates the container."""
    data = str(host.data_dir)
    return [
        "--hostname",
        host.name,
        "--network",
        NETWORK,
        "--network-alias",
        host.name,  # `ssh fleet-2` works between hosts
        "--init",  # docker-init is PID 1: reaps, forwards signals
        "--cap-add",
        "NET_ADMIN",  # tc on the host's own eth0
        "--volume",
        "%s:%s" % (engine_socket(), DOCKER_SOCK),  # engines are siblings on this machine's engine
        "--volume",
        "%s:%s" % (data, data),  # same path inside and outside (see above)
        "--label",
        "%s=%s" % (LAB, LAB_HOST),
        "--label",
        "%s=%s" % (HOST_NAME, host.name),
        "--label",
        "vacc.qwen3.fleet.role=" + host.role,
        image_id,
    ]


def ensure_host(host: Host, image_id: str, network_id: str) -> str:
    """Create, start, recreate or keep one host container; returns what it did."""
    args = run_args(host, image_id)
    spec = hashlib.sha256("\0".join(args).encode()).hexdigest()
    have = inspect("container", host.container)
    if have is not None:
        labels = have["Config"].get("Labels") or {}
        if labels.get(LAB) != LAB_HOST:
            raise FleetError(
                "a container named %s exists that the fleet lab did not create; remove or rename it" % host.container
            )
        attached = ((have["NetworkSettings"].get("Networks") or {}).get(NETWORK) or {}).get("NetworkID")
        # A stopped host keeps the id of a network that was removed and made again: it could not start.
        if labels.get(SPEC) == spec and attached == network_id:
            if have["State"]["Running"]:
                return "kept"
            docker("start", host.container)
            return "started"
        docker("rm", "-f", host.container)
    host.data_dir.mkdir(parents=True, exist_ok=True)
    docker("run", "--detach", "--name", host.container, "--label", "%s=%s" % (SPEC, spec), *args)
    return "recreated" if have is not None else "created"


def host_address(host: Host) -> str:
    net = ((inspect("container", host.container) or {}).get("NetworkSettings") or {}).get("Networks") or {}
    address = (net.get(NETWORK) or {}).get("IPAddress")
    if not address:
        raise FleetError("%s has no address on the network %s" % (host.container, NETWORK))
    return address


def wait_sshd(hosts: list, addresses: dict):
    """Wait until every host's sshd sends its banner, with one deadline for all (no fixed sleeps)."""
    deadline = time.monotonic() + SSH_WAIT_S
    pending = list(hosts)
    while pending:
        pending = [h for h in pending if not _ssh_banner(addresses[h.name])]
        if not pending:
            return
        if time.monotonic() > deadline:
            names = ", ".join(h.name for h in pending)
            raise FleetError(
                "sshd did not answer within %ds on %s; see `docker logs %s`" % (SSH_WAIT_S, names, pending[0].container)
            )
        time.sleep(0.1)  # poll interval, not a synchronisation delay


def _ssh_banner(address: str) -> bool:
    try:
        with socket.create_connection((address, 22), timeout=1) as sock:
            sock.settimeout(2)
            return sock.recv(64).startswith(b"SSH-")
    except OSError:
        return False


# Run in each host: write the lab key and SSH client settings; prints the files it changed.
PROVISION = r"""
import json, os, sys
changed = []
for path, (mode, text) in json.load(sys.stdin).items():
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    try:
        with open(path) as f:
            same = f.read() == text
    except FileNotFoundError:
        same = False
    if not same:
        tmp = path + ".tmp"
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "w") as f:
            f.write(text)
        os.replace(tmp, path)
        changed.append(path)
    if os.stat(path).st_mode & 0o777 != mode:
        os.chmod(path, mode)
        changed.append(path)
print(json.dumps(changed))
"""

# Between fleet hosts (host-to-host rsync of weights) as inside the lab generally: host keys unchecked.
SSH_CLIENT_CONFIG = """# Written by tools/fleet_lab.py: fleet lab hosts reach each other with the lab key.
Host *
    IdentityFile /root/.ssh/id_ed25519
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    LogLevel ERROR
"""


def provision(host: Host, private: str, public: str) -> list:
    files = {
        "/root/.ssh/authorized_keys": [0o600, public],
        "/root/.ssh/id_ed25519": [0o600, private],
        "/root/.ssh/id_ed25519.pub": [0o644, public],
        "/root/.ssh/config": [0o600, SSH_CLIENT_CONFIG],
    }
    out = docker("exec", "-i", host.container, "python3", "-c", PROVISION, stdin=json.dumps(files))
    return json.loads(out.splitlines()[-1])


def tbf_params(mbit: int) -> dict:
    """tbf for FLEET_LINK_MBIT: burst is 5 ms of the rate (at least 32 KiB, so a 64 KiB GSO packet
    is split, not dropped, and the timer need not fire per packet); latency 50 ms bounds the queue
    to 50 ms of the rate, a datacenter switch's shallow buffer rather than bufferbloat."""
    rate = mbit * 1_000_000 // 8  # bytes per second, as tc reports it
    return {"rate": rate, "burst": max(32 * 1024, rate * 5 // 1000), "latency_ms": 50}


def root_qdisc(container: str) -> dict:
    qdiscs = json.loads(docker("exec", container, "tc", "-j", "qdisc", "show", "dev", "eth0") or "[]")
    return next((q for q in qdiscs if q.get("root")), {})


def ensure_link(host: Host, mbit) -> tuple:
    """(changed?, state): the host's egress on eth0 shaped to mbit (None: not shaped)."""
    root = root_qdisc(host.container)
    if mbit is None:
        if root.get("kind") != "tbf":
            return False, "link unlimited"
        docker("exec", host.container, "tc", "qdisc", "del", "dev", "eth0", "root")
        return True, "link limit removed"
    want = tbf_params(mbit)
    opts = root.get("options") or {}
    if (
        root.get("kind") == "tbf"
        and opts.get("rate") == want["rate"]
        and opts.get("burst") == want["burst"]
        and abs(opts.get("lat", 0) - want["latency_ms"] * 1000) < 1000
    ):
        return False, "link %d mbit" % mbit
    docker(
        "exec",
        host.container,
        "tc",
        "qdisc",
        "replace",
        "dev",
        "eth0",
        "root",
        "tbf",
        "rate",
        "%dmbit" % mbit,
        "burst",
        str(want["burst"]),
        "latency",
        "%dms" % want["latency_ms"],
    )
    return True, "link %d mbit set" % mbit


def check_login(address: str):
    """The controller logs in with the lab key as Ansible will (BatchMode: no prompt can hang)."""
    res = subprocess.run(
        ["ssh", "-i", str(KEY), *SSH_OPTS, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "root@" + address, "true"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if res.returncode != 0:
        reason = res.stderr.strip() or "exit %d" % res.returncode
        raise FleetError("ssh root@%s with %s failed: %s" % (address, KEY.relative_to(ROOT), reason))


# --- inventory ---------------------------------------------------------------------------------
PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./@-]*$")
YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


def yaml_value(value) -> str:
    """A scalar plain where YAML reads it back as the same string, JSON (valid YAML) otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and PLAIN.match(value) and value.lower() not in YAML_WORDS:
        return value
    return json.dumps(value)


def yaml_blocks(blocks: list, indent: int = 0) -> str:
    pad = " " * indent
    out = []
    for comment, variables in blocks:
        out += [pad + "# " + line for line in comment.splitlines()]
        out += ["%s%s: %s" % (pad, k, yaml_value(v)) for k, v in variables.items()]
    return "\n".join(out) + "\n"


def render_inventory(hosts: list, addresses: dict, engine_address: str) -> dict:
    """{relative path: text} of inventories/fleet/."""
    servers = [h for h in hosts if h.role == "server"]
    gateways = [h for h in hosts if h.role == "gateway"]
    connection = [
        (
            "Real SSH with the lab key; inside the lab host keys are not checked (hosts are recreated).",
            {
                "ansible_connection": "ssh",
                "ansible_user": "root",
                "ansible_ssh_private_key_file": str(KEY),
                "ansible_ssh_common_args": " ".join(SSH_OPTS),
                "ansible_python_interpreter": "/usr/bin/python3",
            },
        )
    ]
    lines = [
        GENERATED
        + "# Hosts are containers on the vacc-fleet network (%s); `make fleet-down` removes them." % engine_address,
        "all:",
        "  vars:",
        yaml_blocks(connection, 4).rstrip("\n"),
        "  children:",
    ]
    for group, members in (("vacc_servers", servers), ("qwen3_gateway", gateways), ("qwen3_monitoring", gateways)):
        lines += ["    %s:" % group, "      hosts:"]
        lines += ["        %s:\n          ansible_host: %s" % (h.name, addresses[h.name]) for h in members]
    files = {
        "hosts.yml": "\n".join(lines) + "\n",
        "group_vars/vacc_servers.yml": GENERATED + "---\n" + yaml_blocks(SERVER_GROUP_VARS),
    }
    for host in hosts:
        blocks = (server_host_vars if host.role == "server" else gateway_host_vars)(host, engine_address)
        files["host_vars/%s.yml" % host.name] = GENERATED + "---\n" + yaml_blocks(blocks)
    return files


def write_inventory(files: dict) -> bool:
    """Write inventories/fleet/ (only what differs; files of hosts no longer there go); changed?"""
    changed = False
    INVENTORY.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = INVENTORY / rel
        if path.exists() and path.read_text() == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
        changed = True
    for path in sorted(INVENTORY.rglob("*"), reverse=True):
        rel = str(path.relative_to(INVENTORY))
        if path.is_file() and rel not in files:
            path.unlink()
            changed = True
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return changed


# --- removal -----------------------------------------------------------------------------------
def lab_containers() -> dict:
    """{inventory name: container id} of every container with the fleet host label."""
    out = {}
    for cid in ids("ps", "-aq", "--filter", "label=%s=%s" % (LAB, LAB_HOST)):
        meta = inspect("container", cid)
        if meta is not None:
            out[(meta["Config"].get("Labels") or {}).get(HOST_NAME, cid)] = cid
    return out


def remove_engines(name: str) -> int:
    """Remove what the roles started for host `name` (label vacc.qwen3.host=<name>); by label only."""
    label = "label=%s=%s" % (ENGINE_HOST, name)
    count = 0
    containers = ids("ps", "-aq", "--filter", label)
    if containers:
        docker("rm", "-f", "--volumes", *containers)
        count += len(containers)
    for kind in ("network", "volume"):
        found = ids(kind, "ls", "-q", "--filter", label)
        if found:
            docker(kind, "rm", *found)
            count += len(found)
    return count


def remove_host(name: str, cid) -> int:
    """A host, then what it started, then its data (engines may have written into it)."""
    if cid:
        docker("rm", "-f", "--volumes", cid)
    count = remove_engines(name)
    if (DATA_ROOT / name).exists():
        shutil.rmtree(DATA_ROOT / name)
    return count


# --- commands ----------------------------------------------------------------------------------
def lock():
    """One fleet command at a time on this checkout (held until the process exits)."""
    KEY.parent.mkdir(mode=0o700, exist_ok=True)
    handle = open(KEY.parent / "lock", "w", encoding="utf-8")  # pylint: disable=consider-using-with
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        raise FleetError("another fleet command is running on this checkout (%s is locked)" % handle.name) from exc
    return handle


def cmd_up(count: int, mbit) -> int:
    t0 = time.monotonic()
    require_root()
    require_engine()
    if shutil.which("ssh") is None:
        raise FleetError("ssh is missing on this machine (the controller); install Debian's openssh-client")
    _lock = lock()
    image_id, built = ensure_image()
    private, public = ensure_key()
    network_id, engine_address, net_created = ensure_network()
    hosts = fleet_hosts(count)
    wanted = {h.name for h in hosts}
    changes = ["image built"] if built else []
    changes += ["network created"] if net_created else []
    for name, cid in sorted(lab_containers().items()):  # a smaller FLEET_HOSTS than last time
        if name not in wanted:
            engines = remove_host(name, cid)
            changes.append("%s removed (+%d engine objects)" % (name, engines))
    states, addresses = {}, {}
    for host in hosts:
        states[host.name] = ensure_host(host, image_id, network_id)
        addresses[host.name] = host_address(host)
    wait_sshd(hosts, addresses)
    rows = []
    for host in hosts:
        keys = provision(host, private, public)
        link_changed, link = ensure_link(host, mbit)
        check_login(addresses[host.name])
        did = [states[host.name]] + (["ssh files written"] if keys else []) + [link]
        changes += ["%s %s" % (host.name, states[host.name])] if states[host.name] != "kept" else []
        changes += ["%s ssh files written" % host.name] if keys else []
        changes += ["%s %s" % (host.name, link)] if link_changed else []
        rows.append("  %-9s %-15s %-14s %s" % (host.name, addresses[host.name], host.container, ", ".join(did)))
    if write_inventory(render_inventory(hosts, addresses, engine_address)):
        changes.append("inventory written")
    if built:
        prune_images()
    print("fleet: %d servers + gateway on %s (this machine as the hosts see it: %s)" % (count, NETWORK, engine_address))
    print("\n".join(rows))
    summary = "changed: " + "; ".join(changes) if changes else "nothing changed"
    print("fleet: inventory %s; %s; %.1fs" % (INVENTORY.relative_to(ROOT), summary, time.monotonic() - t0))
    return 0


def cmd_down() -> int:
    t0 = time.monotonic()
    require_root()
    require_engine()
    _lock = lock()
    containers = lab_containers()
    # Host names: the containers' labels, and the data directories (a host whose container is already
    # gone may still have engines running).
    names = set(containers) | ({p.name for p in DATA_ROOT.iterdir() if p.is_dir()} if DATA_ROOT.exists() else set())
    removed = []
    for name in sorted(names):
        engines = remove_host(name, containers.get(name))
        removed.append(name + (" (+%d engine objects)" % engines if engines else ""))
    net = inspect("network", NETWORK)
    if net is not None and (net.get("Labels") or {}).get(LAB) == LAB_NETWORK:
        attached = [c.get("Name", cid) for cid, c in (net.get("Containers") or {}).items()]
        if attached:
            raise FleetError(
                "the network %s still has containers attached (%s); remove them, then rerun"
                % (NETWORK, ", ".join(sorted(attached)))
            )
        docker("network", "rm", NETWORK)
        removed.append("network " + NETWORK)
    if DATA_ROOT.exists():
        shutil.rmtree(DATA_ROOT)
        removed.append(str(DATA_ROOT))
    if INVENTORY.exists():
        shutil.rmtree(INVENTORY)
        removed.append(str(INVENTORY.relative_to(ROOT)))
    print(
        "fleet: removed %s in %.1fs"
        % (", ".join(removed) if removed else "nothing (no fleet here)", time.monotonic() - t0)
    )
    print("fleet: kept the image %s and the key %s for the next `make fleet`" % (IMAGE, KEY.relative_to(ROOT)))
    return 0


def cmd_status() -> int:
    require_engine()
    containers = lab_containers()
    if not containers:
        print("fleet: no fleet hosts (make fleet starts them)")
        return 3
    ok = True
    for name in sorted(containers, key=lambda n: (n == "fleet-gw", len(n), n)):
        meta = inspect("container", containers[name]) or {}
        running = (meta.get("State") or {}).get("Running", False)
        address = (((meta.get("NetworkSettings") or {}).get("Networks") or {}).get(NETWORK) or {}).get("IPAddress", "")
        sshd = running and address and _ssh_banner(address)
        link = "-"
        if running:
            root = root_qdisc(containers[name])
            if root.get("kind") == "tbf":
                link = "%g mbit" % (root["options"]["rate"] * 8 / 1e6)
        engines = len(ids("ps", "-q", "--filter", "label=%s=%s" % (ENGINE_HOST, name)))
        ok &= bool(sshd)
        print(
            "  %-9s %-8s %-15s sshd %-4s link %-9s engines %d"
            % (name, "running" if running else "stopped", address, "up" if sshd else "DOWN", link, engines)
        )
    return 0 if ok else 1


def _count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_HOSTS:
        raise FleetError("FLEET_HOSTS must be a whole number from 1 to %d, not %r" % (MAX_HOSTS, text))
    return int(text)


def _mbit(text: str):
    if text.strip() == "":
        return None
    if not text.strip().isdigit() or int(text) < 1:
        raise FleetError("FLEET_LINK_MBIT must be a whole number of Mbit/s (or empty for no limit), not %r" % text)
    return int(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start or converge the fleet and write inventories/fleet/")
    up.add_argument("--hosts", default=os.environ.get("FLEET_HOSTS", "3"), help="servers (FLEET_HOSTS, default 3)")
    up.add_argument(
        "--link-mbit",
        default=os.environ.get("FLEET_LINK_MBIT", ""),
        help="egress limit of each host in Mbit/s (FLEET_LINK_MBIT; empty: none)",
    )
    sub.add_parser("down", help="remove the fleet, its engines, data and inventory")
    sub.add_parser("status", help="show the fleet hosts")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            return cmd_up(_count(args.hosts), _mbit(args.link_mbit))
        if args.command == "down":
            return cmd_down()
        return cmd_status()
    except FleetError as exc:
        print("fleet: %s" % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
