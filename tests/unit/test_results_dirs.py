"""Every controller-side result directory a role defaults to follows qwen3_results_dir (README "Results").

The monitoring role's fleet page went to $PWD/results/monitoring whatever qwen3_results_dir said, while the
benchmark, accuracy, engine probe, smoke and quantize results followed it."""

import glob
import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def pwd_defaults():
    for path in sorted(glob.glob(os.path.join(ROOT, "roles", "*", "defaults", "main.yml"))):
        with open(path, encoding="utf-8") as handle:
            for name, value in (yaml.safe_load(handle) or {}).items():
                if isinstance(value, str) and "'PWD'" in value:
                    yield name, value


def test_the_walk_finds_the_result_directories():
    names = {name for name, _value in pwd_defaults()}
    assert {"benchmark_results_dir", "accuracy_results_dir", "monitoring_fleet_page_dir"} <= names


def test_each_follows_qwen3_results_dir():
    wrong = [name for name, value in pwd_defaults() if not value.startswith("{{ qwen3_results_dir | default(")]
    assert not wrong, "not under qwen3_results_dir: %s" % wrong
