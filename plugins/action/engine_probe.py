# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Action plugin of vacc.qwen3.engine_probe (docs: plugins/modules/engine_probe.py): the engine image on
the host asked what it is and which flags it takes, in a throwaway container, once per image digest
(the controller's cache under results/engine/); the record becomes the fact qwen3_engine, which the
planning step builds the engine's argv from."""

from __future__ import annotations

import datetime

from ansible.plugins.action import ActionBase

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _engine_probe

ARGUMENT_SPEC = {
    "image": {"type": "str", "required": True},
    "cache_dir": {"type": "path", "required": True},
    "name": {"type": "str", "default": "vacc-qwen3-engine-probe"},
    "refresh": {"type": "bool", "default": False},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def module(self, name, args, task_vars):
        # Read-only on the host (an image inspected, a container that is removed): check mode asks too,
        # so a dry run shows the argv the image would really get.
        check_mode = self._task.check_mode
        self._task.check_mode = False
        try:
            return self._execute_module(module_name=name, module_args=args, task_vars=task_vars)
        finally:
            self._task.check_mode = check_mode

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        host, image = task_vars["inventory_hostname"], args["image"]
        info = self.module("community.docker.docker_image_info", {"name": image}, task_vars)
        if info.get("failed") or not info.get("images"):
            why = info.get("msg") if info.get("failed") else "it is not there"
            if self._task.check_mode and not info.get("failed"):
                return dict(
                    result,
                    skipped=True,
                    msg="the image %s is not on %s yet (check mode pulls nothing): not probed" % (image, host),
                )
            return dict(result, failed=True, msg="The engine image %s cannot be probed on %s: %s." % (image, host, why))
        found = info["images"][0]
        digest = found.get("Id")
        labels = (found.get("Config") or {}).get("Labels") or {}
        rec = None if args["refresh"] else _engine_probe.cached_by_digest(args["cache_dir"], digest)
        if rec:
            rec = dict(rec, image=image)
            if (_engine_probe.cached_by_image(args["cache_dir"], image) or {}).get("digest") != digest:
                _engine_probe.store(args["cache_dir"], rec)
            return dict(
                result,
                changed=False,
                cached=True,
                ansible_facts={"qwen3_engine": rec},
                msg="%s is vLLM %s (flag set %s), probed before (%s)"
                % (image, rec["version"], rec["fingerprint"], digest[:19]),
            )
        run = self.module(
            "community.docker.docker_container",
            {
                "name": args["name"],
                "image": image,
                "command": ["sh", "-c", _engine_probe.SCRIPT],
                # No weights, no card, no network: only what the image itself says.
                "network_mode": "none",
                "privileged": False,
                "detach": False,
                "cleanup": True,
                "recreate": True,
                "state": "started",
                "labels": {"vacc.qwen3.component": "engine-probe"},
            },
            task_vars,
        )
        output = ((run.get("container") or {}).get("Output") or run.get("msg") or "") if isinstance(run, dict) else ""
        try:
            rec = _engine_probe.record(
                image,
                digest,
                output,
                labels=labels,
                probed_at=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
            path = _engine_probe.store(args["cache_dir"], rec)
        except (_engine_probe.ProbeError, OSError) as exc:
            return dict(result, failed=True, msg=str(exc))
        return dict(
            result,
            changed=False,
            cached=False,
            path=path,
            ansible_facts={"qwen3_engine": rec},
            msg="%s is vLLM %s (flag set %s, %d flags; vllm_vacc %s), probed now (%s)"
            % (
                image,
                rec["version"],
                rec["fingerprint"],
                len(rec["flags"]),
                "present" if rec["platform"]["vllm_vacc"] else "absent",
                digest[:19],
            ),
        )
