"""Open WebUI end to end on this machine: playbooks/webui.yml (twice: the second run changes nothing),
its configuration as the REST API reports it, and a real browser chat through Open WebUI -> HAProxy ->
the vLLM CPU stand-in serving the tiny Qwen3; then a chat over the model's max-model-len, whose refusal by
the engine the browser shows in the chat (the limit named on the new-chat screen beforehand).

Needs: the service of `make demo` (tests/local_service.py runs playbooks/deploy.yml when it does not answer
to this checkout's key) and `tests/webui/setup.sh` (Debian's chromium and fonts-noto-cjk, playwright-core in
tests/webui/node_modules). Leaves results/webui/chat.png, limits.png, overlong.png and timings.json.
"""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import local_service
import pytest
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

ROOT = Path(__file__).resolve().parents[2]
# The collection's filters, imported as Ansible loads them (as in tests/unit).
_AnsibleCollectionFinder(paths=[str(ROOT / "collections")], scan_sys_paths=True)._install()
HERE = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "webui"
INVENTORY = "inventories/local"
SECRETS = ROOT / "inventories" / "local" / ".secrets"  # next to the inventory
# Its own container, volume and port: a fresh Open WebUI each run, whatever `make demo` left on 18080
# (an earlier clone's volume keeps that clone's admin password).
PORT = 18081
URL = "http://127.0.0.1:%d" % PORT
LEGACY_EMAIL = "admin@vacc.local"  # the role's fixed admin e-mail before generated ones
MODEL = "qwen3-tiny"  # inventories/local: the tiny model's served name
MAX_MODEL_LEN = 32768  # inventories/local: Qwen3-0.6B at TP2 (the guide gives it no max-input-len)
# A chat over max-model-len that is cheap to send: Qwen3's tokenizer splits digits one token each, so 34000
# digits are 34000 tokens (measured with the tiny model's tokenizer.json); the engine refuses it unprocessed.
OVERLONG_UNIT, OVERLONG_REPEAT = "0123456789", 3400
CONTAINER = VOLUME = "vacc-webui-test"
OLD_VOLUME = "vacc-webui-test-unlabelled"
LEGACY_VOLUME = "vacc-webui-test-legacy"  # an admin made with LEGACY_EMAIL, as the role's earlier releases made it
WEBUI_VARS = (
    "-e",
    "webui_container_name=" + CONTAINER,
    "-e",
    "webui_data_volume=" + VOLUME,
    "-e",
    "webui_port=%d" % PORT,
)
TIMINGS = {}


def ansible_playbook(playbook, *extra, timeout=1800):
    exe = Path(sys.executable).with_name("ansible-playbook")
    exe = str(exe) if exe.exists() else shutil.which("ansible-playbook")
    if not exe:
        pytest.fail("ansible-playbook not found: run make venv")
    t0 = time.monotonic()
    if playbook.endswith("webui.yml"):
        extra = WEBUI_VARS + extra
    res = subprocess.run(
        [exe, "-i", INVENTORY, playbook, *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
        check=False,
    )
    res.seconds = round(time.monotonic() - t0, 1)
    return res


def recap(stdout):
    m = re.search(r"^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", stdout, re.M)
    assert m, stdout[-3000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, m.groups())))


