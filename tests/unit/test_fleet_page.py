"""The static fleet page (plugins/plugin_utils/_fleet_page.py, action vacc.qwen3.fleet_page) on Prometheus
API answers recorded from the live test (tests/monitoring): two stand-in engines behind a door, one of
them stopped, Qwen3InstanceDown firing. The page is made from those answers alone; the action is run
against a local HTTP server that replays them."""

import copy
import json
import os
import subprocess
import sys
import threading
import urllib.parse
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _fleet_page as fp

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "fleet_page"


@pytest.fixture()
def snapshot():
    return json.loads((FIXTURES / "instance-down.json").read_text())


class Page(HTMLParser):
    """What the page holds: tags seen, table rows by table id, svg attributes, polylines per panel."""

    def __init__(self):
        super().__init__()
        self.tags, self.rows, self.svgs, self.lines, self.texts = [], {}, {}, {}, []
        self._table = self._row = self._svg = self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "table":
            self._table = attrs.get("id")
            self.rows[self._table] = []
        elif tag == "tr" and self._table:
            self._row = {"class": attrs.get("class", ""), "cells": {}}
            self.rows[self._table].append(self._row)
        elif tag == "td" and self._row is not None:
            self._cell = attrs.get("data-key")
        elif tag == "svg":
            self._svg = attrs["data-panel"]
            self.svgs[self._svg] = attrs
            self.lines[self._svg] = []
        elif tag == "polyline" and self._svg:
            self.lines[self._svg].append(attrs["points"].split())

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "table":
            self._table = self._row = None
        elif tag == "svg":
            self._svg = None

    def handle_data(self, data):
        if self._row is not None and self._cell:
            self._row["cells"][self._cell] = self._row["cells"].get(self._cell, "") + data
        self.texts.append(data)


def parse(html):
    page = Page()
    page.feed(html)
    return page


def test_page_shows_the_recorded_fleet(snapshot):
    html = fp.render(snapshot)
    page = parse(html)
    # Tables: five targets, the stopped engine down; its alert firing.
    targets = [r for r in page.rows["targets"] if r["cells"]]
    assert len(targets) == 5
    down = [r for r in targets if r["class"] == "down"]
    assert [r["cells"]["instance"] for r in down] == ["localhost/vacc-mon-engine-1"]
    assert "/engine/1/metrics" in down[0]["cells"]["error"]  # Prometheus's own words: scrape timed out
    alerts = [r["cells"] for r in page.rows["alerts"] if r["cells"]]
    assert alerts[0]["alert"] == "Qwen3InstanceDown" and alerts[0]["state"] == "firing"
    assert alerts[0]["instance"] == "vacc-mon-engine-1"
    assert "4 of 5 targets up" in html and "firing: Qwen3InstanceDown" in html
    # No vasmi in the lab: said, not drawn.
    assert [r["cells"] for r in page.rows["vasmi"] if r["cells"]] == [
        {"host": "localhost", "up": "0", "reason": "no vasmi"}
    ]
    assert page.svgs["die-temperature"]["data-points"] == "0"
    assert "no vasmi numbers: see Accelerators below" in page.texts


def test_every_panel_is_drawn_and_the_live_ones_have_lines(snapshot):
    page = parse(fp.render(snapshot))
    assert list(page.svgs) == [p["id"] for p in fp.PANELS]
    for panel in ("targets-up", "running", "waiting", "ttft-p99", "kv-cache", "success-rate"):
        assert int(page.svgs[panel]["data-points"]) > 0, panel
        assert page.lines[panel] and all(len(line) > 1 for line in page.lines[panel]), panel
    # Every point inside the plot area.
    for panel, lines in page.lines.items():
        width, height = int(page.svgs[panel]["width"]), int(page.svgs[panel]["height"])
        for line in lines:
            for point in line:
                x, y = map(float, point.split(","))
                assert 0 <= x <= width and 0 <= y <= height, (panel, point)


def test_series_follow_the_answers(snapshot):
    running = next(p for p in fp.PANELS if p["id"] == "running")
    series = fp.panel_series(running, snapshot["ranges"]["running"])
    assert [s["name"] for s in series] == ["localhost/vacc-mon-engine-0", "localhost/vacc-mon-engine-1"]
    raw = snapshot["ranges"]["running"][0]["data"]["result"]
    assert sum(len(r["values"]) for r in raw) == sum(len(s["points"]) for s in series)
    # NaN (a quantile with no traffic) is left out, not drawn as 0.
    body = copy.deepcopy(snapshot["ranges"]["running"][0])
    body["data"]["result"][0]["values"][0][1] = "NaN"
    assert sum(len(s["points"]) for s in fp.panel_series(running, [body])) == sum(len(s["points"]) for s in series) - 1


def test_page_is_self_contained(snapshot):
    html = fp.render(snapshot)
    page = parse(html)
    assert not [t for t, a in page.tags if t in ("script", "link", "img", "iframe")]
    assert not [a for t, a in page.tags for k in ("src", "href") if k in a]
    assert "url(" not in html and "@import" not in html


def test_labels_are_escaped(snapshot):
    snapshot["alerts"]["data"]["alerts"][0]["annotations"]["summary"] = '<b>"x" & y</b>'
    html = fp.render(snapshot)
    assert "&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;" in html and "<b>" not in html


