"""The benchmark report (plugins/plugin_utils/_bench_{cases,report,render}.py, filter bench_filters, action bench_report)
on constructed runs whose JSONs carry vLLM 0.32's result keys: tables equal the JSONs, plots and CSV are
there, the pitfall notes and the SLO gates fire where they should and only there."""

import csv
import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _bench_cases as bc
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _bench_render as br

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------------
# Constructed inputs


def vllm_result(
    num_prompts=3,
    completed=None,
    input_len=128,
    output_len=1024,
    concurrency=1,
    duration=10.0,
    ttft=(100.0, 90.0, 180.0),
    tpot=(20.0, 19.5, 30.0),
    itl=(20.0, 19.0, 40.0),
    e2el=(2000.0, 1900.0, 2500.0),
    detailed=False,
    backend="openai",
    out_tokens=None,
    in_tokens=None,
    failed=0,
    **extra,
):
    """A `vllm bench serve --save-result` JSON (vLLM 0.32 keys); latencies as (mean, median, p99)."""
    completed = num_prompts - failed if completed is None else completed
    out_total = completed * output_len if out_tokens is None else out_tokens
    in_total = completed * input_len if in_tokens is None else in_tokens
    data = {
        "date": "20261126-120000",
        "endpoint_type": backend,
        "backend": backend,
        "label": None,
        "model_id": "/weights/Qwen3-8B",
        "tokenizer_id": "/weights/Qwen3-8B",
        "num_prompts": num_prompts,
        "vacc_qwen3_input_len": str(input_len),
        "vacc_qwen3_output_len": str(output_len),
        "request_rate": "inf",
        "burstiness": 1.0,
        "max_concurrency": concurrency,
        "duration": duration,
        "completed": completed,
        "failed": failed,
        "total_input_tokens": in_total,
        "total_output_tokens": out_total,
        "request_throughput": completed / duration,
        "request_goodput": None,
        "output_throughput": out_total / duration,
        "total_token_throughput": (in_total + out_total) / duration,
        "max_output_tokens_per_s": out_total / duration * 1.3,
        "max_concurrent_requests": concurrency,
        "rtfx": 0.0,
    }
    for name, (mean, median, p99) in (("ttft", ttft), ("tpot", tpot), ("itl", itl), ("e2el", e2el)):
        data.update(
            {
                "mean_%s_ms" % name: mean,
                "median_%s_ms" % name: median,
                "std_%s_ms" % name: mean / 10.0,
                "p99_%s_ms" % name: p99,
            }
        )
    if detailed:
        data.update(
            {
                "input_lens": [input_len] * num_prompts,
                "output_lens": [output_len] * completed,
                "ttfts": [ttft[0] / 1000.0] * num_prompts,
                "itls": [[itl[0] / 1000.0] * (output_len - 1)] * num_prompts,
                "latencies": [e2el[0] / 1000.0] * num_prompts,
                "start_times": [0.0] * num_prompts,
                "generated_texts": ["x"] * num_prompts,
                "errors": [""] * num_prompts,
            }
        )
    data.update(extra)
    return data


def case(input_len, output_len, concurrency, prompts, **extra):
    c = {"input_len": input_len, "output_len": output_len, "max_concurrency": concurrency, "num_prompts": prompts}
    c["name"] = bc.case_name(c)
    c.update(extra)
    return c


def manifest(host, cases, instances=2, server_num=None, slo=None, backend="openai", **extra):
    m = {
        "host": host,
        "run_id": "run1",
        "model": "Qwen3-8B",
        "served_model_name": "Qwen3-8B",
        "card": "VA16",
        "cards": 1,
        "tp": 2,
        "plan_instances": instances,
        "instances": instances,
        "max_concurrency_per_instance": 4,
        "max_model_len": 65536,
        "thinking": "hybrid",
        "reasoning_parser": "qwen3",
        "runner": "exec",
        "container": "vllm_service_0",
        "image": "harbor.vastaitech.com/ai_deliver/vllm_vacc:AI3.2_GR_1202",
        "endpoint": "http://vllm_service_lb:8000",
        "endpoint_path": "/v1/completions",
        "backend": backend,
        "server_num": server_num,
        "save_detailed": True,
        "slo": slo or {},
        "cases": cases,
    }
    m.update(extra)
    return m


