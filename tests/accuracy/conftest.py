"""Fixtures of the accuracy role's tests (helpers in accuracy_helpers.py)."""

import os

import pytest
from accuracy_helpers import EVALSCOPE_VENV, evaluate


@pytest.fixture(scope="session")
def evalscope_installed(tmp_path_factory):
    """EvalScope in the role's venv, installed by the role itself (a no-op when it is there)."""
    tmp = tmp_path_factory.mktemp("install")
    proc = evaluate({"accuracy_results_dir": str(tmp / "results")}, tmp, "--tags", "accuracy_install", timeout=1800)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert os.path.exists(os.path.join(EVALSCOPE_VENV, "bin", "python"))
    return proc
