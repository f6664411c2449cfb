"""The planning step's inputs and outputs, in Python: the shared variables read once (defaults, strings
from -e, blank AWX answers, the lab's stand-in, names that cannot escape), the service's shape, who
downloads from whom, and the small filters the roles use."""

import os

import pytest
import yaml

from ansible_collections.vacc.qwen3.plugins.filter.haproxy_stat import haproxy_stat
from ansible_collections.vacc.qwen3.plugins.filter.mount_of import mount_of
from ansible_collections.vacc.qwen3.plugins.filter.redact import redact
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _download, _inputs
from ansible_collections.vacc.qwen3.plugins.plugin_utils._planner import PlanError
from ansible_collections.vacc.qwen3.plugins.plugin_utils._service import KEY_PATH, docker_run, service

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STANDIN = {
    "model": "Qwen3-0.6B",
    "tp": 2,
    "instances": 2,
    "model_dir": "qwen3-tiny",
    "served_model_name": "qwen3-tiny",
    "image": "vacc-qwen3/vllm-cpu-standin:0.32.0",
    "privileged": False,
    "shm_size": "1g",
    "engine_tp": 1,
    "extra_env": {"VLLM_CPU_KVCACHE_SPACE": "1"},
    "extra_args": ["--dtype", "bfloat16"],
}


def getter(**values):
    return lambda name: values.get(name, _inputs.MISSING)


def shape(host="h1", extra=(), **values):
    values.setdefault("qwen3_model", "Qwen3-8B")
    v = _inputs.read(getter(**values), extra)
    s = _inputs.settings(v, host, inventory_dir="/inv")
    p = _inputs.plan_values(v)
    return p, service(p, s, host)


def test_the_defaults_are_documented_once():
    """_common's argument spec documents each shared variable with the planner's own default."""
    spec = yaml.safe_load(open(os.path.join(ROOT, "roles/_common/meta/argument_specs.yml")))
    options = spec["argument_specs"]["main"]["options"]
    for name, (dummy, default) in _inputs.SHARED.items():
        assert name in options, name
        assert options[name].get("default") == default, name


@pytest.mark.parametrize(
    "name,raw,expect",
    [
        ("vacc_cards", "4", 4),
        ("qwen3_tp", 8.0, 8),
        ("qwen3_service_privileged", "false", False),
        ("qwen3_service_privileged", "yes", True),
        ("qwen3_service_extra_env", '{"A": 1}', {"A": 1}),
        ("qwen3_service_extra_args", '["--dtype", "bfloat16"]', ["--dtype", "bfloat16"]),
        ("qwen3_vllm_version", 0.9, "0.9"),
        ("qwen3_tp", "", None),
        ("qwen3_tp", None, None),
        ("qwen3_max_model_len", "null", None),
    ],
)
def test_conversion_of_what_extra_vars_and_awx_send(name, raw, expect):
    assert _inputs.convert(name, _inputs.SHARED[name][0], raw) == expect


@pytest.mark.parametrize(
    "name,raw,sentence",
    [
        ("qwen3_tp", "two", "qwen3_tp must be a whole number, not 'two'."),
        ("qwen3_tp", True, "qwen3_tp must be a whole number, not True."),
        ("qwen3_service_privileged", "maybe", "qwen3_service_privileged must be true or false, not 'maybe'."),
        ("qwen3_service_extra_env", "[1]", "qwen3_service_extra_env must be a mapping (YAML or JSON), not '[1]'."),
        ("qwen3_service_image", {"a": 1}, "qwen3_service_image must be a string, not {'a': 1}."),
    ],
)
def test_values_that_cannot_be_converted_are_refused_with_a_sentence(name, raw, sentence):
    with pytest.raises(PlanError) as info:
        _inputs.convert(name, _inputs.SHARED[name][0], raw)
    assert str(info.value) == sentence


def test_blank_answers_take_the_default():
    values = _inputs.read(getter(qwen3_model="Qwen3-8B", vacc_cards="", qwen3_instances=None, qwen3_service_port=""))
    assert (values["vacc_cards"], values["qwen3_instances"], values["qwen3_service_port"]) == (1, 1, 8000)


