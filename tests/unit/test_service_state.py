"""The filters that replaced the roles' Jinja accumulators (plugins/filter/service_state.py, gateway_backends.py):
each gives what the expression it replaced gave, rendered by ansible-core's own templating on the same inputs."""

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.vacc.qwen3.plugins.filter import gateway_backends as gw
from ansible_collections.vacc.qwen3.plugins.filter import service_state as ss


def render(expression, **variables):
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(expression))


def container(name, image="img:1", image_id="sha256:aaa", running=True, env=None):
    return {
        "Name": "/" + name,
        "Image": image_id,
        "Config": {"Image": image, "Cmd": ["serve"], "Env": ["%s=%s" % kv for kv in (env or {"A": "1"}).items()]},
        "HostConfig": {"Privileged": True, "Binds": ["/w:/w:ro"]},
        "NetworkSettings": {"Networks": {"net": {}}},
        "State": {"Running": running},
    }


PLANNED = [
    {
        "name": "svc_0",
        "image": "img:1",
        "command": ["serve"],
        "env": {"A": "1"},
        "volumes": ["/w:/w:ro"],
        "network": "net",
        "privileged": True,
    },
    {
        "name": "svc_1",
        "image": "img:2",
        "command": ["serve"],
        "env": {"A": "2"},
        "volumes": ["/w:/w:ro"],
        "network": "net",
        "privileged": True,
    },
    {
        "name": "svc_2",
        "image": "img:1",
        "command": ["serve"],
        "env": {},
        "volumes": [],
        "network": "net",
        "privileged": True,
    },
]
RESULTS = [
    {"item": PLANNED[0], "exists": True, "container": container("svc_0")},
    {"item": PLANNED[1], "exists": True, "container": container("svc_1", image_id="sha256:bbb", running=False)},
    {"item": PLANNED[2], "exists": False, "container": None},
]
IMAGES = [{"Id": "sha256:aaa", "RepoDigests": ["r/img@sha256:111"]}, {"Id": "sha256:bbb", "RepoDigests": None}]
DOOR = {
    "instances/svc_0": {"status": "UP", "scur": "3", "qcur": "1"},
    "instances/svc_1": {"status": "DOWN", "scur": "", "qcur": "0"},
}

# vllm_service/tasks/status.yml before the filter.
STATUS_JINJA = (
    "{% set out = [] %}{% for r in results %}{% set planned = r.item %}{%"
    " set running = r.container | vacc.qwen3.container_spec if r.exists else {} %}{%"
    " set stat = door.get('instances/' ~ planned.name, {}) %}{%"
    " set _ = out.append({'name': planned.name, 'exists': r.exists, 'running': running.running | default(false),"
    " 'image': running.image | default(none), 'image_id': running.image_id | default(none),"
    " 'digests': (images | selectattr('Id', 'eq', running.image_id | default('')) | map(attribute='RepoDigests') | first | default([], true)),"
    " 'drift': (running | vacc.qwen3.spec_drift(planned)) if r.exists else ['missing'],"
    " 'door_status': stat.status | default('unknown'), 'in_flight': stat.scur | default(0) | int,"
    " 'queued': stat.qcur | default(0) | int}) %}{% endfor %}{{ out }}"
)


@pytest.mark.parametrize("door", [DOOR, {}])
def test_instances_status_is_what_the_accumulator_gave(door):
    rows = ss.instances_status(RESULTS, IMAGES, door)
    assert rows == render(STATUS_JINJA, results=RESULTS, images=IMAGES, door=door)
    assert [r["drift"] for r in rows] == [[], ["image", "env"], ["missing"]]
    assert rows[0]["digests"] == ["r/img@sha256:111"] and rows[1]["digests"] == []


def test_running_images_keeps_existing_instances_only():
    expected = {
        "svc_0": {"image": "img:1", "id": "sha256:aaa", "digests": ["r/img@sha256:111"]},
        "svc_1": {"image": "img:1", "id": "sha256:bbb", "digests": []},
    }
    assert ss.running_images(RESULTS, IMAGES) == expected
    assert ss.running_images([{"skipped": True, "item": PLANNED[0]}], []) == {}


