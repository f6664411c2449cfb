"""The fleet lab (tools/fleet_lab.py, `make fleet`): hosts reached over real SSH, sibling engines,
host-to-host SSH, the link limit, idempotence and a clean `make fleet-down`.

Runs after `make fleet` (`make test-fleet-lab` does that first) with the same FLEET_HOSTS and
FLEET_LINK_MBIT; starts the fleet itself when there is none. Tests that change the fleet put the
settings back, and the last one removes the fleet and starts it again as it was.
"""

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FLEET_LAB = ROOT / "tools" / "fleet_lab.py"
INVENTORY = ROOT / "inventories" / "fleet"
DATA_ROOT = Path("/var/lib/vacc-qwen3-fleet")
LAB_LABEL = "vacc.qwen3.lab=fleet-host"
HOSTS = os.environ.get("FLEET_HOSTS", "3")
LINK = os.environ.get("FLEET_LINK_MBIT", "")
TEST_MBIT = 80  # 20 MB take 2 s at this rate, and SSH on 2 cores is far faster unshaped (~750 Mbit/s)
ENV = dict(
    os.environ,
    ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
    ANSIBLE_NOCOLOR="1",
    ANSIBLE_DEPRECATION_WARNINGS="0",
    ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
    ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
)


def run(cmd, timeout=300, check=True):
    res = subprocess.run(
        [str(c) for c in cmd], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check:
        assert res.returncode == 0, "%s\n%s\n%s" % (" ".join(map(str, cmd)), res.stdout[-3000:], res.stderr[-3000:])
    return res


def fleet(*args, hosts=HOSTS, link=LINK):
    cmd = [sys.executable, FLEET_LAB, *args]
    if args[0] == "up":
        cmd += ["--hosts", hosts, "--link-mbit", link]
    return run(cmd).stdout


def ansible(pattern, module, args=None):
    """{host: result} of an ad-hoc module run through the fleet inventory (real SSH)."""
    cmd = [BIN / "ansible", "-i", INVENTORY, pattern, "-m", module] + (["-a", args] if args else [])
    res = run(cmd, check=False)
    try:
        hosts = json.loads(res.stdout)["plays"][0]["tasks"][0]["hosts"]
    except (ValueError, KeyError, IndexError):
        pytest.fail("ansible %s %s: no JSON result\n%s\n%s" % (pattern, module, res.stdout[-2000:], res.stderr[-2000:]))
    failed = {h: r.get("msg", r.get("stderr", "")) for h, r in hosts.items() if r.get("failed") or r.get("unreachable")}
    assert not failed, failed
    return hosts


def docker(*args, check=True):
    return run(["docker", *args], check=check).stdout.strip()


def fleet_ids():
    return {name: docker("inspect", "-f", "{{.Id}}", name) for name in containers()}


def containers():
    return sorted(docker("ps", "-a", "--filter", "label=" + LAB_LABEL, "--format", "{{.Names}}").split())


@pytest.fixture(scope="module")
def inventory():
    if not (INVENTORY / "hosts.yml").exists():
        fleet("up")
    listing = json.loads(run([BIN / "ansible-inventory", "-i", INVENTORY, "--list"]).stdout)
    return listing


def test_inventory_groups_and_distinct_names(inventory):
    servers = inventory["vacc_servers"]["hosts"]
    assert servers == ["fleet-%d" % i for i in range(1, int(HOSTS) + 1)]
    assert inventory["qwen3_gateway"]["hosts"] == ["fleet-gw"]
    hostvars = inventory["_meta"]["hostvars"]
    gateway = json.loads(docker("network", "inspect", "vacc-fleet"))[0]["IPAM"]["Config"][0]["Gateway"]
    for key in (
        "qwen3_service_name",
        "qwen3_service_port",
        "qwen3_service_monitor_port",
        "qwen3_weights_dir",
        "qwen3_service_config_dir",
        "vllm_service_lb_build_dir",
    ):
        values = [hostvars[h][key] for h in servers]
        assert len(set(values)) == len(values), (key, values)
    for i, host in enumerate(servers, 1):
        hv = hostvars[host]
        assert (hv["qwen3_service_port"], hv["qwen3_service_monitor_port"]) == (18100 + i, 19100 + i)
        assert (
            hv["qwen3_service_address"]
            == hv["qwen3_service_bind_address"]
            == hv["qwen3_service_monitor_bind"]
            == gateway
        )
        assert hv["qwen3_weights_dir"] == "/var/lib/vacc-qwen3-fleet/%s/weights" % host
        assert hv["ansible_connection"] == "ssh" and hv["vacc_dies"] == 4
    assert hostvars["fleet-gw"]["gateway_port"] == 18100
    key = Path(hostvars["fleet-1"]["ansible_ssh_private_key_file"])
    assert key.stat().st_mode & 0o777 == 0o600
    assert run(["git", "check-ignore", "-q", key]).returncode == 0
    assert run(["git", "check-ignore", "-q", INVENTORY / "hosts.yml"]).returncode == 0


def test_every_host_answers_over_ssh(inventory):
    hosts = inventory["_meta"]["hostvars"]
    assert set(ansible("all", "ansible.builtin.ping")) == set(hosts)
    facts = ansible("all", "ansible.builtin.setup", "filter=ansible_env")
    for host, result in facts.items():
        # SSH_CONNECTION = client address, port, server address, port: sshd of that very container.
        conn = result["ansible_facts"]["ansible_env"]["SSH_CONNECTION"].split()
        assert conn[2:] == [hosts[host]["ansible_host"], "22"], (host, conn)


def test_hosts_drive_this_machines_engine(inventory):  # pylint: disable=unused-argument
    engine_id = docker("info", "--format", "{{.ID}}")
    for host, result in ansible("fleet-1:fleet-gw", "community.docker.docker_host_info").items():
        assert result["can_talk_to_docker"], host
        assert result["host_info"]["ID"] == engine_id, "%s talks to another engine" % host


def test_data_dir_has_the_same_path_inside_and_outside(inventory):  # pylint: disable=unused-argument
    token = uuid.uuid4().hex
    path = DATA_ROOT / "fleet-2" / "same-path-probe"
    ansible("fleet-2", "ansible.builtin.copy", "dest=%s content=%s mode=0644" % (path, token))
    try:
        assert path.read_text() == token
    finally:
        path.unlink()


def test_hosts_reach_each_other_over_ssh(inventory):  # pylint: disable=unused-argument
    res = ansible("fleet-1", "ansible.builtin.command", "ssh fleet-2 hostname")
    assert res["fleet-1"]["stdout"] == "fleet-2"
    res = ansible("fleet-gw", "ansible.builtin.command", "ssh fleet-1 hostname")
    assert res["fleet-gw"]["stdout"] == "fleet-1"


def test_fleet_containers_and_network_are_labelled(inventory):
    names = ["vacc-" + h for h in inventory["_meta"]["hostvars"]]
    assert sorted(names) == containers()
    for name in names:
        labels = json.loads(docker("inspect", "-f", "{{json .Config.Labels}}", name))
        assert labels["vacc.qwen3.lab"] == "fleet-host", name
        assert labels["vacc.qwen3.fleet.host"] == name[len("vacc-") :]
        assert docker("inspect", "-f", "{{.State.Running}}", name) == "true"
    assert docker("network", "inspect", "-f", '{{index .Labels "vacc.qwen3.lab"}}', "vacc-fleet") == "fleet-network"


def test_up_again_changes_nothing(inventory):  # pylint: disable=unused-argument
    before = fleet_ids()
    mtimes = {p: p.stat().st_mtime_ns for p in INVENTORY.rglob("*.yml")}
    out = fleet("up")
    assert "nothing changed" in out, out
    assert fleet_ids() == before
    assert {p: p.stat().st_mtime_ns for p in INVENTORY.rglob("*.yml")} == mtimes
    assert run([sys.executable, FLEET_LAB, "status"]).returncode == 0


def transfer_mbit(src, dst, size=20_000_000):
    """Mbit/s of `size` random bytes sent from src to dst over SSH, timed by dd on the receiver."""
    cmd = (
        "head -c %d /dev/urandom >/tmp/fleet-blob && ssh %s dd of=/dev/null bs=1M </tmp/fleet-blob; "
        "rc=$?; rm -f /tmp/fleet-blob; exit $rc" % (size, dst)
    )
    out = ansible(src, "ansible.builtin.shell", cmd)[src]["stderr"]
    match = re.search(r"^(\d+) bytes .* copied, ([\d.]+) s", out, re.M)
    assert match and int(match.group(1)) == size, out
    return size * 8 / float(match.group(2)) / 1e6


def test_link_limit(inventory):  # pylint: disable=unused-argument
    before = fleet_ids()
    try:
        out = fleet("up", link=str(TEST_MBIT))
        assert "link %d mbit set" % TEST_MBIT in out or LINK == str(TEST_MBIT), out
        assert "nothing changed" in fleet("up", link=str(TEST_MBIT))
        for host in ("fleet-1", "fleet-gw"):
            qdisc = ansible(host, "ansible.builtin.command", "tc qdisc show dev eth0")[host]["stdout"]
            assert re.search(r"qdisc tbf \S+ root .*rate %dMbit" % TEST_MBIT, qdisc), qdisc
        mbit = transfer_mbit("fleet-1", "fleet-2")
        # Ethernet/IP/TCP headers take ~4 % of the shaped rate; dd times from its start to EOF.
        assert TEST_MBIT * 0.75 <= mbit <= TEST_MBIT * 1.25, "measured %.1f Mbit/s at a %d mbit limit" % (
            mbit,
            TEST_MBIT,
        )
        print("fleet-1 -> fleet-2 at %d mbit: %.1f Mbit/s" % (TEST_MBIT, mbit))
        assert fleet_ids() == before, "changing the limit must not recreate hosts"
    finally:
        out = fleet("up")  # the settings `make fleet` had
    if not LINK:
        assert "link limit removed" in out, out
        qdisc = ansible("fleet-1", "ansible.builtin.command", "tc qdisc show dev eth0")["fleet-1"]["stdout"]
        assert "tbf" not in qdisc, qdisc
        assert transfer_mbit("fleet-1", "fleet-2") > TEST_MBIT * 2, "the limit is gone"
    assert fleet_ids() == before


def test_down_removes_everything_by_label(inventory):  # pylint: disable=unused-argument
    """Last: an engine and a network started by a host (label vacc.qwen3.host) go with the fleet, a
    container whose name merely looks like the fleet's stays; then the fleet comes back as it was."""
    suffix = uuid.uuid4().hex[:8]
    engine, engine_net, decoy = "fleet-test-engine-" + suffix, "fleet-test-net-" + suffix, "vacc-fleet-decoy-" + suffix
    base = "vacc-qwen3/debian-base:bookworm"
    ansible(
        "fleet-1", "ansible.builtin.command", "docker network create --label vacc.qwen3.host=fleet-1 %s" % engine_net
    )
    ansible(
        "fleet-1",
        "ansible.builtin.command",
        "docker run -d --name %s --network %s --label vacc.qwen3.host=fleet-1 -v %s/fleet-1:/data %s sleep infinity"
        % (engine, engine_net, DATA_ROOT, base),
    )
    docker("create", "--name", decoy, base, "true")
    try:
        out = fleet("down")
        assert "fleet-1 (+2 engine objects)" in out, out
        assert docker("ps", "-aq", "--filter", "label=" + LAB_LABEL) == ""
        for host in ["fleet-%d" % i for i in range(1, int(HOSTS) + 1)] + ["fleet-gw"]:
            assert docker("ps", "-aq", "--filter", "label=vacc.qwen3.host=" + host) == "", host
            assert docker("network", "ls", "-q", "--filter", "label=vacc.qwen3.host=" + host) == "", host
        assert docker("network", "ls", "-q", "--filter", "name=^vacc-fleet$") == ""
        assert not DATA_ROOT.exists() and not INVENTORY.exists()
        assert docker("inspect", "-f", "{{.Name}}", decoy) == "/" + decoy, "a name alike is not the fleet's"
        assert "nothing (no fleet here)" in fleet("down"), "down twice is fine"
    finally:
        docker("rm", "-f", decoy, check=False)
        docker("rm", "-f", engine, check=False)
        docker("network", "rm", engine_net, check=False)
        fleet("up")
    assert yaml.safe_load((INVENTORY / "hosts.yml").read_text())["all"]["children"]["qwen3_gateway"]
