"""A throwaway engine image for the failure tests (tests/security, tests/fleet/test_rollout.py): the offline
Debian base with `vllm` replaced by a shell script of the test's choosing."""

import shlex
import subprocess

BASE = "vacc-qwen3/debian-base:bookworm"


def build_stub_engine(tag, *lines):
    """Build `tag`, whose /usr/local/bin/vllm runs `lines` under /bin/sh; returns the tag."""
    script = " ".join(shlex.quote(line) for line in ("#!/bin/sh",) + lines)
    dockerfile = "FROM %s\nRUN printf '%%s\\n' %s > /usr/local/bin/vllm && chmod 755 /usr/local/bin/vllm\n" % (
        BASE,
        script,
    )
    res = subprocess.run(
        ["docker", "build", "-q", "-t", tag, "-"], input=dockerfile, text=True, capture_output=True, check=False
    )
    assert res.returncode == 0, "building %s failed:\n%s" % (tag, res.stderr[-2000:])
    return tag
