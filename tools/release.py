"""Cut a release of vacc.qwen3: `make release VERSION=X.Y.Z` runs this with the 2.19 core venv's Python.

    python tools/release.py check              # every change since the last release has a fragment
    python tools/release.py release X.Y.Z      # check, bump galaxy.yml, write the changelog

A change is a commit (merges aside) since the last release that touches what ships (galaxy.yml's
allow-list, as tests/artifact checks it). Each needs a fragment in changelogs/fragments/: the commit
adds or edits one, or a fragment names the commit's hash in a comment line `# covers: HASH ...` (one
fragment may describe several commits). The last release is the last commit that changed
changelogs/changelog.yaml: only a release writes that file, so no tag is needed. A release runs on a
clean checkout, bumps the version up, and lets antsibull-changelog turn the fragments into
changelogs/changelog.yaml and CHANGELOG.rst; `make release` then regenerates the docs and builds.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHANGES = "changelogs/changelog.yaml"
FRAGMENTS = "changelogs/fragments/"
# What ships: galaxy.yml's manifest writes it as directives, this as a function; tests/artifact checks the
# built tarball against this one, so a wrong directive fails there.
ALLOWED_FILES = {"README.md", "README.zh-CN.md", "LICENSE", "CHANGELOG.rst", "changelogs/changelog.yaml",
                 "changelogs/config.yaml"}
ALLOWED_DIRS = ("plugins/", "roles/", "playbooks/", "meta/", "docs/")
# The lab stays in the clone: its roles and their pages, lab.yml, and site.yml, the local demo that imports lab.yml.
LAB_ONLY = re.compile(r"^(roles/lab_[^/]+/|docs/roles/lab_[^/]+\.md$|playbooks/lab\.yml$|playbooks/site\.yml$)")
VERSION_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


class ReleaseError(Exception):
    pass


def git(*args, root=ROOT):
    return subprocess.run(["git"] + list(args), cwd=root, capture_output=True, text=True, check=True).stdout


def shipped(path):
    """Is this file of the checkout in the artifact?"""
    parts = path.split("/")
    if any(p.startswith(".") or p == "__pycache__" for p in parts) or path.endswith((".pyc", ".pyo")):
        return False
    return not LAB_ONLY.match(path) and (path in ALLOWED_FILES or path.startswith(ALLOWED_DIRS))


def user_visible(path):
    """Does a commit touching it change what users get (the changelog itself aside)?"""
    return path == "galaxy.yml" or (shipped(path) and not path.startswith(("changelogs/", "CHANGELOG")))


def last_release(root=ROOT):
    commit = git("log", "-1", "--format=%H", "--", CHANGES, root=root).strip()
    if not commit:
        raise ReleaseError("%s has no history: the first release is recorded by committing it." % CHANGES)
    return commit


def covered_hashes(root=ROOT):
    """Hashes named by `# covers:` lines of the fragments as they are now."""
    hashes = set()
    base = os.path.join(root, FRAGMENTS)
    for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        with open(os.path.join(base, name), encoding="utf-8") as handle:
            for line in handle:
                match = re.match(r"^\s*#\s*covers:\s*(.*)$", line)
                if match:
                    hashes.update(h.lower() for h in match.group(1).split())
    return hashes


def missing_fragments(root=ROOT):
    """[(short hash, subject)] of the changes since the last release that no fragment describes."""
    since = last_release(root)
    covers = covered_hashes(root)
    missing = []
    log = git("log", "--no-merges", "--format=%x00%H %s", "--name-only", "%s..HEAD" % since, root=root)
    for entry in log.split("\0")[1:]:
        head, dummy, body = entry.partition("\n")
        commit, dummy, subject = head.partition(" ")
        files = [f for f in body.split("\n") if f]
        if not any(user_visible(f) for f in files):
            continue
        if any(f.startswith(FRAGMENTS) and f.endswith((".yml", ".yaml")) for f in files):
            continue
        if any(commit.startswith(h) for h in covers if len(h) >= 7):
            continue
        missing.append((commit[:10], subject))
    return missing


def check(root=ROOT):
    missing = missing_fragments(root)
    if missing:
        raise ReleaseError(
            "%d change(s) since the last release have no changelog fragment: %s. Add changelogs/fragments/<topic>.yml "
            "(antsibull-changelog's sections: minor_changes, bugfixes, ...; `trivial` for what users do not see) "
            "in the commit, or one fragment with a line `# covers: <hash> ...` naming them."
            % (len(missing), "; ".join("%s %s" % m for m in missing)))


def bump(version, root=ROOT):
    if not VERSION_RE.match(version or ""):
        raise ReleaseError("VERSION must be X.Y.Z (semantic versioning), e.g. make release VERSION=0.2.0; got %r." % version)
    path = os.path.join(root, "galaxy.yml")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    current = re.search(r"^version:\s*(\S+)\s*$", text, re.M).group(1)
    if tuple(map(int, VERSION_RE.match(version).groups())) <= tuple(map(int, VERSION_RE.match(current).groups())):
        raise ReleaseError("VERSION %s is not above galaxy.yml's %s; releases only go up." % (version, current))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(re.sub(r"^version:[ \t]*\S+[ \t]*$", "version: " + version, text, count=1, flags=re.M))
    return current


def release(version, root=ROOT):
    if git("status", "--porcelain", root=root).strip():
        raise ReleaseError("The checkout has uncommitted changes; a release is cut from a clean, committed tree.")
    check(root)
    previous = bump(version, root)
    bindir = os.path.dirname(sys.executable)
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    # antsibull-changelog lists the plugins with ansible-doc, which finds this checkout as vacc.qwen3 through ansible.cfg.
    env["ANSIBLE_CONFIG"] = os.path.join(root, "ansible.cfg")
    for cmd in (["antsibull-changelog", "lint"], ["antsibull-changelog", "release", "--version", version]):
        subprocess.run([os.path.join(bindir, cmd[0])] + cmd[1:], cwd=root, env=env, check=True)
    print("vacc.qwen3 %s -> %s: galaxy.yml, %s and CHANGELOG.rst updated, the fragments consumed." % (previous, version, CHANGES))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="every change since the last release has a fragment")
    rel = sub.add_parser("release", help="check, bump galaxy.yml's version, write the changelog")
    rel.add_argument("version")
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            check()
            print("every change since the last release has a changelog fragment")
        else:
            release(args.version)
    except ReleaseError as exc:
        print("release: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
