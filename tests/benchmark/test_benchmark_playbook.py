"""playbooks/benchmark.yml against the live local service (inventories/local: two stand-in vLLM
instances behind HAProxy on port 8000), with tiny cases so that each run takes seconds.

If the service does not answer to this checkout's key, tests/local_service.py brings it up with
playbooks/deploy.yml (idempotent).
Results go to a temporary directory, not to the checkout's results/.
"""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import local_service
import pytest

ROOT = Path(__file__).resolve().parents[2]
PORT = 8000
# What vLLM's `vllm bench serve --save-result` writes (FACTS section 4), and what --save-detailed adds.
VLLM_KEYS = (
    "date",
    "backend",
    "model_id",
    "tokenizer_id",
    "num_prompts",
    "request_rate",
    "max_concurrency",
    "duration",
    "completed",
    "failed",
    "total_input_tokens",
    "total_output_tokens",
    "request_throughput",
    "output_throughput",
    "total_token_throughput",
    "max_output_tokens_per_s",
    "max_concurrent_requests",
    "mean_ttft_ms",
    "median_ttft_ms",
    "p99_ttft_ms",
    "mean_tpot_ms",
    "median_tpot_ms",
    "p99_tpot_ms",
    "mean_itl_ms",
    "median_itl_ms",
    "p99_itl_ms",
    "mean_e2el_ms",
    "median_e2el_ms",
    "p99_e2el_ms",
)
DETAILED_KEYS = ("input_lens", "output_lens", "ttfts", "itls", "generated_texts", "errors")
TINY = [
    {"input_len": 32, "output_len": 16, "max_concurrency": 1, "num_prompts": 2},
    {"input_len": 32, "output_len": 16, "max_concurrency": 4, "num_prompts": 8},
]


def ansible_playbook(playbook, *args, extra=None, tmp=None, timeout=900):
    exe = Path(sys.executable).with_name("ansible-playbook")
    exe = str(exe) if exe.exists() else shutil.which("ansible-playbook")
    if not exe:
        pytest.fail("ansible-playbook not found: run make venv")
    cmd = [exe, "-i", "inventories/local", playbook, *args]
    if extra is not None:
        path = Path(tmp) / ("extra-%d.json" % time.monotonic_ns())
        path.write_text(json.dumps(extra))
        cmd += ["-e", "@%s" % path]
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    start = time.monotonic()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    res.seconds = time.monotonic() - start
    print("%s %s: rc %d in %.1f s" % (playbook, " ".join(args), res.returncode, res.seconds))
    return res


@pytest.fixture(scope="module")
def service():
    return local_service.ensure()


def dirs(tmp):
    return {"benchmark_results_dir": str(tmp / "benchmark"), "benchmark_report_latest_dir": str(tmp / "report")}