class Replay(object):
    """A get() that answers from the recorded snapshot, as Prometheus would, and remembers the calls."""

    def __init__(self, snapshot):
        self.snapshot, self.calls = snapshot, []
        self.by_query = {}
        for panel in fp.PANELS:
            for (dummy, expr), body in zip(panel["queries"], snapshot["ranges"][panel["id"]]):
                self.by_query[expr.replace("{w}", snapshot["meta"]["rate_window"])] = body
        for name, expr in fp.INSTANT.items():
            self.by_query[expr] = snapshot["instant"][name]

    def __call__(self, path, params):
        self.calls.append((path, dict(params)))
        if path == "/api/v1/targets":
            return self.snapshot["targets"]
        if path == "/api/v1/alerts":
            return self.snapshot["alerts"]
        return self.by_query.get(params["query"], {"status": "error", "error": "unknown query"})


def test_collect_asks_what_the_page_needs(snapshot):
    meta = snapshot["meta"]
    replay = Replay(snapshot)
    got = fp.collect(replay, window_minutes=meta["window_minutes"], now=meta["end"], url=meta["url"], points=150)
    assert got["ranges"] == snapshot["ranges"] and got["targets"] == snapshot["targets"]
    assert got["meta"]["step"] == 2 and got["meta"]["rate_window"] == "1m"
    ranges = [p for path, p in replay.calls if path == "/api/v1/query_range"]
    assert len(ranges) == sum(len(p["queries"]) for p in fp.PANELS)
    assert all(float(p["end"]) - float(p["start"]) == 300 for p in ranges)
    assert fp.render(got) == fp.render(snapshot)


def test_a_refused_query_is_one_sentence(snapshot):
    def refusing(path, params):
        if path == "/api/v1/query_range":
            return {"status": "error", "errorType": "bad_data", "error": "parse error"}
        return Replay(snapshot)(path, params)

    with pytest.raises(fp.FleetPageError, match=r"^Prometheus refused the query for Targets up: parse error\.$"):
        fp.collect(refusing, window_minutes=5, now=snapshot["meta"]["end"])
    with pytest.raises(fp.FleetPageError, match="at least 1 minute"):
        fp.collect(refusing, window_minutes=0)


def test_write_page_is_atomic_and_keeps_the_answers(snapshot, tmp_path):
    dest = tmp_path / "out" / "fleet.html"
    facts = fp.write_page(snapshot, str(dest))
    assert facts == {
        "targets": 5,
        "targets_up": 4,
        "down": ["localhost/vacc-mon-engine-1"],
        "firing": ["Qwen3InstanceDown"],
        "pending": [],
    }
    assert sorted(os.listdir(dest.parent)) == ["fleet.html", "fleet.json"]
    assert json.loads((dest.parent / "fleet.json").read_text()) == snapshot


# ---------------------------------------------------------------------------------------------
# The action, end to end against a replaying HTTP server


@pytest.fixture()
def prometheus(snapshot):
    replay = Replay(snapshot)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            url = urllib.parse.urlsplit(self.path)
            body = json.dumps(replay(url.path, dict(urllib.parse.parse_qsl(url.query)))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()


def run_action(tmp_path, args, *extra):
    playbook = tmp_path / "page.yml"
    playbook.write_text(
        json.dumps(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {"vacc.qwen3.fleet_page": args, "register": "page"},
                        {"ansible.builtin.debug": {"var": "page"}},
                    ],
                }
            ]
        )
    )
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json")
    res = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            "ansible_python_interpreter=" + sys.executable,
            str(playbook),
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    out = json.loads(res.stdout)
    return out["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_action_writes_the_page(prometheus, snapshot, tmp_path):
    dest = tmp_path / "fleet.html"
    result = run_action(tmp_path, {"prometheus_url": prometheus, "dest": str(dest), "window_minutes": 5})
    assert not result.get("failed"), result
    assert result["targets_up"] == 4 and result["firing"] == ["Qwen3InstanceDown"]
    assert "4 of 5 targets up" in dest.read_text()


def test_action_asks_through_the_host(prometheus, tmp_path):
    """query_from: host - ansible.builtin.uri on the task's host (here the local connection) asks Prometheus."""
    dest = tmp_path / "fleet.html"
    result = run_action(
        tmp_path, {"prometheus_url": prometheus, "dest": str(dest), "window_minutes": 5, "query_from": "host"}
    )
    assert not result.get("failed"), result
    assert result["targets_up"] == 4 and "4 of 5 targets up" in dest.read_text()


def test_action_writes_nothing_in_check_mode(prometheus, tmp_path):
    dest = tmp_path / "fleet.html"
    result = run_action(tmp_path, {"prometheus_url": prometheus, "dest": str(dest)}, "--check")
    assert result.get("skipped") and not dest.exists()


def test_action_says_when_prometheus_does_not_answer(tmp_path):
    result = run_action(tmp_path, {"prometheus_url": "http://127.0.0.1:9", "dest": str(tmp_path / "f.html")})
    assert result["failed"]
    assert result["msg"].startswith("Prometheus at http://127.0.0.1:9 does not answer from the controller")
    result = run_action(tmp_path, {"prometheus_url": "127.0.0.1:9090", "dest": str(tmp_path / "f.html")})
    assert result["msg"] == "prometheus_url must be an http(s) URL, not '127.0.0.1:9090'."


def test_the_healthy_fleet():
    """Recorded after N requests through the door, every target up, nothing firing."""
    snapshot = json.loads((FIXTURES / "healthy.json").read_text())
    html = fp.render(snapshot)
    page = parse(html)
    assert "5 of 5 targets up" in html and "no alert firing" in html
    assert "No alert is firing or pending." in page.texts and "alerts" not in page.rows
    assert all(r["class"] == "" for r in page.rows["targets"])
    for panel in ("running", "ttft-p99", "success-rate"):
        assert int(page.svgs[panel]["data-points"]) > 0 and page.lines[panel], panel
    assert fp.summary(snapshot) == {"targets": 5, "targets_up": 5, "down": [], "firing": [], "pending": []}
