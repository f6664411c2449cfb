"""The role installs EvalScope in its own venv on the runner, pinned, without torch, idempotently."""

import os
import subprocess

from accuracy_helpers import EVALSCOPE_VENV, evaluate, recap


def test_install_is_pinned_lean_and_idempotent(evalscope_installed, tmp_path):
    again = evaluate({"accuracy_results_dir": str(tmp_path / "results")}, tmp_path, "--tags", "accuracy_install")
    assert again.returncode == 0, again.stdout[-4000:]
    assert recap(again.stdout)["changed"] == 0, again.stdout[-4000:]
    py = os.path.join(EVALSCOPE_VENV, "bin", "python")
    out = subprocess.run(
        [
            py,
            "-c",
            "import evalscope, importlib.util as u; print(evalscope.__version__, "
            "u.find_spec('torch') is None, u.find_spec('langdetect') is not None)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["1.14.1", "True", "True"]  # the pinned version; no torch; the ifeval extra
    assert os.path.isfile(os.path.join(EVALSCOPE_VENV, "vacc_accuracy_run.py"))
