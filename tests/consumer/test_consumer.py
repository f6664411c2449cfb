"""The collection as an SRE uses it (`make test-consumer`): the built tarball installed with ansible-galaxy
into an Ansible project of their own, then its playbooks run by FQCN, on the oldest and the newest
ansible-core that meta/runtime.yml claims, each from its own venv made from PyPI (.cache/cores/).

The project lives in a temporary directory with its own ansible.cfg; nothing of the clone is on its
paths (no ANSIBLE_CONFIG, no collections/ link, no bundled collections: the core venvs hold
ansible-core alone). It installs what `make dist` writes: the tarball, its dependencies as tarballs made from
the copies the pinned `ansible` package bundles (community.docker, ansible.posix; tools/dist_deps.py) and
dist/requirements.yml, offline, so its resolver checks galaxy.yml's bounds against the versions the tests use. The fleet's one server is unreachable on
purpose: plan contacts no host, and deploy must stop at the first host contact with ssh's sentence.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys

import collection_build
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORES = collection_build.CORES
CONSUMER_CORES = [CORES[0], CORES[-1]]  # the oldest and the newest claimed
DEPENDENCIES = ("community.docker", "ansible.posix")

INVENTORY = {
    "all": {
        "children": {
            "vacc_servers": {
                "hosts": {"va16-01": {"ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_user": "root"}},
                "vars": {
                    "qwen3_model": "Qwen3-8B-AWQ",
                    "vacc_card": "VA16",
                    "vacc_cards": 1,
                    "qwen3_weights_dir": "/data/weights",
                },
            }
        }
    }
}


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """What `make dist` writes: the collection's tarball, its dependencies' (tools/dist_deps.py, from the copies the
    pinned `ansible` package bundles) and a requirements.yml naming them, in a directory called dist/."""
    out = tmp_path_factory.mktemp("artifacts") / "dist"
    out.mkdir()
    artifact = collection_build.build(out)
    deps = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "dist_deps.py"), str(out), artifact],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert deps.returncode == 0, deps.stdout + deps.stderr
    found = {"vacc.qwen3": (artifact, None)}
    for line in deps.stdout.split("\n"):
        if line.strip():
            name, version = line.split()
            found[name] = (str(out / ("%s-%s.tar.gz" % (name.replace(".", "-"), version))), version)
    assert set(DEPENDENCIES) <= set(found), deps.stdout
    return found


class Project:
    """An Ansible project of the user's: ansible.cfg, requirements.yml, an inventory; run with one core venv."""

    def __init__(self, path, core):
        self.path = path
        self.bin = os.path.join(ROOT, ".cache", "cores", core, "bin")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "VIRTUAL_ENV"}
        self.env.update(
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            HOME=str(path / "home"),
            PATH=self.bin + os.pathsep + "/usr/bin:/bin",
        )

    def run(self, tool, *args, timeout=300):
        res = subprocess.run(
            [os.path.join(self.bin, tool)] + list(args),
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        res.all = res.stdout + res.stderr
        res.flat = " ".join(res.all.split())
        return res


@pytest.fixture(scope="module", params=CONSUMER_CORES, ids=lambda core: "ansible-core-" + core)
def project(request, artifacts, tmp_path_factory):
    core = request.param
    path = tmp_path_factory.mktemp("project-%s" % core)
    (path / "home").mkdir()
    (path / "ansible.cfg").write_text(
        "[defaults]\ncollections_path = ./collections\ncollections_scan_sys_path = false\n"
        "inventory = ./hosts.yml\nhost_key_checking = false\n"
    )
    (path / "hosts.yml").write_text(yaml.safe_dump(INVENTORY))
    # What the README's install section tells a user to do: make dist's directory copied into the project,
    # installed from its requirements.yml without Galaxy.
    shutil.copytree(os.path.dirname(artifacts["vacc.qwen3"][0]), path / "dist")
    proj = Project(path, core)
    assert os.path.exists(os.path.join(proj.bin, "ansible-playbook")), "no venv for ansible-core %s" % core
    res = proj.run("ansible-galaxy", "collection", "install", "--offline", "-r", "dist/requirements.yml")
    assert res.returncode == 0, res.all
    proj.core = core
    return proj


def test_installed_from_the_tarball_only(project, artifacts):
    res = project.run("ansible-galaxy", "collection", "list", "--format", "json")
    assert res.returncode == 0, res.all
    here = str(project.path / "collections" / "ansible_collections")
    # ansible-core 2.19 lists its own internal collection (ansible._protomatter) from inside its package.
    listed = {path: found for path, found in json.loads(res.stdout).items() if "/ansible/_internal/" not in path}
    assert list(listed) == [here], listed
    versions = {name: info["version"] for name, info in listed[here].items()}
    expected = {name: version for name, (dummy, version) in artifacts.items()}
    expected["vacc.qwen3"] = re.search(r"vacc-qwen3-(.+)\.tar\.gz$", artifacts["vacc.qwen3"][0]).group(1)
    assert versions == expected
    res = project.run("ansible-playbook", "--version")
    assert "core %s." % project.core in res.stdout, res.stdout
    assert "config file = %s" % (project.path / "ansible.cfg") in res.stdout, res.stdout
    assert "ansible collection location = %s" % (project.path / "collections") in res.stdout, res.stdout


def test_docs_render(project):
    for kind, name in (
        ("module", "vacc.qwen3.vacc_facts"),
        ("module", "vacc.qwen3.model_verify"),
        ("filter", "vacc.qwen3.qwen3_plan"),
        ("lookup", "vacc.qwen3.qwen3_models"),
        ("role", "vacc.qwen3.vllm_service"),
    ):
        res = project.run("ansible-doc", "-t", kind, name)
        assert res.returncode == 0 and res.stdout.strip(), res.all


def test_plan_by_fqcn(project):
    res = project.run("ansible-playbook", "vacc.qwen3.plan", "-e", "qwen3_tp=4", "-e", "qwen3_plan_dir=results/plan")
    assert res.returncode == 0, res.all
    assert "--tensor-parallel-size 4" in res.flat and "harbor.vastaitech.com/ai_deliver/vllm_vacc" in res.flat, res.all
    assert "unreachable=0" in res.flat and "failed=0" in res.flat
    # Secrets beside the inventory, results under the project: nothing is written into the installed collection.
    # The plan writes no secret (the first deploying play makes the key beside the inventory).
    assert not (project.path / ".secrets").exists()
    assert "API key %s" % (project.path / ".secrets" / "api_key") in res.flat, res.all
    assert json.loads((project.path / "results" / "plan" / "va16-01.json").read_text())["tp"] == 4
    installed = project.path / "collections" / "ansible_collections" / "vacc" / "qwen3"
    assert not [p for p in glob.glob(str(installed / "**"), recursive=True) if ".secrets" in p or "/results" in p]


def test_a_refusal_names_the_fix(project):
    res = project.run(
        "ansible-playbook",
        "vacc.qwen3.plan",
        "-e",
        "qwen3_model=Qwen3-4B-AWQ",
        "-e",
        "vacc_cards=2",
        "-e",
        "qwen3_tp=8",
    )
    assert res.returncode != 0
    assert "Qwen3-4B-AWQ does not load at TP8 on this platform; set qwen3_tp to 2 or 4" in res.flat, res.all


def test_deploy_check_stops_at_the_unreachable_host(project):
    res = project.run("ansible-playbook", "vacc.qwen3.deploy", "--check", "-e", "qwen3_tp=4")
    assert res.returncode != 0
    # The roles resolve from the installed collection; the first host contact fails with ssh's sentence.
    assert "vacc.qwen3._common : Plan this host" in res.flat, res.all
    assert (
        "Failed to connect to the host via ssh: ssh: connect to host 127.0.0.1 port 1: Connection refused" in res.flat
    ), res.all
    assert re.search(r"va16-01\s*: ok=\d+\s+changed=0\s+unreachable=1\s+failed=0", res.all), res.all
    assert "Traceback" not in res.all


def test_the_awx_kit_of_the_installed_collection(project, artifacts):
    """A repository made from docs/awx-project/ as docs/awx.md says, the tarball beside its requirements.yml;
    AWX's project sync (ansible-galaxy from the repository's root), then a job: a wrapper with survey answers,
    one blank as AWX sends it."""
    kit = project.path / "collections" / "ansible_collections" / "vacc" / "qwen3" / "docs" / "awx-project"
    repo = project.path / "awx-repo"
    shutil.copytree(kit, repo)
    shutil.copy(artifacts["vacc.qwen3"][0], repo / "collections")
    synced = repo / "synced"
    res = subprocess.run(
        [
            os.path.join(project.bin, "ansible-galaxy"),
            "collection",
            "install",
            "-r",
            "collections/requirements.yml",
            "-p",
            str(synced),
            "--offline",
            "--no-deps",
        ],
        cwd=repo,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert (synced / "ansible_collections" / "vacc" / "qwen3" / "MANIFEST.json").exists()
    # The job: the synced collection first, its dependencies from the project (AWX: the EE or Galaxy).
    env = dict(
        project.env,
        ANSIBLE_COLLECTIONS_PATH="%s:%s" % (synced, project.path / "collections"),
        ANSIBLE_CONFIG=str(project.path / "ansible.cfg"),
    )
    (repo / "answers.json").write_text(
        json.dumps(
            {"survey_qwen3_model": None, "survey_vacc_cards": "", "survey_qwen3_tp": "2", "survey_qwen3_instances": 2}
        )
    )
    res = subprocess.run(
        [
            os.path.join(project.bin, "ansible-playbook"),
            "-i",
            str(project.path / "hosts.yml"),
            "plan.yml",
            "-e",
            "@answers.json",
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    flat = " ".join((res.stdout + res.stderr).split())
    assert res.returncode == 0, res.stdout + res.stderr
    # The model from the inventory (its answer was blank), TP and instances from the answers.
    assert "va16-01: Qwen3-8B-AWQ (INT4, dense) on 1 x VA16 (4 dies): TP2 x 2 instance(s)" in flat, flat
