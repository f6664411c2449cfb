# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""The mount holding a path. Docs: mount_of.yml beside this file."""

from __future__ import annotations

import posixpath


def mount_of(mounts, path):
    """The entry of `mounts` (setup's ansible_mounts) whose mount point is the longest prefix of `path`:
    the file system a directory that may not exist yet would be created on. {} when none matches."""
    path = posixpath.normpath(str(path))
    best = {}
    for mount in mounts or []:
        point = posixpath.normpath(str(mount.get("mount", "")))
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best.get("mount", "")):
            best = mount
    return best


class FilterModule(object):
    def filters(self):
        return {"mount_of": mount_of}
