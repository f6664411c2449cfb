"""plugins/filter/webui.py: webui_model_metadata gives what roles/webui/vars/main.yml's expressions over qwen3_plan
gave (its release before the filter, copied below), rendered by ansible-core's own templating on the same inputs."""

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.vacc.qwen3.plugins.filter.webui import (
    webui_admin_email,
    webui_admin_fingerprint,
    webui_health_url,
    webui_model_metadata,
)

OLD_VARS = yaml.safe_load(
    """
__webui_max_model_len: "{{ qwen3_plan.max_model_len | int }}"
__webui_max_input_len: >-
  {{ qwen3_plan.max_input_len | int
     if qwen3_plan.max_input_len | default(none) and qwen3_plan.max_input_len | int < qwen3_plan.max_model_len | int
     else 0 }}
__webui_limits_meta:
  description: >-
    {{ ('Up to ' ~ __webui_max_input_len ~ ' tokens of input and ' if __webui_max_input_len | int > 0 else 'Up to ')
       ~ __webui_max_model_len ~ ' tokens per chat (the whole conversation plus the answer). A longer chat is refused'
       ~ ' by the service, and its reason is shown in the chat.' }}
  i18n:
    zh:
      description: >-
        {{ ('输入最多 ' ~ __webui_max_input_len ~ ' 个 token，' if __webui_max_input_len | int > 0 else '')
           ~ '每个对话最多 ' ~ __webui_max_model_len ~ ' 个 token（整段对话加上回答）。超出的对话会被服务拒绝，原因显示在对话中。' }}
__webui_model_metadata: >-
  {{ (__webui_limits_meta if webui_show_model_limits | bool else {}) | combine(webui_default_model_metadata) }}
"""
)


def trusted(value):
    # role vars are templates to Ansible; what yaml.safe_load gives is not, until trusted
    if isinstance(value, dict):
        return {key: trusted(item) for key, item in value.items()}
    return trust_as_template(value) if isinstance(value, str) else value


def old_metadata(plan, show, extra):
    variables = dict(
        trusted(OLD_VARS), qwen3_plan=plan, webui_show_model_limits=show, webui_default_model_metadata=extra
    )
    templar = Templar(loader=DataLoader(), variables=variables)
    return templar.template(trust_as_template("{{ __webui_model_metadata }}"))


@pytest.mark.parametrize(
    "plan",
    [
        {"max_model_len": 32768, "max_input_len": 16384},
        {"max_model_len": "40960", "max_input_len": "40960"},  # not below: not named
        {"max_model_len": 8192, "max_input_len": None},
        {"max_model_len": 8192},
        {"max_model_len": 8192, "max_input_len": 0},
    ],
)
@pytest.mark.parametrize("show", [True, False, "true", "false"])
@pytest.mark.parametrize(
    "extra", [{}, {"description": "mine"}, {"i18n": {"fr": {"description": "à moi"}}, "tags": ["x"]}]
)
def test_same_metadata_as_the_vars_it_replaced(plan, show, extra):
    templar = Templar(loader=DataLoader(), variables={"show": show})
    as_bool = templar.template(trust_as_template("{{ show | bool }}"))
    assert webui_model_metadata(plan, as_bool, extra) == old_metadata(plan, show, extra)


def test_input_limit_named_only_below_the_model_limit():
    meta = webui_model_metadata({"max_model_len": 32768, "max_input_len": 16384})
    assert meta["description"].startswith("Up to 16384 tokens of input and 32768 tokens per chat")
    assert meta["i18n"]["zh"]["description"].startswith("输入最多 16384 个 token，每个对话最多 32768 个 token")
    assert webui_model_metadata({"max_model_len": 8192})["description"].startswith("Up to 8192 tokens per chat")
    assert webui_model_metadata({"max_model_len": 8192}, False, {"a": 1}) == {"a": 1}


def container(network, env, bindings=None):
    """The parts of `docker inspect` that webui_health_url reads, shaped as Docker returns them."""
    return {
        "Config": {"Env": ["PATH=/usr/bin", "WEBUI_URL=http://x:1/a=b"] + env},
        "HostConfig": {"NetworkMode": network, "PortBindings": bindings},
    }


@pytest.mark.parametrize(
    "ui, url",
    [
        (container("host", ["HOST=127.0.0.1", "PORT=18081"]), "http://127.0.0.1:18081/health"),
        (container("host", ["HOST=0.0.0.0", "PORT=18080"]), "http://127.0.0.1:18080/health"),
        (container("host", ["HOST=10.0.0.5", "PORT=3000"]), "http://10.0.0.5:3000/health"),
        (container("host", ["HOST=::", "PORT=3000"]), "http://127.0.0.1:3000/health"),
        (
            container(
                "vacc_qwen3", ["HOST=0.0.0.0", "PORT=18080"], {"18080/tcp": [{"HostIp": "", "HostPort": "18080"}]}
            ),
            "http://127.0.0.1:18080/health",
        ),
        (
            container(
                "vacc_qwen3",
                ["HOST=0.0.0.0", "PORT=18082"],
                {"18082/tcp": [{"HostIp": "192.0.2.7", "HostPort": "28082"}]},
            ),
            "http://192.0.2.7:28082/health",
        ),
    ],
)
def test_health_url_is_where_the_container_listens(ui, url):
    assert webui_health_url(ui) == url


