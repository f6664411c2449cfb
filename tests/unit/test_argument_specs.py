"""Every role's meta/argument_specs.yml is complete, and ansible-core enforces it before any task.

For every directory under roles/ (whatever roles exist when the tests run):
(a) every variable of defaults/main.yml is an option of the `main` entry point with the same default;
(b) every option of every entry point has a type and a description (lists say their elements, a
    default is one of the choices);
(c) running the role with a wrong int, a wrong bool and a bad choice fails in ansible-core's
    'Validating arguments against arg spec' task with ansible-core's own messages, and no task of the
    role runs after it (before it runs only its dependency, _common: its validation and the planning
    step, which changes nothing). All roles run in one ansible-playbook call (one host per role, each
    including its own role); the hosts are unreachable, the planning step reads no host
    (qwen3_plan_inspect false) and the run is in check mode, so a role whose validation wrongly passed
    changes nothing here. _common's own probes run in a call of their own (its variables are every
    role's). A second call, limited to the validation tasks by tags, checks that each role's own
    defaults pass.
"""

import json
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES_DIR = os.path.join(ROOT, "roles")
sys.path.insert(0, os.path.join(ROOT, "tools"))
from qwen3_specs import load_yaml as _yaml  # noqa: E402  (the generators' own reader)
from qwen3_specs import roles

PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
ROLES = roles(ROOT)

# (role, variable) -> why its defaults/main.yml value and the spec's default may differ. Empty: none may.
DEFAULT_EXCEPTIONS = {}

# Valid values for required options (the probes must fail on the wrong values only); the planning step
# plans from the inventory alone, so the unreachable probe hosts are never contacted.
REQUIRED_VALUES = {"qwen3_model": "Qwen3-0.6B", "qwen3_plan_inspect": False, "qwen3_api_key": "probe-key"}
WRONG = {"int": "not-an-int", "bool": "not-a-bool", "choice": "not-a-choice"}
VALIDATION_TASK = "Validating arguments against arg spec 'main'"


def specs_of(role):
    data = _yaml(os.path.join(ROLES_DIR, role, "meta", "argument_specs.yml"))
    return (data or {}).get("argument_specs")


def defaults_of(role):
    return _yaml(os.path.join(ROLES_DIR, role, "defaults", "main.yml")) or {}


def main_options(role):
    return (specs_of(role) or {}).get("main", {}).get("options") or {}


SPEC_ROLES = [r for r in ROLES if specs_of(r)]


@pytest.mark.parametrize("role", ROLES)
def test_role_has_argument_specs_with_main(role):
    specs = specs_of(role)
    assert specs, "roles/%s has no meta/argument_specs.yml (ansible-core validates nothing for it)" % role
    assert "main" in specs and specs["main"].get("options"), "roles/%s: no main entry point with options" % role
    for name, entry in specs.items():
        assert entry.get("short_description"), "roles/%s: entry point %s has no short_description" % (role, name)


@pytest.mark.parametrize("role", ROLES)
def test_defaults_are_options_with_the_same_default(role):
    options = main_options(role)
    problems = []
    for var, value in defaults_of(role).items():
        if (role, var) in DEFAULT_EXCEPTIONS:
            continue
        if var not in options:
            problems.append("%s is in defaults/main.yml but not an option of the main entry point" % var)
        elif options[var].get("default") != value:
            problems.append("%s: defaults/main.yml has %r, the spec %r" % (var, value, options[var].get("default")))
    assert not problems, "roles/%s:\n  " % role + "\n  ".join(problems)


@pytest.mark.parametrize("role", ROLES)
def test_every_option_is_typed_and_described(role):
    problems = []
    for entry, spec in (specs_of(role) or {}).items():
        for var, opt in (spec.get("options") or {}).items():
            where = "%s.%s" % (entry, var)
            if not opt.get("type"):
                problems.append(where + ": no type")
            if not opt.get("description"):
                problems.append(where + ": no description")
            if opt.get("type") == "list" and not opt.get("elements"):
                problems.append(where + ": a list without elements")
            if (
                opt.get("choices")
                and "default" in opt
                and opt["default"] not in opt["choices"]
                and "{{" not in str(opt["default"])
            ):
                problems.append(where + ": default %r is not one of %r" % (opt["default"], opt["choices"]))
    assert not problems, "roles/%s:\n  " % role + "\n  ".join(problems)


def test_shared_variables_agree_with_common():
    """A qwen3_* / vacc_* option any role declares has _common's type and choices (one meaning everywhere)."""
    common = main_options("_common")
    problems = []
    for role in SPEC_ROLES:
        for entry, spec in specs_of(role).items():
            for var, opt in (spec.get("options") or {}).items():
                if not var.startswith(("qwen3_", "vacc_")) or role == "_common":
                    continue
                if var not in common:
                    problems.append("%s.%s.%s is not declared in roles/_common (main)" % (role, entry, var))
                    continue
                for key in ("type", "choices", "elements"):
                    if opt.get(key) != common[var].get(key):
                        problems.append(
                            "%s.%s.%s: %s %r, _common says %r"
                            % (role, entry, var, key, opt.get(key), common[var].get(key))
                        )
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- ansible-core enforces the specs


