"""vacc.qwen3.door_wait's decisions (plugins/plugin_utils/_door_wait.py): who is not UP at the door, and when a
container that is not UP has failed for good. The action itself runs against real doors and engines in
tests/security (an engine that exits, one that never answers) and tests/fleet/test_rollout.py (a broken image)."""

from ansible_collections.vacc.qwen3.plugins.plugin_utils._door_wait import failed, not_up, restart_count

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
