# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Action plugin of vacc.qwen3.broadcast_watch (docs: plugins/modules/broadcast_watch.py): on the host it is
delegated to (the chain's seed), asks every server of the chain for its relay's progress (`relay status`,
one ssh probe per server) until each one has finished, printing each server's bytes and rate as it goes."""

from __future__ import annotations

import json
import shlex
import time

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _broadcast

display = Display()

ARGUMENT_SPEC = {
    "run": {"type": "str", "required": True},
    "peers": {"type": "list", "elements": "dict", "required": True},
    "relays": {"type": "list", "elements": "str", "required": True},
    "relay": {"type": "str", "required": True},
    "python": {"type": "str", "default": "python3"},
    "ssh": {"type": "list", "elements": "str", "default": []},
    "poll": {"type": "float", "default": 5.0},
    "timeout": {"type": "int", "default": 172800},
    "start_grace": {"type": "float", "default": 120.0},
    "stall_timeout": {"type": "float", "default": 30.0},
    "title": {"type": "str", "default": "broadcast"},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if self._task.check_mode:
            return dict(result, skipped=True, msg="check mode: no relay runs, nothing to watch")
        here = self._task.delegate_to or (task_vars or {}).get("inventory_hostname")
        # This host probes itself without ssh.
        peers = [dict(p, address="" if p["name"] == here else p.get("address") or p["name"]) for p in args["peers"]]
        cmd = " ".join(
            shlex.quote(a)
            for a in [
                args["python"],
                args["relay"],
                "status",
                "--peers",
                json.dumps(peers),
                "--ssh",
                json.dumps(args["ssh"]),
                "--python",
                args["python"],
                "--relay",
                args["relay"],
                "--timeout",
                "10",
            ]
        )
        began = time.monotonic()
        deadline = began + args["timeout"]
        probe_every = min(1.0, args["poll"])  # the end is seen within a second; a block is printed every poll
        unreachable_since = {}
        last_block, last_states, shown_at = None, None, None
        states, probes = {}, {}
        while True:
            res = self._low_level_execute_command(cmd)
            now = time.monotonic()
            try:
                probes = json.loads(res.get("stdout", ""))["peers"]
            except (ValueError, KeyError, TypeError):
                return dict(
                    result,
                    failed=True,
                    msg="%s on %s did not answer `relay status`: %s"
                    % (args["relay"], here, (res.get("stderr") or res.get("stdout") or "no output").strip()[-300:]),
                )
            for name, probe in probes.items():
                if "unreachable" in probe:
                    unreachable_since.setdefault(name, now)
                else:
                    unreachable_since.pop(name, None)
                states[name] = _broadcast.classify(
                    probe,
                    args["run"],
                    name in args["relays"],
                    now - began,
                    args["start_grace"],
                    now - unreachable_since.get(name, now),
                    args["stall_timeout"],
                )
            block = [_broadcast.line(p["name"], states[p["name"]], probes.get(p["name"])) for p in peers]
            finished = _broadcast.over(states)
            due = shown_at is None or now - shown_at >= args["poll"] or states != last_states or finished
            if block != last_block and due:
                display.display("%s, %ds:\n%s" % (args["title"], now - began, "\n".join(block)))
                last_block, shown_at = block, now
            last_states = dict(states)
            if finished:
                break
            if now > deadline:
                return dict(
                    result,
                    failed=True,
                    msg="the broadcast of %s was not over after %ds: %s"
                    % (args["title"], args["timeout"], "; ".join("%s %s" % kv for kv in sorted(states.items()))),
                )
            time.sleep(probe_every)  # poll interval of the wait for every relay to end (deadline above)
        elapsed = time.monotonic() - began
        servers = {
            p["name"]: _broadcast.summary(p["name"], states[p["name"]], probes.get(p["name"]), elapsed) for p in peers
        }
        failed = sorted(n for n, s in states.items() if s not in (_broadcast.DONE, _broadcast.HAD_IT))
        return dict(
            result,
            changed=False,
            servers=servers,
            table=block,
            not_done=failed,
            seconds=round(elapsed, 2),
            msg="%s: %d server(s) done or already complete%s"
            % (args["title"], len(states) - len(failed), "; not done: " + ", ".join(failed) if failed else ""),
        )
