# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Action plugin of vacc.qwen3.fleet_page: asks Prometheus's HTTP API and writes the static fleet page
on the controller (docs in plugins/modules/fleet_page.py). Prometheus is asked from the controller, or,
where it listens only on its host's loopback, through that host's ansible.builtin.uri."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse

from ansible.module_utils.urls import open_url

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _fleet_page as fp
from ansible_collections.vacc.qwen3.plugins.plugin_utils._controller_action import ReportAction

ARGUMENT_SPEC = {
    "prometheus_url": {"type": "str", "required": True},
    "dest": {"type": "path", "required": True},
    "window_minutes": {"type": "int", "default": 60},
    "points": {"type": "int", "default": 120},
    "rate_window": {"type": "str"},
    "title": {"type": "str", "default": "vacc.qwen3 fleet"},
    "query_from": {"type": "str", "default": "controller", "choices": ["controller", "host"]},
    "timeout": {"type": "int", "default": 30},
    "keep_snapshot": {"type": "bool", "default": True},
}


class ActionModule(ReportAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    CHECK_MODE_MSG = "check mode: the fleet page is not written"
    ERRORS = (fp.FleetPageError, OSError)

    def report(self, args):
        base = args["prometheus_url"].rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise fp.FleetPageError("prometheus_url must be an http(s) URL, not %r." % args["prometheus_url"])
        get = self._via_host(base, args["timeout"]) if args["query_from"] == "host" else _direct(base, args["timeout"])
        snapshot = fp.collect(
            get, window_minutes=args["window_minutes"], points=args["points"], rate_window=args["rate_window"], url=base
        )
        facts = fp.write_page(snapshot, args["dest"], title=args["title"], keep_snapshot=args["keep_snapshot"])
        return dict(
            changed=True,
            path=args["dest"],
            **facts,
            msg="%s: %d of %d targets up, %s"
            % (
                args["dest"],
                facts["targets_up"],
                facts["targets"],
                "firing: " + ", ".join(facts["firing"]) if facts["firing"] else "no alert firing",
            ),
        )

    def _via_host(self, base, timeout):
        """GET through the task's host (ansible.builtin.uri there), for a Prometheus on that host's loopback."""

        def get(path, params):
            url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
            res = self._execute_module(
                module_name="ansible.builtin.uri",
                task_vars=self._task_vars,
                module_args={
                    "url": url,
                    "timeout": timeout,
                    "return_content": True,
                    "status_code": [200, 400, 422, 503],
                },
            )
            if res.get("failed") and "json" not in res:
                raise fp.FleetPageError(
                    "Prometheus at %s did not answer from %s: %s"
                    % (base, self._task_vars.get("inventory_hostname"), res.get("msg"))
                )
            return res.get("json") if "json" in res else _decode(res.get("content"), url)

        return get

    def compute(self, args, task_vars):
        self._task_vars = task_vars or {}  # pylint: disable=attribute-defined-outside-init  # used by _via_host
        return super(ActionModule, self).compute(args, task_vars)


def _direct(base, timeout):
    def get(path, params):
        url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            with open_url(url, timeout=timeout) as response:
                return _decode(response.read(), url)
        except urllib.error.HTTPError as exc:
            # Prometheus says what was wrong in its JSON error body (bad query: 400/422).
            return _decode(exc.read(), url)
        except (urllib.error.URLError, OSError) as exc:
            raise fp.FleetPageError(
                "Prometheus at %s does not answer from the controller (%s): is it running, and "
                "does it listen where the controller can reach it?" % (base, getattr(exc, "reason", exc))
            ) from None

    return get


def _decode(raw, url):
    try:
        return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw or "")
    except ValueError:
        raise fp.FleetPageError("%s did not answer with JSON: is that Prometheus's URL?" % url.split("?")[0]) from None
