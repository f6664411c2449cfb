# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Benchmark filters (roles/benchmark): the `vllm bench serve` argv, its flags, the per-case record.
Docs: the bench_*.yml files beside this one. The logic lives in module_utils/bench_report.py."""

from __future__ import annotations

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _bench_cases as br
from ansible_collections.vacc.qwen3.plugins.plugin_utils._filter_errors import refusals_as_filter_errors

_refusals_as_filter_errors = refusals_as_filter_errors(br.BenchReportError)


@_refusals_as_filter_errors
def bench_serve_argv(
    case,
    base_url,
    model,
    served_model_name,
    result_dir,
    flags,
    backend="openai",
    endpoint="/v1/completions",
    percentile_metrics=("ttft", "tpot", "itl", "e2el"),
    metric_percentiles=(99,),
    server_num=None,
    metadata=None,
    extra_args=None,
):
    return br.serve_argv(
        case,
        base_url,
        model,
        served_model_name,
        result_dir,
        flags,
        backend=backend,
        endpoint=endpoint,
        percentile_metrics=percentile_metrics,
        metric_percentiles=metric_percentiles,
        server_num=server_num or None,
        metadata=metadata,
        extra_args=extra_args,
    )


def bench_help_flags(text):
    return br.help_flags(text)


def bench_case_record(case, rc=None, result_text=None, log_text=None, host=None, error=None, tail=4000, timeout=None):
    return br.case_record(
        case,
        rc=rc,
        result_text=result_text,
        log_text=log_text,
        host=host,
        error=error or None,
        tail=tail,
        timeout=timeout,
    )


def bench_missing_flags(flags):
    return br.missing_flags(flags)


class FilterModule(object):
    def filters(self):
        return {
            "bench_serve_argv": bench_serve_argv,
            "bench_help_flags": bench_help_flags,
            "bench_case_record": bench_case_record,
            "bench_missing_flags": bench_missing_flags,
        }
