# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Prometheus scrape targets (file_sd) of a fleet, from what the service role leaves on every host.

Input, per inventory host (its hostvars, read lazily: only the keys below are touched):
  qwen3_service                    {name, host, instances: [{name, index, port}], image,
                                    door: {name, port, address, monitor: {bind, port}}}
  monitoring_node_exporter_target  {address, port}: set by the monitoring role's exporter phase
  gateway_monitor_bind/_port (hosts of the gateway group) the gateway's monitor listener
  ansible_host, ansible_connection how Prometheus's host reaches it

Output: one file_sd file per job (targets/<job>.json: four files whatever the fleet's size), and the
planned image of every service (the image-drift rule compares the running images against it). A run
limited to a few hosts (--limit) rewrites their entries and carries the others' over. Standard library only.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import posixpath

JOBS = ("engine", "door", "gateway", "node")
# Job names as Prometheus shows them (`job` label); the rules and the dashboard select on these.
JOB_NAMES = {job: "vacc_qwen3_%s" % job for job in JOBS}
WILDCARDS = ("", "0.0.0.0", "::", "*", "[::]")
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


class MonitoringTargetsError(Exception):
    """Inventory data the targets cannot be made from; the message is one sentence for the operator."""


def is_loopback(address):
    text = str(address or "").strip().strip("[]").lower()
    if text in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def host_address(host, hostvars):
    """How other machines reach a host: its ansible_host, else its inventory name."""
    return str(hostvars.get("ansible_host") or host)


def _is_this_machine(name, hostvars):
    return hostvars.get("ansible_connection") == "local" or is_loopback(hostvars.get("ansible_host") or name)


def same_machine(host_a, vars_a, host_b, vars_b):
    """True when two inventory hosts are one machine (so a loopback listener of one is reachable from the other)."""
    if host_a == host_b:
        return True
    if _is_this_machine(host_a, vars_a) and _is_this_machine(host_b, vars_b):
        return True
    addr_a, addr_b = vars_a.get("ansible_host"), vars_b.get("ansible_host")
    return bool(addr_a) and addr_a == addr_b


def hostport(address, port):
    address = str(address)
    if ":" in address and not address.startswith("["):
        address = "[%s]" % address  # IPv6
    return "%s:%d" % (address, int(port))


def scrape_address(bind, port, host, hvars, prom_host, prom_vars, what):
    """The address:port Prometheus (on prom_host, host network) uses for a listener bound to `bind` on `host`."""
    local = same_machine(host, hvars, prom_host, prom_vars)
    bind = str(bind if bind is not None else "").strip()
    if bind in WILDCARDS:
        return hostport("127.0.0.1" if local else host_address(host, hvars), port)
    if is_loopback(bind) and not local:
        raise MonitoringTargetsError(
            "%s of %s listens on %s only, which Prometheus on %s cannot reach: bind it to an address of %s "
            "that %s reaches (an internal interface), or run Prometheus on %s."
            % (what, host, bind, prom_host, host, prom_host, host)
        )
    return hostport(bind, port)


def _require(mapping, path, host):
    value = mapping
    for key in path.split("."):
        if not isinstance(value, dict) or value.get(key) in (None, ""):
            raise MonitoringTargetsError(
                "qwen3_service of %s has no %s: rerun the service role (vacc.qwen3.deploy) on it, or set "
                "qwen3_service with name, instances, image and door.monitor.{bind,port}." % (host, path)
            )
        value = value[key]
    return value


def _port(value, what, host):
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = 0
    if not 0 < port < 65536:
        raise MonitoringTargetsError("%s of %s must be a TCP port (1-65535), not %r." % (what, host, value))
    return port


def service_targets(host, service, hvars, prom_host, prom_vars):
    """engine and door target groups of one host's service."""
    if not isinstance(service, dict):
        raise MonitoringTargetsError(
            "qwen3_service of %s is not a dict (got %r): rerun the service role on it." % (host, type(service).__name__)
        )
    name = str(_require(service, "name", host))
    door = _require(service, "door", host)
    monitor = _require(service, "door.monitor", host)
    port = _port(_require(service, "door.monitor.port", host), "the door's monitor port", host)
    address = scrape_address(
        monitor.get("bind"), port, host, hvars, prom_host, prom_vars, "The door's monitor listener"
    )
    door_name = str(door.get("name") or name + "_lb")
    common = {"host": str(host), "service": name}
    doors = [
        {
            "targets": [address],
            "labels": dict(common, __metrics_path__="/metrics", instance="%s/%s" % (host, door_name), door=door_name),
        }
    ]
    instances = service.get("instances")
    if not isinstance(instances, list) or not instances:
        raise MonitoringTargetsError("qwen3_service of %s lists no instances: rerun the service role on it." % host)
    engines = []
    for position, inst in enumerate(instances):
        if not isinstance(inst, dict) or not inst.get("name"):
            raise MonitoringTargetsError("instance %d of qwen3_service on %s has no name." % (position, host))
        index = inst.get("index", position)
        # The door proxies instance i's /metrics at /engine/<i>/metrics on its monitor listener:
        # engines themselves listen only on the service's internal network.
        engines.append(
            {
                "targets": [address],
                "labels": dict(
                    common,
                    __metrics_path__="/engine/%d/metrics" % int(index),
                    instance="%s/%s" % (host, inst["name"]),
                    instance_name=str(inst["name"]),
                    instance_index=str(int(index)),
                ),
            }
        )
    return engines, doors


def fleet_targets(
    hostvars,
    hosts,
    gateways=(),
    prometheus_host="localhost",
    existing=None,
    gateway_bind="127.0.0.1",
    gateway_port=None,
):
    """The scrape targets of `hosts` (the scrape pattern's inventory hosts) and `gateways`, one list of
    target groups per job (targets/<job>.json): four files whatever the fleet's size.

    hostvars: mapping host -> its variables (Ansible's hostvars works: only the keys used are read).
    existing: {job: [target groups], "planned_images": [...]} as the files hold them now. A host in the
    inventory without facts in this run (a run limited with --limit) keeps its entries; a host no longer
    in the inventory loses them.
    Returns {files: {job: [groups]}, covered: [hosts], kept: [hosts], removed: [hosts],
    planned_images: [{host, service, image}], counts: {job: n}}.
    """
    hosts = [str(h) for h in hosts]
    gateways = [str(g) for g in gateways]
    prom_vars = _vars(hostvars, prometheus_host)
    files = {job: [] for job in JOBS}
    covered, planned = [], []
    for host in sorted(set(hosts) | set(gateways)):
        hvars = _vars(hostvars, host)
        service = hvars.get("qwen3_service") if host in hosts else None
        node = hvars.get("monitoring_node_exporter_target") if host in hosts else None
        if service is None and node is None and host not in gateways:
            continue  # not in this run (--limit): its groups are carried over below
        covered.append(host)
        if service is not None:
            engines, doors = service_targets(host, service, hvars, prometheus_host, prom_vars)
            files["engine"] += engines
            files["door"] += doors
            planned.append({"host": host, "service": str(service["name"]), "image": str(service.get("image") or "")})
        if node is not None:
            if not isinstance(node, dict):
                raise MonitoringTargetsError("monitoring_node_exporter_target of %s must be {address, port}." % host)
            port = _port(node.get("port"), "the node exporter's port", host)
            files["node"].append(
                {
                    "targets": [
                        scrape_address(
                            node.get("address"), port, host, hvars, prometheus_host, prom_vars, "The node exporter"
                        )
                    ],
                    "labels": {"host": host, "instance": host},
                }
            )
        if host in gateways:
            files["gateway"].append(gateway_group(host, hvars, prometheus_host, prom_vars, gateway_bind, gateway_port))
    inventory = set(hosts) | set(gateways)
    kept, removed = set(), set()
    existing = existing_entries(existing)
    for job in JOBS + ("planned_images",):
        current = files[job] if job in files else planned
        for entry in existing.get(job) or []:
            if not isinstance(entry, dict):
                continue
            owner = str(entry.get("host") if job == "planned_images" else (entry.get("labels") or {}).get("host", ""))
            if owner in covered:
                continue  # rewritten from this run's facts
            if owner in inventory:
                current.append(entry)
                kept.add(owner)
            else:
                removed.add(owner)
    for job in files:
        files[job].sort(key=_group_key)  # stable bytes: a rerun rewrites nothing
    return {
        "files": files,
        "covered": covered,
        "kept": sorted(kept),
        "removed": sorted(removed),
        "planned_images": sorted((p for p in planned if p.get("image")), key=lambda p: (p["host"], p["service"])),
        "counts": {job: len(groups) for job, groups in files.items()},
    }


def existing_entries(existing):
    """{job: entries} from a dict as such, or from ansible.builtin.slurp loop results ({item: path, content:
    base64}) of targets/<job>.json and planned_images.json. A missing or unreadable file counts as empty:
    it is rewritten from this run's facts."""
    if not existing:
        return {}
    if isinstance(existing, dict):
        return existing
    out = {}
    for result in existing:
        if not isinstance(result, dict) or not result.get("content"):
            continue
        name = posixpath.basename(str(result.get("item") or result.get("source") or ""))
        if name.endswith(".json"):
            name = name[: -len(".json")]
        try:
            data = json.loads(base64.b64decode(result["content"]).decode("utf-8"))
        except (ValueError, TypeError):
            continue
        if isinstance(data, list):
            out[name] = data
    return out


def _group_key(group):
    labels = group.get("labels") or {}
    return (
        labels.get("host", ""),
        labels.get("instance", ""),
        labels.get("__metrics_path__", ""),
        ",".join(group.get("targets") or []),
    )


def gateway_group(host, hvars, prom_host, prom_vars, default_bind, default_port):
    """The gateway's HAProxy exporter: its gateway_monitor_bind/_port, else the role's defaults."""
    bind = hvars.get("gateway_monitor_bind")
    port = hvars.get("gateway_monitor_port")
    bind = default_bind if bind is None else bind
    port = default_port if port in (None, "") else port
    if port in (None, ""):
        raise MonitoringTargetsError(
            "gateway host %s has no gateway_monitor_port: set it (the gateway's monitor listener) or "
            "monitoring_gateway_monitor_port." % host
        )
    port = _port(port, "the gateway's monitor port", host)
    return {
        "targets": [scrape_address(bind, port, host, hvars, prom_host, prom_vars, "The gateway's monitor listener")],
        "labels": {"host": host, "instance": "%s/gateway" % host, "__metrics_path__": "/metrics"},
    }


def _vars(hostvars, host):
    """A host's variables (Ansible's HostVarsVars reads each key only when asked), or {} for an unknown host."""
    try:
        found = hostvars[host]
    except KeyError:
        found = None
    return found if found is not None else {}
