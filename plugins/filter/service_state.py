# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""What a server runs now, from what community.docker and the door's statistics returned: the loops
that were Jinja accumulators in the roles' status and preflight steps. Docs: the .yml files beside this one."""

from __future__ import annotations

from ansible_collections.vacc.qwen3.plugins.filter.container_spec import container_spec, spec_drift


def _digests(images, image_id):
    """The registry digests of the image with this id, from docker_image_info's `images`."""
    for image in images or []:
        if image.get("Id") == image_id:
            return list(image.get("RepoDigests") or [])
    return []


def _name(container):
    return str(container.get("Name", "")).lstrip("/")


def stray_instances(containers, service):
    """The names of docker_host_info's `containers` (this service's instances on this host) that the
    plan no longer has: neither one of its instances nor its door."""
    keep = {instance["name"] for instance in service["instances"]} | {service["door"]["name"]}
    names = [str((c.get("Names") or [""])[0]).lstrip("/") for c in containers or []]
    return [name for name in names if name not in keep]


def running_images(results, images):
    """{name: {image, id, digests}} for each instance that exists, from a looped docker_container_info's
    `results` and docker_image_info's `images` (what a rollout replaces; what status compares)."""
    out = {}
    for result in results or []:
        if not result.get("exists"):
            continue
        container = result["container"]
        out[_name(container)] = {
            "image": (container.get("Config") or {}).get("Image"),
            "id": container.get("Image"),
            "digests": _digests(images, container.get("Image")),
        }
    return out


def instances_status(results, images, door):
    """One row per planned instance, from a docker_container_info looped over qwen3_service.instances
    (`results`, each with the planned spec as `item`), docker_image_info's `images` and the door's
    statistics keyed 'instances/<name>' (`door`; {} when the door does not run)."""
    rows = []
    for result in results or []:
        planned = result["item"]
        running = container_spec(result["container"]) if result.get("exists") else {}
        stat = (door or {}).get("instances/" + planned["name"], {})
        rows.append(
            {
                "name": planned["name"],
                "exists": bool(result.get("exists")),
                "running": running.get("running", False),
                "image": running.get("image"),
                "image_id": running.get("image_id"),
                "digests": _digests(images, running.get("image_id") or ""),
                "drift": spec_drift(running, planned) if result.get("exists") else ["missing"],
                "door_status": stat.get("status", "unknown"),
                "in_flight": int(stat.get("scur") or 0),
                "queued": int(stat.get("qcur") or 0),
            }
        )
    return rows


def overlength_results(results, timeout):
    """One row per over-length request (a looped uri's `results`, each with its case as `item`): what came back,
    and whether it failed the contract (a 5xx, or no answer: status -1 or missing)."""
    rows = []
    for result in results or []:
        case = result["item"]
        status = int(result.get("status", -1))
        body = result.get("json")
        if isinstance(body, dict):
            error = body.get("error")
            message = (
                error.get("message", "") if isinstance(error, dict) and "message" in error else body.get("message", "")
            )
        else:
            message = result.get("msg", "")
        message = str(message)
        rows.append(
            {
                "case": case["case"],
                "limit": case["limit"],
                "prompt_tokens": case["tokens"],
                "status": status,
                # Jinja's truncate(300, true, '...') with its default leeway of 5
                "message": message if len(message) <= 305 else message[:297] + "...",
                "seconds": float(result.get("elapsed", timeout)),
                "failed": status >= 500 or status < 0,
            }
        )
    return rows


class FilterModule(object):
    def filters(self):
        return {
            "stray_instances": stray_instances,
            "running_images": running_images,
            "instances_status": instances_status,
            "overlength_results": overlength_results,
        }
