# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""The benchmark stage's controller-side logic, shared by the bench_* filters, the bench_report
action plugin and the unit tests: benchmark cases, the `vllm bench serve` argv, per-case records, and
the fleet report (Markdown, a self-contained HTML page with inline SVG plots, CSV) with its notes on
`vllm bench serve`'s pitfalls and its SLO gates. Standard library only.

Layout of a run (all on the controller):
    <results>/<run-id>/<host>/host.json      what the host ran (plan, endpoint, image flags, SLO, cases)
    <results>/<run-id>/<host>/<case>.json    vLLM's result JSON as written, or a failure record
    <results>/<run-id>/<host>/<case>.log     the benchmark's output
    <results>/<run-id>/report/benchmark.{md,html,csv} and plots/*.svg
"""

from __future__ import annotations

import csv
import datetime
import html
import io
import json
import math
import os
import re
import shutil
import tempfile

METRICS = (("ttft", "TTFT"), ("tpot", "TPOT"), ("itl", "ITL"), ("e2el", "E2EL"))
STATS = ("mean", "median", "p99")
THROUGHPUTS = ("request_throughput", "output_throughput", "total_token_throughput")
CASE_KEYS = ("input_len", "output_len", "max_concurrency", "num_prompts")
# Flags `vllm bench serve` must know for the guide's command; the others are used when listed.
REQUIRED_FLAGS = ("--dataset-name", "--random-input-len", "--random-output-len", "--num-prompts",
                  "--max-concurrency", "--ignore-eos", "--save-result", "--result-dir",
                  "--result-filename", "--served-model-name", "--base-url")
# Backends that stream chat deltas: the first chunk may carry only the role, or reasoning.
CHAT_BACKENDS = ("openai-chat", "openai-responses", "openai-audio")
FAILURE_STATUS = "failed"
TEXT_COLUMNS = ("case", "status", "host", "error", "objective")  # left-aligned in the HTML tables
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# A latency statistic of vLLM's result JSON; as an SLO key, a maximum.
_LATENCY_KEY_RE = re.compile(r"^(mean|median|std|p\d+(?:\.\d+)?)_(ttft|tpot|itl|e2el)_ms$")
_SLO_MIN_RE = re.compile(r"^min_((?:request|output|total_token)_throughput(?:_per_instance)?|request_goodput)$")
_FLAG_RE = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


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
    seed = {"input_len": input_len, "output_len": output_len, "max_concurrency": 1, "num_prompts": 3}
    cases = [seed] + [{"input_len": input_len, "output_len": output_len, "max_concurrency": c,
                       "num_prompts": c * ppc} for c in concurrency_sweep(max_concurrency)]
    unique = []
    for case in cases:
        if case_name(case) not in [case_name(u) for u in unique]:
            unique.append(case)
    return normalize_cases(unique)


def normalize_cases(cases, max_model_len=None):
    """Validated cases with integer fields and a file-safe `name` each (default in<I>-out<O>-c<C>-n<N>);
    an optional per-case `slo` dict is kept (it extends the host's SLO)."""
    if not isinstance(cases, (list, tuple)) or not cases:
        raise BenchReportError("benchmark_cases must be a non-empty list of {input_len, output_len, "
                               "max_concurrency, num_prompts}.")
    out, names = [], set()
    for index, case in enumerate(cases):
        if not isinstance(case, dict):
            raise BenchReportError("benchmark case %d is not a dict: give input_len, output_len, "
                                   "max_concurrency and num_prompts." % index)
        unknown = sorted(set(case) - set(CASE_KEYS) - {"name", "slo"})
        if unknown:
            raise BenchReportError("benchmark case %d has unknown keys %s; allowed: %s, name, slo."
                                   % (index, ", ".join(unknown), ", ".join(CASE_KEYS)))
        missing = [k for k in CASE_KEYS if case.get(k) in (None, "")]
        if missing:
            raise BenchReportError("benchmark case %d lacks %s." % (index, ", ".join(missing)))
        norm = {k: _positive_int(case[k], "case %d's %s" % (index, k)) for k in CASE_KEYS}
        norm["name"] = str(case.get("name") or case_name(norm))
        if not _NAME_RE.match(norm["name"]) or norm["name"] in ("host", "report"):
            raise BenchReportError("benchmark case name %r is not usable as a file name; use letters, "
                                   "digits, '.', '_' and '-' (not 'host' or 'report')." % norm["name"])
        if norm["name"] in names:
            raise BenchReportError("two benchmark cases are named %s; names must be unique." % norm["name"])
        names.add(norm["name"])
        if max_model_len and norm["input_len"] + norm["output_len"] > int(max_model_len):
            raise BenchReportError(
                "benchmark case %s needs input_len + output_len = %d tokens, over the service's "
                "max_model_len %d; shorten it." % (norm["name"], norm["input_len"] + norm["output_len"],
                                                   int(max_model_len)))
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
        raise BenchReportError("%s must be a positive integer, not %r." % (what, value))
    if number < 1:
        raise BenchReportError("%s must be a positive integer, not %r." % (what, value))
    return number


# ----------------------------------------------------------------------------------------------
# The command

def help_flags(text):
    """The long options a `vllm bench serve --help` text lists."""
    return sorted(set(_FLAG_RE.findall(text or "")))


def missing_flags(flags):
    return [f for f in REQUIRED_FLAGS if f not in set(flags or [])]


def serve_argv(case, base_url, model, served_model_name, result_dir, flags, backend="openai",
               endpoint="/v1/completions", percentile_metrics=("ttft", "tpot", "itl", "e2el"),
               metric_percentiles=(99,), server_num=None, metadata=None, extra_args=None):
    """The guide's `vllm bench serve` argv for one case. Always the random dataset with --ignore-eos
    and --save-result; --save-detailed (per-request arrays), --server-num (the vendor's patched flag),
    --disable-tqdm and --metadata only where the image's help lists them (`flags`)."""
    flags = set(flags or [])
    argv = ["vllm", "bench", "serve",
            "--backend", str(backend), "--base-url", str(base_url).rstrip("/"), "--endpoint", str(endpoint),
            "--model", str(model), "--served-model-name", str(served_model_name),
            "--dataset-name", "random",
            "--num-prompts", str(case["num_prompts"]),
            "--random-input-len", str(case["input_len"]),
            "--ignore-eos",
            "--random-output-len", str(case["output_len"]),
            "--max-concurrency", str(case["max_concurrency"])]
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


def case_record(case, rc=None, result_text=None, log_text=None, host=None, error=None, tail=4000,
                timeout=None):
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
            error = ("the benchmark left no exit status: it did not run (container gone, exec refused) "
                     "or was killed")
        elif timeout and rc_int == 124:
            error = "vllm bench serve did not finish within %s s (benchmark_case_timeout)" % timeout
        elif rc_int != 0:
            error = "vllm bench serve exited with rc %d" % rc_int + (": %s" % last if last else "")
        else:
            error = "vllm bench serve exited 0 but wrote no result JSON" + (" (%s)" % last if last else "")
    record = {"status": FAILURE_STATUS, "host": host, "case": case.get("name")}
    record.update({k: case.get(k) for k in CASE_KEYS})
    record.update({"rc": rc_int, "error": str(error),
                   "stderr_tail": (log_text or "")[-int(tail):] if tail else ""})
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
        raise BenchReportError("benchmark_slo must be a dict such as {p99_ttft_ms: 2000, mean_tpot_ms: 100, "
                               "min_output_throughput: 10}.")
    out = []
    for key, limit in slo.items():
        key = str(key)
        try:
            limit = float(limit)
        except (TypeError, ValueError):
            raise BenchReportError("benchmark_slo %s must be a number, not %r." % (key, limit))
        if _LATENCY_KEY_RE.match(key):
            out.append({"key": key, "bound": "max", "field": key, "limit": limit})
        elif _SLO_MIN_RE.match(key):
            out.append({"key": key, "bound": "min", "field": key[len("min_"):], "limit": limit})
        else:
            raise BenchReportError(
                "benchmark_slo key %s is unknown; use <mean|median|pNN>_<ttft|tpot|itl|e2el>_ms (a maximum) or "
                "min_<request_throughput|output_throughput|total_token_throughput>[_per_instance] (a minimum)." % key)
    return out


def evaluate_slo(row, slo):
    """The objectives a successful case row misses: [{host, case, objective, limit, measured}]."""
    misses = []
    for obj in parse_slo(slo):
        value = row.get(obj["field"])
        if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
            misses.append(dict(host=row["host"], case=row["case"], objective=obj["key"],
                               limit=obj["limit"], measured=None, bound=obj["bound"]))
        elif (obj["bound"] == "max" and value > obj["limit"]) or (obj["bound"] == "min" and value < obj["limit"]):
            misses.append(dict(host=row["host"], case=row["case"], objective=obj["key"],
                               limit=obj["limit"], measured=value, bound=obj["bound"]))
    return misses


# ----------------------------------------------------------------------------------------------
# Reading a run

def load_run(run_dir):
    """[{host, manifest, cases: [(case, data or None)]}] of a run directory, hosts by name."""
    if not os.path.isdir(run_dir):
        raise BenchReportError("no benchmark run at %s." % run_dir)
    hosts = []
    for entry in sorted(os.listdir(run_dir)):
        hdir = os.path.join(run_dir, entry)
        if entry == "report" or entry.startswith(".") or not os.path.isdir(hdir):
            continue
        manifest = _read_json(os.path.join(hdir, "host.json")) or {}
        manifest.setdefault("host", entry)
        planned = list(manifest.get("cases") or [])
        seen = {c.get("name") for c in planned}
        for fname in sorted(os.listdir(hdir)):
            stem = fname[:-len(".json")]
            if fname.endswith(".json") and fname != "host.json" and not fname.startswith(".") and stem not in seen:
                data = _read_json(os.path.join(hdir, fname)) or {}
                planned.append(_case_from_data(stem, data))
                seen.add(stem)
        cases = []
        for case in planned:
            path = os.path.join(hdir, "%s.json" % case["name"])
            cases.append((case, _read_json(path) if os.path.exists(path) else None))
        hosts.append({"host": manifest["host"], "dir": hdir, "manifest": manifest, "cases": cases})
    return hosts


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except ValueError as exc:
        return {"status": FAILURE_STATUS, "error": "unreadable JSON %s: %s" % (os.path.basename(path), exc)}


def _case_from_data(name, data):
    case = {"name": name}
    match = re.match(r"^in(\d+)-out(\d+)-c(\d+)-n(\d+)$", name)
    for index, key in enumerate(CASE_KEYS):
        # A failure record or vLLM's JSON (max_concurrency, num_prompts), then --metadata, then the name.
        value = data.get(key)
        value = value if value is not None else data.get("vacc_qwen3_%s" % key)
        if value is None and match:
            value = match.group(index + 1)
        case[key] = _int_or_none(value)
    return case


# ----------------------------------------------------------------------------------------------
# Rows, notes

def case_row(manifest, case, data, run_id=None):
    """One flat row per host and case: status, the case, vLLM's summary figures, per-instance
    throughput where the report computes it, and the error of a failed case."""
    row = {"run_id": run_id, "host": manifest.get("host"), "case": case.get("name"),
           "model": manifest.get("model"), "served_model_name": manifest.get("served_model_name"),
           "instances": manifest.get("instances")}
    row.update({k: case.get(k) for k in CASE_KEYS})
    row.update({"status": "ok", "error": None, "notes": [], "slo": None})
    if data is None:
        row.update(status="missing", error="no result: the case did not run (the host's run stopped before it)")
        return row
    if data.get("status") == FAILURE_STATUS:
        row.update(status=FAILURE_STATUS, error=data.get("error") or "failed")
        data = data.get("result") if isinstance(data.get("result"), dict) else {}
    for key in ("completed", "failed", "duration", "total_input_tokens", "total_output_tokens",
                "max_concurrent_requests", "max_output_tokens_per_s", "backend", "date"):
        row[key] = data.get(key)
    for key in THROUGHPUTS + ("request_goodput",):
        row[key] = data.get(key)
    for key in data:
        if _LATENCY_KEY_RE.match(key):
            row[key] = data[key]
    for metric, dummy in METRICS:
        for stat in STATS:
            row.setdefault("%s_%s_ms" % (stat, metric), None)
    row["per_instance"] = None
    instances = _int_or_none(manifest.get("instances"))
    if not manifest.get("server_num") and instances and instances > 0:
        row["per_instance"] = instances
        for key in THROUGHPUTS:
            if isinstance(row.get(key), (int, float)):
                row["%s_per_instance" % key] = row[key] / instances
    else:
        for key in THROUGHPUTS:
            row["%s_per_instance" % key] = None
    if row["status"] == "ok":
        completed, failed = row.get("completed"), row.get("failed")
        if not isinstance(completed, int) or completed == 0:
            row.update(status=FAILURE_STATUS, error="no request completed" + _first_error(data))
        elif failed:
            row.update(status=FAILURE_STATUS, error="%d of %d requests failed%s"
                       % (failed, completed + failed, _first_error(data)))
    row["_data"] = data
    return row


def _first_error(data):
    for err in data.get("errors") or []:
        if err:
            return ": " + _last_line(str(err))
    return ""


def pitfall_notes(row, manifest, tolerance_pct=25.0, burst_ratio=0.1):
    """Notes where the pitfalls of `vllm bench serve` bite on this case: [{code, text}]."""
    notes, data = [], row.get("_data") or {}
    if not data or not row.get("completed"):
        return notes
    completed = row["completed"]
    mean_itl, mean_tpot = row.get("mean_itl_ms"), row.get("mean_tpot_ms")
    if _num(mean_itl) and _num(mean_tpot) and mean_tpot > 0:
        diff = abs(mean_itl - mean_tpot) / mean_tpot * 100.0
        if diff > tolerance_pct:
            notes.append({"code": "itl_vs_tpot", "text": (
                "mean ITL %.2f ms and mean TPOT %.2f ms differ by %.0f %% (over %.0f %%): ITL is measured per "
                "streamed chunk and TPOT per token, so the server sends several tokens per chunk; compare TPOT."
                % (mean_itl, mean_tpot, diff, tolerance_pct))})
    med_itl, med_tpot = row.get("median_itl_ms"), row.get("median_tpot_ms")
    if _num(med_itl) and _num(med_tpot) and med_tpot > 0 and med_itl < burst_ratio * med_tpot:
        notes.append({"code": "bursty_stream", "text": (
            "median ITL %.3f ms is under %g x median TPOT %.2f ms: tokens arrive in bursts (several SSE "
            "messages read at once, e.g. buffered by a proxy), so ITL percentiles measure delivery, not "
            "decoding; read TPOT." % (med_itl, burst_ratio, med_tpot))})
    itls, out_lens = data.get("itls"), data.get("output_lens")
    if isinstance(itls, list) and isinstance(out_lens, list) and len(itls) == len(out_lens):
        chunks = sum(len(i) + 1 for i, n in zip(itls, out_lens) if n)
        tokens = sum(n for n in out_lens if n)
        if chunks and tokens > chunks * 1.05:
            notes.append({"code": "multi_token_chunks", "text": (
                "%d output tokens arrived in %d chunks (%.2f tokens per chunk): ITL is per chunk here."
                % (tokens, chunks, tokens / float(chunks)))})
    out_len, in_len = row.get("output_len"), row.get("input_len")
    total_out, total_in = row.get("total_output_tokens"), row.get("total_input_tokens")
    if out_len and isinstance(total_out, int) and total_out != completed * out_len:
        notes.append({"code": "output_tokens", "text": (
            "total output tokens %d != completed %d x output_len %d although --ignore-eos was set: the server's "
            "usage counts were missing, so vLLM re-tokenised the text (reasoning text is not counted), or "
            "requests stopped early (context length, stop strings)." % (total_out, completed, out_len))})
    if in_len and isinstance(total_in, int) and total_in != completed * in_len:
        notes.append({"code": "input_tokens", "text": (
            "total input tokens %d != completed %d x input_len %d: the client's tokenizer (benchmark_tokenizer) "
            "and the server's count prompts differently." % (total_in, completed, in_len))})
    ttfts = data.get("ttfts")
    zero_ttft = row.get("mean_ttft_ms") == 0 or (isinstance(ttfts, list) and any(
        t == 0 for t, e in zip(ttfts, data.get("errors") or [""] * len(ttfts)) if not e))
    if zero_ttft:
        notes.append({"code": "ttft_zero", "text": (
            "a TTFT of 0 was recorded: the first token-bearing chunk was not recognised (reasoning models "
            "stream reasoning_content, which some clients skip)."
        )})
    backend = row.get("backend") or manifest.get("backend")
    if backend in CHAT_BACKENDS:
        text = ("the %s backend counts TTFT at the first streamed chunk, which may carry only the role"
                % backend)
        if manifest.get("reasoning_parser") or manifest.get("thinking"):
            text += ("; this is a reasoning model, so TTFT is the first reasoning token, not the first answer "
                     "token, and re-tokenised output (no usage) leaves the reasoning out")
        notes.append({"code": "chat_ttft", "text": text + "."})
    conc = row.get("max_concurrency")
    if conc and row.get("num_prompts") and row["num_prompts"] < conc:
        notes.append({"code": "concurrency_not_reached", "text": (
            "%d prompts never reach concurrency %d." % (row["num_prompts"], conc))})
    return notes


def host_notes(manifest):
    notes = []
    instances = manifest.get("instances")
    if manifest.get("server_num"):
        notes.append("The image's `vllm bench serve` knows the vendor's --server-num: it ran with --server-num %s "
                     "and its figures are shown as reported." % manifest["server_num"])
    elif instances:
        notes.append("The image's `vllm bench serve` has no --server-num (upstream vLLM): per-instance throughput "
                     "is the measured throughput / %s instance(s) behind the endpoint." % instances)
    backend = manifest.get("backend") or "openai"
    if backend not in CHAT_BACKENDS and (manifest.get("thinking") or manifest.get("reasoning_parser")):
        notes.append("The %s backend sends raw prompts to %s: no chat template is applied, so the model "
                     "does not think; these are completion figures."
                     % (backend, manifest.get("endpoint_path") or "/v1/completions"))
    if not manifest.get("save_detailed"):
        notes.append("The image's `vllm bench serve` has no --save-detailed: per-request arrays are not in the "
                     "JSONs, so the chunk-level checks did not run.")
    return notes


def _num(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


# ----------------------------------------------------------------------------------------------
# The report

def build_report(run_dir, run_id=None, tolerance_pct=25.0, burst_ratio=0.1, now=None):
    """Everything the renderers need: hosts with rows and notes, failures, SLO misses."""
    run_id = run_id or os.path.basename(os.path.normpath(run_dir))
    hosts, rows, failures, misses, checked = [], [], [], [], 0
    for host in load_run(run_dir):
        manifest = host["manifest"]
        host_rows = []
        for case, data in host["cases"]:
            row = case_row(manifest, case, data, run_id)
            row["notes"] = pitfall_notes(row, manifest, tolerance_pct, burst_ratio) if row["status"] == "ok" else []
            slo = dict(manifest.get("slo") or {})
            slo.update(case.get("slo") or {})
            if row["status"] == "ok" and slo:
                checked += 1
                row_misses = evaluate_slo(row, slo)
                row["slo"] = "missed: " + ", ".join(m["objective"] for m in row_misses) if row_misses else "met"
                misses += row_misses
            elif slo:
                row["slo"] = "not checked"
            if row["status"] != "ok":
                failures.append({"host": row["host"], "case": row["case"], "status": row["status"],
                                 "error": row["error"]})
            host_rows.append(row)
        hosts.append({"host": host["host"], "manifest": manifest, "rows": host_rows,
                      "notes": host_notes(manifest)})
        rows += host_rows
    if not rows:
        raise BenchReportError("the benchmark run at %s has no cases." % run_dir)
    generated = (now or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y-%m-%d %H:%M:%S UTC")
    return {"run_id": run_id, "generated": generated, "hosts": hosts, "rows": rows, "failures": failures,
            "slo_misses": misses, "slo_checked": checked,
            "tolerance_pct": tolerance_pct, "burst_ratio": burst_ratio}


def fmt(value, digits=2):
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return "%.*f" % (digits, value)
    return str(value)


THROUGHPUT_COLUMNS = (("case", "case"), ("input_len", "in"), ("output_len", "out"),
                      ("max_concurrency", "concurrency"), ("num_prompts", "prompts"), ("status", "status"),
                      ("completed", "completed"), ("failed", "failed"), ("duration", "duration s"),
                      ("request_throughput", "req/s"), ("output_throughput", "output tok/s"),
                      ("total_token_throughput", "total tok/s"),
                      ("output_throughput_per_instance", "output tok/s per instance"))
LATENCY_COLUMNS = (("case", "case"),) + tuple(
    ("%s_%s_ms" % (stat, metric), "%s %s" % (label, stat)) for metric, label in METRICS for stat in STATS)
CSV_COLUMNS = (["run_id", "host", "case", "status", "model", "served_model_name", "instances"]
               + list(CASE_KEYS)
               + ["completed", "failed", "duration", "total_input_tokens", "total_output_tokens",
                  "request_throughput", "output_throughput", "total_token_throughput",
                  "request_throughput_per_instance", "output_throughput_per_instance",
                  "total_token_throughput_per_instance", "max_output_tokens_per_s", "max_concurrent_requests"]
               + ["%s_%s_ms" % (stat, metric) for metric, dummy in METRICS for stat in ("mean", "median", "std", "p99")]
               + ["notes", "slo", "error"])


def _md_cell(value):
    return fmt(value).replace("|", "\\|").replace("\n", " ")


def md_table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for dummy in headers) + "|"]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def failure_table(report):
    return md_table(["host", "case", "status", "error"],
                    [[f["host"], f["case"], f["status"], f["error"]] for f in report["failures"]])


def slo_table(report):
    return md_table(["host", "case", "objective", "limit", "measured"],
                    [[m["host"], m["case"], m["objective"], m["limit"],
                      m["measured"] if m["measured"] is not None else "not measured"]
                     for m in report["slo_misses"]])


def _summary_line(report):
    ok = sum(1 for r in report["rows"] if r["status"] == "ok")
    return ("%d host(s), %d case(s): %d ok, %d failed." % (len(report["hosts"]), len(report["rows"]), ok,
                                                           len(report["rows"]) - ok))


def _slo_line(report):
    if not report["slo_checked"]:
        return "No SLO set (benchmark_slo)."
    if not report["slo_misses"]:
        return "SLO met by all %d checked case(s)." % report["slo_checked"]
    cases = {(m["host"], m["case"]) for m in report["slo_misses"]}
    return "SLO missed by %d of %d checked case(s)." % (len(cases), report["slo_checked"])


def _host_line(manifest):
    parts = []
    if manifest.get("model"):
        parts.append("%s served as `%s`" % (manifest["model"], manifest.get("served_model_name")))
    if manifest.get("card"):
        parts.append("on %s x %s: TP%s x %s instance(s)" % (manifest.get("cards"), manifest["card"],
                                                            manifest.get("tp"), manifest.get("instances")))
    if manifest.get("endpoint"):
        parts.append("endpoint %s%s" % (manifest["endpoint"], manifest.get("endpoint_path") or ""))
    if manifest.get("runner"):
        where = manifest.get("container") or manifest.get("image")
        parts.append("runner %s (%s)" % (manifest["runner"], where))
    if manifest.get("image"):
        parts.append("image %s" % manifest["image"])
    return "; ".join(parts) + "." if parts else ""


def render_markdown(report, plot_files=None):
    out = ["# Benchmark report: run %s" % report["run_id"], "",
           "`vllm bench serve` (random dataset, --ignore-eos) across the fleet, generated %s. %s %s"
           % (report["generated"], _summary_line(report), _slo_line(report)), ""]
    for host in report["hosts"]:
        out += ["## %s" % host["host"], ""]
        line = _host_line(host["manifest"])
        if line:
            out += [line, ""]
        out += ["### Throughput", "",
                md_table([h for dummy, h in THROUGHPUT_COLUMNS],
                         [[r.get(k) for k, dummy in THROUGHPUT_COLUMNS] for r in host["rows"]]), "",
                "### Latency (ms)", "",
                md_table([h for dummy, h in LATENCY_COLUMNS],
                         [[r.get(k) for k, dummy in LATENCY_COLUMNS] for r in host["rows"] if r["status"] == "ok"]), ""]
        notes = ["- %s" % n for n in host["notes"]]
        notes += ["- %s: %s (`%s`)" % (r["case"], n["text"], n["code"]) for r in host["rows"] for n in r["notes"]]
        if notes:
            out += ["### Notes", ""] + notes + [""]
        failed = [r for r in host["rows"] if r["status"] != "ok"]
        if failed:
            out += ["### Failed cases", "", md_table(["case", "status", "error"],
                                                     [[r["case"], r["status"], r["error"]] for r in failed]), ""]
    out += ["## SLO", "", _slo_line(report), ""]
    if report["slo_misses"]:
        out += [slo_table(report), ""]
    if report["failures"]:
        out += ["## Failed cases", "", failure_table(report), ""]
    if plot_files:
        out += ["## Plots", "", "Interactive in benchmark.html; as files:", ""]
        out += ["![%s](%s)" % (title, path) for title, path in plot_files] + [""]
    return "\n".join(out)


def render_csv(report):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report["rows"]:
        values = []
        for key in CSV_COLUMNS:
            value = row.get(key)
            if key == "notes":
                value = ";".join(n["code"] for n in row.get("notes") or [])
            values.append("" if value is None else (repr(value) if isinstance(value, float) else value))
        writer.writerow(values)
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------
# Plots: inline SVG, drawn here (no plotting library on the controller)

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#7f7f7f", "#bcbd22")


def _ticks(vmax, count=5):
    if not vmax or vmax <= 0:
        vmax = 1.0
    raw = vmax / float(count)
    mag = 10 ** math.floor(math.log10(raw))
    step = mag
    for mult in (1, 2, 2.5, 5, 10):
        step = mult * mag
        if step >= raw:
            break
    n = int(math.ceil(vmax / step - 1e-9))
    return [i * step for i in range(n + 1)], n * step


def _tick_text(value):
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return "%gk" % (value / 1000.0)
    return "%g" % round(value, 3)


def svg_chart(title, series, x_label, y_label, x_max=None, y_max=None, width=380, height=300, attrs=None,
              subtitle=None):
    """A line chart: series [{name, color, dash, labels, points: [{x, y, label}]}]; axes from 0. Each point
    is a circle with data-x / data-y (the plotted values) and a tooltip; `labels` writes point labels."""
    legend_rows = int(math.ceil(len(series) / 2.0))
    head = 34 if subtitle else 20
    left, right, top, bottom = 58, 14, head + 14 + 14 * legend_rows, 42
    xs = [p["x"] for s in series for p in s["points"]]
    ys = [p["y"] for s in series for p in s["points"]]
    x_ticks, x_top = _ticks(x_max if x_max else (max(xs) if xs else 1) * 1.05)
    y_ticks, y_top = _ticks(y_max if y_max else (max(ys) if ys else 1) * 1.05)
    pw, ph = width - left - right, height - top - bottom

    def px(x):
        return left + (x / x_top) * pw

    def py(y):
        return top + ph - (y / y_top) * ph

    esc = html.escape
    extra = "".join(' %s="%s"' % (k, esc(str(v))) for k, v in sorted((attrs or {}).items()))
    out = ['<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="%d" height="%d" viewBox="0 0 %d %d"%s '
           'font-family="sans-serif" font-size="11">' % (width, height, width, height, extra),
           '<title>%s</title>' % esc(title),
           '<rect x="0" y="0" width="%d" height="%d" fill="#fff"/>' % (width, height),
           '<text x="%d" y="16" font-size="13" font-weight="bold">%s</text>' % (left - 50, esc(title))]
    if subtitle:
        out.append('<text x="%d" y="30" fill="#555">%s</text>' % (left - 50, esc(subtitle)))
    for i, s in enumerate(series):
        lx, ly = left - 50 + (i % 2) * (width // 2), head + 12 + 14 * (i // 2)
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>'
                   % (lx, ly - 4, lx + 18, ly - 4, s["color"], ' stroke-dasharray="4 3"' if s.get("dash") else ""))
        out.append('<text x="%d" y="%d">%s</text>' % (lx + 22, ly, esc(s["name"])))
    for t in x_ticks:
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>' % (px(t), top, px(t), top + ph))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (px(t), top + ph + 14, _tick_text(t)))
    for t in y_ticks:
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>' % (left, py(t), left + pw, py(t)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (left - 4, py(t) + 4, _tick_text(t)))
    out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>' % (left, top, pw, ph))
    out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (left + pw / 2.0, height - 8, esc(x_label)))
    out.append('<text x="12" y="%.1f" text-anchor="middle" transform="rotate(-90 12 %.1f)">%s</text>'
               % (top + ph / 2.0, top + ph / 2.0, esc(y_label)))
    for s in series:
        pts = [p for p in s["points"] if _num(p["x"]) and _num(p["y"])]
        if len(pts) > 1:
            out.append('<polyline fill="none" stroke="%s" stroke-width="1.8"%s points="%s"/>' % (
                s["color"], ' stroke-dasharray="4 3"' if s.get("dash") else "",
                " ".join("%.1f,%.1f" % (px(p["x"]), py(p["y"])) for p in pts)))
        for p in pts:
            out.append('<circle class="point" cx="%.1f" cy="%.1f" r="3.5" fill="%s" data-series="%s" data-x="%r" '
                       'data-y="%r" data-label="%s"><title>%s %s: %s = %.2f, %s = %.2f</title></circle>' % (
                           px(p["x"]), py(p["y"]), s["color"], esc(s["name"]), float(p["x"]), float(p["y"]),
                           esc(p.get("label", "")), esc(s["name"]), esc(p.get("label", "")), esc(x_label),
                           p["x"], esc(y_label), p["y"]))
            if s.get("labels") and p.get("label"):
                out.append('<text x="%.1f" y="%.1f" font-size="9" fill="#555">%s</text>'
                           % (px(p["x"]) + 5, py(p["y"]) - 5, esc(p["label"])))
    out.append("</svg>")
    return "\n".join(out)


def length_groups(report):
    """(input_len, output_len) pairs with successful cases, in first-seen order."""
    groups = []
    for row in report["rows"]:
        key = (row.get("input_len"), row.get("output_len"))
        if row["status"] == "ok" and key not in groups:
            groups.append(key)
    return groups


def plots(report):
    """[{id, title, group, kind, host, svg}] for every length group: output throughput against concurrency
    (hosts overlaid), then per latency metric one panel per host (side by side, shared axes) of
    mean and p99 latency against output throughput, points labelled with their concurrency."""
    colors = {h["host"]: PALETTE[i % len(PALETTE)] for i, h in enumerate(report["hosts"])}
    charts = []
    for g_index, (in_len, out_len) in enumerate(length_groups(report)):
        group = "input %s / output %s tokens" % (in_len, out_len)
        per_host = {}
        for host in report["hosts"]:
            rows = sorted([r for r in host["rows"] if r["status"] == "ok" and r.get("input_len") == in_len
                           and r.get("output_len") == out_len and _num(r.get("output_throughput"))],
                          key=lambda r: (r.get("max_concurrency") or 0, r.get("num_prompts") or 0))
            if rows:
                per_host[host["host"]] = rows
        series = [{"name": h, "color": colors[h], "points": [
            {"x": r["max_concurrency"], "y": r["output_throughput"], "label": "c=%s" % r["max_concurrency"]}
            for r in rows]} for h, rows in per_host.items()]
        charts.append({"id": "g%d-throughput" % g_index, "group": group, "kind": "throughput", "host": None,
                       "title": "Output throughput vs concurrency",
                       "svg": svg_chart("Output throughput vs concurrency", series, "max concurrency",
                                        "output tok/s", attrs={"data-kind": "throughput"}, subtitle=group)})
        x_max = max(r["output_throughput"] for rows in per_host.values() for r in rows) * 1.05
        for metric, label in (("ttft", "TTFT"), ("tpot", "TPOT"), ("e2el", "E2EL")):
            y_vals = [r.get("%s_%s_ms" % (s, metric)) for rows in per_host.values() for r in rows
                      for s in ("mean", "p99")]
            y_vals = [v for v in y_vals if _num(v)]
            if not y_vals:
                continue
            y_max = max(y_vals) * 1.05
            for host, rows in per_host.items():
                series = []
                for stat, dash in (("mean", False), ("p99", True)):
                    pts = [{"x": r["output_throughput"], "y": r.get("%s_%s_ms" % (stat, metric)),
                            "label": "c=%s" % r["max_concurrency"]} for r in rows]
                    series.append({"name": "%s %s" % (stat, label), "color": colors[host], "dash": dash,
                                   "labels": stat == "mean", "points": [p for p in pts if _num(p["y"])]})
                charts.append({"id": "g%d-%s-%s" % (g_index, metric, _slug(host)), "group": group,
                               "kind": metric, "host": host, "title": "%s: %s vs output throughput" % (host, label),
                               "svg": svg_chart("%s vs output throughput" % label, series,
                                                "output tok/s", "%s ms" % label, x_max=x_max, y_max=y_max,
                                                attrs={"data-kind": metric, "data-host": host},
                                                subtitle="%s, %s, by concurrency c" % (host, group))})
    return charts


def _slug(text):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text))


_CSS = """
body{font-family:sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 18px;font-size:12px}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}
th{background:#f3f3f3}
td.text,th.text{text-align:left}
tr.failed td{background:#fde8e8}
.row{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.note{color:#7a4b00}
.bad{color:#b00000;font-weight:bold}
.ok{color:#0a6b0a;font-weight:bold}
"""


def _html_table(columns, rows, table_attrs):
    esc = html.escape
    out = ["<table %s>" % " ".join('%s="%s"' % (k, esc(str(v))) for k, v in sorted(table_attrs.items())),
           "<tr>" + "".join('<th class="%s">%s</th>' % ("text" if k in TEXT_COLUMNS else "num", esc(h))
                            for k, h in columns) + "</tr>"]
    for row in rows:
        cls = ' class="failed"' if row.get("status") not in (None, "ok") else ""
        cells = []
        for key, dummy in columns:
            value = row.get(key)
            raw = repr(value) if isinstance(value, float) else ("" if value is None else str(value))
            text_cls = "text" if key in TEXT_COLUMNS else "num"
            cells.append('<td class="%s" data-key="%s" data-value="%s">%s</td>'
                         % (text_cls, esc(key), esc(raw), esc(fmt(value))))
        out.append('<tr%s data-case="%s">%s</tr>' % (cls, esc(str(row.get("case"))), "".join(cells)))
    out.append("</table>")
    return "\n".join(out)


def _html_text(text):
    # The sentences are written for Markdown: `code` becomes <code>.
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def render_html(report, charts):
    esc = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>Benchmark report: run %s</title>" % esc(report["run_id"]),
           "<style>%s</style></head><body>" % _CSS,
           "<h1>Benchmark report: run %s</h1>" % esc(report["run_id"]),
           "<p><code>vllm bench serve</code> (random dataset, --ignore-eos) across the fleet, generated %s. %s "
           '<span class="%s">%s</span></p>'
           % (esc(report["generated"]), esc(_summary_line(report)),
              "bad" if report["slo_misses"] else "ok", esc(_slo_line(report)))]
    for host in report["hosts"]:
        h = host["host"]
        out += ['<section class="host" data-host="%s">' % esc(h), "<h2>%s</h2>" % esc(h),
                "<p>%s</p>" % _html_text(_host_line(host["manifest"])), "<h3>Throughput</h3>",
                _html_table(THROUGHPUT_COLUMNS, host["rows"], {"class": "bench", "data-host": h,
                                                               "data-table": "throughput"}),
                "<h3>Latency (ms)</h3>",
                _html_table(LATENCY_COLUMNS, [r for r in host["rows"] if r["status"] == "ok"],
                            {"class": "bench", "data-host": h, "data-table": "latency"})]
        notes = [_html_text(n) for n in host["notes"]]
        notes += ['%s: %s <code>%s</code>' % (esc(r["case"]), _html_text(n["text"]), esc(n["code"]))
                  for r in host["rows"] for n in r["notes"]]
        if notes:
            out += ["<h3>Notes</h3>", '<ul class="notes">'] + ['<li class="note">%s</li>' % n for n in notes] + ["</ul>"]
        out.append("</section>")
    out += ["<h2>SLO</h2>", '<p class="%s">%s</p>' % ("bad" if report["slo_misses"] else "ok", esc(_slo_line(report)))]
    if report["slo_misses"]:
        out.append(_html_table((("host", "host"), ("case", "case"), ("objective", "objective"), ("limit", "limit"),
                                ("measured", "measured")), report["slo_misses"], {"class": "slo", "data-table": "slo"}))
    if report["failures"]:
        out += ["<h2>Failed cases</h2>",
                _html_table((("host", "host"), ("case", "case"), ("status", "status"), ("error", "error")),
                            report["failures"], {"class": "failures", "data-table": "failures"})]
    if charts:
        out.append("<h2>Plots</h2>")
        groups = []
        for chart in charts:
            if chart["group"] not in groups:
                groups.append(chart["group"])
        for group in groups:
            out.append("<h3>%s</h3>" % esc(group))
            for kind in ("throughput", "ttft", "tpot", "e2el"):
                row = [c for c in charts if c["group"] == group and c["kind"] == kind]
                if row:
                    out.append('<div class="row" data-kind="%s">%s</div>' % (
                        kind, "\n".join('<figure id="%s">%s</figure>' % (esc(c["id"]), c["svg"]) for c in row)))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_atomic(path, text):
    """Write a file so that readers see the old or the new content, never a partial one."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _link_atomic(target, link):
    tmp = "%s.tmp-%d" % (link, os.getpid())
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    if os.path.isdir(link) and not os.path.islink(link):
        shutil.rmtree(link)
    os.replace(tmp, link)


def write_report(run_dir, latest_dir=None, latest_link=True, run_id=None, tolerance_pct=25.0, burst_ratio=0.1):
    """Render a run's report into <run_dir>/report (benchmark.md, .html, .csv, plots/*.svg); copy the
    three files to `latest_dir` and point <results>/latest at the run. Returns the summary."""
    report = build_report(run_dir, run_id=run_id, tolerance_pct=tolerance_pct, burst_ratio=burst_ratio)
    out_dir = os.path.join(run_dir, "report")
    charts = plots(report)
    plot_files = []
    for chart in charts:
        rel = "plots/%s.svg" % chart["id"]
        write_atomic(os.path.join(out_dir, rel), chart["svg"] + "\n")
        plot_files.append(("%s (%s)" % (chart["title"], chart["group"]), rel))
    files = {"md": os.path.join(out_dir, "benchmark.md"), "html": os.path.join(out_dir, "benchmark.html"),
             "csv": os.path.join(out_dir, "benchmark.csv")}
    write_atomic(files["md"], render_markdown(report, plot_files))
    write_atomic(files["html"], render_html(report, charts))
    write_atomic(files["csv"], render_csv(report))
    latest = {}
    if latest_dir:
        for kind, path in files.items():
            dest = os.path.join(latest_dir, os.path.basename(path))
            with open(path, encoding="utf-8") as handle:
                write_atomic(dest, handle.read())
            latest[kind] = dest
    link = None
    if latest_link:
        link = os.path.join(os.path.dirname(os.path.abspath(run_dir)), "latest")
        _link_atomic(os.path.basename(os.path.normpath(run_dir)), link)
    return {
        "run_id": report["run_id"], "files": files, "latest": latest, "latest_link": link,
        "plots": len(charts), "hosts": [h["host"] for h in report["hosts"]],
        "cases": len(report["rows"]), "ok": sum(1 for r in report["rows"] if r["status"] == "ok"),
        "failed_cases": report["failures"], "slo_misses": report["slo_misses"],
        "slo_checked": report["slo_checked"],
        "notes": [{"host": r["host"], "case": r["case"], "code": n["code"], "text": n["text"]}
                  for r in report["rows"] for n in r["notes"]],
        "failed_table": failure_table(report) if report["failures"] else "",
        "slo_table": slo_table(report) if report["slo_misses"] else "",
        "summary": "%s %s" % (_summary_line(report), _slo_line(report)),
        "rows": [{k: v for k, v in r.items() if k != "_data"} for r in report["rows"]],
    }