def test_a_model_must_be_named():
    with pytest.raises(PlanError, match="qwen3_model is not set; set it in the inventory or with -e qwen3_model=NAME"):
        _inputs.read(getter(qwen3_model=""))


def test_the_lab_stand_in_applies_to_its_own_model_only_and_extra_vars_win():
    v = _inputs.read(getter(qwen3_model="qwen3-0.6b", qwen3_lab_standin=STANDIN))
    assert (
        v["qwen3_service_image"] == STANDIN["image"] and v["qwen3_tp"] == 2 and v["qwen3_service_privileged"] is False
    )
    other = _inputs.read(getter(qwen3_model="Qwen3-8B", qwen3_lab_standin=STANDIN))
    assert other["qwen3_service_image"] == _inputs.VENDOR_IMAGE and other["qwen3_tp"] is None
    given = _inputs.read(
        getter(qwen3_model="Qwen3-0.6B", qwen3_lab_standin=STANDIN, qwen3_service_image="x/y:1"),
        extra_var_names={"qwen3_service_image"},
    )
    assert given["qwen3_service_image"] == "x/y:1" and given["qwen3_model_dir"] == "qwen3-tiny"
    with pytest.raises(PlanError, match="qwen3_lab_standin has unknown keys colour"):
        _inputs.read(getter(qwen3_model="Qwen3-0.6B", qwen3_lab_standin=dict(STANDIN, colour="red")))


@pytest.mark.parametrize(
    "name,value",
    [
        ("qwen3_model_dir", ".."),
        ("qwen3_model_dir", "../x"),
        ("qwen3_model_dir", ".hidden"),
        ("qwen3_model_dir", "a/b"),
        ("qwen3_served_model_name", "a b"),
        ("qwen3_service_name", "x;rm"),
        ("qwen3_service_network", "a..b"),
    ],
)
def test_names_that_could_escape_are_refused(name, value):
    with pytest.raises(PlanError, match="%s '.*' is not a safe name" % name):
        shape(**{name: value})


@pytest.mark.parametrize(
    "image",
    [
        "harbor.vastaitech.com/ai_deliver/vllm_vacc:AI3.2_GR_1202",
        "registry.local:5000/vllm_vacc:VVI-26.05",
        "vacc-qwen3/vllm-cpu-standin:0.32.0",
        "vllm_vacc@sha256:" + "a" * 64,
        "harbor.example/x/y:t@sha256:" + "0" * 64,
    ],
)
def test_images_by_tag_or_digest(image):
    assert shape(qwen3_service_image=image)[1]["image"] == image


@pytest.mark.parametrize("image", ["vllm vacc:1", "-x", "UPPER/case:1", "x@sha256:short", "x:tag with space"])
def test_an_image_that_is_no_reference_is_refused(image):
    with pytest.raises(PlanError, match="qwen3_service_image '.*' is not an image reference; give name:tag"):
        shape(qwen3_service_image=image)


@pytest.mark.parametrize("blank", ["", None, "  "])
def test_a_blank_image_is_the_default_and_a_blank_stand_in_image_is_refused(blank):
    # A blank qwen3_service_image (an AWX answer left empty) is unset: the vendor's image, never `--ipc=host ''`.
    assert shape(qwen3_service_image=blank)[1]["image"] == _inputs.VENDOR_IMAGE
    with pytest.raises(PlanError, match=r"The engine image is empty \(qwen3_lab_standin.image\); name one, e\.g\. "):
        shape(qwen3_model="Qwen3-0.6B", qwen3_lab_standin=dict(STANDIN, image=blank))


@pytest.mark.parametrize("weights_dir", ["/", "relative/dir"])
def test_the_weights_directory_must_be_absolute_and_not_the_root(weights_dir):
    with pytest.raises(PlanError, match="qwen3_weights_dir must be an absolute directory other than /"):
        shape(qwen3_weights_dir=weights_dir)


def test_child_path_stays_a_direct_child():
    assert _inputs.child_path("/data/weights/", "Qwen3-8B", "w") == "/data/weights/Qwen3-8B"
    with pytest.raises(PlanError):
        _inputs.child_path("/data/weights", "a/../../etc", "w")


