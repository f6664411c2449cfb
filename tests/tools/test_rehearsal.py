"""tools/rehearsal.py's own logic, without Docker: the recap it reads, the image check it applies after each
playbook, and the customer's inventory it writes (nothing in it points into the clone or names a lab image)."""

import importlib.util
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
SPEC = importlib.util.spec_from_file_location("rehearsal", os.path.join(ROOT, "tools", "rehearsal.py"))
rehearsal = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(rehearsal)

REG = "172.18.0.1:40123"


def test_recap_counts_changed_per_host():
    out = (
        "PLAY RECAP *********\n"
        "fleet-1                    : ok=40   changed=3    unreachable=0    failed=0    skipped=9\n"
        "fleet-2                    : ok=38   changed=0    unreachable=0    failed=1    skipped=9\n"
    )
    rows = rehearsal.RECAP.findall(out)
    assert [(r[0], int(r[2]), int(r[4])) for r in rows] == [("fleet-1", 3, 0), ("fleet-2", 0, 1)]


def test_image_check_wants_the_registry_and_refuses_lab_images():
    good = {"container": "fleet1_vllm_0", "image": REG + "/ai_deliver/vllm_vacc:AI3.2_GR_1202", "digest": "x@sha256:1"}
    assert not rehearsal.check_images([good], REG)
    lab = dict(good, image="vacc-qwen3/vllm-cpu-standin:0.32.0")
    assert rehearsal.check_images([lab], REG) == ["fleet1_vllm_0 runs the lab image vacc-qwen3/vllm-cpu-standin:0.32.0"]
    # Named after the registry but never pulled from it (no RepoDigest there): refused too.
    unpulled = dict(good, digest=None)
    assert rehearsal.check_images([unpulled], REG) == [
        "fleet1_vllm_0 runs %s/ai_deliver/vllm_vacc:AI3.2_GR_1202, not an image pulled from %s" % (REG, REG)
    ]
    hub = dict(good, image="haproxy:3.0.8")
    assert "not an image pulled from" in rehearsal.check_images([hub], REG)[0]


def test_the_mirror_holds_the_vendor_paths_and_the_published_names():
    assert rehearsal.MIRRORED["engine"][1] == "ai_deliver/vllm_vacc:AI3.2_GR_1202"
    assert all(not path.startswith("vacc-qwen3/") for _local, path in rehearsal.MIRRORED.values())
    # The playbooks in a customer's order, the second deploy right before the teardown.
    names = [name for name, _args in rehearsal.STEPS]
    assert names[0] == "plan" and names[-2:] == ["deploy", "teardown"] and names.count("deploy") == 2
