# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""The benchmark's cases, the `vllm bench serve` argv in the image's flag set, per-case records and
SLO objectives: what the bench_* filters expose. Standard library only."""

from __future__ import annotations

import json
import math
import re

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _engine_help

METRICS = (("ttft", "TTFT"), ("tpot", "TPOT"), ("itl", "ITL"), ("e2el", "E2EL"))
STATS = ("mean", "median", "p99")
THROUGHPUTS = ("request_throughput", "output_throughput", "total_token_throughput")
CASE_KEYS = ("input_len", "output_len", "max_concurrency", "num_prompts")
# Flags `vllm bench serve` must know for the guide's command; the others are used when listed.
REQUIRED_FLAGS = (
    "--dataset-name",
    "--random-input-len",
    "--random-output-len",
    "--num-prompts",
    "--max-concurrency",
    "--ignore-eos",
    "--save-result",
    "--result-dir",
    "--result-filename",
    "--served-model-name",
    "--base-url",
)
# Backends that stream chat deltas: the first chunk may carry only the role, or reasoning.
CHAT_BACKENDS = ("openai-chat", "openai-responses", "openai-audio")
FAILURE_STATUS = "failed"
TEXT_COLUMNS = ("case", "status", "host", "error", "objective")  # left-aligned in the HTML tables
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# A latency statistic of vLLM's result JSON; as an SLO key, a maximum.
_LATENCY_KEY_RE = re.compile(r"^(mean|median|std|p\d+(?:\.\d+)?)_(ttft|tpot|itl|e2el)_ms$")
_SLO_MIN_RE = re.compile(r"^min_((?:request|output|total_token)_throughput(?:_per_instance)?|request_goodput)$")


class BenchReportError(Exception):
    """A request the benchmark stage refuses; the message is one sentence for the operator."""


# ----------------------------------------------------------------------------------------------
# Cases


def case_name(case):
    return "in%d-out%d-c%d-n%d" % tuple(int(case[k]) for k in CASE_KEYS)


def concurrency_sweep(maximum):
    """1, 2, 4, ... below `maximum`, then `maximum` itself."""
    maximum = _positive_int(maximum, "the sweep's maximum concurrency")
    levels, level = [], 1
    while level < maximum:
        levels.append(level)
        level *= 2
    return levels + [maximum]


def default_cases(input_len=128, output_len=1024, max_concurrency=4, prompts_per_concurrency=3):
    """The guide's example (input_len in, output_len out, concurrency 1, 3 prompts) followed by a
    concurrency sweep up to `max_concurrency` with prompts_per_concurrency x concurrency prompts;
    identical cases appear once (with 3 prompts per level the example is the sweep's first point)."""
    ppc = _positive_int(prompts_per_concurrency, "prompts_per_concurrency")
    example = {"input_len": input_len, "output_len": output_len, "max_concurrency": 1, "num_prompts": 3}
    cases = [example] + [
        {"input_len": input_len, "output_len": output_len, "max_concurrency": c, "num_prompts": c * ppc}
        for c in concurrency_sweep(max_concurrency)
    ]
    unique = []
    for case in cases:
        if case_name(case) not in [case_name(u) for u in unique]:
            unique.append(case)
    return normalize_cases(unique)


def normalize_cases(cases, max_model_len=None, max_input_len=None):
    """Validated cases with integer fields and a file-safe `name` each (default in<I>-out<O>-c<C>-n<N>);
    an optional per-case `slo` dict is kept (it extends the host's SLO). A case must fit the service:
    input_len within its max-input-len (the prefill limit), input + output within its max-model-len."""
    if not isinstance(cases, (list, tuple)) or not cases:
        raise BenchReportError(
            "benchmark_cases must be a non-empty list of {input_len, output_len, max_concurrency, num_prompts}."
        )
    out, names = [], set()
    for index, case in enumerate(cases):
        if not isinstance(case, dict):
            raise BenchReportError(
                "benchmark case %d is not a dict: give input_len, output_len, max_concurrency and num_prompts." % index
            )
        unknown = sorted(set(case) - set(CASE_KEYS) - {"name", "slo"})
        if unknown:
            raise BenchReportError(
                "benchmark case %d has unknown keys %s; allowed: %s, name, slo."
                % (index, ", ".join(unknown), ", ".join(CASE_KEYS))
            )
        missing = [k for k in CASE_KEYS if case.get(k) in (None, "")]
        if missing:
            raise BenchReportError("benchmark case %d lacks %s." % (index, ", ".join(missing)))
        norm = {k: _positive_int(case[k], "case %d's %s" % (index, k)) for k in CASE_KEYS}
        norm["name"] = str(case.get("name") or case_name(norm))
        if not _NAME_RE.match(norm["name"]) or norm["name"] in ("host", "report"):
            raise BenchReportError(
                "benchmark case name %r is not usable as a file name; use letters, "
                "digits, '.', '_' and '-' (not 'host' or 'report')." % norm["name"]
            )
        if norm["name"] in names:
            raise BenchReportError("two benchmark cases are named %s; names must be unique." % norm["name"])
        names.add(norm["name"])
        if max_input_len and norm["input_len"] > int(max_input_len):
            raise BenchReportError(
                "benchmark case %s has input_len %d, over the service's max-input-len %d (the guide's prefill "
                "limit); use input_len <= %d."
                % (norm["name"], norm["input_len"], int(max_input_len), int(max_input_len))
            )
        if max_model_len and norm["input_len"] + norm["output_len"] > int(max_model_len):
            raise BenchReportError(
                "benchmark case %s needs input_len + output_len = %d tokens, over the service's "
                "max_model_len %d; shorten it."
                % (norm["name"], norm["input_len"] + norm["output_len"], int(max_model_len))
            )
        if case.get("slo"):
            parse_slo(case["slo"])
            norm["slo"] = dict(case["slo"])
        out.append(norm)
    return out


def _positive_int(value, what):
    try:
        number = int(value)
        if isinstance(value, float) and value != number:
            raise ValueError
    except (TypeError, ValueError):
        raise BenchReportError("%s must be a positive integer, not %r." % (what, value)) from None
    if number < 1:
        raise BenchReportError("%s must be a positive integer, not %r." % (what, value))
    return number


# ----------------------------------------------------------------------------------------------
# The command


def help_flags(text):
    """The long options a `vllm bench serve --help` text lists (the engine probe reads help the same way)."""
    return _engine_help.help_flags(text)


def missing_flags(flags):
    return [f for f in REQUIRED_FLAGS if f not in set(flags or [])]


def serve_argv(
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
    """The guide's `vllm bench serve` argv for one case. Always the random dataset with --ignore-eos
    and --save-result; --save-detailed (per-request arrays), --server-num (the vendor's patched flag),
    --disable-tqdm and --metadata only where the image's help lists them (`flags`)."""
    flags = set(flags or [])
    argv = [
        "vllm",
        "bench",
        "serve",
        "--backend",
        str(backend),
        "--base-url",
        str(base_url).rstrip("/"),
        "--endpoint",
        str(endpoint),
        "--model",
        str(model),
        "--served-model-name",
        str(served_model_name),
        "--dataset-name",
        "random",
        "--num-prompts",
        str(case["num_prompts"]),
        "--random-input-len",
        str(case["input_len"]),
        "--ignore-eos",
        "--random-output-len",
        str(case["output_len"]),
        "--max-concurrency",
        str(case["max_concurrency"]),
    ]
    if "--percentile-metrics" in flags and percentile_metrics:
        argv += ["--percentile-metrics", ",".join(str(m) for m in percentile_metrics)]
    if "--metric-percentiles" in flags and metric_percentiles:
        argv += ["--metric-percentiles", ",".join(_num_text(p) for p in metric_percentiles)]
    if server_num and "--server-num" in flags:
        argv += ["--server-num", str(int(server_num))]
    argv += ["--save-result", "--result-dir", str(result_dir), "--result-filename", "%s.json" % case["name"]]
    if "--save-detailed" in flags:
        argv.append("--save-detailed")
    if "--disable-tqdm" in flags:
        argv.append("--disable-tqdm")
    argv += [str(a) for a in (extra_args or [])]
    if metadata and "--metadata" in flags:
        # Last: --metadata takes every following word.
        argv += ["--metadata"] + ["%s=%s" % (k, v) for k, v in sorted(metadata.items())]
    return argv


def _num_text(value):
    value = float(value)
    return str(int(value)) if value == int(value) else str(value)


def case_record(case, rc=None, result_text=None, log_text=None, host=None, error=None, tail=4000, timeout=None):
    """What to store for one case: {'ok', 'content', 'error'}. A case that exited 0 and wrote a JSON
    object is stored as vLLM wrote it; anything else becomes a failure record (status failed, the
    error in one sentence, the output's tail) so that no case is lost."""
    rc_int = _int_or_none(rc)
    result = None
    if result_text not in (None, ""):
        try:
            result = json.loads(result_text)
        except ValueError:
            result = None
    if not error:
        if isinstance(result, dict) and rc_int == 0:
            return {"ok": True, "content": result_text, "error": None}
        last = _last_line(log_text)
        if rc_int is None:
            error = "the benchmark left no exit status: it did not run (container gone, exec refused) or was killed"
        elif timeout and rc_int == 124:
            error = "vllm bench serve did not finish within %s s (benchmark_case_timeout)" % timeout
        elif rc_int != 0:
            error = "vllm bench serve exited with rc %d" % rc_int + (": %s" % last if last else "")
        else:
            error = "vllm bench serve exited 0 but wrote no result JSON" + (" (%s)" % last if last else "")
    record = {"status": FAILURE_STATUS, "host": host, "case": case.get("name")}
    record.update({k: case.get(k) for k in CASE_KEYS})
    record.update({"rc": rc_int, "error": str(error), "stderr_tail": (log_text or "")[-int(tail) :] if tail else ""})
    if isinstance(result, dict):
        record["result"] = result
    return {"ok": False, "content": json.dumps(record, indent=2, sort_keys=True) + "\n", "error": str(error)}


def _int_or_none(value):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _last_line(text):
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


# ----------------------------------------------------------------------------------------------
# SLO


def parse_slo(slo):
    """[{key, bound, field, limit}] of an SLO dict. Keys: <stat>_<metric>_ms (an upper bound; stat mean,
    median, std or pNN; metric ttft, tpot, itl, e2el) and min_<throughput> (a lower bound: request,
    output or total_token throughput, optionally _per_instance, or request_goodput)."""
    if slo in (None, ""):
        return []
    if not isinstance(slo, dict):
        raise BenchReportError(
            "benchmark_slo must be a dict such as {p99_ttft_ms: 2000, mean_tpot_ms: 100, min_output_throughput: 10}."
        )
    out = []
    for key, limit in slo.items():
        key = str(key)
        try:
            limit = float(limit)
        except (TypeError, ValueError):
            raise BenchReportError("benchmark_slo %s must be a number, not %r." % (key, limit)) from None
        if _LATENCY_KEY_RE.match(key):
            out.append({"key": key, "bound": "max", "field": key, "limit": limit})
        elif _SLO_MIN_RE.match(key):
            out.append({"key": key, "bound": "min", "field": key[len("min_") :], "limit": limit})
        else:
            raise BenchReportError(
                "benchmark_slo key %s is unknown; use <mean|median|pNN>_<ttft|tpot|itl|e2el>_ms (a maximum) or "
                "min_<request_throughput|output_throughput|total_token_throughput>[_per_instance] (a minimum)." % key
            )
    return out


def evaluate_slo(row, slo):
    """The objectives a successful case row misses: [{host, case, objective, limit, measured}]."""
    misses = []
    for obj in parse_slo(slo):
        value = row.get(obj["field"])
        if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
            misses.append(
                dict(
                    host=row["host"],
                    case=row["case"],
                    objective=obj["key"],
                    limit=obj["limit"],
                    measured=None,
                    bound=obj["bound"],
                )
            )
        elif (obj["bound"] == "max" and value > obj["limit"]) or (obj["bound"] == "min" and value < obj["limit"]):
            misses.append(
                dict(
                    host=row["host"],
                    case=row["case"],
                    objective=obj["key"],
                    limit=obj["limit"],
                    measured=value,
                    bound=obj["bound"],
                )
            )
    return misses
