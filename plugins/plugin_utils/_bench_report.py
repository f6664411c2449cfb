# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""A benchmark run read back from the controller's results: one row per host and case, the notes on
`vllm bench serve`'s pitfalls, the SLO gates. Rendering is _bench_render's.

Layout of a run (all on the controller):
    <results>/<run-id>/<host>/host.json      what the host ran (plan, endpoint, image flags, SLO, cases)
    <results>/<run-id>/<host>/<case>.json    vLLM's result JSON as written, or a failure record
    <results>/<run-id>/<host>/<case>.log     the benchmark's output
    <results>/<run-id>/report/benchmark.{md,html,csv} and plots/*.svg"""

from __future__ import annotations

import datetime
import json
import math
import os
import re

from ansible_collections.vacc.qwen3.plugins.plugin_utils._bench_cases import (
    _LATENCY_KEY_RE,
    CASE_KEYS,
    CHAT_BACKENDS,
    FAILURE_STATUS,
    METRICS,
    STATS,
    THROUGHPUTS,
    BenchReportError,
    _int_or_none,
    _last_line,
    evaluate_slo,
)

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
            stem = fname[: -len(".json")]
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


def reusable_run(results_dir, keys):
    """The newest run under results_dir that measured exactly the hosts of `keys` ({host: reuse key}), each
    with its key (host.json's reuse_key), and whose every planned case passed; None when there is none.
    A rerun with nothing changed keeps that measurement instead of measuring again."""
    if not keys or not os.path.isdir(results_dir):
        return None
    found = []
    for name in os.listdir(results_dir):
        run_dir = os.path.join(results_dir, name)
        if name.startswith(".") or os.path.islink(run_dir) or not os.path.isdir(run_dir):
            continue
        hosts = load_run(run_dir)
        if sorted(h["host"] for h in hosts) != sorted(keys):
            continue
        if all(_host_reusable(h, keys[h["host"]]) for h in hosts):
            found.append((max(h["manifest"].get("started") or "" for h in hosts), name))
    return max(found)[1] if found else None


def _host_reusable(host, key):
    manifest = host["manifest"]
    return (
        bool(key)
        and manifest.get("reuse_key") == key
        and bool(host["cases"])
        and all(case_row(manifest, case, data)["status"] == "ok" for case, data in host["cases"])
    )


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
    row = {
        "run_id": run_id,
        "host": manifest.get("host"),
        "case": case.get("name"),
        "model": manifest.get("model"),
        "served_model_name": manifest.get("served_model_name"),
        "instances": manifest.get("instances"),
    }
    row.update({k: case.get(k) for k in CASE_KEYS})
    row.update({"status": "ok", "error": None, "notes": [], "slo": None})
    if data is None:
        row.update(status="missing", error="no result: the case did not run (the host's run stopped before it)")
        return row
    if data.get("status") == FAILURE_STATUS:
        row.update(status=FAILURE_STATUS, error=data.get("error") or "failed")
        data = data.get("result") if isinstance(data.get("result"), dict) else {}
    for key in (
        "completed",
        "failed",
        "duration",
        "total_input_tokens",
        "total_output_tokens",
        "max_concurrent_requests",
        "max_output_tokens_per_s",
        "backend",
        "date",
    ):
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
            row.update(
                status=FAILURE_STATUS,
                error="%d of %d requests failed%s" % (failed, completed + failed, _first_error(data)),
            )
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
            notes.append(
                {
                    "code": "itl_vs_tpot",
                    "text": (
                        "mean ITL %.2f ms and mean TPOT %.2f ms differ by %.0f %% (over %.0f %%): ITL is measured per "
                        "streamed chunk and TPOT per token, so the server sends several tokens per chunk; compare TPOT."
                        % (mean_itl, mean_tpot, diff, tolerance_pct)
                    ),
                }
            )
    med_itl, med_tpot = row.get("median_itl_ms"), row.get("median_tpot_ms")
    if _num(med_itl) and _num(med_tpot) and med_tpot > 0 and med_itl < burst_ratio * med_tpot:
        notes.append(
            {
                "code": "bursty_stream",
                "text": (
                    "median ITL %.3f ms is under %g x median TPOT %.2f ms: tokens arrive in bursts (several SSE "
                    "messages read at once, e.g. buffered by a proxy), so ITL percentiles measure delivery, not "
                    "decoding; read TPOT." % (med_itl, burst_ratio, med_tpot)
                ),
            }
        )
    itls, out_lens = data.get("itls"), data.get("output_lens")
    if isinstance(itls, list) and isinstance(out_lens, list) and len(itls) == len(out_lens):
        chunks = sum(len(i) + 1 for i, n in zip(itls, out_lens) if n)
        tokens = sum(n for n in out_lens if n)
        if chunks and tokens > chunks * 1.05:
            notes.append(
                {
                    "code": "multi_token_chunks",
                    "text": (
                        "%d output tokens arrived in %d chunks (%.2f tokens per chunk): ITL is per chunk here."
                        % (tokens, chunks, tokens / float(chunks))
                    ),
                }
            )
    out_len, in_len = row.get("output_len"), row.get("input_len")
    total_out, total_in = row.get("total_output_tokens"), row.get("total_input_tokens")
    if out_len and isinstance(total_out, int) and total_out != completed * out_len:
        notes.append(
            {
                "code": "output_tokens",
                "text": (
                    "total output tokens %d != completed %d x output_len %d although --ignore-eos was set: the server's "
                    "usage counts were missing, so vLLM re-tokenised the text (reasoning text is not counted), or "
                    "requests stopped early (context length, stop strings)." % (total_out, completed, out_len)
                ),
            }
        )
    if in_len and isinstance(total_in, int) and total_in != completed * in_len:
        notes.append(
            {
                "code": "input_tokens",
                "text": (
                    "total input tokens %d != completed %d x input_len %d: the client's tokenizer (benchmark_tokenizer) "
                    "and the server's count prompts differently." % (total_in, completed, in_len)
                ),
            }
        )
    ttfts = data.get("ttfts")
    zero_ttft = row.get("mean_ttft_ms") == 0 or (
        isinstance(ttfts, list) and any(t == 0 for t, e in zip(ttfts, data.get("errors") or [""] * len(ttfts)) if not e)
    )
    if zero_ttft:
        notes.append(
            {
                "code": "ttft_zero",
                "text": (
                    "a TTFT of 0 was recorded: the first token-bearing chunk was not recognised (reasoning models "
                    "stream reasoning_content, which some clients skip)."
                ),
            }
        )
    backend = row.get("backend") or manifest.get("backend")
    if backend in CHAT_BACKENDS:
        text = "the %s backend counts TTFT at the first streamed chunk, which may carry only the role" % backend
        if manifest.get("reasoning_parser") or manifest.get("thinking"):
            text += (
                "; this is a reasoning model, so TTFT is the first reasoning token, not the first answer "
                "token, and re-tokenised output (no usage) leaves the reasoning out"
            )
        notes.append({"code": "chat_ttft", "text": text + "."})
    conc = row.get("max_concurrency")
    if conc and row.get("num_prompts") and row["num_prompts"] < conc:
        notes.append(
            {
                "code": "concurrency_not_reached",
                "text": ("%d prompts never reach concurrency %d." % (row["num_prompts"], conc)),
            }
        )
    return notes


def host_notes(manifest):
    notes = []
    instances = manifest.get("instances")
    if manifest.get("server_num"):
        notes.append(
            "The image's `vllm bench serve` knows the vendor's --server-num: it ran with --server-num %s "
            "and its figures are shown as reported." % manifest["server_num"]
        )
    elif instances:
        notes.append(
            "The image's `vllm bench serve` has no --server-num (upstream vLLM): per-instance throughput "
            "is the measured throughput / %s instance(s) behind the endpoint." % instances
        )
    backend = manifest.get("backend") or "openai"
    if backend not in CHAT_BACKENDS and (manifest.get("thinking") or manifest.get("reasoning_parser")):
        notes.append(
            "The %s backend sends raw prompts to %s: no chat template is applied, so the model "
            "does not think; these are completion figures."
            % (backend, manifest.get("endpoint_path") or "/v1/completions")
        )
    if not manifest.get("save_detailed"):
        notes.append(
            "The image's `vllm bench serve` has no --save-detailed: per-request arrays are not in the "
            "JSONs, so the chunk-level checks did not run."
        )
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
                failures.append(
                    {"host": row["host"], "case": row["case"], "status": row["status"], "error": row["error"]}
                )
            host_rows.append(row)
        hosts.append({"host": host["host"], "manifest": manifest, "rows": host_rows, "notes": host_notes(manifest)})
        rows += host_rows
    if not rows:
        raise BenchReportError("the benchmark run at %s has no cases." % run_dir)
    generated = (now or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y-%m-%d %H:%M:%S UTC")
    return {
        "run_id": run_id,
        "generated": generated,
        "hosts": hosts,
        "rows": rows,
        "failures": failures,
        "slo_misses": misses,
        "slo_checked": checked,
        "tolerance_pct": tolerance_pct,
        "burst_ratio": burst_ratio,
    }
