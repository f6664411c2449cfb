"""What ships names only what ships: no default, message, spec text or playbook comment of the artifact sends
a user of the tarball to a file or a command that only a clone of this repository has (scripts/lab-bootstrap.sh,
make lab, inventories/local, tests/...). The shipped file list is galaxy.yml's allow-list as tools/release.py
writes it (tests/artifact checks the built tarball against the same function)."""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import release  # noqa: E402

TEXT = (".yml", ".yaml", ".py", ".j2", ".cfg", ".sh", ".json", ".txt")
# The roles, plugins, playbooks and meta: what runs and what ansible-doc shows (docs/roles/*.md is generated from
# the specs checked here; docs/*.md are the clone's long-form guides and say which parts need a clone).
SCANNED = ("roles/", "plugins/", "playbooks/", "meta/")


def tracked():
    return subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()


def make_targets():
    with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as handle:
        phony = re.search(r"^\.PHONY:(.*)$", handle.read(), re.M).group(1).split()
    return [t for t in phony if t not in ("help",)]


def clone_only_pattern(files):
    only = sorted(
        {f for f in files if not release.shipped(f)} | {"inventories/fleet", "inventories/local"}, key=len, reverse=True
    )
    tops = sorted(
        {
            f.split("/")[0] + "/"
            for f in files
            if "/" in f
            and not release.shipped(f)
            and not any(release.shipped(g) for g in files if g.startswith(f.split("/")[0] + "/"))
        }
    )
    words = [re.escape(p) for p in only if "/" in p or "." in p] + [re.escape(t) + r"[A-Za-z0-9_./-]*" for t in tops]
    return re.compile(
        r"(?<![A-Za-z0-9_./-])(%s)(?![A-Za-z0-9_-])|\bmake (%s)\b|lab-bootstrap"
        % ("|".join(words), "|".join(re.escape(t) for t in make_targets()))
    )


def user_facing_lines(path, text):
    """Every line, except code comments of Python and of templates/tasks (notes for maintainers); the comments of
    defaults and playbooks are the user's documentation and count."""
    documented = "/defaults/" in path or path.startswith("playbooks/")
    for number, line in enumerate(text.splitlines(), 1):
        if not documented and line.lstrip().startswith("#"):
            continue
        yield number, line


def test_shipped_texts_name_nothing_the_tarball_lacks():
    files = tracked()
    pattern = clone_only_pattern(files)
    found = []
    for path in files:
        if not release.shipped(path) or not path.endswith(TEXT) or not path.startswith(SCANNED):
            continue
        with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
            text = handle.read()
        for number, line in user_facing_lines(path, text):
            match = pattern.search(line)
            if match:
                found.append("%s:%d: %s" % (path, number, match.group(0)))
    assert not found, "shipped texts name what only a clone has:\n" + "\n".join(found)


def test_the_pattern_catches_what_the_issue_found():
    pattern = clone_only_pattern(tracked())
    for text in (
        "create it offline with scripts/lab-bootstrap.sh",
        "build the stand-in (make lab, in a clone)",
        "A lab host (C(inventories/local))",
        "see tests/monitoring/rules_test.yml",
        "requirements-dev.txt",
    ):
        assert pattern.search(text), text
    for text in (
        "make numbers",
        "the plan's make the",
        "meta/execution-environment.yml",
        "docs/awx-project/README.md",
        "roles/monitoring/files/vacc_node_exporter.py",
    ):
        assert not pattern.search(text), text
