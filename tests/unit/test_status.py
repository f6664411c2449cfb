"""The fleet's status rows (plugins/plugin_utils/_status.py, action vacc.qwen3.fleet_status): serving,
degraded, down, unreachable and unplanned servers; the gateways' view added to the door's; drift; the
weights' broadcast progress; the table, Markdown and JSON written whole."""

import base64
import json

import pytest

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _status

NOW = 1_800_000_000.0


def instance(name, door="UP", drift=(), in_flight=0, queued=0, image="img:1"):
    return {
        "name": name,
        "exists": True,
        "running": True,
        "image": image,
        "image_id": "sha256:" + "a" * 64,
        "digests": ["img@sha256:" + "b" * 64],
        "drift": list(drift),
        "door_status": door,
        "in_flight": in_flight,
        "queued": queued,
    }


def facts(instances=None, queued=0, unreachable=False, progress=None):
    out = {
        "qwen3_plan": {"model": "Qwen3-8B", "served_model_name": "qwen3-8b", "die_slices": ["0-1", "2-3"]},
        "qwen3_service": {"image": "img:1"},
        "__status_ping": {"unreachable": unreachable, "msg": "ssh: no route\n to host"},
    }
    if instances is not None:
        out["vllm_service_status"] = {"door": "running", "instances": instances, "queued": queued}
    if progress is not None:
        out["__status_weights"] = {"content": base64.b64encode(json.dumps(progress).encode()).decode()}
    return out


def progress(**kw):
    out = {
        "state": "running",
        "bytes_total": 95_000_000,
        "bytes_done": 47_500_000,
        "rate_bps": 11_900_000.0,
        "eta_s": 4.0,
        "upstream": "fleet-1",
        "updated_at": NOW - 1,
        "refetched": 0,
        "error": None,
    }
    out.update(kw)
    return out


def test_a_serving_server_with_its_gateway():
    gw = {"fleet-gw": {"running": True, "servers": {"fleet-2": {"status": "UP", "in_flight": 3, "queued": 2}}}}
    row = _status.server_row(
        "fleet-2", facts([instance("a", in_flight=4), instance("b", in_flight=1)], queued=1), gw, NOW
    )
    assert row["state"] == "serving" and row["instances"] == "2/2" and row["door"] == "running"
    assert row["in_flight"] == 4 + 1 + 3 and row["queued"] == 1 + 2
    assert row["gateway"] == "fleet-gw UP" and row["die_slices"] == "0-1 | 2-3"
    assert row["digest"] == "sha256:" + "b" * 12 and row["drift"] == "-" and row["weights"] == "-"


@pytest.mark.parametrize("doors, state, up", [(("UP", "DOWN"), "degraded", "1/2"), (("DOWN", "MAINT"), "down", "0/2")])
def test_degraded_and_down(doors, state, up):
    row = _status.server_row("s", facts([instance("a", door=doors[0]), instance("b", door=doors[1])]), {}, NOW)
    assert (row["state"], row["instances"], row["gateway"]) == (state, up, "-")


def test_no_instance_is_down_not_serving():
    assert _status.server_row("s", facts([]), {}, NOW)["state"] == "down"


def test_drift_names_the_instance_and_what_differs():
    row = _status.server_row("s", facts([instance("a", drift=["image", "command"]), instance("b")]), {}, NOW)
    assert row["drift"] == "a: image, command"


def test_unreachable_says_why_on_one_line_and_unplanned_says_so():
    row = _status.server_row("s", facts(unreachable=True), {}, NOW)
    assert row["state"] == "unreachable: ssh: no route to host" and row["instances"] == "-"
    assert _status.server_row("s", facts(), {}, NOW)["state"].startswith("no status")


def test_a_stopped_gateway_is_not_reported_as_seeing_the_server():
    gw = {"g": {"running": False, "servers": {"s": {"status": "UP"}}}}
    assert _status.server_row("s", facts([instance("a")]), gw, NOW)["gateway"] == "-"


