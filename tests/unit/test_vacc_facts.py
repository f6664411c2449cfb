"""Unit tests for the vacc_facts module: vasmi parsing, sysfs/devfs detection, docker ping, disk, memory."""

import json
import stat

import pytest

from ansible_collections.vacc.qwen3.plugins.modules import vacc_facts as vf

# A `vasmi summary`-like table: the vendor's scripts count cards with `grep VA1 | wc -l`.
VASMI_TABLE_VA16 = """\
=============================================================
 Card  Name   BusId          Temp   Power   Mode
-------------------------------------------------------------
 0     VA16   0000:3b:00.0   45C    75W     AI
 1     VA16   0000:5e:00.0   47C    74W     AI
 2     VA16   0000:86:00.0   44C    76W     AI
 3     VA16   0000:af:00.0   46C    73W     AI
=============================================================
"""


def _elem(bus, name=None, **extra):
    vals = {"devBusId": {"value": bus}, "P_Cap": {"value": "150 W"}}
    if name:
        vals["Name"] = {"value": name}
    vals.update({k: {"value": v} for k, v in extra.items()})
    return {"pci_bus": bus, "vals": vals}


# ---------------------------------------------------------------- vasmi parsing
def test_vasmi_table_counts_cards_times_four_for_va16():
    parsed = vf.parse_vasmi_summary(VASMI_TABLE_VA16)
    assert parsed["cards"] == 4
    assert parsed["card_models"] == ["VA16"] * 4
    assert parsed["dies"] == 16


def test_vasmi_table_va10l():
    text = "0 VA10L 0000:3b:00.0\n1 VA10L 0000:5e:00.0\n"
    assert vf.parse_vasmi_summary(text)["dies"] == 8


def test_vasmi_table_va1l_dies_unknown_unless_told():
    text = "0 VA1L 0000:3b:00.0\n1 VA1L 0000:5e:00.0\n"
    parsed = vf.parse_vasmi_summary(text)
    assert parsed["cards"] == 2 and parsed["dies"] is None
    assert vf.parse_vasmi_summary(text, dies_per_card=2)["dies"] == 4


def test_vasmi_json_card_rows_with_model_names():
    data = {"elem": [_elem("0000:3b:00.0", "VA16"), _elem("0000:5e:00.0", "VA16")]}
    parsed = vf.parse_vasmi_summary(json.dumps(data))
    assert parsed == {"dies": 8, "cards": 2, "card_models": ["VA16", "VA16"], "note": "json: 2 card rows"}


def test_vasmi_json_card_rows_without_names_use_card_option():
    data = {"elem": [_elem("0000:3b:00.0"), _elem("0000:5e:00.0"), _elem("0000:86:00.0")]}
    assert vf.parse_vasmi_summary(json.dumps(data))["dies"] is None
    assert vf.parse_vasmi_summary(json.dumps(data), card="VA10L")["dies"] == 12


def test_vasmi_json_die_count_field_wins():
    data = {
        "elem": [_elem("0000:3b:00.0", "VA1L", **{"Die Num": "2"}), _elem("0000:5e:00.0", "VA1L", **{"Die Num": "2"})]
    }
    parsed = vf.parse_vasmi_summary(json.dumps(data))
    assert parsed["dies"] == 4 and parsed["cards"] == 2


def test_vasmi_json_die_rows():
    data = {"elem": [dict(_elem("0000:3b:00.0", "VA16"), die_id=i) for i in range(4)]}
    parsed = vf.parse_vasmi_summary(json.dumps(data))
    assert parsed["dies"] == 4 and parsed["cards"] is None


@pytest.mark.parametrize("text", ["", "   ", "vasmi: no device found", "{not json", '{"elem": "x"}'])
def test_vasmi_unparseable_gives_no_dies(text):
    assert vf.parse_vasmi_summary(text)["dies"] is None