# roles/webui/tasks/secrets.yml before the filter: the admin's e-mail, and the volume label's fingerprint.
OLD_EMAIL = trust_as_template(
    """{{ webui_admin_email if __given
         else __stored if __stored and (not __webui_volume.exists or __label == __stored_fingerprint)
         else __webui_legacy_admin_email if __webui_volume.exists and __label in ['', __legacy_fingerprint]
         else __stored or __generated }}"""
)
OLD_EMAIL_VARS = trusted(
    {
        "__given": "{{ webui_admin_email | default('', true) | length > 0 }}",
        "__label": "{{ (__webui_volume.volume.Labels | default({}, true))['vacc.qwen3.admin'] | default('')"
        " if __webui_volume.exists else '' }}",
        "__stored_fingerprint": "{{ ((__stored ~ ' ' ~ __webui_admin_password) | hash('sha256'))[:16] }}",
        "__legacy_fingerprint": "{{ ((__webui_legacy_admin_email ~ ' ' ~ __webui_admin_password) | hash('sha256'))[:16] }}",
    }
)
LEGACY = "admin@vacc.local"
PASSWORD = "Secr3tPassw0rdOfTwentyFour"


def fingerprint(email, password=PASSWORD):
    templar = Templar(loader=DataLoader(), variables={"e": email, "p": password})
    return templar.template(trust_as_template("{{ ((e ~ ' ' ~ p) | hash('sha256'))[:16] }}"))


def volume(label=None, exists=True):
    """docker_volume_info's answer: no volume, one without labels, or one labelled for an admin."""
    if not exists:
        return {"exists": False, "volume": {}}
    return {"exists": True, "volume": {"Labels": None if label is None else {"vacc.qwen3.admin": label}}}


VOLUMES = [
    volume(exists=False),
    volume(),
    volume(""),
    volume(fingerprint("admin-stored@vacc.local")),
    volume(fingerprint(LEGACY)),
    volume(fingerprint("someone@else.org")),
    volume(fingerprint("admin-stored@vacc.local", "another password")),
]


@pytest.mark.parametrize("given", ["", None, "me@example.org"])
@pytest.mark.parametrize("stored", ["", "admin-stored@vacc.local"])
@pytest.mark.parametrize("vol", VOLUMES)
def test_same_admin_email_as_the_expression_it_replaced(given, stored, vol):
    variables = dict(
        OLD_EMAIL_VARS,
        webui_admin_email=given,
        __stored=stored,
        __webui_volume=vol,
        __webui_admin_password=PASSWORD,
        __webui_legacy_admin_email=LEGACY,
        __generated="admin-new@vacc.local",
    )
    old = Templar(loader=DataLoader(), variables=variables).template(OLD_EMAIL)
    new = webui_admin_email(given or "", stored, vol, PASSWORD, LEGACY, "admin-new@vacc.local")
    assert new == old


def test_a_volume_keeps_its_admin():
    new = "admin-new@vacc.local"
    # a given e-mail wins, even over a volume labelled for another
    assert webui_admin_email(
        "me@x.org", "a@vacc.local", volume(fingerprint("a@vacc.local")), PASSWORD, LEGACY, new
    ) == ("me@x.org")
    # first run: the generated one; later runs: the stored one
    assert webui_admin_email("", "", volume(exists=False), PASSWORD, LEGACY, new) == new
    assert webui_admin_email("", "a@vacc.local", volume(exists=False), PASSWORD, LEGACY, new) == "a@vacc.local"
    assert webui_admin_email("", "a@vacc.local", volume(fingerprint("a@vacc.local")), PASSWORD, LEGACY, new) == (
        "a@vacc.local"
    )
    # a volume from before generated e-mails (unlabelled, or labelled for the fixed e-mail) keeps the fixed one
    assert webui_admin_email("", "a@vacc.local", volume(), PASSWORD, LEGACY, new) == LEGACY
    assert webui_admin_email("", "", volume(fingerprint(LEGACY)), PASSWORD, LEGACY, new) == LEGACY
    # a volume of another admin: the stored e-mail, which preflight then refuses with the fix
    assert webui_admin_email("", "a@vacc.local", volume(fingerprint("b@x.org")), PASSWORD, LEGACY, new) == (
        "a@vacc.local"
    )


def test_fingerprint_is_the_hash_ansible_made():
    assert webui_admin_fingerprint("admin-x@vacc.local", PASSWORD) == fingerprint("admin-x@vacc.local")
    assert webui_admin_fingerprint("ä@vacc.local", "pässword") == fingerprint("ä@vacc.local", "pässword")
    assert len(webui_admin_fingerprint("a", "b")) == 16
    assert webui_admin_fingerprint("a", "b") != webui_admin_fingerprint("a", "c")
