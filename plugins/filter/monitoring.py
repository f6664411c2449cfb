# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Monitoring filters: the fleet's scrape targets, the service's node-exporter textfile, and how Prometheus's targets
fare. Docs: monitoring_targets.yml, qwen3_service_textfile.yml and prometheus_targets_health.yml beside this one."""

from __future__ import annotations

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _monitoring_targets as mt
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _service_textfile as st
from ansible_collections.vacc.qwen3.plugins.plugin_utils._filter_errors import refusals_as_filter_errors


@refusals_as_filter_errors(mt.MonitoringTargetsError)
def monitoring_targets(
    hostvars,
    hosts,
    gateways=None,
    prometheus_host="localhost",
    existing=None,
    gateway_bind="127.0.0.1",
    gateway_port=None,
):
    return mt.fleet_targets(
        hostvars,
        list(hosts or []),
        gateways=list(gateways or []),
        prometheus_host=prometheus_host,
        existing=existing,
        gateway_bind=gateway_bind,
        gateway_port=gateway_port,
    )


@refusals_as_filter_errors(st.ServiceTextfileError)
def qwen3_service_textfile(service, running, plan=None, planned_image_id=None):
    return st.render(service, running, plan=plan, planned_image_id=planned_image_id)


def prometheus_targets_health(active_targets):
    """Of Prometheus's active targets (/api/v1/targets' data.activeTargets): how many, how many up, and each one not
    up as "<instance> (<last error>)". None (no answer to read) stays None."""
    if active_targets is None:
        return None
    down = [target for target in active_targets if target.get("health") != "up"]
    return {
        "total": len(active_targets),
        "up": len(active_targets) - len(down),
        "down": [
            "%s (%s)" % ((target.get("labels") or {}).get("instance", "?"), target.get("lastError", ""))
            for target in down
        ],
    }


class FilterModule(object):
    def filters(self):
        return {
            "monitoring_targets": monitoring_targets,
            "qwen3_service_textfile": qwen3_service_textfile,
            "prometheus_targets_health": prometheus_targets_health,
        }
