"""The built collection, as a user receives it (`make test-artifact`).

The tarball is built by scripts/build.sh with ansible-galaxy of .cache/cores/2.19 (make creates it) from
a scratch copy of this checkout in which the things a user's tree accumulates lie around: caches,
dot-directories, a vault file in an inventory, compiled Python, a lab role's output. What comes out
must be exactly the allow-list of tools/release.py (shipped()), written independently of galaxy.yml's
manifest directives, so that a wrong directive fails here.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile

import collection_build
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from release import shipped  # noqa: E402  (the allow-list, as a function)

BUILD_BIN = os.path.join(ROOT, ".cache", "cores", "2.19", "bin")

GENERATED = {"MANIFEST.json", "FILES.json"}  # written by ansible-galaxy
# The text of https://www.apache.org/licenses/LICENSE-2.0.txt.
APACHE_2_MD5 = "3b83ef96387f14655fc854ddc3c6bd57"

# Lying around in a user's tree; none of it may ship. Paths relative to the checkout.
PLANTED = {
    ".pytest_cache/v/cache/nodeids": "[]",
    ".ansible/collections/ansible_collections/x/y/README.md": "x",
    "inventories/lab/group_vars/vault.yml": "vault_api_key: not-for-a-tarball\n",
    "plugins/filter/__pycache__/qwen3.cpython-311.pyc": "\0",
    "roles/webui/.notes.swp": "x",
    "roles/lab_tiny_model/files/out/model.safetensors": "x",
    "results/plan/localhost.json": "{}",
    "playbooks/.site.yml.orig": "x",
}


def _git_known(root):
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [f for f in out.split("\0") if f and (os.path.lexists(os.path.join(root, f)))]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if not os.path.exists(os.path.join(BUILD_BIN, "ansible-galaxy")):
        pytest.fail(
            "%s is missing: run `make test-artifact` (it creates the venv from tests/cores/2.19.txt)" % BUILD_BIN
        )
    scratch = tmp_path_factory.mktemp("checkout") / "qwen3"
    known = _git_known(ROOT)
    for rel in known:
        src, dst = os.path.join(ROOT, rel), scratch / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst, follow_symlinks=False)
    # The scratch copy is a repository of its own with what this checkout has now (new files included).
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@localhost",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@localhost",
    )
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "scratch"]):
        subprocess.run(cmd, cwd=scratch, env=env, check=True, capture_output=True)
    for rel, content in PLANTED.items():
        (scratch / rel).parent.mkdir(parents=True, exist_ok=True)
        (scratch / rel).write_text(content)
    tarball = collection_build.build(tmp_path_factory.mktemp("dist"), root=scratch)
    with tarfile.open(tarball) as tar:
        members = {m.name: m for m in tar.getmembers()}
        files = {name for name, m in members.items() if m.isfile()}
        texts = {name: tar.extractfile(members[name]).read() for name in files}
    return {"tarball": tarball, "members": members, "files": files, "texts": texts, "known": known}


def test_exactly_the_allow_list(built):
    expected = {f for f in built["known"] if shipped(f)} | GENERATED
    files = built["files"]
    assert not files - expected, "shipped but not on the allow-list: %s" % sorted(files - expected)
    assert not expected - files, "on the allow-list but not shipped: %s" % sorted(expected - files)
    assert not any(m.issym() or m.islnk() for m in built["members"].values()), "links in the artifact"


def test_nothing_of_a_users_tree(built):
    names = set(built["members"])
    for rel in PLANTED:
        assert rel not in names, rel
    for name in names:
        parts = name.split("/")
        assert not any(p.startswith(".") for p in parts), name
        assert parts[0] not in (
            "tests",
            "molecule",
            "inventories",
            "scripts",
            "tools",
            "awx",
            "collections",
            "results",
            "dist",
            ".ci",
        ), name
        assert not name.startswith(("Makefile", "ansible.cfg", "galaxy.yml", "requirements")), name
    for must in (
        "LICENSE",
        "CHANGELOG.rst",
        "README.md",
        "meta/runtime.yml",
        "meta/execution-environment.yml",
        "playbooks/plan.yml",
        "playbooks/deploy.yml",
        "roles/vllm_service/tasks/main.yml",
    ):
        assert must in names, must


def test_license_and_metadata(built):
    assert hashlib.md5(built["texts"]["LICENSE"]).hexdigest() == APACHE_2_MD5, "LICENSE is not the Apache-2.0 text"
    info = json.loads(built["texts"]["MANIFEST.json"])["collection_info"]
    assert info["license"] == ["Apache-2.0"]
    for name, spec in info["dependencies"].items():
        assert re.match(r"^>=\d+\.\d+\.\d+,<\d+\.\d+\.\d+$", spec), "%s: %r has no upper bound" % (name, spec)
    for key in ("repository", "documentation", "homepage", "issues"):
        url = info.get(key)
        assert url is None or (url.startswith("https://") and not re.search(r"example\.|\.invalid|localhost", url)), (
            "%s: %r is a placeholder" % (key, url)
        )
    for name, text in built["texts"].items():
        if name.endswith((".png", ".json")):
            continue
        assert b"example.invalid" not in text, name


def test_requires_ansible_matches_the_tested_cores(built):
    runtime = yaml.safe_load(built["texts"]["meta/runtime.yml"])
    match = re.match(r"^>=(\d+)\.(\d+)\.\d+,<(\d+)\.(\d+)(?:\.\d+)?$", runtime["requires_ansible"])
    assert match, "requires_ansible needs a lower and an upper bound: %r" % runtime["requires_ansible"]
    lo_major, lo_minor, hi_major, hi_minor = (int(g) for g in match.groups())
    assert lo_major == hi_major == 2
    claimed = {"2.%d" % minor for minor in range(lo_minor, hi_minor)}
    cores = {f[:-4] for f in os.listdir(os.path.join(ROOT, "tests", "cores")) if f.endswith(".txt")}
    assert cores == claimed, "tests/cores/ has %s, requires_ansible claims %s" % (sorted(cores), sorted(claimed))
    for core in claimed:
        pins = open(os.path.join(ROOT, "tests", "cores", core + ".txt"), encoding="utf-8").read()
        assert re.search(r"^ansible-core==%s\.\d+$" % re.escape(core), pins, re.M), core
        ignore = os.path.join(ROOT, "tests", "sanity", "ignore-%s.txt" % core)
        assert os.path.exists(ignore), "no %s: sanity on ansible-core %s has no ignore file" % (ignore, core)
        for number, line in enumerate(open(ignore, encoding="utf-8"), 1):
            if line.strip():
                path = line.split()[0]
                assert path in built["files"], "%s:%d names %s, which is not shipped" % (ignore, number, path)
                assert re.search(r" # \S", line), "%s:%d gives no reason" % (ignore, number)
    stale = {f for f in os.listdir(os.path.join(ROOT, "tests", "sanity")) if f.startswith("ignore-")} - {
        "ignore-%s.txt" % core for core in claimed
    }
    assert not stale, "ignore files for versions the collection does not claim: %s" % sorted(stale)


def test_what_the_shipped_playbooks_use_is_shipped(built):
    """A playbook importing one that stays behind, or a role that does, would fail for every user."""
    names = built["files"]
    for name in sorted(n for n in names if n.startswith(("playbooks/", "roles/")) and n.endswith(".yml")):
        text = built["texts"][name].decode()
        for target in re.findall(r"import_playbook:\s*(\S+)", text):
            if target.startswith("vacc.qwen3."):
                target = "playbooks/%s.yml" % target.split(".")[-1]
            else:
                target = os.path.normpath(os.path.join(os.path.dirname(name), target))
            assert target in names, "%s imports %s, which is not shipped" % (name, target)
        for role in re.findall(r"(?:role|name):\s*vacc\.qwen3\.(\w+)\s*$", text, re.M):
            if "roles/%s/tasks/main.yml" % role not in names and "playbooks/%s.yml" % role not in names:
                pytest.fail("%s uses vacc.qwen3.%s, which is not shipped" % (name, role))


def test_an_execution_environment_gets_what_the_roles_need(built, tmp_path):
    """ansible-builder introspects meta/execution-environment.yml of the installed collection."""
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_CONFIG"}
    res = subprocess.run(
        [
            os.path.join(BUILD_BIN, "ansible-galaxy"),
            "collection",
            "install",
            "--offline",
            "--no-deps",
            "-p",
            str(tmp_path),
            built["tarball"],
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    builder = os.path.join(os.path.dirname(sys.executable), "ansible-builder")
    res = subprocess.run(
        [builder, "introspect", str(tmp_path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert res.returncode == 0, res.stdout + res.stderr
    found = yaml.safe_load(res.stdout)
    system = "\n".join(found["system"])
    for package in (
        "rsync [platform:rpm platform:dpkg]",
        "openssh-clients [platform:rpm]",
        "python3.11 [platform:rpm]",
    ):
        assert package + "  # from collection vacc.qwen3" in system, system
