"""Fixtures of tests/monitoring: the role's images (built once, then reused)."""

import pytest

from monitoring_helpers import HERE, ansible_playbook

TIMINGS = {}


@pytest.fixture(scope="session")
def images():
    res = ansible_playbook(HERE / "images.yml", inventory=HERE / "inventory-localhost.yml")
    assert res.returncode == 0, res.stdout[-4000:]
    TIMINGS["images_s"] = res.seconds
    return res