def probes(role):
    """The options a role is probed with: its first int, first bool and first str choice option.
    A role's own options (<role>_*) come first, so a shared one used in other roles' templated
    defaults (qwen3_lab) is not made invalid for them."""
    options = main_options(role)
    own = [v for v in options if v.startswith(role.strip("_") + "_")] or list(options)
    ordered = own + [v for v in options if v not in own]
    found = {}
    for var in ordered:
        opt = options[var]
        if opt.get("required"):
            continue
        if opt.get("choices") and opt.get("type", "str") == "str":
            found.setdefault("choice", var)
        elif opt.get("type") in ("int", "bool"):
            found.setdefault(opt["type"], var)
    return found


def expected_messages(role):
    options = main_options(role)
    messages = []
    for kind, var in probes(role).items():
        if kind == "choice":
            messages.append(
                "value of %s must be one of: %s, got: %s"
                % (var, ", ".join(str(c) for c in options[var]["choices"]), WRONG["choice"])
            )
        else:
            messages.append("argument '%s' is of type str and we were unable to convert to %s" % (var, kind))
    return messages


def run_roles(tmp_path, extra_vars, *args, roles=None):
    """One ansible-playbook run: host probe_<role> includes vacc.qwen3.<role>; returns the json callback's tasks."""
    roles = roles or SPEC_ROLES
    # The hosts are unreachable (ssh to a closed port): a task that needed one fails as unreachable
    # and shows up in the results, and nothing of a role can touch this machine.
    inventory = {
        "all": {
            "hosts": {
                "probe_" + r: {
                    "probe_role": r,
                    "ansible_connection": "ssh",
                    "ansible_host": "127.0.0.1",
                    "ansible_port": 1,
                }
                for r in roles
            }
        }
    }
    playbook = [
        {
            "name": "Probe the roles",
            "hosts": "all",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Run the role",
                    "tags": ["always"],
                    "ansible.builtin.include_role": {"name": "vacc.qwen3.{{ probe_role }}"},
                }
            ],
        }
    ]
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "probe.yml").write_text(yaml.safe_dump(playbook, sort_keys=False))
    (tmp_path / "extra_vars.json").write_text(json.dumps(extra_vars))
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="json",
        ANSIBLE_NOCOLOR="1",
        PWD=str(tmp_path),
    )
    res = subprocess.run(
        [
            PLAYBOOK_BIN,
            "-i",
            str(tmp_path / "inventory.yml"),
            str(tmp_path / "probe.yml"),
            "--check",
            "-e",
            "@" + str(tmp_path / "extra_vars.json"),
        ]
        + list(args),
        cwd=str(tmp_path),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    try:
        out = json.loads(res.stdout)
    except ValueError:
        pytest.fail("ansible-playbook printed no JSON:\n" + res.stdout[-3000:] + res.stderr[-3000:])
    per_host = {}
    for play in out["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                per_host.setdefault(host, []).append((task["task"]["name"], result))
    return per_host, out["stats"], res


@pytest.fixture(scope="module")
def wrong_runs(tmp_path_factory):
    runs = {}
    # _common's variables are every role's: its probes get a run of their own.
    for group in ([r for r in SPEC_ROLES if r != "_common"], ["_common"]):
        extra = dict(REQUIRED_VALUES)
        for role in group:
            for kind, var in probes(role).items():
                extra[var] = WRONG[kind]
        per_host, stats, res = run_roles(tmp_path_factory.mktemp("wrong"), extra, roles=group)
        runs.update({role: (per_host["probe_" + role], stats["probe_" + role]) for role in group})
    return runs


@pytest.mark.parametrize("role", SPEC_ROLES)
def test_wrong_values_fail_in_validation_before_any_task(role, wrong_runs):
    tasks, stats = wrong_runs[role]
    assert probes(role).keys() & {"int", "bool"}, "roles/%s has no int or bool option to probe" % role
    names = [name for name, dummy in tasks]
    mine = [i for i, n in enumerate(names) if n.startswith("vacc.qwen3.%s : %s" % (role, VALIDATION_TASK))]
    assert len(mine) == 1 and mine[0] == len(names) - 1, names  # nothing runs after the role's validation
    # Before it: the include, and only the _common dependency (its validation and the planning step).
    assert all(n.startswith("vacc.qwen3._common : ") for n in names[1 : mine[0]]), names
    result = tasks[mine[0]][1]
    assert result.get("failed"), result
    assert result["msg"].startswith("Validation of arguments failed:"), result["msg"]
    for message in expected_messages(role):
        assert message in result["msg"], "%r not in %r" % (message, result["msg"])
    assert stats["failures"] == 1 and stats["changed"] == 0


@pytest.fixture(scope="module")
def default_runs(tmp_path_factory):
    # Only tasks tagged `always` run: the include and ansible-core's validation task.
    return run_roles(tmp_path_factory.mktemp("defaults"), dict(REQUIRED_VALUES), "--tags", "vacc_qwen3_probe")


@pytest.mark.parametrize("role", SPEC_ROLES)
def test_defaults_pass_validation(role, default_runs):
    """The role's own defaults/main.yml, templated, satisfy its spec."""
    per_host, stats, res = default_runs
    tasks = per_host["probe_" + role]
    mine = [r for n, r in tasks if n.startswith("vacc.qwen3.%s : %s" % (role, VALIDATION_TASK))]
    assert len(mine) == 1 and not mine[0].get("failed"), mine[0].get("msg")
