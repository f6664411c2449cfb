"""Keeping a benchmark run on a rerun (plugin_utils/_bench_report.reusable_run, action bench_reusable_run):
only a run of exactly these hosts, each with its key, every planned case passed."""

import json

from playbook import run_play
from test_bench_report import case, manifest, vllm_result, write_host

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _bench_cases as bc
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _bench_report as br

CASES = [case(128, 64, 1, 3), case(128, 64, 2, 6)]


def passed_run(results, run_id, keys, started="2026-12-07T10:00:00Z"):
    for host, key in keys.items():
        m = manifest(host, CASES, reuse_key=key, started=started, run_id=run_id)
        write_host(results / run_id, m, {c["name"]: vllm_result(c["num_prompts"]) for c in CASES})
    return results / run_id


def test_the_newest_complete_run_with_the_same_keys_is_kept(tmp_path):
    passed_run(tmp_path, "20261207T100000Z", {"a": "k1", "b": "k2"}, started="2026-12-07T10:00:00Z")
    passed_run(tmp_path, "20261207T110000Z", {"a": "k1", "b": "k2"}, started="2026-12-07T11:00:00Z")
    (tmp_path / "latest").symlink_to(tmp_path / "20261207T100000Z")
    assert br.reusable_run(str(tmp_path), {"a": "k1", "b": "k2"}) == "20261207T110000Z"


def test_a_changed_key_another_host_set_or_no_key_measures_again(tmp_path):
    passed_run(tmp_path, "r1", {"a": "k1", "b": "k2"})
    assert br.reusable_run(str(tmp_path), {"a": "k1", "b": "other"}) is None  # b redeployed
    assert br.reusable_run(str(tmp_path), {"a": "k1"}) is None  # the run covered b as well
    assert br.reusable_run(str(tmp_path), {"a": "k1", "b": "k2", "c": "k3"}) is None
    assert br.reusable_run(str(tmp_path), {"a": "", "b": "k2"}) is None  # a's instances were not found
    assert br.reusable_run(str(tmp_path / "none"), {"a": "k1"}) is None


def test_a_failed_or_missing_case_is_not_kept(tmp_path):
    run = passed_run(tmp_path, "r1", {"a": "k1"})
    failed = bc.case_record(CASES[1], rc=1, log_text="Traceback\nValueError: boom", host="a")
    (run / "a" / ("%s.json" % CASES[1]["name"])).write_text(failed["content"])
    assert br.reusable_run(str(tmp_path), {"a": "k1"}) is None
    (run / "a" / ("%s.json" % CASES[1]["name"])).unlink()  # the host's run stopped before it
    assert br.reusable_run(str(tmp_path), {"a": "k1"}) is None
    partial = vllm_result(3)
    partial["failed"] = 1
    (run / "a" / ("%s.json" % CASES[1]["name"])).write_text(json.dumps(partial))
    assert br.reusable_run(str(tmp_path), {"a": "k1"}) is None


def test_the_action_through_ansible(tmp_path):
    passed_run(tmp_path / "benchmark", "r1", {"localhost": "k1"})
    tasks = [
        {
            "vacc.qwen3.bench_reusable_run": {"results_dir": str(tmp_path / "benchmark"), "keys": {"localhost": k}},
            "register": name,
        }
        for name, k in (("kept", "k1"), ("measured", "k2"))
    ]
    tasks.append(
        {
            "ansible.builtin.copy": {
                "content": "{{ [kept, measured] | to_json }}",
                "dest": str(tmp_path / "out.json"),
                "mode": "0644",
            }
        }
    )
    res, out = run_play(tmp_path / "p.yml", tasks)
    assert res.returncode == 0, out[-3000:]
    kept, measured = json.loads((tmp_path / "out.json").read_text())
    assert kept["run_id"] == "r1" and not kept["changed"]
    assert measured["run_id"] is None and "no complete run" in measured["msg"]
