"""The collection as a user gets it: the tarball scripts/build.sh makes with the newest claimed ansible-core's
ansible-galaxy (in the venvs `make test-consumer` and `make test-artifact` create from tests/cores/)."""

import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORES = sorted(
    (f[:-4] for f in os.listdir(os.path.join(ROOT, "tests", "cores")) if f.endswith(".txt")),
    key=lambda v: tuple(map(int, v.split("."))),
)
BUILD_BIN = os.path.join(ROOT, ".cache", "cores", CORES[-1], "bin")


def build(out_dir, root=ROOT):
    """The tarball's path, built from the checkout at `root` into `out_dir`."""
    if not os.path.exists(os.path.join(BUILD_BIN, "ansible-galaxy")):
        pytest.fail("%s is missing: run `make test-consumer` (it creates the venvs from tests/cores/)" % BUILD_BIN)
    res = subprocess.run(
        ["bash", os.path.join(str(root), "scripts", "build.sh"), BUILD_BIN, str(out_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout.strip().splitlines()[-1]