def api(path, token=None, body=None, method=None, timeout=120):
    req = urllib.request.Request(URL + path, method=method or ("POST" if body is not None else "GET"))
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    data = None
    if body is not None:
        req.add_header("Content-Type", "application/json")
        data = json.dumps(body).encode()
    try:
        with urllib.request.urlopen(req, data=data, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def password():
    return (SECRETS / "webui_admin_password").read_text().strip()


def email():
    """The admin's e-mail, generated once beside the password."""
    return (SECRETS / "webui_admin_email").read_text().strip()


@pytest.fixture(scope="module")
def deployed():
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode:
        pytest.fail("no Docker engine: run make lab")
    for need, why in (
        (Path("/usr/bin/chromium"), "Debian's chromium"),
        (HERE / "node_modules" / "playwright-core", "playwright-core"),
    ):
        if not need.exists():
            pytest.fail(f"{why} missing ({need}): run tests/webui/setup.sh")
    # The service the UI talks to: deploy.yml runs only when it does not answer to this checkout's key.
    local_service.ensure()
    remove_test_webui()
    first = ansible_playbook("playbooks/webui.yml")
    assert first.returncode == 0, first.stdout[-5000:]
    TIMINGS["playbook_first_s"] = first.seconds
    return first


def test_second_run_changes_nothing(deployed):
    again = ansible_playbook("playbooks/webui.yml")
    assert again.returncode == 0, again.stdout[-5000:]
    assert recap(again.stdout)["changed"] == 0, again.stdout[-5000:]
    assert "reused, unchanged" in again.stdout
    TIMINGS["playbook_rerun_s"] = again.seconds


def test_secrets_generated_once_0600(deployed):
    for name in ("webui_admin_password", "webui_secret_key", "api_key"):
        path = SECRETS / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
        assert len(path.read_text().strip()) >= 24, name
    # Never on the console: the playbook names the file, not the password.
    assert password() not in deployed.stdout
    assert str(SECRETS / "webui_admin_password") in deployed.stdout
    # The admin's e-mail: not the documented default, generated once beside the password and shown with it.
    assert stat.S_IMODE((SECRETS / "webui_admin_email").stat().st_mode) == 0o600
    assert re.fullmatch(r"admin-[a-z0-9]{10}@vacc\.local", email()), email()
    shown = " ".join(deployed.stdout.split())  # the callback wraps long lines
    assert (
        "Sign in as %s (%s); password: %s"
        % (
            email(),
            SECRETS / "webui_admin_email",
            SECRETS / "webui_admin_password",
        )
        in shown
    ), shown[-3000:]
    status, dummy = api("/api/v1/auths/signin", body={"email": LEGACY_EMAIL, "password": password()})
    assert status in (400, 401, 403), "the old default e-mail must not sign in to a new UI"


def test_configured_by_environment(deployed):
    status, cfg = api("/api/config")
    assert status == 200
    assert cfg["default_locale"] == "zh-CN"
    assert cfg["features"]["enable_signup"] is False
    status, dummy = api("/api/v1/auths/signup", body={"name": "x", "email": "x@vacc.local", "password": "x" * 12})
    assert status in (401, 403), "sign-up must be closed"

    status, auth = api("/api/v1/auths/signin", body={"email": email(), "password": password()})
    assert status == 200 and auth["role"] == "admin", auth
    token = auth["token"]
    status, cfg = api("/api/config", token)
    assert cfg["default_models"] == MODEL

    status, openai = api("/openai/config", token)
    assert status == 200
    assert openai["ENABLE_OPENAI_API"] is True
    assert openai["OPENAI_API_BASE_URLS"] == ["http://127.0.0.1:8000/v1"]
    status, ollama = api("/ollama/config", token)
    assert ollama["ENABLE_OLLAMA_API"] is False

    # The guide's step 5.3, without the clicks: no background calls to the model.
    status, tasks = api("/api/v1/tasks/config", token)
    assert status == 200
    for key in (
        "ENABLE_TITLE_GENERATION",
        "ENABLE_TAGS_GENERATION",
        "ENABLE_FOLLOW_UP_GENERATION",
        "ENABLE_AUTOCOMPLETE_GENERATION",
        "ENABLE_SEARCH_QUERY_GENERATION",
        "ENABLE_RETRIEVAL_QUERY_GENERATION",
    ):
        assert tasks[key] is False, key
    status, images = api("/api/v1/images/config", token)
    assert status == 200 and images["ENABLE_IMAGE_PROMPT_GENERATION"] is False


def test_found_by_its_labels_it_is_reached_where_it_runs(deployed):
    """A key rollout finds UIs by their labels and waits for each one's /health after the restart: the URL is read
    from the container itself (webui_health_url), here the test's port, not the role's default 18080."""
    from ansible_collections.vacc.qwen3.plugins.filter.webui import webui_health_url  # noqa: PLC0415 (the finder first)

    out = subprocess.run(["docker", "inspect", CONTAINER], capture_output=True, text=True, check=True).stdout
    url = webui_health_url(json.loads(out)[0])
    assert url == "http://127.0.0.1:%d/health" % PORT
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200


def test_rest_chat_reaches_the_service(deployed):
    dummy, auth = api("/api/v1/auths/signin", body={"email": email(), "password": password()})
    token = auth["token"]
    status, models = api("/api/models", token)
    assert status == 200
    assert MODEL in [m["id"] for m in models["data"]]
    status, chat = api(
        "/api/chat/completions",
        token,
        {"model": MODEL, "stream": False, "max_tokens": 8, "messages": [{"role": "user", "content": "你好"}]},
    )
    assert status == 200, chat
    assert chat["usage"]["completion_tokens"] > 0


def test_model_limits_known(deployed):
    # The limit from the service (vLLM's max_model_len through the door, kept in the model's `openai`
    # object) and from the role (the description the new-chat screen shows under the model's name).
    dummy, auth = api("/api/v1/auths/signin", body={"email": email(), "password": password()})
    token = auth["token"]
    status, models = api("/api/models", token)
    assert status == 200
    model = next(m for m in models["data"] if m["id"] == MODEL)
    assert model["openai"]["max_model_len"] == MAX_MODEL_LEN
    meta = model["info"]["meta"]
    assert meta["description"].startswith(f"Up to {MAX_MODEL_LEN} tokens per chat"), meta
    assert f"每个对话最多 {MAX_MODEL_LEN} 个 token" in meta["i18n"]["zh"]["description"], meta
    # Over the limit through the REST API: the engine's refusal, with the limit, comes back as an answer.
    t0 = time.monotonic()
    status, chat = api(
        "/api/chat/completions",
        token,
        {
            "model": MODEL,
            "stream": False,
            "max_tokens": 8,
            "messages": [{"role": "user", "content": OVERLONG_UNIT * OVERLONG_REPEAT}],
        },
    )
    TIMINGS["rest_overlong_s"] = round(time.monotonic() - t0, 1)
    assert status == 400, chat
    assert f"maximum context length is {MAX_MODEL_LEN} tokens" in json.dumps(chat), chat


def test_started_offline(deployed):
    res = subprocess.run(["docker", "logs", CONTAINER], capture_output=True, text=True, check=False)
    logs = res.stdout + res.stderr
    assert "Admin account created successfully" in logs or "v0.12.4" in logs, logs[-2000:]
    # No embedding model from a hub (RAG_EMBEDDING_ENGINE=openai, OFFLINE_MODE=true): nothing tried,
    # nothing cached.
    for sign in ("huggingface.co", "Downloading", "SentenceTransformer", "all-MiniLM"):
        assert sign not in logs, sign
    assert "Offline mode enabled" in logs
    res = subprocess.run(
        ["docker", "exec", CONTAINER, "ls", "/app/backend/data/cache"], capture_output=True, text=True, check=False
    )
    assert res.returncode == 0 and "embedding" not in res.stdout.split(), res.stdout


def test_browser_chat(deployed):
    RESULTS.mkdir(parents=True, exist_ok=True)
    shot = RESULTS / "chat.png"
    shot.unlink(missing_ok=True)
    t0 = time.monotonic()
    res = subprocess.run(
        ["node", str(HERE / "chat.mjs")],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "WEBUI_URL": URL,
            "WEBUI_EMAIL": email(),
            "WEBUI_PASSWORD": password(),
            "WEBUI_MODEL": MODEL,
            "WEBUI_SCREENSHOT": str(shot),
        },
        check=False,
    )
    TIMINGS["browser_chat_s"] = round(time.monotonic() - t0, 1)
    lines = res.stdout.strip().splitlines()
    assert lines, res.stderr[-3000:]
    seen = json.loads(lines[-1])
    assert res.returncode == 0 and seen["ok"], seen.get("error") or res.stderr[-3000:]
    assert MODEL in seen["selected_model"]
    assert seen["reply"].strip()
    assert seen["streamed"], f"the reply did not grow while streaming: {seen['reply_lengths_seen']}"
    assert shot.stat().st_size > 10_000
    TIMINGS["browser_steps_ms"] = {s["name"]: s["ms"] for s in seen["steps"]}
    TIMINGS["reply_states_rendered"] = len(seen["reply_lengths_seen"])


