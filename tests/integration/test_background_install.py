"""EvalScope's venv installed in the background (accuracy_install_background, as `make demo` starts it): two hosts
sharing the controller as runner start one pip job, the role's own install later waits for it once and then finds
the venv made; a pip that fails in the background fails the play there, in pip's words. Real pip and PyPI."""

import os
import re

from playbook import run_play

VENV = "/opt/vacc-qwen3/evalscope-venv"  # the role's default, which the accuracy stage uses too


def install(background, **extra):
    return {
        "name": "Install" + (" in the background" if background else ""),
        "ansible.builtin.include_role": {"name": "vacc.qwen3.accuracy", "tasks_from": "install"},
        "vars": dict(extra, accuracy_install_background=background),
    }


def play(tmp_path, **extra):
    tasks = [
        install(True, **extra),
        {"name": "Started", "ansible.builtin.debug": {"msg": "started {{ _common_background | list }}"}},
        install(False, **extra),
        {"name": "After", "ansible.builtin.debug": {"msg": "after {{ _common_background | list }}"}},
    ]
    # Two hosts, the controller their runner; the role plans first (its _common dependency).
    return run_play(
        tmp_path / "play.yml",
        tasks,
        "-e",
        "qwen3_model=Qwen3-0.6B",
        "-e",
        "qwen3_tp=2",
        hosts="all",
        inventory="a,b,",
        timeout=1800,
    )


def test_one_background_install_is_waited_for_once(tmp_path):
    res, flat = play(tmp_path)
    assert res.returncode == 0, flat[-3000:]
    assert len(re.findall(r"started \[.evalscope venv.\]", flat)) == 2, flat[-3000:]  # recorded on both hosts
    assert len(re.findall(r"EvalScope'{1,2}s install in %s on localhost: done after \d+ s" % VENV, flat)) == 1, flat
    assert flat.count("after []") == 2, flat  # waited for, then forgotten on both hosts
    assert os.path.exists(os.path.join(VENV, "vacc_accuracy_run.py"))
    # The role's own pip found the venv the job made: nothing changed at that task.
    own = flat[flat.index("TASK [vacc.qwen3.accuracy : Install EvalScope in its venv", flat.index("TASK [Started]")) :]
    own = own[: own.index("TASK [", 10)]
    assert "changed:" not in own and own.count("ok: [") == 2, own


def test_a_failed_background_install_fails_where_it_is_needed(tmp_path):
    venv = str(tmp_path / "venv")
    res, flat = play(tmp_path, accuracy_venv=venv, accuracy_evalscope_version="0.0.0.dev0")
    assert res.returncode != 0
    assert "TASK [After]" not in flat, flat[-3000:]
    assert re.search(
        r"EvalScope'{1,2}s install in %s on localhost, started in the background, failed on localhost"
        % re.escape(venv),
        flat,
    ), flat[-3000:]
    assert "No matching distribution found for evalscope[ifeval]==0.0.0.dev0" in flat, flat[-3000:]  # pip's words
