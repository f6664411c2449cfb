"""vacc.qwen3.haproxy_server's decisions (plugins/plugin_utils/_haproxy_runtime.py): who is not UP at the door,
who still has requests in flight, when a container that is not UP has failed for good, and the command line
that talks to the runtime API. The action itself runs against real doors and engines in
tests/security (an engine that exits, one that never answers) and tests/fleet/test_rollout.py (a broken image)."""

import socket
import subprocess
import threading

from ansible_collections.vacc.qwen3.plugins.plugin_utils._haproxy_runtime import (
    busy,
    cli,
    failed,
    not_up,
    refused,
    restart_count,
)

STAT = (
    "# pxname,svname,qcur,qmax,scur,smax,status,check_status\n"
    "door,FRONTEND,,,1,2,OPEN,\n"
    "instances,vllm_service_0,0,0,3,4,UP,L7OK\n"
    "instances,vllm_service_1,0,0,0,4,DOWN,L4CON\n"
    "instances,BACKEND,0,0,3,4,UP,\n"
    "monitor,engine_0,0,0,0,1,UP,L7OK\n"
)


def info(status="running", restarts=0, code=0, oom=False, exists=True):
    return {
        "exists": exists,
        "container": {"RestartCount": restarts, "State": {"Status": status, "ExitCode": code, "OOMKilled": oom}}
        if exists
        else None,
    }


def test_not_up_lists_each_server_that_is_not_up_with_its_check():
    assert not_up(STAT, "instances") == {"vllm_service_1": "DOWN L4CON"}
    assert not_up(STAT, "instances", ["vllm_service_0"]) == {}
    assert not_up(STAT, "instances", ["vllm_service_1"]) == {"vllm_service_1": "DOWN L4CON"}


def test_a_name_the_backend_lacks_is_not_up():
    assert not_up(STAT, "instances", ["vllm_service_0", "vllm_service_2"]) == {"vllm_service_2": "not at the door"}


def test_no_backend_or_no_answer_is_none_never_everyone_up():
    assert not_up(STAT, "gateway") is None
    assert not_up("", "instances") is None
    assert not_up(None, "instances", ["vllm_service_0"]) is None


def test_a_starting_engine_has_not_failed():
    assert failed("e", info(), 0) is None
    assert failed("e", info(restarts=2), 2) is None  # restarted before the wait began, loading now
    assert failed("e", info(status="paused"), 0) is None
    assert failed("e", info(status="created"), 0) is None


def test_an_engine_restarted_during_the_wait_has_failed():
    assert failed("e", info(restarts=3), 1) == "e exited and was restarted 2 time(s) while the gate waited"
    assert failed("e", info(status="restarting", restarts=0, code=1), 0) == (
        "e exited with exit code 1 and was restarted 1 time(s) while the gate waited"
    )
    assert failed("e", info(restarts=1, oom=True), 0) == (
        "e exited, killed for memory (OOM) and was restarted 1 time(s) while the gate waited"
    )


def test_an_exited_or_missing_engine_has_failed():
    assert failed("e", info(status="exited", code=2), 0) == "e exited with exit code 2"
    assert failed("e", info(status="dead", code=1), 0) == "e dead with exit code 1"
    assert failed("e", info(exists=False), 0) == "e does not exist"


def test_restart_count_reads_docker_or_is_zero():
    assert restart_count(info(restarts=4)) == 4
    assert restart_count(info(exists=False)) == 0


def test_busy_names_the_servers_with_requests_in_flight():
    assert busy(STAT, "instances", ["vllm_service_0", "vllm_service_1"]) == {"vllm_service_0": 3}
    assert busy(STAT, "instances", ["vllm_service_1", "vllm_service_9"]) == {}


def test_a_drained_server_counts_as_done_where_accepted():
    drained = STAT.replace("vllm_service_1,0,0,0,4,DOWN,L4CON", "vllm_service_1,0,0,0,4,DRAIN,L7OK")
    assert not_up(drained, "instances", accept=("UP",)) == {"vllm_service_1": "DRAIN L7OK"}
    assert not_up(drained, "instances", accept=("UP", "DRAIN")) == {}


def test_refused_is_what_the_runtime_api_says_back():
    assert refused("\n") is None and refused("") is None
    assert refused("No such server.\n\n") == "No such server."


def test_the_command_line_talks_to_a_unix_socket(tmp_path):
    """The Perl one-liner against a real Unix socket: the command arrives as one line, the answer comes back, and
    a command with shell or Perl metacharacters is data, not code."""
    path = str(tmp_path / "admin.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    got = []

    def answer():
        conn, dummy = server.accept()
        got.append(conn.makefile("rb").readline())
        conn.sendall(b"answer line\n")
        conn.close()

    for command in ("show stat", "set server a/b state drain; $(touch x) @{[ die ]}"):
        got.clear()
        t = threading.Thread(target=answer)
        t.start()
        out = subprocess.run(cli(command, path), capture_output=True, text=True, timeout=30, check=True).stdout
        t.join(timeout=30)
        assert got == [(command + "\n").encode()] and out == "answer line\n"
    server.close()
    missing = subprocess.run(cli("show stat", str(tmp_path / "none.sock")), capture_output=True, text=True, check=False)
    assert missing.returncode != 0 and "haproxy runtime API at" in missing.stderr
