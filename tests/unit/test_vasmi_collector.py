"""The node exporter image's entry point (roles/monitoring/files/vacc_node_exporter.py): the vasmi
textfile collector says "no vasmi" where there is none and makes no numbers up; where vasmi answers in
`summary --display-format=json`'s shape ({"elem": [{"vals": {name: {"value": v}}}]}, as the vendor's
tools print it) it names temperature, memory and utilisation by field name and unit and keeps every
numeric field raw. The field names below are made up: vasmi's own are not public."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "roles" / "monitoring" / "files" / "vacc_node_exporter.py"
spec = importlib.util.spec_from_file_location("vacc_node_exporter", SCRIPT)
ne = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ne)

SUMMARY = {
    "elem": [
        {
            "vals": {
                "dieId": {"value": "0"},
                "dieTemp": {"value": "47 C"},
                "memUsed": {"value": "1024 MiB"},
                "memTotal": {"value": "32 GiB"},
                "aiUtil": {"value": "37%"},
                "devBusId": {"value": "0000:01:00.0"},
            }
        },
        {
            "vals": {
                "dieId": {"value": "1"},
                "dieTemp": {"value": 51},
                "fanSpeed": {"value": "1200 rpm"},
                "firmware": {"value": "v1.2.3"},
            }
        },
    ]
}


class Proc(object):
    def __init__(self, rc=0, out="", err=""):
        self.returncode, self.stdout, self.stderr = rc, out.encode(), err.encode()


def fake_vasmi(tmp_path):
    exe = tmp_path / "vasmi"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    return str(exe)


def by_name(samples):
    out = {}
    for name, labels, value in samples:
        out.setdefault(name, []).append((dict(labels), value))
    return out


def test_no_vasmi_says_so_and_makes_nothing_up():
    samples = by_name(ne.collect(vasmi=None, path_env="/nonexistent", clock=iter([100.0, 100.25]).__next__))
    assert samples["vacc_vasmi_up"] == [({}, 0)]
    assert samples["vacc_vasmi_info"] == [({"reason": "no vasmi"}, 1)]
    assert set(samples) == {
        "vacc_vasmi_up",
        "vacc_vasmi_info",
        "vacc_vasmi_collector_last_run_timestamp_seconds",
        "vacc_vasmi_collector_duration_seconds",
    }
    assert samples["vacc_vasmi_collector_duration_seconds"] == [({}, 0.25)]


def test_a_vasmi_answer_becomes_named_metrics(tmp_path):
    exe = fake_vasmi(tmp_path)
    calls = []

    def run(argv, **kw):
        calls.append(argv)
        return Proc(out=json.dumps(SUMMARY))

    samples = by_name(ne.collect(vasmi=exe, run=run))
    assert calls == [[exe, "summary", "--display-format=json"]]
    assert samples["vacc_vasmi_up"] == [({}, 1)] and samples["vacc_vasmi_info"] == [({"path": exe}, 1)]
    assert samples["vacc_vasmi_temperature_celsius"] == [
        ({"device": "0", "key": "dieTemp"}, 47.0),
        ({"device": "1", "key": "dieTemp"}, 51.0),
    ]
    assert sorted(samples["vacc_vasmi_memory_bytes"], key=str) == sorted(
        [
            ({"device": "0", "kind": "used", "key": "memUsed"}, 1024.0 * 2**20),
            ({"device": "0", "kind": "total", "key": "memTotal"}, 32.0 * 2**30),
        ],
        key=str,
    )
    assert samples["vacc_vasmi_utilization_ratio"] == [({"device": "0", "kind": "used", "key": "aiUtil"}, 0.37)]
    # Every numeric field kept as vasmi names it, ids and text left out.
    fields = {(d["device"], d["key"], d["unit"]): v for d, v in samples["vacc_vasmi_field"]}
    assert fields[("1", "fanSpeed", "rpm")] == 1200.0 and ("1", "firmware", "") not in fields
    assert not [k for k in fields if k[1] in ("dieId", "devBusId")]


@pytest.mark.parametrize(
    "proc, reason",
    [
        (Proc(rc=2, err="no device found"), "vasmi failed: rc 2 no device found"),
        (Proc(out="Card 0: VA16 ..."), "unparsed: vasmi summary --display-format=json printed no elem list"),
        (
            Proc(out=json.dumps({"elem": [{"vals": {"firmware": {"value": "v1"}}}]})),
            "unparsed: vasmi summary listed no numeric field",
        ),
    ],
)
def test_a_vasmi_that_does_not_answer_is_down_with_its_reason(tmp_path, proc, reason):
    samples = by_name(ne.collect(vasmi=fake_vasmi(tmp_path), run=lambda argv, **kw: proc))
    assert samples["vacc_vasmi_up"] == [({}, 0)]
    assert samples["vacc_vasmi_info"][0][0]["reason"].startswith(reason)
    assert "vacc_vasmi_temperature_celsius" not in samples and "vacc_vasmi_field" not in samples


def test_a_hung_vasmi_is_cut_off(tmp_path):
    def run(argv, **kw):
        raise subprocess.TimeoutExpired(argv, kw["timeout"])

    samples = by_name(ne.collect(vasmi=fake_vasmi(tmp_path), run=run, timeout=3))
    assert samples["vacc_vasmi_info"] == [({"reason": "vasmi failed: no answer in 3 s"}, 1)]


def test_the_text_format(tmp_path):
    text = ne.render(
        ne.collect(
            vasmi=fake_vasmi(tmp_path),
            run=lambda argv, **kw: Proc(out=json.dumps(SUMMARY)),
            clock=iter([1.0, 1.5]).__next__,
        )
    )
    lines = text.splitlines()
    assert lines[:3] == [
        "# HELP vacc_vasmi_up " + ne.HELP["vacc_vasmi_up"],
        "# TYPE vacc_vasmi_up gauge",
        "vacc_vasmi_up 1",
    ]
    assert 'vacc_vasmi_temperature_celsius{device="0",key="dieTemp"} 47' in lines
    assert 'vacc_vasmi_utilization_ratio{device="0",kind="used",key="aiUtil"} 0.37' in lines
    # One HELP/TYPE per metric name.
    assert len([ln for ln in lines if ln.startswith("# TYPE vacc_vasmi_field ")]) == 1


def test_once_writes_the_file_atomically(tmp_path):
    env = dict(os.environ, PATH="/usr/bin:/bin")
    subprocess.run([sys.executable, str(SCRIPT), "--once", "--textfile-dir", str(tmp_path)], env=env, check=True)
    assert os.listdir(tmp_path) == ["vacc_vasmi.prom"]
    assert "vacc_vasmi_up 0\n" in (tmp_path / "vacc_vasmi.prom").read_text()


def test_the_supervisor_writes_then_follows_the_exporter(tmp_path):
    """The exporter's exit is the entry point's exit (Docker's restart policy restarts both)."""
    res = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--interval",
            "0.2",
            "--textfile-dir",
            str(tmp_path),
            "--",
            sys.executable,
            "-c",
            "import sys, time; time.sleep(0.5); sys.exit(3)",
        ],
        env=dict(os.environ, PATH="/usr/bin:/bin"),
        timeout=30,
        check=False,
    )
    assert res.returncode == 3
    assert (tmp_path / "vacc_vasmi.prom").exists()


def test_without_an_exporter_it_collects_until_stopped(tmp_path):
    """Beside the published node exporter image the script runs alone: it keeps the textfile fresh and ends
    on SIGTERM (docker stop) at once, not after its interval."""
    import signal
    import time

    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--interval", "60", "--textfile-dir", str(tmp_path)],
        env=dict(os.environ, PATH="/usr/bin:/bin"),
    )
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "vacc_vasmi.prom").exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)  # polling for the file the collector writes, bounded
        assert "vacc_vasmi_up 0\n" in (tmp_path / "vacc_vasmi.prom").read_text()
        assert proc.poll() is None, "it keeps running without an exporter"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0 and time.monotonic() - started < 10
    finally:
        if proc.poll() is None:
            proc.kill()