def test_browser_overlong_chat(deployed):
    # A user pastes a text longer than the model's context: the new-chat screen named the limit before, and
    # the chat shows the service's refusal, with the limit, within a bound - not silence, not a spinner.
    RESULTS.mkdir(parents=True, exist_ok=True)
    shot = RESULTS / "overlong.png"
    shot.unlink(missing_ok=True)
    t0 = time.monotonic()
    res = subprocess.run(
        ["node", str(HERE / "chat.mjs")],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "WEBUI_URL": URL,
            "WEBUI_EMAIL": email(),
            "WEBUI_PASSWORD": password(),
            "WEBUI_MODEL": MODEL,
            "WEBUI_SCREENSHOT": str(shot),
            "WEBUI_MESSAGE": OVERLONG_UNIT,
            "WEBUI_MESSAGE_REPEAT": str(OVERLONG_REPEAT),
            "WEBUI_EXPECT": "error",
            "WEBUI_EXPECT_DESCRIPTION": f"每个对话最多 {MAX_MODEL_LEN} 个 token",
            "WEBUI_START_SCREENSHOT": str(RESULTS / "limits.png"),
            "WEBUI_TIMEOUT_MS": "90000",
        },
        check=False,
    )
    TIMINGS["browser_overlong_s"] = round(time.monotonic() - t0, 1)
    lines = res.stdout.strip().splitlines()
    assert lines, res.stderr[-3000:]
    seen = json.loads(lines[-1])
    assert res.returncode == 0 and seen["ok"], seen.get("error") or res.stderr[-3000:]
    assert "超出的对话会被服务拒绝" in seen["description"], seen["description"]
    # vLLM's own words, as Open WebUI shows them in place of an answer.
    assert f"maximum context length is {MAX_MODEL_LEN} tokens" in seen["reply"], seen["reply"]
    assert seen["reply_ms"] < 60_000, seen["reply_ms"]
    assert shot.stat().st_size > 10_000
    TIMINGS["browser_overlong_refusal_ms"] = seen["reply_ms"]
    TIMINGS["browser_overlong_steps_ms"] = {s["name"]: s["ms"] for s in seen["steps"]}


