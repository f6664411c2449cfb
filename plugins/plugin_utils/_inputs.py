# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""The shared qwen3_* / vacc_* variables of a host, read once: each with its one default, converted
from what -e and AWX send (strings; "" and null mean unset), a lab's stand-in settings applied to
its own model, names and paths checked so nothing can escape its directory. Pure functions: the
caller says how to read a variable (a host's task vars, or hostvars for a fleet).
"""

from __future__ import annotations

import os
import posixpath
import re

import yaml
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.vacc.qwen3.plugins.module_utils._cards import CARDS
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _catalog as cat
from ansible_collections.vacc.qwen3.plugins.plugin_utils._planner import PlanError, find_model, plan, whole_number

MISSING = object()
VENDOR_IMAGE = "harbor.vastaitech.com/ai_deliver/vllm_vacc:AI3.2_GR_1202"

# name: (type, default). The one place these defaults live: the planner reads them for every host
# (a fleet's hosts have no role defaults in hostvars); meta/argument_specs.yml of _common documents
# them and a unit test keeps the two equal.
SHARED = {
    "qwen3_model": ("str", None),
    "vacc_card": ("str", "VA16"),
    "vacc_cards": ("int", 1),
    "vacc_dies": ("int", None),
    "qwen3_tp": ("int", None),
    "qwen3_max_model_len": ("int", None),
    "qwen3_instances": ("int", 1),
    "qwen3_quant_config": ("dict", None),
    "qwen3_served_model_name": ("str", None),
    "qwen3_weights_dir": ("path", "/data/weights"),
    "qwen3_model_dir": ("str", None),
    "qwen3_service_name": ("str", "vllm_service"),
    "qwen3_service_network": ("str", None),
    "qwen3_service_port": ("int", 8000),
    "qwen3_service_bind_address": ("str", "0.0.0.0"),
    "qwen3_service_address": ("str", None),
    "qwen3_service_monitor_bind": ("str", "127.0.0.1"),
    "qwen3_service_monitor_port": ("int", 9000),
    "qwen3_service_config_dir": ("path", "/etc/vacc-qwen3"),
    "qwen3_service_image": ("str", VENDOR_IMAGE),
    "qwen3_vllm_version": ("str", None),
    "qwen3_service_privileged": ("bool", True),
    "qwen3_service_shm_size": ("str", "256g"),
    "qwen3_service_engine_tp": ("int", None),
    "qwen3_service_extra_env": ("dict", {}),
    "qwen3_service_extra_args": ("list", []),
    "qwen3_service_stop_timeout": ("int", 300),
    "qwen3_secrets_dir": ("path", None),
    "qwen3_api_key": ("str", None),
    "qwen3_lab_standin": ("dict", None),
    "qwen3_guide_revision": ("str", None),
    "qwen3_catalog_extra": ("rows", None),
}
# qwen3_lab_standin's keys and the variables they stand for.
STANDIN = {
    "tp": "qwen3_tp",
    "instances": "qwen3_instances",
    "model_dir": "qwen3_model_dir",
    "served_model_name": "qwen3_served_model_name",
    "image": "qwen3_service_image",
    "vllm_version": "qwen3_vllm_version",
    "privileged": "qwen3_service_privileged",
    "shm_size": "qwen3_service_shm_size",
    "engine_tp": "qwen3_service_engine_tp",
    "extra_env": "qwen3_service_extra_env",
    "extra_args": "qwen3_service_extra_args",
}
# Names that become container, network, directory or API names: no '/', no '..', no leading '.'.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# An image reference: name[:tag] or name@sha256:<digest> (a registry host and port may lead).
_IMAGE_RE = re.compile(
    r"^[a-z0-9][a-z0-9._/-]*(:[0-9]+/[a-z0-9._/-]+)?(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$"
)
NAMES = ("qwen3_model", "qwen3_model_dir", "qwen3_served_model_name", "qwen3_service_name", "qwen3_service_network")
AWX_MARKERS = ("awx_job_id", "tower_job_id")


def _blank(value):
    return value is None or (isinstance(value, str) and value.strip() in ("", "null", "None"))


def convert(name, kind, value):
    """`value` as `kind`; None for blank (what AWX sends for an unanswered question)."""
    if _blank(value):
        return None
    raw = value
    if kind == "rows":
        return catalog_rows(name, value)
    try:
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError
            return whole_number(value, name, minimum=0)
        if kind == "bool":
            return boolean(value, strict=True)
        if kind in ("dict", "list"):
            if isinstance(value, str):
                value = yaml.safe_load(value)
            if not isinstance(value, dict if kind == "dict" else list):
                raise ValueError
            return [str(v) for v in value] if kind == "list" else dict(value)
        if isinstance(value, (dict, list)):
            raise ValueError
        return str(value)
    except (TypeError, ValueError, PlanError, yaml.YAMLError):
        what = {
            "int": "a whole number",
            "bool": "true or false",
            "dict": "a mapping (YAML or JSON)",
            "list": "a list (YAML or JSON)",
        }.get(kind, "a string")
        raise PlanError("%s must be %s, not %r." % (name, what, raw)) from None


_ROW_FILES = {}


def catalog_rows(name, value):
    """qwen3_catalog_extra: a list of rows, as YAML/JSON text, or the path of a YAML/JSON file holding one
    (relative paths from the working directory; `{{ inventory_dir }}/...` names one beside the inventory)."""
    if isinstance(value, str) and not value.lstrip().startswith(("[", "-", "{")):
        path = os.path.abspath(os.path.expanduser(value.strip()))
        try:
            stamp = os.stat(path).st_mtime_ns
            if _ROW_FILES.get(path, (None,))[0] != stamp:
                with open(path, encoding="utf-8") as handle:
                    _ROW_FILES[path] = (stamp, yaml.safe_load(handle))
        except (OSError, yaml.YAMLError) as exc:
            raise PlanError(
                "%s names the file %s, which cannot be read as YAML or JSON (%s); give a list of rows or "
                "such a file." % (name, path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            ) from None
        value = _ROW_FILES[path][1]
    elif isinstance(value, str):
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            value = None
    if not isinstance(value, list):
        raise PlanError(
            "%s must be a list of model rows (YAML or JSON) or the path of a file holding one, not %r." % (name, value)
        )
    return value


def guide_of(values):
    """The guide revision a host's values follow, with its extra rows: qwen3_guide_revision, else the one
    whose image tag the engine image carries, else the seed's."""
    revision = values.get("qwen3_guide_revision") or cat.revision_for_image(values.get("qwen3_service_image"))
    return cat.guide(revision, values.get("qwen3_catalog_extra"))


def _same_model(one, other):
    """Whether two spellings name the same model in any revision (an operator's row: the same folded name)."""

    def canonical(name):
        for revision in cat.revisions():
            found = cat.guide(revision).find(name)
            if found:
                return found["name"].lower()
        return str(name).lower()

    return canonical(one) == canonical(other)


def read(get, extra_var_names=()):
    """The shared variables of one host, converted, with defaults; `get(name)` returns the host's
    value or MISSING. The lab's stand-in settings apply to its own model, except where a variable
    was given with -e (an explicit -e always wins)."""
    values = {}
    for name, (kind, default) in SHARED.items():
        raw = get(name)
        value = None if raw is MISSING else convert(name, kind, raw)
        values[name] = default if value is None else value
    if not values["qwen3_model"]:
        raise PlanError(
            "qwen3_model is not set; set it in the inventory or with -e qwen3_model=NAME "
            "(query('vacc.qwen3.qwen3_models') lists the names)."
        )
    standin = values["qwen3_lab_standin"]
    if standin and standin.get("model"):
        unknown = sorted(set(standin) - set(STANDIN) - {"model"})
        if unknown:
            raise PlanError(
                "qwen3_lab_standin has unknown keys %s; use %s." % (", ".join(unknown), ", ".join(sorted(STANDIN)))
            )
        if _same_model(standin["model"], values["qwen3_model"]):
            for key, name in STANDIN.items():
                if key in standin and name not in extra_var_names:
                    values[name] = convert("qwen3_lab_standin." + key, SHARED[name][0], standin[key])
    return values


def _check_name(name, value):
    if value is not None and (not _NAME_RE.match(value) or ".." in value):
        raise PlanError(
            "%s '%s' is not a safe name: use letters, digits, '.', '_' and '-', starting with a "
            "letter or digit, without '..' or '/'." % (name, value)
        )


def child_path(base, child, what):
    """base/child, refused unless it is a direct child of base (so a removal never reaches above it)."""
    base = posixpath.normpath(base)
    if not posixpath.isabs(base) or base == "/":
        raise PlanError("%s must be an absolute directory other than /, not '%s'." % (what, base))
    path = posixpath.normpath(posixpath.join(base, child))
    if posixpath.dirname(path) != base:
        raise PlanError("%s/%s does not stay inside %s; name a directory directly in it." % (base, child, what))
    return path


def default_secrets_dir(inventory_dir):
    """Next to the inventory, so a run from any directory finds the same key; without an inventory
    file, the user's config directory. Ansible gives a host list (`-i host1,host2,`) the inventory_dir
    "None" (to_text of no directory), which would put the key under ./None; a real one is absolute."""
    if inventory_dir and os.path.isabs(inventory_dir):
        return os.path.join(inventory_dir, ".secrets")
    return os.path.join(os.path.expanduser("~"), ".config", "vacc-qwen3")


def settings(values, host, address=None, inventory_dir=None, awx=False):
    """What the service shape needs beyond the plan: names, ports, paths, the key's source."""
    model = find_model(values["qwen3_model"], guide_of(values))["name"]
    for name in NAMES:
        _check_name(name, values[name])
    if not values["qwen3_service_image"]:
        # Only a blank qwen3_lab_standin.image gets here (a blank qwen3_service_image is unset: the default).
        raise PlanError(
            "The engine image is empty (qwen3_lab_standin.image); name one, e.g. qwen3_service_image: %s."
            % VENDOR_IMAGE
        )
    if not _IMAGE_RE.match(values["qwen3_service_image"]):
        raise PlanError(
            "qwen3_service_image '%s' is not an image reference; give name:tag or name@sha256:<digest>."
            % values["qwen3_service_image"]
        )
    model_dir = values["qwen3_model_dir"] or model
    weights_dir = posixpath.normpath(values["qwen3_weights_dir"])
    config_dir = posixpath.normpath(values["qwen3_service_config_dir"])
    name = values["qwen3_service_name"]
    secrets_dir = values["qwen3_secrets_dir"] or default_secrets_dir(inventory_dir)
    given_key = values["qwen3_api_key"]
    if awx and not given_key and not values["qwen3_secrets_dir"]:
        raise PlanError(
            "This AWX job has no qwen3_api_key, and a job's files do not outlive it: attach a credential "
            "of the type 'vacc.qwen3 secrets' to the job template (docs/awx-project/configure.yml creates "
            "the type and attaches qwen3_awx_secrets_credential), so every job uses the same key."
        )
    service_dir = child_path(config_dir, name, "qwen3_service_config_dir")
    return {
        "name": name,
        "network": values["qwen3_service_network"] or name + "_net",
        "port": values["qwen3_service_port"],
        "bind_address": values["qwen3_service_bind_address"],
        "address": values["qwen3_service_address"] or address or host,
        "monitor_bind": values["qwen3_service_monitor_bind"],
        "monitor_port": values["qwen3_service_monitor_port"],
        "image": values["qwen3_service_image"],
        "vllm_version": values["qwen3_vllm_version"],
        "privileged": values["qwen3_service_privileged"],
        "shm_size": values["qwen3_service_shm_size"],
        "engine_tp": values["qwen3_service_engine_tp"],
        "extra_env": values["qwen3_service_extra_env"],
        "extra_args": values["qwen3_service_extra_args"],
        "stop_timeout": values["qwen3_service_stop_timeout"],
        "weights_dir": weights_dir,
        "model_dir": model_dir,
        "weights_path": child_path(weights_dir, model_dir, "qwen3_weights_dir"),
        "service_dir": service_dir,
        "host_key_file": service_dir + "/api_key",
        "secrets_dir": secrets_dir,
        "api_key_file": None if given_key else os.path.join(secrets_dir, "api_key"),
        "api_key_source": "given as qwen3_api_key" if given_key else "file",
    }


def plan_values(values, quant_config=None, detected_dies=None, checkpoint=None):
    """The plan of one host's variables. `checkpoint` is what the host's weights say (path,
    quantization_config, torch_dtype; checked against the row, it wins over qwen3_quant_config), as is
    `quant_config` (its quantization config alone); `detected_dies` counts a card whose die count is not
    public (VA1L) when vacc_dies is not set."""
    dies = values["vacc_dies"]
    if dies is None and CARDS.get(str(values["vacc_card"]).upper(), {}).get("dies", 0) is None:
        dies = detected_dies
    revision = guide_of(values).revision
    result = plan(
        values["qwen3_model"],
        card=values["vacc_card"],
        cards=values["vacc_cards"],
        tp=values["qwen3_tp"],
        max_model_len=values["qwen3_max_model_len"],
        instances=values["qwen3_instances"],
        quant_config=quant_config or values["qwen3_quant_config"],
        dies=dies,
        served_model_name=values["qwen3_served_model_name"],
        revision=revision,
        extra=values["qwen3_catalog_extra"],
        checkpoint=checkpoint,
    )
    # A revision chosen by hand for an image another revision documents: what it lists may not run there.
    image_revision = cat.revision_for_image(values["qwen3_service_image"])
    image_tag = cat.guide(image_revision).image_tag
    if image_revision != revision and values["qwen3_service_image"].split("@", 1)[0].endswith(":" + image_tag):
        result["notes"].append(
            "The plan follows guide revision %s (written for vllm_vacc:%s), but the engine image is "
            "%s, which guide revision %s documents."
            % (revision, result["guide_image_tag"], values["qwen3_service_image"], image_revision)
        )
    return result
