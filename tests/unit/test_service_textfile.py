"""The service's node-exporter textfile (plugins/plugin_utils/_service_textfile.py, filter
vacc.qwen3.qwen3_service_textfile): what the service role writes after a deploy for the image-drift
alert. The metric spec is in README "Monitoring"."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vacc.qwen3.plugins.filter import monitoring as filters
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _service_textfile as st

SERVICE = {"name": "vllm_service", "host": "srv1", "image": "vacc-qwen3/vllm-cpu-standin:0.32.0"}
PLAN = {"model": "Qwen3-0.6B", "served_model_name": "qwen3-tiny", "instances": 2, "tp": 2, "max_concurrency": 4}

EXPECTED = """\
# HELP vacc_qwen3_service_info The service as its last deploy planned it (always 1).
# TYPE vacc_qwen3_service_info gauge
vacc_qwen3_service_info{service="vllm_service",model="Qwen3-0.6B",served_model_name="qwen3-tiny",\
planned_image="vacc-qwen3/vllm-cpu-standin:0.32.0",instances="2",tp="2"} 1
# HELP vacc_qwen3_instance_image_info The image each instance container runs (always 1).
# TYPE vacc_qwen3_instance_image_info gauge
vacc_qwen3_instance_image_info{service="vllm_service",instance_name="vllm_service_0",\
image="vacc-qwen3/vllm-cpu-standin:0.32.0",image_id="sha256:aaa"} 1
vacc_qwen3_instance_image_info{service="vllm_service",instance_name="vllm_service_1",\
image="vacc-qwen3/vllm-cpu-standin:0.32.0",image_id="sha256:aaa"} 1
# HELP vacc_qwen3_image_drift 1 when an instance runs another image than the deploy planned.
# TYPE vacc_qwen3_image_drift gauge
vacc_qwen3_image_drift{service="vllm_service"} 0
"""


def container(name, image, image_id):
    """What community.docker.docker_container returns as `container` (the fields used)."""
    return {"Name": "/" + name, "Image": image_id, "Config": {"Image": image, "Labels": {}}}


def test_the_file_from_docker_container_results():
    running = [
        container("vllm_service_1", SERVICE["image"], "sha256:aaa"),
        container("vllm_service_0", SERVICE["image"], "sha256:aaa"),
    ]
    assert st.render(SERVICE, running, plan=PLAN, planned_image_id="sha256:aaa") == EXPECTED


def test_the_same_from_docker_host_info_and_plain_dicts():
    info = [{"Names": ["/vllm_service_%d" % i], "Image": SERVICE["image"], "ImageID": "sha256:aaa"} for i in (0, 1)]
    plain = [{"name": "vllm_service_%d" % i, "image": SERVICE["image"], "image_id": "sha256:aaa"} for i in (0, 1)]
    assert st.render(SERVICE, info, plan=PLAN) == EXPECTED == st.render(SERVICE, plain, plan=PLAN)


@pytest.mark.parametrize(
    "running, planned_id, drift",
    [
        ([("a", "img:1", "sha256:1")], None, 0),
        ([("a", "img:1", "sha256:1"), ("b", "img:0", "sha256:0")], None, 1),  # one instance left behind
        ([("a", "img:1", "sha256:old")], "sha256:new", 1),  # same tag, rebuilt image
        ([("a", "img:1", "")], "sha256:new", 0),  # id unknown: the tag decides
    ],
)
def test_drift(running, planned_id, drift):
    text = st.render(
        {"name": "s", "image": "img:1"},
        [{"name": n, "image": i, "image_id": d} for n, i, d in running],
        planned_image_id=planned_id,
    )
    assert 'vacc_qwen3_image_drift{service="s"} %d\n' % drift in text


def test_label_values_are_escaped():
    text = st.render({"name": "s", "image": 'we"ird\\img\nx'}, [{"name": "a", "image": "i"}])
    assert 'planned_image="we\\"ird\\\\img\\nx"' in text


@pytest.mark.parametrize(
    "service, running, message",
    [
        ({"name": "s"}, [{"name": "a"}], "qwen3_service_textfile needs qwen3_service with a name and an image."),
        ({"name": "s/../x", "image": "i"}, [{"name": "a"}], "service name 's/../x' is not usable in a file name"),
        ({"name": "s", "image": "i"}, [], "running must list the instance containers"),
        ({"name": "s", "image": "i"}, [{"image": "i"}], "every running instance needs its container name."),
    ],
)
def test_bad_input_is_one_sentence(service, running, message):
    with pytest.raises(st.ServiceTextfileError) as err:
        st.render(service, running)
    assert message in str(err.value)
    with pytest.raises(AnsibleFilterError):
        filters.qwen3_service_textfile(service, running)


def test_file_name():
    assert st.file_name("vllm_service") == "vacc_qwen3_vllm_service.prom"


def test_the_engine_probe_is_recorded():
    engine = {"source": "probe", "version": "0.10.0", "digest": "sha256:" + "e" * 64, "fingerprint": "119970e997d60160"}
    text = st.render(dict(SERVICE, engine=engine), [{"name": "a", "image": SERVICE["image"]}])
    assert (
        'vacc_qwen3_engine_info{service="%s",version="0.10.0",digest="sha256:%s",fingerprint="119970e997d60160",'
        'source="probe"} 1' % (SERVICE["name"], "e" * 64)
    ) in text.splitlines()
    assert "vacc_qwen3_engine_info" not in st.render(SERVICE, [{"name": "a", "image": SERVICE["image"]}])