def test_secrets_dir_defaults_next_to_the_inventory():
    assert _inputs.default_secrets_dir("/srv/inv") == "/srv/inv/.secrets"
    assert _inputs.default_secrets_dir(None).endswith("/.config/vacc-qwen3")
    # `-i host,` (a host list): Ansible's inventory_dir is the string "None", not a directory.
    assert _inputs.default_secrets_dir("None") == _inputs.default_secrets_dir(None)
    v = _inputs.read(getter(qwen3_model="Qwen3-8B"))
    with pytest.raises(PlanError, match="This AWX job has no qwen3_api_key"):
        _inputs.settings(v, "h", awx=True)
    given = _inputs.read(getter(qwen3_model="Qwen3-8B", qwen3_api_key="k"))
    s = _inputs.settings(given, "h", awx=True)
    assert s["api_key_file"] is None and s["api_key_source"] == "given as qwen3_api_key"


# ---------------------------------------------------------------- the service's shape
def test_the_shape_of_a_two_instance_service():
    p, svc = shape(qwen3_model="Qwen3-30B-A3B-FP8", qwen3_tp=2, qwen3_instances=2, qwen3_service_address="10.0.0.5")
    assert [i["name"] for i in svc["instances"]] == ["vllm_service_0", "vllm_service_1"]
    assert [i["port"] for i in svc["instances"]] == [8000, 8001]
    assert [i["env"]["VACC_VISIBLE_DEVICES"] for i in svc["instances"]] == ["0,1", "2,3"]
    assert all(i["network"] == "vllm_service_net" and "published_ports" not in i for i in svc["instances"])
    assert svc["door"]["name"] == "vllm_service_lb" and svc["door"]["port"] == 8000
    assert svc["endpoints"] == {
        "public": "http://10.0.0.5:8000/v1",
        "local": "http://127.0.0.1:8000",
        "internal": "http://vllm_service_lb:8000",
        "monitor": "http://127.0.0.1:9000",
    }
    assert svc["weights"] == {
        "dir": "/data/weights",
        "model_dir": "Qwen3-30B-A3B-FP8",
        "path": "/data/weights/Qwen3-30B-A3B-FP8",
        "container_path": "/weights/Qwen3-30B-A3B-FP8",
    }
    assert svc["secrets"]["api_key_file"] == "/inv/.secrets/api_key"
    assert svc["secrets"]["host_key_file"] == "/etc/vacc-qwen3/vllm_service/api_key"
    labels = svc["instances"][1]["labels"]
    assert labels["vacc.qwen3.host"] == "h1" and labels["vacc.qwen3.service"] == "vllm_service"
    assert labels["vacc.qwen3.component"] == "instance" and labels["vacc.qwen3.instance"] == "1"


def test_engines_read_the_key_from_a_read_only_file_and_never_see_it_on_argv():
    p, svc = shape()
    spec = svc["instances"][0]
    assert (
        spec["command"][:2] == ["sh", "-c"] and KEY_PATH in spec["command"][2] and "VLLM_API_KEY" in spec["command"][2]
    )
    assert spec["volumes"] == [
        "/data/weights/Qwen3-8B:/weights/Qwen3-8B:ro",
        "/etc/vacc-qwen3/vllm_service/api_key:%s:ro" % KEY_PATH,
    ]
    assert "--api-key" not in spec["command"] and "VLLM_API_KEY" not in spec["env"]
    assert spec["command"][spec["command"].index("--max-num-seqs") + 1] == "4"
    assert spec["stop_timeout"] == 300


def test_a_bound_door_is_checked_on_its_own_address():
    p, svc = shape(qwen3_service_bind_address="192.0.2.7")
    assert svc["door"]["bind_address"] == "192.0.2.7" and svc["endpoints"]["local"] == "http://192.0.2.7:8000"


def test_the_guides_docker_run_line():
    p, svc = shape(
        qwen3_model="Qwen3-235B-A22B-Instruct-2507-FP8", vacc_cards=4, qwen3_tp=16, qwen3_weights_dir="/path/to/model"
    )
    line = docker_run(svc["instances"][0])
    assert line.startswith(
        "docker run -d -e VACC_VISIBLE_DEVICES=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 -e LLM_MAX_PREFILL_SEQ_LEN=102400 "
        "--privileged=true --shm-size=256g --name vllm_service_0 "
        "-v /path/to/model/Qwen3-235B-A22B-Instruct-2507-FP8:/weights/Qwen3-235B-A22B-Instruct-2507-FP8:ro "
    )
    assert line.endswith(
        "vllm serve /weights/Qwen3-235B-A22B-Instruct-2507-FP8 --trust-remote-code --tensor-parallel-size 16 "
        "--max-model-len 131072 --enforce-eager --host 0.0.0.0 --port 8000 "
        "--served-model-name Qwen3-235B-A22B-Instruct-2507-FP8 --max-num-seqs 4"
    )