def only_run(tmp):
    runs = [p for p in (tmp / "benchmark").iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(runs) == 1, runs
    return runs[0]


def md_rows(md, title):
    block = md.split("### %s\n\n" % title, 1)[1].split("\n\n", 1)[0].splitlines()
    head = [h.strip() for h in block[0].strip("|").split("|")]
    return {
        r["case"]: r for r in (dict(zip(head, [c.strip() for c in line.strip("|").split("|")])) for line in block[2:])
    }


class Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells, self.svgs, self.circles = [], [], 0
        self._table, self._tr = {}, {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = a
        elif tag == "tr":
            self._tr = a
        elif tag == "td" and "data-key" in a:
            self.cells.append(
                (self._table.get("data-table"), self._tr.get("data-case"), a["data-key"], a["data-value"])
            )
        elif tag == "svg":
            self.svgs.append(a.get("data-kind"))
        elif tag == "circle":
            self.circles += 1


def test_benchmark_runs_and_reports(service, tmp_path):
    start = time.monotonic()
    res = ansible_playbook("playbooks/benchmark.yml", extra=dict(dirs(tmp_path), benchmark_cases=TINY), tmp=tmp_path)
    assert res.returncode == 0, res.stdout[-5000:]
    run = only_run(tmp_path)
    host = run / "localhost"
    names = ["in32-out16-c1-n2", "in32-out16-c4-n8"]
    manifest = json.loads((host / "host.json").read_text())
    assert manifest["runner"] == "exec" and manifest["container"] == "vllm_service_0"
    # Through the load balancer, as the guide's --host <IP> reaches the public port.
    assert manifest["endpoint"] == "http://vllm_service_lb:8000" and manifest["instances"] == 2
    assert manifest["server_num"] is None  # the stand-in's upstream vLLM has no --server-num
    assert [c["name"] for c in manifest["cases"]] == names
    results = {}
    for name, case in zip(names, TINY):
        data = json.loads((host / ("%s.json" % name)).read_text())
        results[name] = data
        for key in VLLM_KEYS + DETAILED_KEYS:
            assert key in data, (name, key)
        assert data["completed"] == case["num_prompts"] and data["failed"] == 0
        assert data["max_concurrency"] == case["max_concurrency"]
        assert data["total_input_tokens"] == case["num_prompts"] * 32
        assert data["total_output_tokens"] == case["num_prompts"] * 16  # --ignore-eos
        assert data["vacc_qwen3_case"] == name and data["vacc_qwen3_host"] == "localhost"  # --metadata
        assert "Serving Benchmark Result" in (host / ("%s.log" % name)).read_text()
    # The report: Markdown tables equal to the JSONs.
    md = (run / "report" / "benchmark.md").read_text()
    thr, lat = md_rows(md, "Throughput"), md_rows(md, "Latency (ms)")
    for name, data in results.items():
        assert thr[name]["status"] == "ok" and int(thr[name]["completed"]) == data["completed"]
        assert thr[name]["output tok/s"] == "%.2f" % data["output_throughput"]
        assert thr[name]["req/s"] == "%.2f" % data["request_throughput"]
        assert thr[name]["total tok/s"] == "%.2f" % data["total_token_throughput"]
        assert thr[name]["output tok/s per instance"] == "%.2f" % (data["output_throughput"] / 2)
        for metric, label in (("ttft", "TTFT"), ("tpot", "TPOT"), ("itl", "ITL"), ("e2el", "E2EL")):
            for stat in ("mean", "median", "p99"):
                assert lat[name]["%s %s" % (label, stat)] == "%.2f" % data["%s_%s_ms" % (stat, metric)]
    # HTML: the exact values, and plots.
    page = Cells()
    page.feed((run / "report" / "benchmark.html").read_text())
    values = {(t, c, k): v for t, c, k, v in page.cells}
    for name, data in results.items():
        for key in ("output_throughput", "request_throughput"):
            assert float(values[("throughput", name, key)]) == data[key]
        for key in ("mean_ttft_ms", "p99_tpot_ms", "median_itl_ms", "p99_e2el_ms"):
            assert float(values[("latency", name, key)]) == data[key]
    assert page.svgs.count("throughput") == 1 and {"ttft", "tpot", "e2el"} <= set(page.svgs)
    assert page.circles >= 2 + 3 * 4  # 2 throughput points; mean and p99 at 2 concurrencies per metric
    # CSV.
    rows = {r["case"]: r for r in csv.DictReader(open(run / "report" / "benchmark.csv"))}
    for name, data in results.items():
        assert float(rows[name]["output_throughput"]) == data["output_throughput"]
        assert float(rows[name]["p99_ttft_ms"]) == data["p99_ttft_ms"]
    # Latest copy and link; the play says where the report is.
    assert (tmp_path / "report" / "benchmark.html").read_text() == (run / "report" / "benchmark.html").read_text()
    assert os.readlink(tmp_path / "benchmark" / "latest") == run.name
    assert "HTML: %s" % (run / "report" / "benchmark.html") in res.stdout
    print("benchmark.yml with 2 tiny cases: %.1f s" % (time.monotonic() - start))
    # A rerun that may keep it (site.yml's benchmark_reuse): the same instances and cases, so nothing runs and
    # the run is reported again as it was; other cases measure.
    kept = ansible_playbook(
        "playbooks/benchmark.yml", extra=dict(dirs(tmp_path), benchmark_cases=TINY, benchmark_reuse=True), tmp=tmp_path
    )
    assert kept.returncode == 0, kept.stdout[-5000:]
    assert "Kept: run %s" % run.name in kept.stdout and "Run in the service container" not in kept.stdout
    assert only_run(tmp_path) == run and json.loads((host / "host.json").read_text()) == manifest
    assert json.loads((host / ("%s.json" % names[0])).read_text()) == results[names[0]]
    other = ansible_playbook(
        "playbooks/benchmark.yml",
        extra=dict(dirs(tmp_path), benchmark_cases=TINY[:1], benchmark_reuse=True),
        tmp=tmp_path,
    )
    assert other.returncode == 0 and "Measuring: run" in other.stdout, other.stdout[-5000:]
    print("kept in %.1f s, measured one other case in %.1f s" % (kept.seconds, other.seconds))


def test_runner_container_and_an_slo_that_cannot_be_met(service, tmp_path):
    """The runner container (engine image, host network, any OpenAI endpoint) with an SLO no service meets:
    the case runs and is stored, the report is written, and then the play fails with the SLO table."""
    extra = dict(
        dirs(tmp_path),
        benchmark_runner="container",
        benchmark_cases=TINY[:1],
        benchmark_slo={"min_output_throughput": 1e9, "p99_ttft_ms": 1e9},
    )
    res = ansible_playbook("playbooks/benchmark.yml", extra=extra, tmp=tmp_path)
    assert res.returncode != 0
    out = res.stdout
    assert "The SLO fell short in 1 objective(s):" in out, out[-4000:]
    assert "| host | case | objective | limit | measured |" in out
    assert re.search(
        r"\| localhost \| in32-out16-c1-n2 \| min_output_throughput \| 1000000000\.00 \| \d+\.\d\d \|", out
    )
    assert "p99_ttft_ms" not in out.split("The SLO fell short", 1)[1].split("Report:", 1)[0]  # met objectives stay out
    run = only_run(tmp_path)
    manifest = json.loads((run / "localhost" / "host.json").read_text())
    assert manifest["runner"] == "container" and manifest["endpoint"] == "http://127.0.0.1:%d" % PORT
    assert manifest["image"] == "vacc-qwen3/vllm-cpu-standin:0.32.0"
    data = json.loads((run / "localhost" / "in32-out16-c1-n2.json").read_text())
    for key in VLLM_KEYS:
        assert key in data, key
    assert data["completed"] == 2 and data["failed"] == 0
    md = (run / "report" / "benchmark.md").read_text()
    assert "SLO missed by 1 of 1 checked case(s)." in md
    assert (
        "| localhost | in32-out16-c1-n2 | min_output_throughput | 1000000000.00 | %.2f |" % data["output_throughput"]
        in md
    )
    # The runner container is gone.
    ps = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True, check=False)
    assert "vllm_service_bench" not in ps.stdout.split()


def test_failed_cases_are_recorded_and_fail_the_play_at_the_end(service, tmp_path):
    """A runner that cannot run: every case is recorded with its error, the report lists them, and the
    play fails after all of them, listing them."""
    extra = dict(dirs(tmp_path), benchmark_container="vacc_qwen3_no_such_container", benchmark_cases=TINY)
    res = ansible_playbook("playbooks/benchmark.yml", extra=extra, tmp=tmp_path)
    assert res.returncode != 0
    assert "2 benchmark case(s) failed" in res.stdout, res.stdout[-4000:]
    run = only_run(tmp_path)
    for name in ("in32-out16-c1-n2", "in32-out16-c4-n8"):
        record = json.loads((run / "localhost" / ("%s.json" % name)).read_text())
        assert record["status"] == "failed" and record["case"] == name
        assert record["error"] == (
            "the service container vacc_qwen3_no_such_container does not exist on localhost "
            "(deploy first: vacc.qwen3.deploy)"
        )
        assert "| localhost | %s | failed | the service container vacc_qwen3_no_such_container" % name in res.stdout
    md = (run / "report" / "benchmark.md").read_text()
    assert "1 host(s), 2 case(s): 0 ok, 2 failed." in md
