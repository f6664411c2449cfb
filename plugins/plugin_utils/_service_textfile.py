# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""The node-exporter textfile a service deploy leaves on its server: what was planned, what runs.

File: <monitoring_textfile_dir>/vacc_qwen3_<service>.prom (default dir /var/lib/vacc-qwen3/textfile),
read by the node exporter's textfile collector and so scraped with the node job's target labels
(`host`, `instance`). The file carries no `host` label on purpose: the scrape adds it, and a `host`
in the file would be renamed `exported_host`.

  vacc_qwen3_service_info{service, model, served_model_name, planned_image, instances, tp} 1
  vacc_qwen3_instance_image_info{service, instance_name, image, image_id} 1      one per instance
  vacc_qwen3_image_drift{service} 0|1       1: an instance runs another image than its deploy planned
  vacc_qwen3_engine_info{service, version, digest, fingerprint, source} 1   the engine image as probed
      (vacc.qwen3.engine_probe: its vLLM version, image id and flag-set fingerprint; source "probe" or "cache",
      or "assumed"/"qwen3_vllm_version" with empty digest and fingerprint when it was not probed)

No timestamp inside: the same deploy writes the same bytes (a rerun reports changed=0), and the node
exporter already exports when the file last changed (node_textfile_mtime_seconds{file}).

The alert Qwen3ImageDrift fires on vacc_qwen3_image_drift == 1, and also when an instance's image
differs from the image the monitoring role's current plan names for the host (a server the last
rollout did not reach). Standard library only.
"""

from __future__ import annotations

import re

_SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ServiceTextfileError(Exception):
    """Input the textfile cannot be written from; the message is one sentence for the operator."""


def label_value(value):
    """A label value in Prometheus's text format: backslash, double quote and newline escaped."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def sample(name, labels, value):
    inner = ",".join('%s="%s"' % (k, label_value(v)) for k, v in labels)
    return "%s{%s} %s" % (name, inner, value)


def file_name(service_name):
    return "vacc_qwen3_%s.prom" % service_name


def drifted(planned_image, instances, planned_image_id=None):
    """Names of the instances whose image (reference, or id where both are known) is not the planned one."""
    out = []
    for inst in instances:
        if str(inst.get("image") or "") != str(planned_image):
            out.append(inst["name"])
        elif planned_image_id and inst.get("image_id") and inst["image_id"] != planned_image_id:
            out.append(inst["name"])  # same tag, rebuilt image: the container still runs the old one
    return out


def running_instance(entry):
    """{name, image, image_id} of one instance container, given as such, as docker_container's
    `container` (Name, Config.Image, Image) or as a docker_host_info container (Names, Image, ImageID)."""
    if not isinstance(entry, dict):
        raise ServiceTextfileError("each running instance must be a dict, not %r." % type(entry).__name__)
    if "Config" in entry or "Name" in entry:  # docker_container's result
        return {
            "name": str(entry.get("Name") or "").lstrip("/"),
            "image": str((entry.get("Config") or {}).get("Image") or ""),
            "image_id": str(entry.get("Image") or ""),
        }
    if "Names" in entry:  # docker_host_info's container list
        names = entry.get("Names") or [""]
        return {
            "name": str(names[0]).lstrip("/"),
            "image": str(entry.get("Image") or ""),
            "image_id": str(entry.get("ImageID") or ""),
        }
    return {
        "name": str(entry.get("name") or ""),
        "image": str(entry.get("image") or ""),
        "image_id": str(entry.get("image_id") or ""),
    }


def render(service, running, plan=None, planned_image_id=None):
    """The textfile's text.

    service: the qwen3_service fact (name, image).
    running: what each instance container runs: [{name, image, image_id}], or docker_container's
             `container` results, or docker_host_info's containers (see running_instance).
    plan: the qwen3_plan fact (model, served_model_name, instances, tp), optional.
    """
    if not isinstance(service, dict) or not service.get("name") or not service.get("image"):
        raise ServiceTextfileError("qwen3_service_textfile needs qwen3_service with a name and an image.")
    name = str(service["name"])
    if not _SERVICE_NAME.match(name):
        raise ServiceTextfileError(
            "service name %r is not usable in a file name; use letters, digits, '_', '.' and '-'." % name
        )
    if not isinstance(running, list) or not running:
        raise ServiceTextfileError("running must list the instance containers ({name, image, image_id} each).")
    running = [running_instance(r) for r in running]
    if not all(r["name"] for r in running):
        raise ServiceTextfileError("every running instance needs its container name.")
    plan = plan or {}
    planned = str(service["image"])
    lines = [
        "# HELP vacc_qwen3_service_info The service as its last deploy planned it (always 1).",
        "# TYPE vacc_qwen3_service_info gauge",
        sample(
            "vacc_qwen3_service_info",
            [
                ("service", name),
                ("model", plan.get("model", "")),
                ("served_model_name", plan.get("served_model_name", "")),
                ("planned_image", planned),
                ("instances", plan.get("instances", len(running))),
                ("tp", plan.get("tp", "")),
            ],
            1,
        ),
        "# HELP vacc_qwen3_instance_image_info The image each instance container runs (always 1).",
        "# TYPE vacc_qwen3_instance_image_info gauge",
    ]
    for inst in sorted(running, key=lambda r: str(r["name"])):
        lines.append(
            sample(
                "vacc_qwen3_instance_image_info",
                [
                    ("service", name),
                    ("instance_name", inst["name"]),
                    ("image", inst.get("image") or ""),
                    ("image_id", inst.get("image_id") or ""),
                ],
                1,
            )
        )
    lines += [
        "# HELP vacc_qwen3_image_drift 1 when an instance runs another image than the deploy planned.",
        "# TYPE vacc_qwen3_image_drift gauge",
        sample("vacc_qwen3_image_drift", [("service", name)], 1 if drifted(planned, running, planned_image_id) else 0),
    ]
    engine = service.get("engine")
    if isinstance(engine, dict):
        lines += [
            "# HELP vacc_qwen3_engine_info The engine image as its probe found it (always 1).",
            "# TYPE vacc_qwen3_engine_info gauge",
            sample(
                "vacc_qwen3_engine_info",
                [
                    ("service", name),
                    ("version", engine.get("version") or ""),
                    ("digest", engine.get("digest") or ""),
                    ("fingerprint", engine.get("fingerprint") or ""),
                    ("source", engine.get("source") or ""),
                ],
                1,
            ),
        ]
    return "\n".join(lines) + "\n"