def write_host(run_dir, m, results):
    hdir = run_dir / m["host"]
    hdir.mkdir(parents=True)
    (hdir / "host.json").write_text(json.dumps(m))
    for name, data in results.items():
        (hdir / ("%s.json" % name)).write_text(data if isinstance(data, str) else json.dumps(data))
    return hdir


@pytest.fixture
def fleet(tmp_path):
    """Two hosts: va16-a (2 instances, upstream flags, SLO), va16-b (vendor --server-num, a failed case,
    a case that never ran, a chat backend)."""
    run = tmp_path / "benchmark" / "20261126T120000Z"
    a_cases = [case(128, 1024, 1, 3), case(128, 1024, 2, 6), case(128, 1024, 4, 12), case(128, 1024, 8, 24)]
    a_results = {
        a_cases[0]["name"]: vllm_result(3, concurrency=1, duration=60.0, detailed=True),
        a_cases[1]["name"]: vllm_result(6, concurrency=2, duration=70.0),
        a_cases[2]["name"]: vllm_result(12, concurrency=4, duration=80.0, ttft=(400.0, 300.0, 2500.0)),
        # Multi-token chunks: ITL far above TPOT.
        a_cases[3]["name"]: vllm_result(
            24,
            concurrency=8,
            duration=90.0,
            ttft=(900.0, 800.0, 3000.0),
            tpot=(40.0, 38.0, 60.0),
            itl=(120.0, 110.0, 300.0),
        ),
    }
    write_host(
        run,
        manifest("va16-a", a_cases, slo={"p99_ttft_ms": 2000, "mean_tpot_ms": 100, "min_output_throughput": 10}),
        a_results,
    )
    b_cases = [case(128, 1024, 1, 3), case(128, 1024, 4, 12), case(2048, 256, 4, 12), case(128, 1024, 8, 24)]
    failure = bc.case_record(
        b_cases[2], rc=1, log_text="loading\nTraceback ...\nValueError: Initial test run failed", host="va16-b"
    )
    b_results = {
        # Usage missing: re-tokenised output is short of 3 x 1024; a zero TTFT.
        b_cases[0]["name"]: vllm_result(
            3, concurrency=1, duration=50.0, out_tokens=3000, in_tokens=390, ttft=(0.0, 0.0, 0.0), backend="openai-chat"
        ),
        b_cases[1]["name"]: vllm_result(12, concurrency=4, duration=55.0, backend="openai-chat"),
        b_cases[2]["name"]: failure["content"],
        # b_cases[3] never ran: no file.
    }
    write_host(
        run,
        manifest(
            "va16-b", b_cases, instances=4, server_num=4, backend="openai-chat", endpoint_path="/v1/chat/completions"
        ),
        b_results,
    )
    return run, {"va16-a": (a_cases, a_results), "va16-b": (b_cases, b_results)}


# ---------------------------------------------------------------------------------------------
# Cases and the command


def test_default_cases_are_the_guides_example_and_a_sweep():
    cases = bc.default_cases(128, 1024, max_concurrency=8, prompts_per_concurrency=3)
    assert [c["name"] for c in cases] == [
        "in128-out1024-c1-n3",
        "in128-out1024-c2-n6",
        "in128-out1024-c4-n12",
        "in128-out1024-c8-n24",
    ]
    assert cases[0] == {
        "input_len": 128,
        "output_len": 1024,
        "max_concurrency": 1,
        "num_prompts": 3,
        "name": "in128-out1024-c1-n3",
    }
    assert bc.concurrency_sweep(12) == [1, 2, 4, 8, 12]
    assert bc.concurrency_sweep(1) == [1]
    # Another prompt count per level keeps the guide's example beside the sweep's first point.
    names = [c["name"] for c in bc.default_cases(32, 16, 4, 5)]
    assert names == ["in32-out16-c1-n3", "in32-out16-c1-n5", "in32-out16-c2-n10", "in32-out16-c4-n20"]


