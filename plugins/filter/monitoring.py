# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Monitoring filters: the fleet's scrape targets, and the service's node-exporter textfile. Docs:
monitoring_targets.yml and qwen3_service_textfile.yml beside this one."""

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


class FilterModule(object):
    def filters(self):
        return {"monitoring_targets": monitoring_targets, "qwen3_service_textfile": qwen3_service_textfile}
