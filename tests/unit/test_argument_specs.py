"""Every role's meta/argument_specs.yml is complete, and ansible-core enforces it before any task.

For every directory under roles/ (whatever roles exist when the tests run):
(a) every variable of defaults/main.yml is an option of the `main` entry point with the same default;
(b) every option of every entry point has a type and a description (lists say their elements, a
    default is one of the choices);
(c) running the role with a wrong int, a wrong bool and a bad choice fails in ansible-core's
    'Validating arguments against arg spec' task with ansible-core's own messages, and no other task
    of the role runs. All roles run in one ansible-playbook call (one host per role, each including
    its own role); the hosts are unreachable and the run is in check mode, so a role whose validation
    wrongly passed changes nothing here. A second call, limited to the validation task by tags,
    checks that each role's own defaults pass.
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
from qwen3_specs import load_yaml as _yaml, roles  # noqa: E402  (the generators' own reader)
PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
ROLES = roles(ROOT)

# (role, variable) -> why its defaults/main.yml value and the spec's default may differ. Empty: none may.
DEFAULT_EXCEPTIONS = {}

# Valid values for required options (the probes must fail on the wrong values only).
REQUIRED_VALUES = {"qwen3_model": "Qwen3-0.6B"}
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
            if opt.get("choices") and "default" in opt and opt["default"] not in opt["choices"] \
                    and "{{" not in str(opt["default"]):
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
                        problems.append("%s.%s.%s: %s %r, _common says %r"
                                        % (role, entry, var, key, opt.get(key), common[var].get(key)))
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
            messages.append("value of %s must be one of: %s, got: %s"
                            % (var, ", ".join(str(c) for c in options[var]["choices"]), WRONG["choice"]))
        else:
            messages.append("argument '%s' is of type str and we were unable to convert to %s" % (var, kind))
    return messages


def run_roles(tmp_path, extra_vars, *args):
    """One ansible-playbook run: host probe_<role> includes vacc.qwen3.<role>; returns the json callback's tasks."""
    # The hosts are unreachable (ssh to a closed port): a task that needed one fails as unreachable
    # and shows up in the results, and nothing of a role can touch this machine.
    inventory = {"all": {"hosts": {"probe_" + r: {"probe_role": r, "ansible_connection": "ssh",
                                                  "ansible_host": "127.0.0.1", "ansible_port": 1}
                                   for r in SPEC_ROLES}}}
    playbook = [{"name": "Probe the roles", "hosts": "all", "gather_facts": False,
                 "tasks": [{"name": "Run the role", "tags": ["always"],
                            "ansible.builtin.include_role": {"name": "vacc.qwen3.{{ probe_role }}"}}]}]
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "probe.yml").write_text(yaml.safe_dump(playbook, sort_keys=False))
    (tmp_path / "extra_vars.json").write_text(json.dumps(extra_vars))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_NOCOLOR="1", PWD=str(tmp_path))
    res = subprocess.run([PLAYBOOK_BIN, "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "probe.yml"),
                          "--check", "-e", "@" + str(tmp_path / "extra_vars.json")] + list(args),
                         cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=120, check=False)
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
    extra = dict(REQUIRED_VALUES)
    for role in SPEC_ROLES:
        for kind, var in probes(role).items():
            extra[var] = WRONG[kind]
    return run_roles(tmp_path_factory.mktemp("wrong"), extra)


@pytest.mark.parametrize("role", SPEC_ROLES)
def test_wrong_values_fail_in_validation_before_any_task(role, wrong_runs):
    per_host, stats, res = wrong_runs
    assert probes(role).keys() & {"int", "bool"}, "roles/%s has no int or bool option to probe" % role
    tasks = per_host["probe_" + role]
    names = [name for name, dummy in tasks]
    # The include, then the validation task, and nothing of the role after it.
    assert len(tasks) == 2 and names[1].startswith("vacc.qwen3.%s : %s" % (role, VALIDATION_TASK)), names
    result = tasks[1][1]
    assert result.get("failed"), result
    assert result["msg"].startswith("Validation of arguments failed:"), result["msg"]
    for message in expected_messages(role):
        assert message in result["msg"], "%r not in %r" % (message, result["msg"])
    assert stats["probe_" + role]["failures"] == 1 and stats["probe_" + role]["changed"] == 0


@pytest.fixture(scope="module")
def default_runs(tmp_path_factory):
    # Only tasks tagged `always` run: the include and ansible-core's validation task.
    return run_roles(tmp_path_factory.mktemp("defaults"), dict(REQUIRED_VALUES), "--tags", "vacc_qwen3_probe")


@pytest.mark.parametrize("role", SPEC_ROLES)
def test_defaults_pass_validation(role, default_runs):
    """The role's own defaults/main.yml, templated, satisfy its spec."""
    per_host, stats, res = default_runs
    tasks = per_host["probe_" + role]
    assert [n for n, dummy in tasks][1].startswith("vacc.qwen3.%s : %s" % (role, VALIDATION_TASK))
    assert not tasks[1][1].get("failed"), tasks[1][1].get("msg")