def test_cases_defaults_and_refusals():
    assert len(bc.default_cases(32, 16, 8)) == 4
    given = bc.normalize_cases(
        [{"input_len": "64", "output_len": 8, "max_concurrency": 2, "num_prompts": 4}], max_model_len=2048
    )
    assert given == [
        {"input_len": 64, "output_len": 8, "max_concurrency": 2, "num_prompts": 4, "name": "in64-out8-c2-n4"}
    ]

    def refused(cases, **kw):
        with pytest.raises(bc.BenchReportError) as info:
            bc.normalize_cases(cases, **kw)
        return str(info.value)

    assert "over the service's max_model_len 2048" in refused(
        [{"input_len": 2000, "output_len": 100, "max_concurrency": 1, "num_prompts": 1}], max_model_len=2048
    )
    # The guide's prefill limit: in60000 at TP2 (max-input-len 56k = 57344) is refused.
    assert refused(
        [{"input_len": 60000, "output_len": 16, "max_concurrency": 1, "num_prompts": 1}],
        max_model_len=65536,
        max_input_len=57344,
    ) == (
        "benchmark case in60000-out16-c1-n1 has input_len 60000, over the service's max-input-len 57344 (the "
        "guide's prefill limit); use input_len <= 57344."
    )
    assert "lacks num_prompts" in refused([{"input_len": 1, "output_len": 1, "max_concurrency": 1}])
    assert "positive integer" in refused([{"input_len": 0, "output_len": 1, "max_concurrency": 1, "num_prompts": 1}])
    assert "unknown keys concurrency" in refused(
        [{"input_len": 1, "output_len": 1, "concurrency": 1, "num_prompts": 1, "max_concurrency": 1}]
    )
    assert "names must be unique" in refused(
        [{"input_len": 1, "output_len": 1, "max_concurrency": 1, "num_prompts": 1}] * 2
    )
    assert "not usable as a file name" in refused(
        [{"input_len": 1, "output_len": 1, "max_concurrency": 1, "num_prompts": 1, "name": "../x"}]
    )


