"""Role variables given the way people type them: `-e key=value` (and AWX) send strings.

ansible-core's role argument validation accepts "20" for an int, "0.1" for a float and "false" for a
bool, but the role then sees the string. So every int, float and bool option the roles document (and
the numeric raw accuracy_limit) must be converted where it is compared, computed or tested, or be
refused with one sentence. Two checks:

- each playbook that runs roles, run twice on a host that cannot be reached (check mode; the planning
  step reads no host): once with every such option of its roles as typed extra vars (JSON), once with
  the same values as `-e key=value` strings. Both runs go through the controller-side part of every
  role up to the first host contact and must take the same path; the string run shows no Python error.
- every use of those variables in the roles' and playbooks' YAML and templates (read as Jinja's syntax
  tree): compared, computed, tested by `when`, or handed to a filter only after `| int`, `| float` or
  `| bool`. The dynamic runs stop at the first host contact; this covers what comes after.
"""

import glob
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from jinja2 import Environment, nodes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import qwen3_specs as specs  # noqa: E402

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _inputs  # noqa: E402

PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
TYPES = ("int", "float", "bool")
# Raw options that are numbers (an item count or a fraction).
NUMERIC_RAW = {"accuracy_limit": "20"}
# Values for options whose default is not a literal; a valid value, so the run goes on past validation.
SAMPLE = {"int": "8", "float": "0.5", "bool": "false"}
# What a Python error in a task looks like, as opposed to a refusal in words.
PYTHON_ERRORS = re.compile(
    r"Traceback|not supported between|unsupported operand|object has no attribute|"
    r"Conditional result .* derived from value of type|"
    r"can only concatenate|invalid literal for|could not convert string",
    re.S,
)
# Valid, fixed values (and a fixed run id, so that two runs' results compare).
FIXED = {
    "qwen3_model": "Qwen3-0.6B",
    "qwen3_plan_inspect": False,
    "qwen3_api_key": "probe-key",
    "benchmark_run_id": "probe",
    "vacc_dies": 4,
    "webui_admin_password": "probe-password-1234",
    "webui_secret_key": "probe-secret",
}
INVENTORY = {
    "all": {
        "children": {
            "vacc_servers": {
                "hosts": {"probe": {"ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_connection": "ssh"}}
            },
            "qwen3_gateway": {
                "hosts": {
                    "probe_gateway": {"ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_connection": "ssh"}
                }
            },
            "qwen3_monitoring": {
                "hosts": {
                    "probe_prometheus": {"ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_connection": "ssh"}
                }
            },
            "qwen3_quantizers": {
                "hosts": {
                    "probe_quantizer": {"ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_connection": "ssh"}
                }
            },
        }
    }
}


def typed_options():
    """{variable: type} of every int/float/bool option of every role's entry points, and of the shared ones."""
    found = {name: kind for name, (kind, dummy) in _inputs.SHARED.items() if kind in ("int", "bool")}
    for role in specs.roles():
        for spec in (specs.role_specs(role) or {}).values():
            for name, opt in (spec.get("options") or {}).items():
                if opt.get("type") in TYPES:
                    found[name] = opt["type"]
    return found


def _literal(value, kind):
    if value is None or "{{" in str(value):
        return None
    if kind == "bool":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return {"int": int, "float": float}[kind](value)


def playbook_values(playbook):
    """{variable: typed value} for the options of the roles a playbook runs, and the shared ones."""
    options, dummy, dummy = specs.playbook_options(os.path.join(ROOT, "playbooks", playbook))
    values = {}
    for name, (opt, dummy) in options.items():
        kind = opt.get("type")
        if kind == "raw" and name in _inputs.SHARED:
            kind, default = _inputs.SHARED[name]
            if default is None:  # the plan's own choice (TP, max-model-len): the planner's tests cover strings
                continue
        else:
            default = opt.get("default")
        if name in FIXED or kind not in TYPES:
            continue
        value = _literal(default, kind)
        values[name] = value if value is not None else _literal(SAMPLE[kind], kind)
    for name, text in NUMERIC_RAW.items():
        if name in options:
            values[name] = int(text)
    return values


def _as_cli(value):
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


PLAYBOOKS = sorted(
    p
    for p in (os.path.basename(f) for f in glob.glob(os.path.join(ROOT, "playbooks", "*.yml")))
    if specs.playbook_uses(os.path.join(ROOT, "playbooks", p))[0]
    and playbook_values(p)
    and p not in ("lab.yml", "site.yml")
)


