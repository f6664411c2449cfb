"""Write the collection's dependencies next to its tarball, for an offline install: `make dist` runs it.

    python tools/dist_deps.py DIST_DIR ARTIFACT

For each dependency in galaxy.yml (and theirs, from their MANIFEST.json), the copy that the `ansible` package of
this Python ships (ansible_collections/<ns>/<name>) is packed as <ns>-<name>-<version>.tar.gz, the layout
ansible-galaxy builds: MANIFEST.json, FILES.json and the files. The `ansible` package leaves out parts of a
collection (tests, CI files), so FILES.json is written again for what is there, and MANIFEST.json points at
it. A version outside galaxy.yml's bounds is refused. DIST_DIR/requirements.yml then names the collection
and each dependency by file, so that
    ansible-galaxy collection install --offline -r dist/requirements.yml
installs everything without Galaxy (run it from the directory that holds dist/).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tarfile

import yaml
from ansible.galaxy.dependency_resolution.versioning import meets_requirements

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def installed_dir(fqcn):
    import ansible_collections  # pylint: disable=import-outside-toplevel

    ns, name = fqcn.split(".")
    for base in ansible_collections.__path__:
        path = os.path.join(base, ns, name)
        if os.path.isfile(os.path.join(path, "MANIFEST.json")):
            return path
    raise SystemExit(
        "dist_deps: %s is not installed beside this Python's ansible (requirements-dev.txt's `ansible`)." % fqcn
    )


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def pack(path, out_dir):
    """<ns>-<name>-<version>.tar.gz from an installed collection; returns (fqcn, version, file name, dependencies)."""
    with open(os.path.join(path, "MANIFEST.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    info = manifest["collection_info"]
    entries, blobs = [{"name": ".", "ftype": "dir", "chksum_type": None, "chksum_sha256": None, "format": 1}], {}
    for top, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        rel_top = os.path.relpath(top, path)
        for d in dirs:
            entries.append(
                {
                    "name": os.path.normpath(os.path.join(rel_top, d)),
                    "ftype": "dir",
                    "chksum_type": None,
                    "chksum_sha256": None,
                    "format": 1,
                }
            )
        for f in sorted(files):
            rel = os.path.normpath(os.path.join(rel_top, f))
            if rel in ("MANIFEST.json", "FILES.json") or f.endswith((".pyc", ".pyo")):
                continue
            with open(os.path.join(top, f), "rb") as handle:
                blobs[rel] = handle.read()
            entries.append(
                {
                    "name": rel,
                    "ftype": "file",
                    "chksum_type": "sha256",
                    "chksum_sha256": _sha256(blobs[rel]),
                    "format": 1,
                }
            )
    files_json = json.dumps({"files": entries, "format": 1}, indent=4).encode()
    manifest["file_manifest_file"] = {
        "name": "FILES.json",
        "ftype": "file",
        "chksum_type": "sha256",
        "chksum_sha256": _sha256(files_json),
        "format": 1,
    }
    manifest_json = json.dumps(manifest, indent=4).encode()
    fqcn = "%s.%s" % (info["namespace"], info["name"])
    name = "%s-%s-%s.tar.gz" % (info["namespace"], info["name"], info["version"])
    with tarfile.open(os.path.join(out_dir, name), "w:gz") as tar:
        for member, data in [("MANIFEST.json", manifest_json), ("FILES.json", files_json)] + sorted(blobs.items()):
            tinfo = tarfile.TarInfo(member)
            tinfo.size, tinfo.mode, tinfo.mtime = len(data), 0o644, 0
            tar.addfile(tinfo, io.BytesIO(data))
        # ansible-galaxy extracts each directory FILES.json lists as a member of its own.
        for entry in entries[1:]:
            if entry["ftype"] == "dir":
                tinfo = tarfile.TarInfo(entry["name"])
                tinfo.type, tinfo.mode, tinfo.mtime = tarfile.DIRTYPE, 0o755, 0
                tar.addfile(tinfo)
    return fqcn, info["version"], name, info.get("dependencies") or {}


def main(argv):
    out_dir, artifact = argv[1], argv[2]
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        wanted = dict(yaml.safe_load(handle).get("dependencies") or {})
    done, rows = {}, []
    while wanted:
        fqcn, bounds = wanted.popitem()
        if fqcn in done:
            continue
        got, version, name, deps = pack(installed_dir(fqcn), out_dir)
        if not meets_requirements(version, bounds):
            raise SystemExit(
                "dist_deps: the installed %s is %s, outside galaxy.yml's bounds %s; install a version "
                "inside them (requirements-dev.txt's ansible package)." % (fqcn, version, bounds)
            )
        done[fqcn] = version
        rows.append({"name": os.path.join(os.path.basename(out_dir), name), "type": "file"})
        for dep, dep_bounds in deps.items():
            if dep not in done:
                wanted[dep] = dep_bounds
    requirements = {
        "collections": [{"name": os.path.join(os.path.basename(out_dir), os.path.basename(artifact)), "type": "file"}]
        + sorted(rows, key=lambda r: r["name"])
    }
    with open(os.path.join(out_dir, "requirements.yml"), "w", encoding="utf-8") as handle:
        handle.write(
            "# vacc.qwen3 and its dependencies as files (tools/dist_deps.py): from the directory that holds %s/,\n"
            "#   ansible-galaxy collection install --offline -r %s/requirements.yml\n"
            % (os.path.basename(out_dir), os.path.basename(out_dir))
        )
        yaml.safe_dump(requirements, handle, sort_keys=False)
    for fqcn, version in sorted(done.items()):
        print("%s %s" % (fqcn, version))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