def test_check_names_limits_the_ui_does_not_see(deployed):
    # The check alone (nothing changes) against a plan of another max-model-len than the service serves:
    # Open WebUI lists the door's 32768, and the check says so in one sentence.
    res = ansible_playbook("playbooks/webui.yml", "--tags", "webui_check", "-e", "qwen3_max_model_len=16384")
    assert res.returncode != 0, res.stdout[-3000:]
    assert "Check Open WebUI sees the served model's max-model-len from the service" in res.stdout, res.stdout[-3000:]
    out = " ".join(res.stdout.split())
    assert f"lists {MODEL} with max_model_len {MAX_MODEL_LEN}" in out and "not the plan's 16384" in out, out[-3000:]


def test_rerun_applies_new_settings(deployed):
    # ENABLE_PERSISTENT_CONFIG=false: what an earlier start stored does not win over the environment.
    res = ansible_playbook("playbooks/webui.yml", "-e", "webui_default_locale=en-US")
    assert res.returncode == 0, res.stdout[-5000:]
    assert api("/api/config")[1]["default_locale"] == "en-US"
    res = ansible_playbook("playbooks/webui.yml")
    assert res.returncode == 0, res.stdout[-5000:]
    assert api("/api/config")[1]["default_locale"] == "zh-CN"
    m = re.search(r"/health 200 after ([\d.]+) s", res.stdout)
    assert m, res.stdout[-3000:]
    TIMINGS["container_start_to_health_s"] = float(m.group(1))
    # Same admin and chats: the data volume stayed.
    assert api("/api/v1/auths/signin", body={"email": email(), "password": password()})[0] == 200