# Result fields that differ between two runs whatever the input (times), or that show the input itself.
VOLATILE = {"start", "end", "delta", "duration", "invocation"}


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def run(tmp_path, playbook, extra_args, work=None):
    """[(task, host, status, msg, result)] of a check-mode run on the unreachable inventory."""
    work = work or tmp_path
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(INVENTORY))
    (tmp_path / "fixed.json").write_text(
        json.dumps(dict(FIXED, qwen3_secrets_dir=str(work / "secrets"), qwen3_results_dir=str(work / "results")))
    )
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="json",
        ANSIBLE_NOCOLOR="1",
    )
    res = subprocess.run(
        [
            PLAYBOOK_BIN,
            "-i",
            str(tmp_path / "inventory.yml"),
            os.path.join(ROOT, "playbooks", playbook),
            "--check",
            "-e",
            "@" + str(tmp_path / "fixed.json"),
        ]
        + extra_args,
        cwd=str(tmp_path),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        out = json.loads(res.stdout)
    except ValueError:
        pytest.fail("%s printed no JSON:\n%s%s" % (playbook, res.stdout[-3000:], res.stderr[-3000:]))
    path = []
    for play in out["plays"]:
        for task in play["tasks"]:
            for host, result in sorted(task["hosts"].items()):
                status = (
                    "unreachable"
                    if result.get("unreachable")
                    else "failed"
                    if result.get("failed")
                    else "skipped"
                    if result.get("skipped")
                    else "changed"
                    if result.get("changed")
                    else "ok"
                )
                path.append((task["task"]["name"], host, status, str(result.get("msg", "")), _clean(result)))
    return path, res


def _pair(tmp_path, playbook, values):
    typed_dir, string_dir = tmp_path / "typed", tmp_path / "strings"
    typed_dir.mkdir()
    string_dir.mkdir()
    (typed_dir / "values.json").write_text(json.dumps(values))
    strings = [arg for name, value in sorted(values.items()) for arg in ("-e", "%s=%s" % (name, _as_cli(value)))]
    with ThreadPoolExecutor(max_workers=2) as pool:
        typed = pool.submit(run, typed_dir, playbook, ["-e", "@" + str(typed_dir / "values.json")], tmp_path)
        given = pool.submit(run, string_dir, playbook, strings, tmp_path)
        return typed.result(), given.result()


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_strings_from_the_command_line_behave_as_typed_values(tmp_path, playbook):
    values = playbook_values(playbook)
    (typed_path, dummy), (string_path, res) = _pair(tmp_path, playbook, values)
    errors = [step for step in string_path if step[2] == "failed" and PYTHON_ERRORS.search(step[3])]
    assert not errors, "Python errors with -e strings (%s): %s" % (", ".join(sorted(values)), errors)
    assert not PYTHON_ERRORS.search(res.stderr), res.stderr[-3000:]
    # The same tasks, hosts and outcomes, and the same results: what the controller-side code computed
    # from strings equals what it computed from typed values.
    assert [s[:3] for s in string_path] == [s[:3] for s in typed_path], (
        "-e strings took another path than typed values:\n%s"
        % "\n".join("%s %s" % (a[:3], b[:3]) for a, b in zip(typed_path, string_path) if a[:3] != b[:3])
    )
    for typed, given in zip(typed_path, string_path):
        differ = sorted(k for k in set(typed[4]) | set(given[4]) if typed[4].get(k) != given[4].get(k))
        assert not differ, "%s on %s: %s differ with -e strings:\n%s" % (
            typed[0],
            typed[1],
            ", ".join(differ),
            "\n".join("%s: %r / %r" % (k, typed[4].get(k), given[4].get(k)) for k in differ),
        )
    assert len(string_path) > 2, string_path  # the roles ran, not only the includes


@pytest.mark.parametrize("text,expected", [("20", "limit 20"), ("0.1", "limit 0.1")])
def test_accuracy_limit_as_a_count_or_a_fraction(tmp_path, text, expected):
    path, res = run(tmp_path, "evaluate.yml", ["-e", "accuracy_limit=" + text])
    shown = " ".join(step[3] for step in path if step[0].endswith("Say what will run"))
    assert expected in shown, path


@pytest.mark.parametrize(
    "playbook,arg,sentence",
    [
        (
            "evaluate.yml",
            "accuracy_limit=abc",
            "accuracy_limit must be a positive item count or a fraction in (0, 1], e.g. 20 or 0.1; it is 'abc'.",
        ),
        ("evaluate.yml", "accuracy_limit=1.5", "accuracy_limit must be a positive item count or a fraction in (0, 1]"),
        (
            "evaluate.yml",
            "accuracy_temperature=warm",
            "argument 'accuracy_temperature' is of type str and we were unable to convert to float",
        ),
        (
            "benchmark.yml",
            "benchmark_input_len=long",
            "argument 'benchmark_input_len' is of type str and we were unable to convert to int",
        ),
        (
            "download.yml",
            "model_download_shared_path=maybe",
            "argument 'model_download_shared_path' is of type str and we were unable to convert to bool",
        ),
    ],
)
def test_a_wrong_string_is_refused_in_one_sentence(tmp_path, playbook, arg, sentence):
    path, res = run(tmp_path, playbook, ["-e", arg])
    failed = [step for step in path if step[2] == "failed"]
    assert len(failed) == 1 and sentence in " ".join(failed[0][3].split()), path
    assert not PYTHON_ERRORS.search(failed[0][3]), failed


# ---------------------------------------------------------------- every use site, statically

CONVERSIONS = {"int", "float", "bool"}
SELF_CONVERTING = {"vacc.qwen3.retries"}  # filters that convert their input and arguments (and refuse a non-number)
PASS_THROUGH = {"default", "d"}  # x | default(y) | bool is converted
CONDITIONS = {"when", "until", "changed_when", "failed_when", "that"}
ENV = Environment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])


