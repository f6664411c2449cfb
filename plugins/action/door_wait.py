# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Action plugin of vacc.qwen3.door_wait (docs: plugins/modules/door_wait.py): asks the door for `show stat`
until every server is UP, and looks at the container of each one that is not, so that an engine that exits
ends the wait at once (with why) rather than at the timeout."""

from __future__ import annotations

import time

from ansible.plugins.action import ActionBase

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _door_wait

ARGUMENT_SPEC = {
    "door": {"type": "str", "required": True},
    "backend": {"type": "str", "default": "instances"},
    "instances": {"type": "list", "elements": "str"},
    "timeout": {"type": "int", "required": True},
    "delay": {"type": "float", "default": 5.0},
    "admin_socket": {"type": "str", "default": "/run/haproxy-admin.sock"},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def module(self, name, args, task_vars):
        return self._execute_module(module_name=name, module_args=args, task_vars=task_vars)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if self._task.check_mode:
            return dict(result, skipped=True, msg="check mode: nothing was started, nothing to wait for")
        stat_argv = ["sh", "-c", 'echo "show stat" | socat stdio "$1"', "sh", args["admin_socket"]]
        began = time.monotonic()
        restarts = {}  # each container's restart count when first looked at
        waiting, last_error = None, "no answer yet"
        while True:
            res = self.module(
                "community.docker.docker_container_exec", {"container": args["door"], "argv": stat_argv}, task_vars
            )
            if res.get("failed"):
                last_error = "the door %s did not answer: %s" % (args["door"], res.get("msg", "")[:300])
                waiting = None
            else:
                waiting = _door_wait.not_up(res.get("stdout", ""), args["backend"], args["instances"])
                last_error = "the door has no backend %s" % args["backend"] if waiting is None else None
            if waiting == {}:
                return dict(
                    result,
                    changed=False,
                    seconds=round(time.monotonic() - began, 1),
                    msg="every server of %s UP at %s" % (args["backend"], args["door"]),
                )
            for name in sorted(waiting or ()):
                info = self.module("community.docker.docker_container_info", {"name": name}, task_vars)
                if info.get("failed"):
                    continue  # the next look decides
                why = _door_wait.failed(name, info, restarts.setdefault(name, _door_wait.restart_count(info)))
                if why:
                    elapsed = time.monotonic() - began
                    return dict(
                        result,
                        failed=True,
                        exited=name,
                        waiting=waiting,
                        seconds=round(elapsed, 1),
                        msg="%s, %d s into the wait, before the door %s saw it UP" % (why, elapsed, args["door"]),
                    )
            elapsed = time.monotonic() - began
            if elapsed >= args["timeout"]:
                what = last_error or ", ".join("%s (%s)" % kv for kv in sorted(waiting.items()))
                return dict(
                    result,
                    failed=True,
                    waiting=waiting or {},
                    seconds=round(elapsed, 1),
                    msg="not UP at the door %s within %d s: %s" % (args["door"], args["timeout"], what),
                )
            time.sleep(args["delay"])  # poll interval; the loop ends on UP, an exited engine or the deadline
