"""The accuracy runner script's lookups (roles/accuracy/files/vacc_accuracy_run.py): `finished` names the newest
finished run with the same reuse key (kept on a rerun), `latest` the newest unfinished one (resumed)."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "roles" / "accuracy" / "files" / "vacc_accuracy_run.py"


def run_dir(work, name, created, status, reuse_key="k1", resume_key="h|m|e"):
    d = work / name
    d.mkdir(parents=True)
    (d / "meta.json").write_text(json.dumps({"created": created, "reuse_key": reuse_key, "resume_key": resume_key}))
    if status:
        (d / "state.json").write_text(json.dumps({"status": status}))


def ask(*args):
    out = subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["run_id"]


def test_finished_names_the_newest_finished_run_with_the_key(tmp_path):
    run_dir(tmp_path, "a", "2026-12-07T10:00:00Z", "finished")
    run_dir(tmp_path, "b", "2026-12-07T11:00:00Z", "finished")
    run_dir(tmp_path, "c", "2026-12-07T12:00:00Z", "failed")  # newer, but unfinished: resumed, not kept
    run_dir(tmp_path, "d", "2026-12-07T13:00:00Z", "finished", reuse_key="k2")  # asked something else
    run_dir(tmp_path, "e", "2026-12-07T14:00:00Z", "finished", reuse_key=None)  # made without reuse
    assert ask("finished", tmp_path, "k1") == "b"
    assert ask("finished", tmp_path, "k2") == "d"
    assert ask("finished", tmp_path, "k3") is None
    assert ask("finished", tmp_path / "missing", "k1") is None
    assert ask("latest", tmp_path, "h|m|e") == "c"


def test_an_empty_key_keeps_nothing(tmp_path):
    run_dir(tmp_path, "a", "2026-12-07T10:00:00Z", "finished", reuse_key="")
    assert ask("finished", tmp_path, "") is None
