"""tools/release.py on scratch repositories: which changes need a changelog fragment, and the version bump."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import release  # noqa: E402

ENV = dict(
    os.environ,
    GIT_AUTHOR_NAME="t",
    GIT_AUTHOR_EMAIL="t@localhost",
    GIT_COMMITTER_NAME="t",
    GIT_COMMITTER_EMAIL="t@localhost",
)


def commit(repo, message, files):
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=ENV)
    subprocess.run(["git", "commit", "-qm", message], cwd=repo, check=True, env=ENV)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    commit(tmp_path, "before the release", {"plugins/filter/a.py": "1", "galaxy.yml": "version: 0.1.0\n"})
    commit(tmp_path, "Release 0.1.0", {"changelogs/changelog.yaml": "releases: {}\n", "changelogs/fragments/.keep": ""})
    return tmp_path


def test_a_clean_history_passes(repo):
    assert release.missing_fragments(str(repo)) == []
    release.check(str(repo))


def test_changes_to_what_ships_need_a_fragment(repo):
    commit(
        repo, "tests only", {"tests/unit/test_x.py": "x", "Makefile": "x", "roles/lab_tiny_model/tasks/main.yml": "x"}
    )
    commit(
        repo,
        "with its fragment",
        {"roles/webui/tasks/main.yml": "x", "changelogs/fragments/webui.yml": "bugfixes: [x]\n"},
    )
    bare = commit(repo, "a filter changes", {"plugins/filter/a.py": "2"})
    deps = commit(repo, "dependencies", {"galaxy.yml": "version: 0.1.0\ndependencies: {}\n"})
    missing = release.missing_fragments(str(repo))
    assert [m[0] for m in missing] == [deps[:10], bare[:10]]
    with pytest.raises(release.ReleaseError) as info:
        release.check(str(repo))
    assert "2 change(s) since the last release have no changelog fragment: %s dependencies; %s a filter changes." % (
        deps[:10],
        bare[:10],
    ) in str(info.value)
    # One fragment may cover commits made without one.
    commit(
        repo,
        "describe them",
        {"changelogs/fragments/later.yml": "# covers: %s %s\nbugfixes: [y]\n" % (bare[:7], deps[:12])},
    )
    assert release.missing_fragments(str(repo)) == []


def test_the_last_release_is_the_last_change_of_changelog_yaml(repo):
    commit(repo, "a fix", {"plugins/filter/a.py": "3"})
    assert len(release.missing_fragments(str(repo))) == 1
    commit(repo, "Release 0.2.0", {"changelogs/changelog.yaml": "releases: {0.2.0: {}}\n"})
    assert release.missing_fragments(str(repo)) == []


def test_no_release_yet(tmp_path):
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    commit(tmp_path, "start", {"plugins/filter/a.py": "1"})
    with pytest.raises(release.ReleaseError, match="has no history"):
        release.check(str(tmp_path))


@pytest.mark.parametrize(
    "version,sentence",
    [
        ("0.1.0", "VERSION 0.1.0 is not above galaxy.yml's 0.1.0; releases only go up."),
        ("0.0.9", "VERSION 0.0.9 is not above"),
        ("v0.2", "VERSION must be X.Y.Z"),
        ("", "VERSION must be X.Y.Z"),
    ],
)
def test_bump_refuses(repo, version, sentence):
    with pytest.raises(release.ReleaseError, match=sentence.replace(".", r"\.")):
        release.bump(version, str(repo))


def test_bump(repo):
    assert release.bump("0.10.0", str(repo)) == "0.1.0"
    assert (repo / "galaxy.yml").read_text() == "version: 0.10.0\n"


def test_a_release_needs_a_clean_tree(repo):
    (repo / "plugins/filter/a.py").write_text("dirty")
    with pytest.raises(release.ReleaseError, match="uncommitted changes"):
        release.release("0.2.0", str(repo))


def test_a_development_version_is_below_its_release_and_follows_one(repo):
    assert release.version_key("0.2.0-dev0") < release.version_key("0.2.0") < release.version_key("0.2.1-dev0")
    assert release.version_key("0.1.0") < release.version_key("0.2.0-dev0")
    assert release.start_dev(str(repo)) == "0.2.0-dev0"
    assert (repo / "galaxy.yml").read_text() == "version: 0.2.0-dev0\n"
    with pytest.raises(release.ReleaseError, match="already a development version"):
        release.start_dev(str(repo))
    assert release.bump("0.2.0", str(repo)) == "0.2.0-dev0"
    with pytest.raises(release.ReleaseError, match="not above"):
        release.bump("0.1.5", str(repo))


def test_the_tree_is_a_development_version_above_the_last_release():
    """HEAD builds as the next development version, not as the release it follows (installs over it)."""
    current = release.galaxy_version()
    assert release.DEV_RE.match(current), current
    with open(os.path.join(ROOT, "changelogs", "changelog.yaml"), encoding="utf-8") as handle:
        import yaml

        released = list((yaml.safe_load(handle) or {}).get("releases") or {})
    assert released and all(release.version_key(current) > release.version_key(str(v)) for v in released)


def test_changelog_rst_covers_every_unreleased_fragment(repo):
    (repo / "CHANGELOG.rst").write_text("====\nx\n====\n\n.. contents:: Topics\n\nv0.1.0\n======\n")
    (repo / "changelogs/fragments/a.yml").write_text(
        "minor_changes:\n  - >-\n    role - a new\n    thing.\ntrivial: [no]\n"
    )
    assert release.write_changelog(str(repo))
    text = (repo / "CHANGELOG.rst").read_text()
    assert "v0.1.0 (unreleased)\n" in text and "- role - a new thing.\n" in text and "no" not in text.split("Minor")[0]
    assert text.index("(unreleased)") < text.index("v0.1.0\n======")
    release.write_changelog(str(repo))
    assert (repo / "CHANGELOG.rst").read_text() == text  # regenerated in place, not stacked


def test_the_shipped_changelog_is_current():
    """Every fragment's entry is in CHANGELOG.rst (make docs runs tools/release.py changelog)."""
    with open(os.path.join(ROOT, "CHANGELOG.rst"), encoding="utf-8") as handle:
        text = handle.read()
    assert release.unreleased_rst() in text, "CHANGELOG.rst is stale: run make docs (tools/release.py changelog)"
