"""The fleet pass of vacc.qwen3.plan at scale: 1000 never-contacted hosts in under a minute (tools/bench_plan.py)."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import bench_plan  # noqa: E402


def test_a_thousand_hosts_in_under_a_minute(tmp_path):
    seconds, lines = bench_plan.run(1000, str(tmp_path))
    assert seconds < 60, "1000 hosts took %.1f s" % seconds
    assert len(os.listdir(tmp_path / "plans-1000")) == 1000
    # One summary row per host, not a task's worth of output per host.
    assert lines < 3 * 1000
