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


@pytest.mark.parametrize(
    "kwargs,count",
    [
        ({"dtype": "FP8"}, 15),
        ({"dtype": "INT4"}, 15),
        ({"dtype": "BF16"}, 6),
        ({"family": "8B"}, 4),
        ({"family": "30B-A3B"}, 7),
        ({"kind": "moe"}, 10),
        ({"family": "8B", "dtype": "INT4"}, 2),
    ],
)
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


def test_per_revision(lookup):
    current = lookup.run([], variables={}, revision="VVI-26.02")
    assert [e["name"] for e in current] == list(cat.guide("VVI-26.02").models) and len(current) == 37
    assert {e["revision"] for e in current} == {"VVI-26.02"} and {e["source"] for e in current} == {"guide:VVI-26.02"}
    assert [e["name"] for e in lookup.run([], variables={}, revision="VVI-26.02", dtype="INT8")][:2] == [
        "Qwen3-0.6B-GPTQ-Int8",
        "Qwen3-1.7B-GPTQ-Int8",
    ]
    [entry] = lookup.run(["Qwen3-0.6B"], variables={}, revision="VVI-26.02")
    assert entry["tp"] == [1, 2, 4, 8] and entry["limits"]["1"]["max_model_len"] == 32768
    # The guide's own spelling of a corrected name.
    [entry] = lookup.run(["Qwen3-4B-Instruct-2507-GPTQ-IN4"], variables={}, revision="VVI-26.02")
    assert entry["name"] == "Qwen3-4B-Instruct-2507-GPTQ-INT4"
    with pytest.raises(AnsibleLookupError, match="guide revision VVI-26.02 lists it"):
        lookup.run(["Qwen3-8B-GPTQ-INT8"], variables={})


def test_with_rows_of_ones_own(lookup, tmp_path):
    row = {"name": "Qwen3-8B-mine", "family": "8B", "dtype": "INT4", "quant_method": "gptq", "tp": [2, 4]}
    [entry] = lookup.run(["qwen3-8b-mine"], variables={}, catalog_extra=[row])
    assert entry["source"] == "inventory" and entry["limits"]["4"]["max_model_len"] == 131072
    rows = tmp_path / "rows.yml"
    rows.write_text("- {name: Qwen3-8B-mine, family: 8B, dtype: INT4, quant_method: gptq, tp: [2]}\n")
    assert lookup.run([], variables={}, catalog_extra=str(rows))[-1]["name"] == "Qwen3-8B-mine"
    with pytest.raises(
        AnsibleLookupError, match=r"^qwen3_catalog_extra\[0\] \(Qwen3-8B-mine\): dtype 'INT2' is not one of"
    ):
        lookup.run([], variables={}, catalog_extra=[dict(row, dtype="INT2")])
