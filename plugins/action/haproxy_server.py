# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Action plugin of vacc.qwen3.haproxy_server (docs: plugins/modules/haproxy_server.py): HAProxy's runtime API in a
door's or the gateway's container - set servers' state or weight, then wait until they are UP or idle - through
community.docker.docker_container_exec, on whichever host the task runs for (delegation included)."""

from __future__ import annotations

import time

from ansible.plugins.action import ActionBase

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _haproxy_runtime as rt

ARGUMENT_SPEC = {
    "container": {"type": "str", "required": True},
    "backend": {"type": "str", "default": "instances"},
    "servers": {"type": "list", "elements": "str"},
    "state": {"type": "str", "choices": list(rt.STATES)},
    "weight": {"type": "int"},
    "wait": {"type": "str", "choices": ["up", "idle"]},
    "accept": {"type": "list", "elements": "str", "default": ["UP"]},
    "watch_containers": {"type": "bool", "default": False},
    "timeout": {"type": "int", "default": 600},
    "delay": {"type": "float", "default": 2.0},
    "on_timeout": {"type": "str", "choices": ["fail", "continue"], "default": "fail"},
    "missing": {"type": "str", "choices": ["fail", "ignore"], "default": "fail"},
    "admin_socket": {"type": "str", "default": rt.SOCKET},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def _module(self, name, args):
        return self._execute_module(module_name=name, module_args=args, task_vars=self._vars)

    def _ask(self, command):
        """(answer, error) of one runtime API command."""
        res = self._module(
            "community.docker.docker_container_exec",
            {"container": self._args["container"], "argv": rt.cli(command, self._args["admin_socket"])},
        )
        if res.get("failed") or res.get("rc", 0) != 0:
            why = (res.get("stderr") or res.get("msg") or "").strip().splitlines()
            return None, "%s did not answer on its runtime API (%s)" % (
                self._args["container"],
                why[-1][:300] if why else "no reason given",
            )
        return res.get("stdout", ""), None

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        dummy, self._args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        self._vars = task_vars
        args = self._args
        if self._task.check_mode:
            return dict(result, skipped=True, msg="check mode: HAProxy's runtime state is left as it is")
        if (args["state"] or args["weight"] is not None or args["wait"] == "idle") and not args["servers"]:
            return dict(result, failed=True, msg="haproxy_server: name the servers (servers) to set or wait for.")
        commands = []
        for name in args["servers"] or []:
            if args["state"]:
                commands.append("set server %s/%s state %s" % (args["backend"], name, args["state"]))
            if args["weight"] is not None:
                commands.append("set server %s/%s weight %d" % (args["backend"], name, args["weight"]))
        for command in commands:
            answer, error = self._ask(command)
            if error or (rt.refused(answer) and args["missing"] == "fail"):
                return dict(result, failed=True, msg="%s: %s" % (command, error or rt.refused(answer)))
        began = time.monotonic()
        restarts = {}  # each container's restart count when first looked at
        while True:
            stat, error = self._ask("show stat")
            servers = rt.haproxy_stat(stat or "")
            totals = {k: v for k, v in rt.haproxy_stat(stat or "", totals=True).items() if k not in servers}
            out = dict(result, changed=False, stat=servers, totals=totals, seconds=0.0)
            if not args["wait"]:
                return dict(out, failed=bool(error), msg=error or "%s: done" % args["container"])
            if args["wait"] == "up":
                waiting = None if error else rt.not_up(stat, args["backend"], args["servers"], tuple(args["accept"]))
                if waiting is None and not error:
                    error = "%s has no backend %s" % (args["container"], args["backend"])
            else:
                waiting = None if error else rt.busy(stat, args["backend"], args["servers"])
            elapsed = time.monotonic() - began
            out["seconds"] = round(elapsed, 1)
            if waiting == {}:
                return dict(
                    out,
                    msg="%s of %s %s at %s"
                    % (
                        ", ".join(args["servers"] or ["every server"]),
                        args["backend"],
                        "/".join(args["accept"]) if args["wait"] == "up" else "idle",
                        args["container"],
                    ),
                )
            if args["wait"] == "up" and args["watch_containers"]:
                for name in sorted(waiting or ()):
                    info = self._module("community.docker.docker_container_info", {"name": name})
                    if info.get("failed"):
                        continue  # the next look decides
                    why = rt.failed(name, info, restarts.setdefault(name, rt.restart_count(info)))
                    if why:
                        return dict(
                            out,
                            failed=True,
                            exited=name,
                            waiting=waiting,
                            msg="%s, %d s into the wait, before the door %s saw it UP"
                            % (why, elapsed, args["container"]),
                        )
            if elapsed >= args["timeout"]:
                what = error or ", ".join("%s (%s)" % kv for kv in sorted(waiting.items()))
                goal = "UP" if args["wait"] == "up" else "idle"
                return dict(
                    out,
                    failed=args["on_timeout"] == "fail",
                    timed_out=True,
                    waiting=waiting or {},
                    msg="not %s at the door %s within %d s: %s" % (goal, args["container"], args["timeout"], what),
                )
            time.sleep(args["delay"])  # poll interval; the loop ends on the goal, an exited engine or the deadline