def _parents(tree):
    parents = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in node.iter_child_nodes():
            parents[id(child)] = node
            stack.append(child)
    return parents


def unconverted(tree, kinds, condition):
    """Uses of typed variables in a Jinja tree that are not converted first. A variable output whole
    (`{{ x }}` as a module argument, or inside text) is fine: a module converts its arguments, text is text."""
    parents = _parents(tree)
    found = []
    for name in tree.find_all(nodes.Name):
        if name.name not in kinds or name.ctx != "load":
            continue
        node, parent = name, parents.get(id(name))
        while isinstance(parent, nodes.Filter) and parent.node is node and parent.name in PASS_THROUGH:
            node, parent = parent, parents.get(id(parent))
        if isinstance(parent, nodes.Filter) and parent.node is node and parent.name in CONVERSIONS:
            continue
        if isinstance(parent, nodes.Filter) and parent.name in SELF_CONVERTING:
            continue
        if (
            isinstance(parent, nodes.Filter)
            and parent.node is node
            and parent.name == "string"
            and kinds[name.name] in ("int", "float")
        ):
            continue  # a number as text reads the same from "20" and 20 (not a bool: "true" against "True")
        if isinstance(parent, (nodes.Output, nodes.Concat)) and not condition:
            continue
        where = (
            "the argument of filter %s" % parent.name
            if isinstance(parent, nodes.Filter) and parent.node is not node
            else type(parent).__name__
        )
        found.append("%s (%s) in %s" % (name.name, kinds[name.name], where))
    return found


def _scan(value, where, kinds, key=None):
    problems = []
    if isinstance(value, dict):
        for k, v in value.items():
            problems += _scan(v, where, kinds, k)
    elif isinstance(value, list):
        for v in value:
            problems += _scan(v, where, kinds, key)
    elif isinstance(value, str):
        condition = key in CONDITIONS and "{{" not in value
        if condition or "{{" in value or "{%" in value:
            tree = ENV.parse("{{ (%s) }}" % value if condition else value)
            problems += ["%s [%s]: %s" % (where, key, p) for p in unconverted(tree, kinds, condition)]
    return problems


# Jinja's lexer warns about regex escapes in the templates' string literals ('\.'); ansible-core reads them the same.
@pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")
def test_every_use_converts_first():
    kinds = typed_options()
    kinds.update({name: "raw number" for name in NUMERIC_RAW})
    problems = []
    for path in sorted(
        glob.glob(os.path.join(ROOT, "roles", "*", "*", "*.yml")) + glob.glob(os.path.join(ROOT, "playbooks", "*.yml"))
    ):
        rel = os.path.relpath(path, ROOT)
        if re.match(r"roles/[^/]+/(meta|files|templates)/", rel):
            continue
        with open(path, encoding="utf-8") as handle:
            problems += _scan(yaml.load(handle, Loader=yaml.BaseLoader), rel, kinds)
    for path in sorted(glob.glob(os.path.join(ROOT, "roles", "*", "templates", "*.j2"))):
        text = open(path, encoding="utf-8").read()
        env = ENV
        if "variable_start_string" in text:  # the rules template writes Prometheus's {{ }} and uses << >>
            env = ENV.overlay(variable_start_string="<<", variable_end_string=">>")
        problems += ["%s: %s" % (os.path.relpath(path, ROOT), p) for p in unconverted(env.parse(text), kinds, False)]
    assert not problems, "typed role variables used before conversion (add | int, | float or | bool):\n" + "\n".join(
        problems
    )