def test_another_admin_refused_before_any_change(deployed):
    # The data volume keeps the admin it was first started with; another password would be refused at
    # sign-in only after the container was replaced. The role says so first and touches nothing.
    def state():
        out = subprocess.run(
            ["docker", "inspect", "-f", "{{.Id}} {{.State.StartedAt}}", CONTAINER],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return out.strip()

    label = subprocess.run(
        ["docker", "volume", "inspect", "-f", '{{index .Labels "vacc.qwen3.admin"}}', VOLUME],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert len(label) == 16 and label not in password(), label
    before = state()
    res = ansible_playbook("playbooks/webui.yml", "-e", "webui_admin_password=Another-Password-0123456789")
    assert res.returncode != 0, res.stdout[-3000:]
    assert "Check the data volume was made for this admin" in res.stdout, res.stdout[-3000:]
    assert "holds an admin created with another email or password" in res.stdout
    assert "teardown_remove_webui_data=true" in res.stdout
    assert "Another-Password" not in res.stdout
    assert state() == before, "the container was touched"
    assert api("/api/v1/auths/signin", body={"email": email(), "password": password()})[0] == 200


def test_unlabelled_volume_of_another_admin_refused_at_sign_in(deployed):
    # A volume from before the admin label (copied here without it) passes preflight; the sign-in check
    # then names the volume and the fix, without burying it under the container's log.
    copy_volume(VOLUME, OLD_VOLUME)
    res = ansible_playbook(
        "playbooks/webui.yml",
        "-e",
        "webui_data_volume=" + OLD_VOLUME,
        "-e",
        "webui_admin_password=Another-Password-0123456789",
    )
    assert res.returncode != 0, res.stdout[-3000:]
    assert "cannot sign in to Open WebUI with its password (given as webui_admin_password" in res.stdout, res.stdout[
        -3000:
    ]
    assert f"the data volume {OLD_VOLUME} already has users" in res.stdout
    assert "teardown_remove_webui_data=true" in res.stdout
    assert "Its last log lines" not in res.stdout
    assert "Another-Password" not in res.stdout


def test_a_volume_made_with_the_old_default_email_keeps_its_admin(deployed):
    # An Open WebUI data volume from before generated e-mails holds an admin under admin@vacc.local (made
    # here as the earlier releases made it: that e-mail, the generated password, the volume's admin label).
    # The role goes on signing in with it - labelled volume, then a copy without the label (older still) -
    # and leaves the generated e-mail for new volumes alone.
    generated = email()
    res = ansible_playbook(
        "playbooks/webui.yml", "-e", "webui_data_volume=" + LEGACY_VOLUME, "-e", "webui_admin_email=" + LEGACY_EMAIL
    )
    assert res.returncode == 0, res.stdout[-5000:]
    res = ansible_playbook("playbooks/webui.yml", "-e", "webui_data_volume=" + LEGACY_VOLUME)
    assert res.returncode == 0, res.stdout[-5000:]  # its smoke check signed in as the volume's admin
    out = " ".join(res.stdout.split())
    assert (
        "Sign in as %s (the admin of the data volume %s, from before generated e-mails)"
        % (
            LEGACY_EMAIL,
            LEGACY_VOLUME,
        )
        in out
    ), out[-3000:]
    assert recap(res.stdout)["changed"] == 0, res.stdout[-5000:]  # the same admin: nothing to restart
    status, auth = api("/api/v1/auths/signin", body={"email": LEGACY_EMAIL, "password": password()})
    assert status == 200 and auth["role"] == "admin", auth
    assert email() == generated

    unlabelled = LEGACY_VOLUME + "-unlabelled"
    copy_volume(LEGACY_VOLUME, unlabelled)
    res = ansible_playbook("playbooks/webui.yml", "-e", "webui_data_volume=" + unlabelled)
    assert res.returncode == 0, res.stdout[-5000:]
    assert "Sign in as %s (the admin of the data volume %s" % (LEGACY_EMAIL, unlabelled) in " ".join(res.stdout.split())
    assert api("/api/v1/auths/signin", body={"email": LEGACY_EMAIL, "password": password()})[0] == 200
    assert email() == generated


def copy_volume(source, target):
    """A copy of the WebUI's data volume `source` into a new volume `target`, without its labels: the container is
    stopped first (a still copy of its data), and its own image does the copying."""
    image = subprocess.run(
        ["docker", "inspect", "-f", "{{.Config.Image}}", CONTAINER], capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run(["docker", "stop", CONTAINER], capture_output=True, check=True)
    subprocess.run(["docker", "volume", "create", target], capture_output=True, check=True)
    subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "cp", "-v", source + ":/from:ro", "-v", target + ":/to"]
        + [image, "-a", "/from/.", "/to/"],
        capture_output=True,
        check=True,
    )


def remove_test_webui():
    subprocess.run(["docker", "rm", "-f", CONTAINER], capture_output=True, check=False)
    for volume in (VOLUME, OLD_VOLUME, LEGACY_VOLUME, LEGACY_VOLUME + "-unlabelled"):
        subprocess.run(["docker", "volume", "rm", "-f", volume], capture_output=True, check=False)


def teardown_module(module):
    # A reply still being generated (a failed run) would keep the CPU busy long after the test.
    try:
        status, auth = api("/api/v1/auths/signin", body={"email": email(), "password": password()})
        if status == 200:
            for task in api("/api/tasks", auth["token"])[1].get("tasks", []):
                api(f"/api/tasks/stop/{task}", auth["token"], method="POST")
    except (OSError, ValueError):
        pass  # nothing up to stop
    remove_test_webui()
    if TIMINGS:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "timings.json").write_text(json.dumps(TIMINGS, indent=2) + "\n")
        print("\nwebui timings:", json.dumps(TIMINGS))
