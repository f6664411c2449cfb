# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""A running container's settings in the shape of the plan's instance specs. Docs: container_spec.yml."""

from __future__ import annotations


def container_spec(container):
    """community.docker.docker_container_info's `container` as a spec (qwen3_service.instances' keys):
    what a rollback restores and what status compares with the plan."""
    config = container.get("Config") or {}
    host = container.get("HostConfig") or {}
    env = dict(e.split("=", 1) if "=" in e else (e, "") for e in config.get("Env") or [])
    networks = sorted((container.get("NetworkSettings") or {}).get("Networks") or {})
    return {
        "name": str(container.get("Name", "")).lstrip("/"),
        "image": config.get("Image"),
        "image_id": container.get("Image"),
        "command": list(config.get("Cmd") or []),
        "env": env,
        "privileged": bool(host.get("Privileged")),
        "shm_size": str(host["ShmSize"]) if host.get("ShmSize") else None,  # bytes
        "ipc_mode": host.get("IpcMode"),
        "volumes": list(host.get("Binds") or []),
        "network": networks[0] if networks else None,
        "stop_timeout": config.get("StopTimeout"),
        "labels": dict(config.get("Labels") or {}),
        "running": bool((container.get("State") or {}).get("Running")),
    }


def spec_drift(running, planned):
    """The keys whose running value differs from the plan's (env: only the plan's own keys)."""
    drift = []
    for key in ("image", "command", "volumes", "network", "privileged"):
        if running.get(key) != planned.get(key):
            drift.append(key)
    if any(running.get("env", {}).get(k) != v for k, v in planned.get("env", {}).items()):
        drift.append("env")
    return drift


class FilterModule(object):
    def filters(self):
        return {"container_spec": container_spec, "spec_drift": spec_drift}
