"""The catalog lookup, through ansible's plugin loader as a playbook would reach it."""
import pytest
from ansible.errors import AnsibleLookupError
from ansible.plugins.loader import lookup_loader

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _catalog as cat


@pytest.fixture(scope="module")
def lookup():
    plugin = lookup_loader.get("vacc.qwen3.qwen3_models")
    assert plugin is not None, "vacc.qwen3.qwen3_models not found: is collections/ on the path?"
    return plugin


def test_all(lookup):
    entries = lookup.run([], variables={})
    assert [e["name"] for e in entries] == list(cat.MODELS)
    first = entries[0]
    for key in ("name", "hf_repo", "modelscope_repo", "family", "params", "dtype", "tp", "limits", "arch"):
        assert key in first
    assert all(isinstance(t, int) for e in entries for t in e["tp"])


@pytest.mark.parametrize("kwargs,count", [({"dtype": "FP8"}, 15), ({"dtype": "INT4"}, 15), ({"dtype": "BF16"}, 6),
                                          ({"family": "8B"}, 4), ({"family": "30B-A3B"}, 7),
                                          ({"kind": "moe"}, 10), ({"family": "8B", "dtype": "INT4"}, 2)])
def test_filters(lookup, kwargs, count):
    entries = lookup.run([], variables={}, **kwargs)
    assert len(entries) == count
    for key, value in kwargs.items():
        assert all(e[key] == value for e in entries)


def test_terms(lookup):
    [entry] = lookup.run(["Qwen3-8B-AWQ"], variables={})
    assert entry["tp"] == [2, 4, 8] and entry["limits"]["2"]["max_model_len"] == 65536


def test_unknown_term(lookup):
    with pytest.raises(AnsibleLookupError, match="closest catalog names"):
        lookup.run(["Qwen3-8B-AWK"], variables={})