@pytest.mark.parametrize(
    "prog, cell",
    [
        (None, "-"),
        ({"state": "running"}, "-"),  # not a relay's record
        (progress(), "receiving 50% of 95.0 MB, 11.9 MB/s, eta 4s, from fleet-1"),
        (progress(upstream=None, eta_s=None, rate_bps=0), "receiving 50% of 95.0 MB, 0 B/s"),
        (progress(state="done", bytes_done=95_000_000), "broadcast done, 95.0 MB"),
        (progress(state="done", refetched=2), "broadcast done, 95.0 MB, 2 piece(s) re-fetched"),
        (
            progress(state="failed", error="sha256 mismatch\n on piece 3"),
            "broadcast failed at 50% of 95.0 MB: sha256 mismatch on piece 3",
        ),
        (progress(updated_at=NOW - 31), "broadcast stalled at 50% of 95.0 MB (last word 07:59:29)"),
    ],
)
def test_the_weights_cell(prog, cell):
    assert _status.weights_cell(prog, NOW) == cell


def test_the_row_reads_the_slurped_progress_even_when_the_server_is_unreachable_now():
    row = _status.server_row("s", facts(progress=progress(state="done")), {}, NOW)
    assert row["weights"].startswith("broadcast done")
    broken = facts([instance("a")])
    broken["__status_weights"] = {"content": "bm90IGpzb24="}  # "not json"
    assert _status.server_row("s", broken, {}, NOW)["weights"] == "-"


def test_table_markdown_and_files(tmp_path):
    rows = [
        _status.server_row("s1", facts([instance("a")]), {}, NOW),
        _status.server_row("s2|x", facts(unreachable=True), {}, NOW),
    ]
    lines = _status.table(rows)
    assert lines[0].split()[:2] == ["server", "state"] and len(lines) == 3
    files = _status.write_files(rows, str(tmp_path / "status"))
    data = json.loads((tmp_path / "status" / "fleet.json").read_text())
    assert data["servers"] == rows and data["generated"].endswith("Z")
    md = (tmp_path / "status" / "fleet.md").read_text()
    assert "| s2\\|x | unreachable" in md and md.count("\n|") == 4
    assert sorted(p.name for p in (tmp_path / "status").iterdir()) == ["fleet.json", "fleet.md"], "no temporary left"
    assert files == {"json": str(tmp_path / "status" / "fleet.json"), "md": str(tmp_path / "status" / "fleet.md")}


def test_the_engine_column_and_a_fleet_of_two_flag_sets():
    """Each server's running image as its probe says (vLLM version, flag-set fingerprint); a fleet whose servers
    run images with different flag sets shows two fingerprints."""
    engines = {
        "sha256:" + "a" * 64: {"version": "0.9.2", "fingerprint": "098d99b6ab0f0c03"},
        "sha256:" + "c" * 64: {"version": "0.10.0", "fingerprint": "119970e997d60160"},
    }
    one = _status.server_row("s1", facts([instance("a")]), {}, NOW, engines=engines)
    newer = dict(instance("a"), image_id="sha256:" + "c" * 64)
    two = _status.server_row("s2", facts([newer]), {}, NOW, engines=engines)
    unknown = _status.server_row(
        "s3", facts([dict(instance("a"), image_id="sha256:" + "d" * 64)]), {}, NOW, engines=engines
    )
    assert (
        one["engine"] == "vLLM 0.9.2 flags 098d99b6ab0f0c03" and two["engine"] == "vLLM 0.10.0 flags 119970e997d60160"
    )
    assert unknown["engine"] == "not probed"
    assert _status.flag_sets([one, two, unknown]) == ["098d99b6ab0f0c03", "119970e997d60160"]
    assert _status.flag_sets([one, one]) == ["098d99b6ab0f0c03"]
    assert "engine" in _status.table([one, two])[0]
    assert _status.server_row("s4", facts(unreachable=True), {}, NOW)["engine"] == "-"
