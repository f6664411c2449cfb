"""Runs one EvalScope evaluation for vacc.qwen3's accuracy role, in EvalScope's venv on the runner.

    vacc_accuracy_run.py run RUN_DIR          evaluate (or resume) the run in RUN_DIR
    vacc_accuracy_run.py latest WORK_DIR KEY  print the id of the latest unfinished run with this key
    vacc_accuracy_run.py finished WORK_DIR KEY  print the id of the latest finished run with this reuse key

RUN_DIR/task.json holds EvalScope's TaskConfig arguments without the API key, which comes from the
environment (VACC_ACCURACY_API_KEY), so it is never on a command line or on disk. RUN_DIR/state.json
says running / failed / finished. A run whose EvalScope outputs exist is resumed with use_cache:
EvalScope reuses every saved prediction and asks only for the rest.
"""

import fcntl
import json
import os
import sys
import time
import traceback


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def _read_json(path, default=None):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def run(run_dir):
    run_dir = os.path.abspath(run_dir)
    state_path = os.path.join(run_dir, "state.json")
    lock = open(os.path.join(run_dir, ".lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        held = _read_json(state_path, {})
        print(
            json.dumps(
                {
                    "status": "busy",
                    "pid": held.get("pid"),
                    "msg": "run %s is still running (pid %s) on this runner" % (run_dir, held.get("pid")),
                }
            )
        )
        return 75

    # Before EvalScope (and so `datasets`) is imported: a Hugging Face datasets cache of this run's own.
    # A shared cache keys a local dataset by its directory name, and a stale entry from another
    # dataset of the same name silently replaced 20 items by 2 in a trial.
    hf_home = os.path.join(run_dir, "hf")
    os.environ["HF_HOME"] = hf_home
    os.environ["HF_DATASETS_CACHE"] = os.path.join(hf_home, "datasets")

    task = _read_json(os.path.join(run_dir, "task.json"))
    meta = _read_json(os.path.join(run_dir, "meta.json"), {})
    outputs = os.path.join(run_dir, "outputs")
    previous = _read_json(state_path, {})
    # Resume: EvalScope's outputs exist, so reuse them (use_cache) instead of starting over.
    resumed = os.path.exists(os.path.join(outputs, "configs", "task_config.yaml"))
    task = dict(task)
    # Local datasets were copied into the run: their ids are relative to it.
    for args in (task.get("dataset_args") or {}).values():
        if (
            args.get("dataset_id")
            and not os.path.isabs(args["dataset_id"])
            and os.path.exists(os.path.join(run_dir, args["dataset_id"]))
        ):
            args["dataset_id"] = os.path.join(run_dir, args["dataset_id"])
    if resumed:
        task["use_cache"] = outputs
    else:
        task["work_dir"] = outputs
        task["no_timestamp"] = True
    task["api_key"] = os.environ.get("VACC_ACCURACY_API_KEY") or "EMPTY"

    state = {
        "status": "running",
        "pid": os.getpid(),
        "resume_key": meta.get("resume_key"),
        "run_id": os.path.basename(run_dir),
        "started": previous.get("started") or _now(),
        "attempts": int(previous.get("attempts", 0)) + 1,
        "resumed": resumed,
        "resumed_at": _now() if resumed else None,
    }
    _write_json(state_path, state)

    # EvalScope's own progress goes to run.log (tail -f it); stdout keeps one JSON line for Ansible.
    real_stdout = os.dup(1)
    log = open(os.path.join(run_dir, "run.log"), "a", buffering=1)
    log.write("=== %s attempt %d%s\n" % (_now(), state["attempts"], " (resume)" if resumed else ""))
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    result = {}
    try:
        import evalscope
        from evalscope import TaskConfig, run_task

        state["evalscope_version"] = getattr(evalscope, "__version__", None)
        run_task(task_cfg=TaskConfig(**task))
        state.update(status="finished", finished=_now())
    except BaseException as exc:  # noqa: BLE001 - recorded, then re-raised as an exit status
        traceback.print_exc()
        state.update(status="failed", failed=_now(), error="%s: %s" % (type(exc).__name__, exc))
    finally:
        _write_json(state_path, state)
        result = {k: state.get(k) for k in ("status", "run_id", "attempts", "resumed", "error", "evalscope_version")}
        os.write(real_stdout, (json.dumps(result) + "\n").encode())
    return 0 if state["status"] == "finished" else 1


def _newest(work_dir, key, field, finished):
    """The id of the newest run whose meta.json has this key under `field`, finished or not as asked."""
    found = None
    try:
        names = sorted(os.listdir(work_dir))
    except OSError:
        names = []
    for name in names:
        d = os.path.join(work_dir, name)
        meta = _read_json(os.path.join(d, "meta.json"))
        if not key or not meta or meta.get(field) != key:
            continue
        if (_read_json(os.path.join(d, "state.json"), {}).get("status") == "finished") == finished:
            found = max(found or ("", ""), (meta.get("created") or "", name))
    print(json.dumps({"run_id": found[1] if found else None}))
    return 0


def latest(work_dir, key):
    """The newest run with this key that did not finish (resumed)."""
    return _newest(work_dir, key, "resume_key", finished=False)


def finished(work_dir, key):
    """The newest finished run with this reuse key: it asked the same of the same instances (kept)."""
    return _newest(work_dir, key, "reuse_key", finished=True)


def main(argv):
    if len(argv) == 3 and argv[1] == "run":
        return run(argv[2])
    if len(argv) == 4 and argv[1] == "latest":
        return latest(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "finished":
        return finished(argv[2], argv[3])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
