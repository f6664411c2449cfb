"""Fixtures of tests/monitoring: the role's images (built once, then reused). The collection is importable
as ansible_collections.vacc.qwen3, as in tests/unit."""

import os

import pytest
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
from monitoring_helpers import HERE, ansible_playbook

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_AnsibleCollectionFinder(paths=[os.path.join(ROOT, "collections")], scan_sys_paths=True)._install()
TIMINGS = {}


@pytest.fixture(scope="session")
def images():
    res = ansible_playbook(HERE / "images.yml", inventory=HERE / "inventory-localhost.yml")
    assert res.returncode == 0, res.stdout[-4000:]
    TIMINGS["images_s"] = res.seconds
    return res
