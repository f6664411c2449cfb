# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Planning filters for Qwen3 on Vastai cards, for ad-hoc use in templates (the roles plan through
vacc.qwen3.deployment_plan). Docs: the qwen3_*.yml files beside this one."""

from __future__ import annotations

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _planner as planner
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _service as service
from ansible_collections.vacc.qwen3.plugins.plugin_utils._filter_errors import refusals_as_filter_errors

_refusals_as_filter_errors = refusals_as_filter_errors(planner.PlanError)


@_refusals_as_filter_errors
def qwen3_plan(
    model,
    card="VA16",
    cards=1,
    tp=None,
    max_model_len=None,
    instances=1,
    quant_config=None,
    dies=None,
    served_model_name=None,
    revision=None,
    catalog_extra=None,
):
    return planner.plan(
        model,
        card=card,
        cards=cards,
        tp=tp or None,
        max_model_len=max_model_len or None,
        instances=instances,
        quant_config=quant_config or None,
        dies=dies or None,
        served_model_name=served_model_name or None,
        revision=revision or None,
        extra=catalog_extra or None,
    )


@_refusals_as_filter_errors
def qwen3_vllm_args(
    plan,
    port=8000,
    vllm_version="0.9.2",
    weights_path="/weights",
    extra_args=None,
    model_dir=None,
    engine_tp=None,
    engine=None,
):
    return planner.vllm_args(
        plan,
        port=port,
        vllm_version=vllm_version,
        weights_path=weights_path,
        extra_args=extra_args,
        model_dir=model_dir or None,
        engine_tp=engine_tp or None,
        engine=engine or None,
    )


@_refusals_as_filter_errors
def qwen3_vacc_env(plan, instance=0):
    return planner.vacc_env(plan, instance=instance)


def qwen3_docker_run(spec):
    return service.docker_run(spec)


class FilterModule(object):
    def filters(self):
        return {
            "qwen3_plan": qwen3_plan,
            "qwen3_vllm_args": qwen3_vllm_args,
            "qwen3_vacc_env": qwen3_vacc_env,
            "qwen3_docker_run": qwen3_docker_run,
        }