def test_bench_cases_action_refuses_with_the_sentence_alone(tmp_path):
    """The role's step: vacc.qwen3.bench_cases fails with the sentence as its msg, nothing around it."""
    playbook = tmp_path / "cases.yml"
    playbook.write_text("""
- hosts: localhost
  gather_facts: false
  tasks:
    - vacc.qwen3.bench_cases:
        input_len: 60000
        output_len: 16
        max_concurrency: 1
        max_model_len: 65536
        max_input_len: 57344
""")
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json")
    res = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            str(playbook),
        ],
        cwd=str(ROOT),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    result = json.loads(res.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert result["failed"] and result["msg"] == (
        "benchmark case in60000-out16-c1-n3 has input_len 60000, over the service's max-input-len 57344 (the "
        "guide's prefill limit); use input_len <= 57344."
    )


HELP_UPSTREAM = """usage: vllm bench serve [options]
  --base-url BASE_URL   Server or API base url
  --dataset-name {sharegpt,random}
  --disable-tqdm        Specify to disable tqdm progress bar.
  --ignore-eos          Set ignore_eos flag
  --max-concurrency MAX_CONCURRENCY
  --metadata [KEY=VALUE ...]
  --metric-percentiles METRIC_PERCENTILES  use "--percentile-metrics" to select metrics
  --num-prompts NUM_PROMPTS
  --percentile-metrics PERCENTILE_METRICS
  --random-input-len RANDOM_INPUT_LEN
  --random-output-len RANDOM_OUTPUT_LEN
  --result-dir RESULT_DIR
  --result-filename RESULT_FILENAME
  --save-detailed       When saving the results, whether to include per request information
  --save-result         Specify to save benchmark results to a json file
  --served-model-name SERVED_MODEL_NAME
"""


def test_help_flags_and_the_argv():
    flags = bc.help_flags(HELP_UPSTREAM)
    assert "--save-detailed" in flags and "--server-num" not in flags and "--random-input-len" in flags
    assert bc.missing_flags(flags) == []
    assert bc.missing_flags(["--num-prompts"])[0] == "--dataset-name"
    c = case(128, 1024, 4, 12)
    argv = bc.serve_argv(
        c,
        "http://vllm_service_lb:8000/",
        "/weights/Qwen3-8B",
        "Qwen3-8B",
        "/tmp/b",
        flags,
        server_num=2,
        metadata={"vacc_qwen3_case": c["name"], "vacc_qwen3_host": "h"},
    )
    assert argv[:3] == ["vllm", "bench", "serve"]
    pairs = dict(zip(argv[3::1], argv[4::1]))
    assert pairs["--base-url"] == "http://vllm_service_lb:8000"
    assert pairs["--model"] == "/weights/Qwen3-8B" and pairs["--served-model-name"] == "Qwen3-8B"
    assert pairs["--dataset-name"] == "random" and pairs["--num-prompts"] == "12"
    assert pairs["--random-input-len"] == "128" and pairs["--random-output-len"] == "1024"
    assert pairs["--max-concurrency"] == "4" and pairs["--result-filename"] == "in128-out1024-c4-n12.json"
    assert pairs["--percentile-metrics"] == "ttft,tpot,itl,e2el" and pairs["--metric-percentiles"] == "99"
    for flag in ("--ignore-eos", "--save-result", "--save-detailed", "--disable-tqdm"):
        assert flag in argv
    assert "--server-num" not in argv  # upstream vLLM has none
    assert argv[-3:] == ["--metadata", "vacc_qwen3_case=in128-out1024-c4-n12", "vacc_qwen3_host=h"]
    assert not any("key" in a.lower() for a in argv)  # the API key travels in the environment
    vendor = bc.serve_argv(c, "http://h:8000", "/w", "m", "/tmp/b", flags + ["--server-num"], server_num=2)
    assert vendor[vendor.index("--server-num") + 1] == "2"
    bare = bc.serve_argv(c, "http://h:8000", "/w", "m", "/tmp/b", bc.REQUIRED_FLAGS)
    for flag in ("--save-detailed", "--metadata", "--disable-tqdm", "--percentile-metrics"):
        assert flag not in bare


def test_case_record_keeps_vllms_json_or_records_the_failure():
    c = case(32, 16, 1, 2)
    text = json.dumps(vllm_result(2, input_len=32, output_len=16))
    ok = bc.case_record(c, rc="0", result_text=text, log_text="fine")
    assert ok == {"ok": True, "content": text, "error": None}  # stored exactly as vLLM wrote it
    log = "x" * 5000 + "\nConnectionRefusedError: [Errno 111] Connect call failed"
    bad = bc.case_record(c, rc="1", result_text="", log_text=log, host="h1", tail=100)
    rec = json.loads(bad["content"])
    assert not bad["ok"] and rec["status"] == "failed" and rec["rc"] == 1 and rec["host"] == "h1"
    assert rec["case"] == c["name"] and rec["input_len"] == 32 and rec["num_prompts"] == 2
    assert rec["error"] == "vllm bench serve exited with rc 1: ConnectionRefusedError: [Errno 111] Connect call failed"
    assert len(rec["stderr_tail"]) == 100 and rec["stderr_tail"].endswith("Connect call failed")
    assert "no exit status" in bc.case_record(c, rc="", result_text="")["error"]
    assert "within 60 s" in bc.case_record(c, rc=124, timeout=60)["error"]
    assert "wrote no result JSON" in bc.case_record(c, rc=0, result_text="{broken")["error"]
    given = bc.case_record(c, error="the service container x is not running on h1")
    assert json.loads(given["content"])["error"] == "the service container x is not running on h1"
    assert json.loads(given["content"])["rc"] is None


def test_slo_keys():
    parsed = bc.parse_slo(
        {
            "p99_ttft_ms": 2000,
            "mean_tpot_ms": "100",
            "min_output_throughput": 10,
            "p99.9_e2el_ms": 5,
            "min_output_throughput_per_instance": 3,
        }
    )
    assert [(p["key"], p["bound"], p["field"], p["limit"]) for p in parsed] == [
        ("p99_ttft_ms", "max", "p99_ttft_ms", 2000.0),
        ("mean_tpot_ms", "max", "mean_tpot_ms", 100.0),
        ("min_output_throughput", "min", "output_throughput", 10.0),
        ("p99.9_e2el_ms", "max", "p99.9_e2el_ms", 5.0),
        ("min_output_throughput_per_instance", "min", "output_throughput_per_instance", 3.0),
    ]
    with pytest.raises(bc.BenchReportError, match="ttft_p99 is unknown"):
        bc.parse_slo({"ttft_p99": 1})
    with pytest.raises(bc.BenchReportError, match="must be a number"):
        bc.parse_slo({"p99_ttft_ms": "fast"})


# ---------------------------------------------------------------------------------------------
# The report


def md_tables(md, host, title):
    """Rows (dicts) of the Markdown table under '## host' / '### title'."""
    section = md.split("## %s\n" % host, 1)[1].split("\n## ", 1)[0]
    block = section.split("### %s\n\n" % title, 1)[1].split("\n\n", 1)[0].splitlines()
    head = [h.strip() for h in block[0].strip("|").split("|")]
    return [dict(zip(head, [c.strip() for c in line.strip("|").split("|")])) for line in block[2:]]


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells, self.points, self.svgs, self.tables, self.external = [], [], [], [], []
        self._table, self._tr = None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = a
            self.tables.append(a)
        elif tag == "tr":
            self._tr = a
        elif tag == "td" and "data-key" in a:
            self.cells.append(
                dict(
                    a,
                    table=self._table.get("data-table"),
                    host=self._table.get("data-host"),
                    case=self._tr.get("data-case"),
                )
            )
        elif tag == "svg":
            self.svgs.append(a)
        elif tag == "circle":
            self.points.append(dict(a, kind=self.svgs[-1].get("data-kind"), chart_host=self.svgs[-1].get("data-host")))
        if tag in ("script", "link", "img", "iframe") or "src" in a or (tag != "svg" and "href" in a):
            self.external.append((tag, a))


def test_report_tables_equal_the_jsons(fleet):
    run, hosts = fleet
    summary = br.write_report(str(run), latest_dir=str(run.parent.parent / "report"))
    md = Path(summary["files"]["md"]).read_text()
    for host, (cases, results) in hosts.items():
        thr = {r["case"]: r for r in md_tables(md, host, "Throughput")}
        lat = {r["case"]: r for r in md_tables(md, host, "Latency (ms)")}
        assert list(thr) == [c["name"] for c in cases]  # every planned case, failed or missing too
        for c in cases:
            data = results.get(c["name"])
            if not isinstance(data, dict) or data.get("status") == "failed":
                assert thr[c["name"]]["status"] in ("failed", "missing") and c["name"] not in lat
                continue
            row = thr[c["name"]]
            assert row["status"] == "ok" and int(row["completed"]) == data["completed"]
            for col, key in (
                ("req/s", "request_throughput"),
                ("output tok/s", "output_throughput"),
                ("total tok/s", "total_token_throughput"),
                ("duration s", "duration"),
            ):
                assert row[col] == "%.2f" % data[key], (host, c["name"], col)
            for metric, label in bc.METRICS:
                for stat in bc.STATS:
                    assert lat[c["name"]]["%s %s" % (label, stat)] == "%.2f" % data["%s_%s_ms" % (stat, metric)]
    # va16-a has no --server-num: per instance = throughput / 2; va16-b ran with the vendor's flag: none.
    a_first = md_tables(md, "va16-a", "Throughput")[0]
    a_data = hosts["va16-a"][1][hosts["va16-a"][0][0]["name"]]
    assert a_first["output tok/s per instance"] == "%.2f" % (a_data["output_throughput"] / 2)
    assert md_tables(md, "va16-b", "Throughput")[0]["output tok/s per instance"] == "-"
    assert "per-instance throughput is the measured throughput / 2 instance(s)" in md
    assert "ran with --server-num 4" in md


def test_report_html_is_self_contained_with_values_and_plots(fleet):
    run, hosts = fleet
    summary = br.write_report(str(run))
    page = Page()
    page.feed(Path(summary["files"]["html"]).read_text())
    assert page.external == []  # no script, stylesheet or image to fetch
    for cell in page.cells:
        if cell["table"] not in ("throughput", "latency") or not cell["data-value"]:
            continue
        data = hosts[cell["host"]][1].get(cell["case"])
        if isinstance(data, dict) and cell["data-key"] in data:
            assert cell["data-value"] == repr(data[cell["data-key"]]) or cell["data-value"] == str(
                data[cell["data-key"]]
            )
    checked = [c for c in page.cells if c["data-key"] == "p99_ttft_ms"]
    assert len(checked) == 6  # 4 ok cases on va16-a, 2 on va16-b
    # Plots: one throughput chart per length group, and TTFT / TPOT / E2EL panels per host side by side.
    kinds = [s.get("data-kind") for s in page.svgs]
    assert kinds.count("throughput") == 1 and kinds.count("ttft") == 2 and kinds.count("e2el") == 2
    assert summary["plots"] == 7 and len(list((run / "report" / "plots").glob("*.svg"))) == 7
    thr = [p for p in page.points if p["kind"] == "throughput"]
    assert len(thr) == 6
    for p in thr:
        host = p["data-series"]
        match = [
            d
            for d in hosts[host][1].values()
            if isinstance(d, dict)
            and d.get("max_concurrency") == int(float(p["data-x"]))
            and d.get("status") != "failed"
        ]
        assert float(p["data-y"]) == match[0]["output_throughput"]
    ttft_a = [p for p in page.points if p["kind"] == "ttft" and p["chart_host"] == "va16-a"]
    assert len(ttft_a) == 8  # mean and p99 at 4 concurrencies
    assert {float(p["data-y"]) for p in ttft_a if p["data-series"] == "p99 TTFT"} == {180.0, 2500.0, 3000.0}


def test_report_csv_parses_to_the_jsons(fleet):
    run, hosts = fleet
    summary = br.write_report(str(run))
    rows = list(csv.DictReader(open(summary["files"]["csv"])))
    assert len(rows) == 8 and rows[0]["run_id"] == "20261126T120000Z"
    for row in rows:
        data = hosts[row["host"]][1].get(row["case"])
        if row["status"] != "ok":
            assert row["error"]
            continue
        for key in (
            "request_throughput",
            "output_throughput",
            "total_token_throughput",
            "mean_ttft_ms",
            "median_tpot_ms",
            "p99_itl_ms",
            "p99_e2el_ms",
            "duration",
        ):
            assert float(row[key]) == data[key], (row["case"], key)
        assert int(row["completed"]) == data["completed"] and int(row["input_len"]) == 128


def test_failures_are_listed(fleet):
    run, dummy = fleet
    summary = br.write_report(str(run))
    failed = {(f["host"], f["case"]): f for f in summary["failed_cases"]}
    assert set(failed) == {("va16-b", "in2048-out256-c4-n12"), ("va16-b", "in128-out1024-c8-n24")}
    assert failed[("va16-b", "in2048-out256-c4-n12")]["error"] == (
        "vllm bench serve exited with rc 1: ValueError: Initial test run failed"
    )
    assert failed[("va16-b", "in128-out1024-c8-n24")]["status"] == "missing"
    assert "| va16-b | in2048-out256-c4-n12 | failed | vllm bench serve exited with rc 1" in summary["failed_table"]
    assert "## Failed cases" in Path(summary["files"]["md"]).read_text()


def test_partly_failed_requests_fail_the_case(tmp_path):
    run = tmp_path / "r1"
    c = case(32, 16, 2, 4)
    data = vllm_result(4, input_len=32, output_len=16, concurrency=2, failed=1, detailed=True)
    data["errors"] = ["", "", "", "Bad Request: This model's maximum context length is 2048 tokens"]
    write_host(run, manifest("h", [c]), {c["name"]: data})
    summary = br.write_report(str(run), latest_link=False)
    assert summary["failed_cases"][0]["error"] == (
        "1 of 4 requests failed: Bad Request: This model's maximum context length is 2048 tokens"
    )


def test_pitfall_notes(fleet):
    run, dummy = fleet
    notes = {(n["host"], n["case"], n["code"]) for n in br.write_report(str(run))["notes"]}
    # ITL 120 ms per chunk against TPOT 40 ms per token: multi-token chunks.
    assert ("va16-a", "in128-out1024-c8-n24", "itl_vs_tpot") in notes
    assert not any(code == "itl_vs_tpot" for h, c, code in notes if c != "in128-out1024-c8-n24")
    # Usage missing (re-tokenised), prompt count off, a TTFT of 0, a chat backend on a reasoning model.
    for code in ("output_tokens", "input_tokens", "ttft_zero", "chat_ttft"):
        assert ("va16-b", "in128-out1024-c1-n3", code) in notes, code
    assert ("va16-b", "in128-out1024-c4-n12", "chat_ttft") in notes
    assert not any(
        h == "va16-a" and code in ("output_tokens", "input_tokens", "ttft_zero", "chat_ttft") for h, c, code in notes
    )
    md = (run / "report" / "benchmark.md").read_text()
    assert "total output tokens 3000 != completed 3 x output_len 1024" in md
    assert "this is a reasoning model, so TTFT is the first reasoning token" in md
    assert "no chat template is applied, so the model does not think" in md  # va16-a: completions


def test_chunk_level_notes_from_detailed_arrays(tmp_path):
    run = tmp_path / "r2"
    c1, c2 = case(32, 16, 1, 2), case(32, 16, 2, 2)
    # 16 tokens per request in 4 chunks (4 tokens each): ITL per chunk, not per token.
    chunky = vllm_result(
        2, input_len=32, output_len=16, concurrency=1, detailed=True, tpot=(20.0, 20.0, 21.0), itl=(80.0, 80.0, 81.0)
    )
    chunky["itls"] = [[0.08, 0.08, 0.08]] * 2
    # Tokens delivered in bursts (a buffering proxy): the median ITL is near 0.
    bursty = vllm_result(
        2, input_len=32, output_len=16, concurrency=2, tpot=(20.0, 20.0, 21.0), itl=(20.0, 0.006, 200.0)
    )
    write_host(run, manifest("h", [c1, c2]), {c1["name"]: chunky, c2["name"]: bursty})
    notes = {(n["case"], n["code"]): n["text"] for n in br.write_report(str(run), latest_link=False)["notes"]}
    assert notes[(c1["name"], "multi_token_chunks")].startswith(
        "32 output tokens arrived in 8 chunks (4.00 tokens per chunk)"
    )
    assert (c1["name"], "itl_vs_tpot") in notes
    assert "tokens arrive in bursts" in notes[(c2["name"], "bursty_stream")]
    assert (c2["name"], "itl_vs_tpot") not in notes  # means agree; only the median shows it


def test_slo_gate_table(fleet):
    run, hosts = fleet
    summary = br.write_report(str(run))
    misses = summary["slo_misses"]
    # va16-a: p99 TTFT 2500 and 3000 ms over 2000 at concurrency 4 and 8; everything else met.
    assert [(m["case"], m["objective"], m["limit"], m["measured"]) for m in misses] == [
        ("in128-out1024-c4-n12", "p99_ttft_ms", 2000.0, 2500.0),
        ("in128-out1024-c8-n24", "p99_ttft_ms", 2000.0, 3000.0),
    ]
    assert summary["slo_checked"] == 4  # va16-b has no SLO
    assert summary["slo_table"].splitlines()[0] == "| host | case | objective | limit | measured |"
    assert "| va16-a | in128-out1024-c4-n12 | p99_ttft_ms | 2000.00 | 2500.00 |" in summary["slo_table"]
    md = Path(summary["files"]["md"]).read_text()
    assert "SLO missed by 2 of 4 checked case(s)." in md
    rows = {r["case"]: r for r in csv.DictReader(open(summary["files"]["csv"])) if r["host"] == "va16-a"}
    assert rows["in128-out1024-c1-n3"]["slo"] == "met" and rows["in128-out1024-c4-n12"]["slo"] == "missed: p99_ttft_ms"


def test_case_slo_and_unmeasured_objectives(tmp_path):
    run = tmp_path / "r3"
    c = case(32, 16, 1, 3, slo={"min_output_throughput_per_instance": 1e9})
    data = vllm_result(3, input_len=32, output_len=16)
    del data["p99_e2el_ms"]  # not among --percentile-metrics
    write_host(run, manifest("h", [c], slo={"p99_e2el_ms": 10}), {c["name"]: data})
    misses = br.write_report(str(run), latest_link=False)["slo_misses"]
    assert [(m["objective"], m["measured"]) for m in misses] == [
        ("p99_e2el_ms", None),
        ("min_output_throughput_per_instance", data["output_throughput"] / 2),
    ]
    assert "| not measured |" in br.slo_table({"slo_misses": misses})


def test_latest_copy_and_link(fleet):
    run, dummy = fleet
    latest = run.parent.parent / "report"
    summary = br.write_report(str(run), latest_dir=str(latest))
    for name in ("benchmark.md", "benchmark.html", "benchmark.csv"):
        assert (latest / name).read_text() == (run / "report" / name).read_text()
    link = run.parent / "latest"
    assert link.is_symlink() and os.readlink(link) == run.name and summary["latest_link"] == str(link)
    br.write_report(str(run), latest_dir=str(latest))  # again: replaced, not nested
    assert os.readlink(link) == run.name
    leftovers = list(run.rglob(".*")) + list(latest.glob(".*"))
    assert leftovers == []  # atomic writes leave no temp files


def test_an_empty_run_is_refused(tmp_path):
    with pytest.raises(bc.BenchReportError, match="no benchmark run"):
        br.write_report(str(tmp_path / "nothing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(bc.BenchReportError, match="has no cases"):
        br.write_report(str(tmp_path / "empty"))


def test_svg_chart_scales_points():
    svg = br.svg_chart(
        "t",
        [{"name": "s", "color": "#000", "points": [{"x": 0, "y": 0, "label": "a"}, {"x": 10, "y": 100, "label": "b"}]}],
        "x",
        "y",
        x_max=10,
        y_max=100,
        width=200,
        height=200,
    )
    assert svg.startswith("<svg") and svg.count("<circle") == 2 and "<polyline" in svg
    assert 'data-x="10.0" data-y="100.0"' in svg
    assert br._ticks(97) == ([0, 20, 40, 60, 80, 100], 100)


def test_action_plugin_through_ansible(fleet, tmp_path):
    """The action plugin as a playbook calls it: the report written, the gates' data returned."""
    run, dummy = fleet
    play = tmp_path / "report.yml"
    play.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - vacc.qwen3.bench_report:\n        run_dir: %s\n        latest_dir: %s\n      register: r\n"
        "    - ansible.builtin.copy:\n        content: '{{ r | to_json }}'\n        dest: %s\n        mode: '0644'\n"
        % (run, tmp_path / "latest", tmp_path / "r.json")
    )
    exe = Path(sys.executable).with_name("ansible-playbook")
    res = subprocess.run(
        [
            str(exe),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            "ansible_python_interpreter=%s" % sys.executable,
            str(play),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    out = json.loads((tmp_path / "r.json").read_text())
    assert out["changed"] and len(out["failed_cases"]) == 2 and len(out["slo_misses"]) == 2
    assert Path(out["files"]["html"]).exists() and (tmp_path / "latest" / "benchmark.csv").exists()
    assert out["summary"] == "2 host(s), 8 case(s): 6 ok, 2 failed. SLO missed by 2 of 4 checked case(s)."