def _fake_vasmi(tmp_path, json_ok=True, name="vasmi"):
    body = json.dumps({"elem": [_elem("0000:3b:00.0", "VA16")]})
    script = tmp_path / name
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$2" = "--display-format=json" ]; then\n'
        + ("  echo '%s'; exit 0\n" % body if json_ok else "  echo 'unknown option' >&2; exit 2\n")
        + "fi\n"
        'printf "0 VA16 0000:3b:00.0\\n1 VA16 0000:5e:00.0\\n"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_find_and_run_vasmi_json_then_text(tmp_path):
    vasmi = _fake_vasmi(tmp_path)
    assert vf.find_vasmi(path_env="", extra_dirs=(str(tmp_path),)) == vasmi
    assert vf.parse_vasmi_summary(vf.run_vasmi(vasmi))["dies"] == 4
    old = _fake_vasmi(tmp_path, json_ok=False, name="vasmi_internal")
    assert vf.find_vasmi(path_env=str(tmp_path), extra_dirs=()) == old  # vasmi_internal preferred
    assert vf.parse_vasmi_summary(vf.run_vasmi(old))["dies"] == 8


def test_find_vasmi_absent(tmp_path):
    assert vf.find_vasmi(path_env=str(tmp_path), extra_dirs=()) is None


# ---------------------------------------------------------------- sysfs / devfs
def _sysfs(tmp_path, addrs):
    drv = tmp_path / "sys" / "bus" / "pci" / "drivers" / "vastai_pci"
    drv.mkdir(parents=True)
    for name in ["bind", "unbind", "new_id", "module"] + addrs:
        (drv / name).touch()
    return str(tmp_path / "sys")


def test_sysfs_counts_function_zero_cards(tmp_path):
    root = _sysfs(tmp_path, ["0000:3b:00.0", "0000:3b:00.1", "0000:5e:00.0"])
    assert vf.detect_sysfs(root, card="VA16") == {"dies": 8, "cards": 2, "note": "2 vastai_pci card(s)"}
    found = vf.detect_sysfs(root)
    assert found["cards"] == 2 and found["dies"] is None
    assert vf.detect_sysfs(root, dies_per_card=3)["dies"] == 6


def test_sysfs_without_driver(tmp_path):
    assert vf.detect_sysfs(str(tmp_path))["dies"] is None


def test_devfs_counts_vacc_nodes(tmp_path):
    for name in ["vacc0", "vacc1", "vacc2", "vacc3", "vastai0_version", "vaccel", "vacc", "kchar:0"]:
        (tmp_path / name).touch()
    assert vf.detect_devfs(str(tmp_path)) == {"dies": 4, "note": "4 vacc<N> nodes"}
    assert vf.detect_devfs(str(tmp_path / "missing"))["dies"] is None


def test_detect_dies_order(tmp_path):
    sys_root = _sysfs(tmp_path, ["0000:3b:00.0"])
    dev = tmp_path / "dev"
    dev.mkdir()
    for i in range(2):
        (dev / ("vacc%d" % i)).touch()
    common = dict(sysfs_root=sys_root, devfs_root=str(dev))
    assert vf.detect_dies(override=7, vasmi_output=VASMI_TABLE_VA16, **common)["dies_source"] == "override"
    assert vf.detect_dies(override=0, **common)["dies"] == 0
    got = vf.detect_dies(vasmi_output=VASMI_TABLE_VA16, **common)
    assert (got["dies"], got["dies_source"], got["cards"]) == (16, "vasmi", 4)
    got = vf.detect_dies(vasmi_output="garbage", card="VA16", **common)
    assert (got["dies"], got["dies_source"]) == (4, "sysfs")
    got = vf.detect_dies(card="VA1L", **common)  # sysfs sees a card of unknown dies -> devfs
    assert (got["dies"], got["dies_source"], got["cards"]) == (2, "devfs", 1)
    got = vf.detect_dies(sysfs_root=str(tmp_path / "none"), devfs_root=str(tmp_path / "none"))
    assert (got["dies"], got["dies_source"]) == (None, "none")
    assert got["detection"][0] == "vasmi: not found"


# ---------------------------------------------------------------- the module as Ansible runs it
def test_main_reports_facts_and_changes_nothing(capsys):
    from ansible.module_utils.testing import patch_module_args

    args = {"dies": 4, "_ansible_check_mode": True}
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        vf.main()
    assert exc.value.code == 0
    result = json.loads(capsys.readouterr().out)
    facts = result["ansible_facts"]["vacc"]
    assert result["changed"] is False
    assert (facts["dies"], facts["dies_source"]) == (4, "override")
    assert set(facts) == {"dies", "dies_source", "cards", "card_models", "detection"}
