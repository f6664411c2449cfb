# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Open WebUI (roles/webui): what it shows of the served model (its DEFAULT_MODEL_METADATA, from the plan) and where
a running UI answers (from its container, not from the role's defaults), and which admin signs in (the e-mail a data
volume keeps, and the label that records it). Docs: the .yml files beside this one."""

from __future__ import annotations

import hashlib


def _limits(plan):
    """(max-model-len, max-input-len): the latter only where the guide gives one below max-model-len, else 0."""
    model_len = int(plan["max_model_len"])
    input_len = plan.get("max_input_len")
    input_len = int(input_len) if input_len and int(input_len) < model_len else 0
    return model_len, input_len


def webui_model_metadata(plan, show_limits=True, extra=None):
    """Every model's info.meta as the new-chat screen shows it: the plan's limits as its description (English, and
    Chinese for zh* locales) when `show_limits`, then `extra` merged over it key by key (not recursively)."""
    metadata = {}
    if show_limits:
        model_len, input_len = _limits(plan)
        english = ("Up to %d tokens of input and " % input_len) if input_len > 0 else "Up to "
        chinese = ("输入最多 %d 个 token，" % input_len) if input_len > 0 else ""
        metadata = {
            "description": english
            + "%d tokens per chat (the whole conversation plus the answer). A longer chat is refused" % model_len
            + " by the service, and its reason is shown in the chat.",
            "i18n": {
                "zh": {
                    "description": chinese
                    + "每个对话最多 %d 个 token（整段对话加上回答）。超出的对话会被服务拒绝，原因显示在对话中。"
                    % model_len
                }
            },
        }
    metadata.update(extra or {})
    return metadata


_ANY = ("0.0.0.0", "::", "")


def webui_health_url(container):
    """http://<address>:<port>/health of a UI the role started, read from its inspected container: the PORT and HOST
    its environment gives the server and, off the host network, the address Docker publishes that port on. A UI
    found by its labels may run on another port than the role's defaults (another inventory's, a test's)."""
    env = dict(item.split("=", 1) for item in container["Config"].get("Env") or [] if "=" in item)
    port = env.get("PORT", "8080")
    address = env.get("HOST", "0.0.0.0")
    if container["HostConfig"].get("NetworkMode") != "host":
        bindings = (container["HostConfig"].get("PortBindings") or {}).get(port + "/tcp") or [{}]
        port = bindings[0].get("HostPort") or port
        address = bindings[0].get("HostIp", "")
    return "http://%s:%s/health" % ("127.0.0.1" if address in _ANY else address, port)


def webui_admin_fingerprint(email, password):
    """The data volume's label for its admin: a hash of e-mail and password (never the password itself)."""
    return hashlib.sha256(("%s %s" % (email, password)).encode("utf-8")).hexdigest()[:16]


def webui_admin_email(given, stored, volume, password, legacy, generated):
    """The e-mail that signs in as the admin. Open WebUI creates its admin only while the data has none, so an existing
    volume keeps the admin it was first started with: its label (webui_admin_fingerprint) tells the e-mail stored on
    the controller from `legacy`, the fixed one of the role's earlier releases, which a volume from before the label
    has too. `given` wins; otherwise the stored e-mail, else `generated` for a new admin."""
    if given:
        return given
    exists = bool((volume or {}).get("exists"))
    label = ((volume.get("volume") or {}).get("Labels") or {}).get("vacc.qwen3.admin", "") if exists else ""
    if stored and (not exists or label == webui_admin_fingerprint(stored, password)):
        return stored
    if exists and label in ("", webui_admin_fingerprint(legacy, password)):
        return legacy
    return stored or generated


class FilterModule(object):
    def filters(self):
        return {
            "webui_model_metadata": webui_model_metadata,
            "webui_health_url": webui_health_url,
            "webui_admin_email": webui_admin_email,
            "webui_admin_fingerprint": webui_admin_fingerprint,
        }
