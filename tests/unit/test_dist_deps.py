"""tools/dist_deps.py (make dist): the dependencies' tarballs are complete collection artifacts (FILES.json lists
exactly what is in them, MANIFEST.json names FILES.json's checksum), inside galaxy.yml's bounds, and
requirements.yml names the collection and all of them by file, relative to the directory that holds dist/."""

import hashlib
import json
import os
import subprocess
import sys
import tarfile

import yaml
from ansible.galaxy.dependency_resolution.versioning import meets_requirements

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_dependencies_are_packed_for_an_offline_install(tmp_path):
    out = tmp_path / "dist"
    out.mkdir()
    res = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "dist_deps.py"), str(out), str(out / "vacc-qwen3-9.9.9.tar.gz")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    versions = dict(line.split() for line in res.stdout.splitlines())
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        bounds = yaml.safe_load(handle)["dependencies"]
    assert set(bounds) <= set(versions) and "community.library_inventory_filtering_v1" in versions
    for name, spec in bounds.items():
        assert meets_requirements(versions[name], spec), (name, versions[name], spec)
    requirements = yaml.safe_load((out / "requirements.yml").read_text())["collections"]
    assert requirements[0] == {"name": "dist/vacc-qwen3-9.9.9.tar.gz", "type": "file"}
    assert sorted(r["name"] for r in requirements[1:]) == sorted(
        "dist/%s-%s.tar.gz" % (n.replace(".", "-"), v) for n, v in versions.items()
    )
    for row in requirements[1:]:
        with tarfile.open(tmp_path / row["name"]) as tar:
            names = {m.name for m in tar.getmembers()}
            manifest = json.load(tar.extractfile("MANIFEST.json"))
            files_raw = tar.extractfile("FILES.json").read()
            files = json.loads(files_raw)["files"]
            assert manifest["file_manifest_file"]["chksum_sha256"] == hashlib.sha256(files_raw).hexdigest()
            listed = {e["name"] for e in files if e["name"] != "."}
            assert listed == names - {"MANIFEST.json", "FILES.json"}
            for entry in files:
                if entry["ftype"] == "file":
                    assert hashlib.sha256(tar.extractfile(entry["name"]).read()).hexdigest() == entry["chksum_sha256"]