def test_va1l_plans_with_detected_dies_only_where_the_count_is_not_public():
    v = _inputs.read(getter(qwen3_model="Qwen3-8B-AWQ", vacc_card="VA1L"))
    with pytest.raises(PlanError, match="set vacc_dies"):
        _inputs.plan_values(v)
    assert _inputs.plan_values(v, detected_dies=4)["dies"] == 4
    va16 = _inputs.read(getter(qwen3_model="Qwen3-8B-AWQ"))
    assert _inputs.plan_values(va16, detected_dies=3)["dies"] == 4  # the declared cards count; preflight compares


# ---------------------------------------------------------------- who downloads from whom
HOSTS = {
    "a": {"model": "M1", "dest": "/w/a"},
    "b": {"model": "M1", "dest": "/w/b"},
    "c": {"model": "M2", "dest": "/w/c"},
}


def test_each_host_fetches_by_default():
    layout = _download.topology(HOSTS)
    assert all(h["fetch"] and h["source"] is None for h in layout["hosts"].values()) and layout["seeds"] == {}


def test_once_seeds_per_model_and_the_others_copy():
    layout = _download.topology(HOSTS, strategy="once")
    assert layout["seeds"] == {"M1": "a", "M2": "c"}
    assert layout["hosts"]["b"] == {
        "seed": "a",
        "controller_seed": False,
        "once": True,
        "broadcast": False,
        "fetch": False,
        "source": "a",
        "source_path": "/w/a",
        "chain": [],
        "upstreams": [],
    }
    assert layout["hosts"]["a"]["fetch"] and layout["hosts"]["c"]["fetch"]


def test_the_controller_as_seed():
    one = {k: v for k, v in HOSTS.items() if v["model"] == "M1"}
    layout = _download.topology(one, strategy="once", seed_host="localhost")
    assert all(h["source"] == "controller" and not h["fetch"] for h in layout["hosts"].values())


def test_shared_path_only_the_seed_writes():
    layout = _download.topology(HOSTS, shared_path=True)
    assert (
        layout["hosts"]["a"]["fetch"] and not layout["hosts"]["b"]["fetch"] and layout["hosts"]["b"]["source"] is None
    )


@pytest.mark.parametrize(
    "kwargs,sentence",
    [
        ({"strategy": "torrent"}, "model_download_strategy must be each, once or broadcast, not 'torrent'."),
        ({"strategy": "once", "seed_host": "nowhere"}, "model_download_seed_host nowhere is not a host of this play"),
        (
            {"strategy": "once", "seed_host": "localhost"},
            "localhost fetches one model per run, but this play deploys M1, M2",
        ),
        ({"strategy": "once", "seed_host": "c"}, "model_download_seed_host c deploys M2, not M1"),
    ],
)
def test_layouts_that_cannot_work(kwargs, sentence):
    with pytest.raises(_download.DownloadError) as info:
        _download.topology(HOSTS, **kwargs)
    assert sentence in str(info.value)


# ---------------------------------------------------------------- small filters
def test_mount_of_picks_the_longest_prefix():
    mounts = [{"mount": "/"}, {"mount": "/data"}, {"mount": "/data/weights-old"}]
    assert mount_of(mounts, "/data/weights/Qwen3-8B") == {"mount": "/data"}
    assert mount_of(mounts, "/srv") == {"mount": "/"}
    assert mount_of([], "/x") == {}


