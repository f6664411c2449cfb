"""The filters that replaced broadcast.yml's Jinja chains (plugins/filter/broadcast_state.py): each gives what the
expression it replaced gave, rendered by ansible-core's own templating on the same inputs."""

import json

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.vacc.qwen3.plugins.filter import broadcast_state as bs


def render(expression, **variables):
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(expression))


@pytest.mark.parametrize(
    "result",
    [
        {"stdout": json.dumps({"manifest": "m1", "complete": True, "manifest_changed": False})},
        {"stdout": "Traceback (most recent call last): ...", "rc": 1},
        {"stdout": "", "msg": "no python"},
        {"msg": "unreachable"},
    ],
)
def test_relay_answer_is_the_object_printed_or_nothing(result):
    old = "{{ (r.stdout | from_json) if (r.stdout | default('')).startswith('{') else {} }}"
    assert bs.relay_answer(result) == render(old, r=result)


def test_relay_answer_of_a_malformed_object_fails_loudly():
    with pytest.raises(ValueError):
        bs.relay_answer({"stdout": "{not json"})


HOSTVARS = {
    "a": {"runs": True},
    "b": {"runs": False},
    "c": {"runs": True},
    "d": {},
}


@pytest.mark.parametrize("hosts", [["a", "b", "c"], ["c", "b", "a"], ["b"], []])
def test_flagged_hosts_keeps_the_play_order(hosts):
    old = "{{ hosts | zip(hosts | map('extract', hv, 'runs')) | selectattr(1) | map(attribute=0) | list }}"
    assert bs.flagged_hosts(hosts, HOSTVARS, "runs") == render(old, hosts=hosts, hv=HOSTVARS)


def test_flagged_hosts_leaves_out_a_host_without_the_variable():
    assert bs.flagged_hosts(["a", "d", "c"], HOSTVARS, "runs") == ["a", "c"]


WATCH = [
    {"item": {"key": "m1"}, "servers": {"a": {"watch_state": "done", "refetched": 0}, "b": {"watch_state": "done"}}},
    {"item": {"key": "m2"}, "servers": {"c": {"watch_state": "stalled", "refetched": 2, "error": "x"}}},
    {"item": {"key": "m3"}, "skipped": True},
]


def test_broadcast_servers_merges_every_chain():
    old = "{{ results | selectattr('servers', 'defined') | map(attribute='servers') | list | combine }}"
    assert bs.broadcast_servers(WATCH) == render(old, results=WATCH)
    assert bs.broadcast_servers([]) == {}


@pytest.mark.parametrize("results,refetched", [(WATCH[:2], True), (WATCH[:1], False)])
def test_refetched_pieces_are_counted_as_before(results, refetched):
    old = (
        "{{ results | map(attribute='servers') | map('dict2items') | flatten | map(attribute='value')"
        " | selectattr('refetched', 'defined') | map(attribute='refetched') | sum > 0 }}"
    )
    new = "{{ (results | bs).values() | map(attribute='refetched', default=0) | sum > 0 }}"
    templar = Templar(loader=DataLoader(), variables={"results": results})
    templar.environment.filters["bs"] = bs.broadcast_servers
    assert render(old, results=results) is refetched
    assert templar.template(trust_as_template(new)) is refetched
