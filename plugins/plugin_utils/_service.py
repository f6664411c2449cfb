# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""The shape of a server's service, from its plan: pure functions, no I/O.

One server runs `instances` engine containers on their die slices, on a Docker network of the
service's own, unpublished; one door (HAProxy) in front of them is the only thing published: the
OpenAI API on the public port, statistics and the engines' /metrics on a monitor listener. Every
role reads this shape (the fact qwen3_service) instead of rebuilding names, ports or paths.
The API key is never part of it: the engines read it from a 0600 file mounted read-only.
"""

from __future__ import annotations

import shlex

from ansible_collections.vacc.qwen3.plugins.plugin_utils._planner import vacc_env, vllm_args

# Where the key file appears inside the engine and door containers.
KEY_PATH = "/run/secrets/vacc-qwen3/api_key"
# The engine gets its key from the file through VLLM_API_KEY, which vLLM reads (envs.VLLM_API_KEY
# or args.api_key, in every version since 0.5): not on argv, not in `docker inspect`'s Env.
KEY_WRAPPER = 'VLLM_API_KEY="$(cat %s)" && export VLLM_API_KEY && exec "$@"' % KEY_PATH
WEIGHTS_MOUNT = "/weights"
LABEL = "vacc.qwen3."


def labels(name, host, component, **extra):
    """The labels every container of a service carries: how status, rollouts and teardown find a
    server's own containers and nothing else."""
    out = {LABEL + "managed": "true", LABEL + "service": name, LABEL + "host": host, LABEL + "component": component}
    out.update({LABEL + k: str(v) for k, v in extra.items()})
    return out


def instance_spec(plan, index, s, host, engine=None):
    """Everything one engine container needs, as data (community.docker.docker_container's words);
    `engine`: the image's probe record, whose flags the argv is built from (see _planner.vllm_args)."""
    port = s["port"] + index
    env = vacc_env(plan, index)
    env.update({str(k): str(v) for k, v in s["extra_env"].items()})
    command = ["sh", "-c", KEY_WRAPPER, "vacc-qwen3-engine"] + vllm_args(
        plan,
        port=port,
        vllm_version=s["vllm_version"],
        weights_path=WEIGHTS_MOUNT,
        extra_args=s["extra_args"],
        model_dir=s["model_dir"],
        engine_tp=s["engine_tp"],
        engine=engine,
    )
    return {
        "name": "%s_%d" % (s["name"], index),
        "index": index,
        "image": s["image"],
        "env": env,
        "privileged": s["privileged"],
        "shm_size": s["shm_size"],
        "ipc_mode": "host",
        # Read-only: the model's own directory and the key; a checkpoint's code cannot change either.
        "volumes": [
            "%s:%s/%s:ro" % (s["weights_path"], WEIGHTS_MOUNT, s["model_dir"]),
            "%s:%s:ro" % (s["host_key_file"], KEY_PATH),
        ],
        "network": s["network"],
        "port": port,
        "stop_timeout": s["stop_timeout"],
        "command": command,
        "labels": labels(s["name"], host, "instance", model=plan["model"], instance=index),
    }


def service(plan, s, host, engine=None, engine_source=None):
    """The service shape of `host` from its plan and its settings (see _inputs.settings). `engine`:
    the probe record of the image (see _engine_probe), `engine_source` where it came from (probe,
    cache); without one the flag forms are qwen3_vllm_version's (or 0.9.2's, assumed)."""
    name = s["name"]
    check_address = "127.0.0.1" if s["bind_address"] in ("0.0.0.0", "::") else s["bind_address"]
    door = {
        "name": name + "_lb",
        "port": s["port"],
        "bind_address": s["bind_address"],
        "address": s["address"],
        "monitor": {"bind": s["monitor_bind"], "port": s["monitor_port"]},
        "config_dir": s["service_dir"],
        "labels": labels(name, host, "lb", model=plan["model"]),
    }
    return {
        "name": name,
        "host": host,
        "network": s["network"],
        "image": s["image"],
        "vllm_version": s["vllm_version"],
        "engine": engine_summary(engine, engine_source, s),
        "instances": [instance_spec(plan, i, s, host, engine) for i in range(plan["instances"])],
        "door": door,
        "endpoints": {
            # What clients (and the fleet gateway) use; the same door from the server itself; the
            # door as containers on the service's network see it; statistics and engine metrics.
            "public": "http://%s:%d/v1" % (s["address"], s["port"]),
            "local": "http://%s:%d" % (check_address, s["port"]),
            "internal": "http://%s:%d" % (door["name"], s["port"]),
            "monitor": "http://%s:%d" % (s["monitor_bind"], s["monitor_port"]),
        },
        "weights": {
            "dir": s["weights_dir"],
            "model_dir": s["model_dir"],
            "path": s["weights_path"],
            "container_path": "%s/%s" % (WEIGHTS_MOUNT, s["model_dir"]),
        },
        "secrets": {
            "dir": s["secrets_dir"],
            "api_key_file": s["api_key_file"],
            "api_key_source": s["api_key_source"],
            "host_key_file": s["host_key_file"],
        },
        "stop_timeout": s["stop_timeout"],
    }


def engine_summary(engine, source, s):
    """What the service fact and the plan file say of the engine: probed (version, digest, flag-set
    fingerprint) or not, and where its flag forms came from."""
    if engine:
        return {
            "source": source or "probe",
            "image": engine.get("image"),
            "digest": engine.get("digest"),
            "version": engine.get("version"),
            "fingerprint": engine.get("fingerprint"),
            "platform": engine.get("platform") or {},
        }
    return {
        "source": "qwen3_vllm_version" if s.get("vllm_version") else "assumed",
        "image": s["image"],
        "digest": None,
        "version": s.get("vllm_version") or "0.9.2",
        "fingerprint": None,
        "platform": {},
    }


def docker_run(spec):
    """An instance spec as one `docker run` command line, in the guide's order."""
    parts = ["docker", "run", "-d"]
    for key, value in spec["env"].items():
        parts += ["-e", "%s=%s" % (key, value)]
    if spec.get("privileged"):
        parts.append("--privileged=true")
    if spec.get("shm_size"):
        parts.append("--shm-size=%s" % spec["shm_size"])
    parts += ["--name", spec["name"]]
    for volume in spec["volumes"]:
        parts += ["-v", volume]
    for published in spec.get("published_ports", []):
        parts += ["-p", published]
    if spec.get("network"):
        parts.append("--network=%s" % spec["network"])
    if spec.get("ipc_mode"):
        parts.append("--ipc=%s" % spec["ipc_mode"])
    if spec.get("stop_timeout"):
        parts.append("--stop-timeout=%d" % spec["stop_timeout"])
    parts.append(spec["image"])
    parts += spec["command"]
    return " ".join(shlex.quote(p) for p in parts)