def test_stray_instances_are_the_containers_the_plan_no_longer_has():
    service = {"instances": [{"name": "svc_0"}], "door": {"name": "svc_lb"}}
    containers = [{"Names": ["/svc_0"]}, {"Names": ["/svc_1"]}, {"Names": ["/svc_lb"]}, {"Names": ["/svc_2"]}]
    jinja = (
        "{{ containers | map(attribute='Names') | map('first') | map('regex_replace', '^/', '')"
        " | difference(service.instances | map(attribute='name') | list + [service.door.name]) }}"
    )
    assert (
        ss.stray_instances(containers, service)
        == ["svc_1", "svc_2"]
        # Jinja's difference is a set: its order changes with the hash seed.
        == sorted(render(jinja, containers=containers, service=service))
    )
    assert ss.stray_instances([], service) == []


# vllm_service/tasks/overlength.yml before the filter.
OVERLENGTH_JINJA = (
    "{% set out = [] %}{% for r in results %}{%"
    " set _ = out.append({'case': r.item.case, 'limit': r.item.limit, 'prompt_tokens': r.item.tokens,"
    " 'status': r.status | default(-1) | int,"
    " 'message': ((r.json.error.message | default(r.json.message | default('')))"
    " if r.json is defined and r.json is mapping else (r.msg | default(''))) | string | truncate(300, true, '...'),"
    " 'seconds': r.elapsed | default(timeout) | float,"
    " 'failed': r.status | default(-1) | int >= 500 or r.status | default(-1) | int < 0}) %}{% endfor %}{{ out }}"
)


def test_overlength_results_are_what_the_accumulator_gave():
    case = {"case": "over max-model-len", "limit": 64, "tokens": 65}
    results = [
        {"item": case, "status": 400, "elapsed": 0, "json": {"error": {"message": "too long " * 40}}},
        {"item": case, "status": 400, "elapsed": 1, "json": {"message": "x" * 303}},
        {"item": case, "status": 422, "elapsed": 1, "json": {"error": "plain"}},
        {"item": case, "status": 500, "elapsed": 2, "msg": "Status code was 500"},
        {"item": case, "status": -1, "msg": "timed out"},
        {"item": case, "msg": "no status"},
    ]
    rows = ss.overlength_results(results, "120")
    assert rows == render(OVERLENGTH_JINJA, results=results, timeout="120")
    assert [r["failed"] for r in rows] == [False, False, False, True, True, True]
    assert len(rows[0]["message"]) == 300 and rows[0]["message"].endswith("...")
    assert rows[4]["seconds"] == 120.0


def test_gateway_servers_status_is_what_the_accumulator_gave():
    stat = {
        "model_a/srv1": {"svname": "srv1", "pxname": "model_a", "status": "UP", "scur": "2", "qcur": ""},
        "model_b/srv2": {"svname": "srv2", "pxname": "model_b", "status": "DRAIN", "scur": "0", "qcur": "4"},
    }
    jinja = (
        "{% set out = {} %}{% for key, row in stat.items() %}{%"
        " set _ = out.update({row.svname: {'status': row.status, 'in_flight': row.scur | int, 'queued': row.qcur | int,"
        " 'backend': row.pxname}}) %}{% endfor %}{{ out }}"
    )
    assert gw.gateway_servers_status(stat) == render(jinja, stat=stat)
    assert gw.gateway_servers_status({}) == {}


def test_gateway_key_sources_name_a_file_or_a_given_keys_hash():
    hostvars = {
        "a": {"qwen3_service": {"secrets": {"api_key_file": "/s/api_key"}}},
        "b": {"qwen3_service": {"secrets": {"api_key_file": None}}, "qwen3_api_key": "sk-1"},
        "c": {"qwen3_service": {"secrets": {"api_key_file": None}}, "qwen3_api_key": "sk-2"},
    }
    jinja = (
        "{% set ids = [] %}{% for h in servers %}{% set file = hostvars[h].qwen3_service.secrets.api_key_file %}{%"
        " set _ = ids.append(file or 'a given key ' ~ (hostvars[h].qwen3_api_key | hash('sha256'))[:12]) %}{% endfor %}{{ ids }}"
    )
    sources = gw.gateway_key_sources(hostvars, ["a", "b", "c"])
    assert sources == render(jinja, hostvars=hostvars, servers=["a", "b", "c"])
    assert sources[0] == "/s/api_key" and sources[1] != sources[2] and sources[1].startswith("a given key ")
