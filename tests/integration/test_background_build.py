"""_common's image builder in the background (image_background, as `make demo` builds the later stages' images):
the first call starts the build and returns at once, a second call for the same image in the same run waits for
that build and finds the image made (not built twice), and a build that fails in the background fails the play
at that second call with its own words. A two-step image from the offline Debian base on this machine's engine."""

import re
import secrets
import subprocess
import time

import pytest
from playbook import run_play

BASE = "vacc-qwen3/debian-base:bookworm"  # make lab


def image(name, tmp_path, background, fail=False):
    # The sleep makes the build outlast the play's next tasks, so the second call really has to wait.
    run = "sleep 8 && false" if fail else "sleep 8 && echo built > /built"
    return {
        "name": "Image" + (" in the background" if background else ""),
        "ansible.builtin.include_role": {"name": "vacc.qwen3._common", "tasks_from": "image"},
        "vars": {
            "image_name": name,
            "image_source": "build",
            "image_var_prefix": "test",
            "image_dockerfile": "FROM %s\nRUN %s\n" % (BASE, run),
            "image_base": BASE,
            "image_dir": str(tmp_path / "context"),
            "image_by": "test-background",
            "image_background": background,
        },
    }


def play(tmp_path, name, fail=False):
    tasks = [
        image(name, tmp_path, True, fail),
        {"name": "Started", "ansible.builtin.debug": {"msg": "started {{ image_result.background }}"}},
        image(name, tmp_path, False, fail),
        {"name": "After", "ansible.builtin.debug": {"msg": "after built={{ image_result.built }}"}},
    ]
    return run_play(tmp_path / "play.yml", tasks)


@pytest.fixture
def name():
    ref = "vacc-qwen3/background-test:%s" % secrets.token_hex(4)
    yield ref
    subprocess.run(["docker", "rmi", "-f", ref], capture_output=True, check=False)


def created(ref):
    res = subprocess.run(["docker", "image", "inspect", "-f", "{{.Created}}", ref], capture_output=True, text=True)
    return res.stdout.strip() if res.returncode == 0 else None


def test_a_background_build_is_waited_for_and_not_repeated(tmp_path, name):
    t0 = time.monotonic()
    res, flat = play(tmp_path, name)
    assert res.returncode == 0, flat[-3000:]
    assert "started True" in flat
    assert re.search(
        r"the build of %s: done after \d+ s since it was started in the background" % re.escape(name), flat
    )
    assert "after built=False" in flat  # found made by the background build, not built again
    assert created(name) and time.monotonic() - t0 >= 8
    assert not (tmp_path / "context").exists()  # the build context removed once the build ended
    first = created(name)
    res, flat = play(tmp_path, name)  # a rerun: the recipe matches, nothing starts in the background
    assert res.returncode == 0 and "started False" in flat and created(name) == first, flat[-3000:]


def test_a_failed_background_build_fails_where_it_is_needed(tmp_path, name):
    res, flat = play(tmp_path, name, fail=True)
    assert res.returncode != 0
    assert "started True" in flat and "after built" not in flat
    assert "the build of %s, started in the background, failed on localhost" % name in flat, flat[-3000:]
    assert "sleep 8 && false" in flat, flat[-3000:]  # the failing step, in Docker's words
    assert created(name) is None