def test_haproxy_stat():
    csv = (
        "# pxname,svname,qcur,qmax,scur,smax,status\n"
        "door,FRONTEND,,,1,2,OPEN\ninstances,vllm_service_0,0,0,3,4,UP\ninstances,vllm_service_1,0,0,0,4,DRAIN\n"
        "instances,BACKEND,0,0,3,4,UP\n"
    )
    stat = haproxy_stat(csv, "instances")
    assert set(stat) == {"instances/vllm_service_0", "instances/vllm_service_1"}
    assert stat["instances/vllm_service_0"]["scur"] == "3" and stat["instances/vllm_service_1"]["status"] == "DRAIN"
    assert haproxy_stat("") == {}


def test_redact_takes_out_the_key_and_what_looks_like_one():
    text = (
        "args: {'api_key': 'k3yk3yk3y'} --api-key k3yk3yk3y Authorization: Bearer abc123 "
        "VLLM_API_KEY=k3yk3yk3y plain k3yk3yk3y"
    )
    out = redact(text, "k3yk3yk3y")
    assert "k3yk3yk3y" not in out and "abc123" not in out and out.count("<redacted>") == 5


def test_the_guide_revision_follows_the_engine_images_tag_unless_given():
    p, dummy = shape(qwen3_model="Qwen3-0.6B")
    assert p["guide_revision"] == "AI3.2_GR_1202" and p["tp"] == 2 and p["notes"][-1].startswith("The guide gives no")
    current = "harbor.vastaitech.com/ai_deliver/vllm_vacc:VVI-26.02"
    p, svc = shape(qwen3_model="Qwen3-0.6B", qwen3_service_image=current)
    assert p["guide_revision"] == "VVI-26.02" and p["tp"] == 1 and svc["image"] == current
    # Given by hand against an image another revision documents: planned, with a note.
    p, dummy = shape(qwen3_model="Qwen3-0.6B", qwen3_guide_revision="VVI-26.02")
    assert p["tp"] == 1 and p["notes"][-1] == (
        "The plan follows guide revision VVI-26.02 (written for vllm_vacc:VVI-26.02), but the engine image is "
        "harbor.vastaitech.com/ai_deliver/vllm_vacc:AI3.2_GR_1202, which guide revision AI3.2_GR_1202 documents."
    )
    # The lab's stand-in image documents no revision: no note.
    p, dummy = shape(qwen3_model="Qwen3-0.6B", qwen3_guide_revision="VVI-26.02", qwen3_lab_standin=STANDIN)
    assert not any("engine image" in n for n in p["notes"])


def test_rows_of_ones_own_from_the_inventory(tmp_path):
    row = {"name": "Qwen3-8B-mine", "family": "8B", "dtype": "INT8", "quant_method": "gptq", "tp": [2, 4]}
    p, svc = shape(qwen3_model="qwen3-8b-mine", qwen3_catalog_extra=[row])
    assert (
        p["model"] == "Qwen3-8B-mine"
        and p["source"] == "inventory"
        and svc["weights"]["path"].endswith("/Qwen3-8B-mine")
    )
    rows = tmp_path / "rows.json"
    rows.write_text('[{"name": "Qwen3-8B-mine", "family": "8B", "dtype": "INT8", "quant_method": "gptq", "tp": [4]}]')
    p, dummy = shape(qwen3_model="Qwen3-8B-mine", qwen3_catalog_extra=str(rows))
    assert p["tp"] == 4
    p, dummy = shape(
        qwen3_model="Qwen3-8B-mine",
        qwen3_catalog_extra='[{"name": "Qwen3-8B-mine", "family": "8B", '
        '"dtype": "BF16", "quant_method": null, "tp": [2]}]',
    )
    assert p["dtype"] == "BF16"
    for blank in ("", None, "null"):
        assert shape(qwen3_catalog_extra=blank)[0]["model"] == "Qwen3-8B"
    with pytest.raises(
        PlanError, match=r"^qwen3_catalog_extra must be a list of model rows .*, not \{'name': 'x'\}\.$"
    ):
        shape(qwen3_catalog_extra='{"name": "x"}')
    with pytest.raises(
        PlanError,
        match=r"^qwen3_catalog_extra\[0\] \(Qwen3-8B-mine\): tp \[3\] must be|"
        r"^qwen3_catalog_extra\[0\] \(Qwen3-8B-mine\): guide revision AI3.2_GR_1202 has no",
    ):
        shape(qwen3_model="Qwen3-8B-mine", qwen3_catalog_extra=[dict(row, tp=[3])])
