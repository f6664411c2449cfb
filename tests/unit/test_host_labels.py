"""Every long-lived container and volume a role starts on a host carries vacc.qwen3.host=<inventory host>.

The label is how the collection finds what it started on a host (teardown_all, vllm_service_remove_all) and how
the fleet lab and the rehearsal tell one test host's containers from another's on a shared engine. The monitoring
role's Prometheus, node exporter, vasmi collector and Prometheus's volume, and Open WebUI's data volume, were
started without it: the rehearsal's image check never saw them and `make rehearsal-down` left them behind."""

import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = ("community.docker.docker_container", "community.docker.docker_volume")
# Started by roles that run on the hosts and leave something running or stored there.
ROLES = ("gateway", "monitoring", "webui")


def _tasks(tasks):
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))
        for module in MODULES:
            if module in task:
                yield task.get("name"), module, task[module] or {}


def started():
    for role in ROLES:
        tasks_dir = os.path.join(ROOT, "roles", role, "tasks")
        for name in sorted(os.listdir(tasks_dir)):
            with open(os.path.join(tasks_dir, name), encoding="utf-8") as handle:
                for title, module, args in _tasks(yaml.safe_load(handle)):
                    # A restart of an existing container (no labels given) and removals change no labels.
                    if args.get("state") != "absent" and "labels" in args:
                        yield "%s/%s: %s" % (role, name, title), module, args["labels"]


def test_the_walk_finds_the_roles_containers_and_volumes():
    found = {title for title, _module, _labels in started()}
    for title in (
        "monitoring/run.yml: Run Prometheus",
        "monitoring/run.yml: Create the data volume",
        "monitoring/exporter_run.yml: Run the node exporter",
        "monitoring/exporter_run.yml: Run the vasmi collector",
        "webui/run.yml: Run Open WebUI",
        "webui/run.yml: Create the data volume",
        "gateway/run.yml: Run the gateway",
    ):
        assert title in found, title


def test_each_carries_the_inventory_host_label():
    missing = [
        title
        for title, _module, labels in started()
        if (labels or {}).get("vacc.qwen3.host") != "{{ inventory_hostname }}"
    ]
    assert not missing, "without vacc.qwen3.host={{ inventory_hostname }}: %s" % missing
