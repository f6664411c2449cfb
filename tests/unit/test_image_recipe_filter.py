"""The image_recipe filter: the builder's recipe label and its build-or-reuse decision, which were Jinja in
roles/_common/tasks/image.yml. The label must stay what the Jinja computed, or every image built before would
be rebuilt once for nothing."""

import jinja2
import pytest
from ansible.errors import AnsibleFilterError
from ansible.plugins.filter.core import get_hash

from ansible_collections.vacc.qwen3.plugins.filter.image_recipe import image_recipe, recipe_sha256

# The expression the builder used before the filter.
JINJA = "{{ (dockerfile ~ (build_args | default({}) | dictsort | map('last') | join)) | hash('sha256') }}"


def _jinja(dockerfile, build_args):
    env = jinja2.Environment()
    env.filters["hash"] = get_hash
    return env.from_string(JINJA).render(dockerfile=dockerfile, build_args=build_args)


@pytest.mark.parametrize(
    "build_args",
    [
        {},
        {"VLLM_VERSION": "0.10.1"},
        {"b": "2", "A": "1", "c": "3"},  # dictsort is case-insensitive: A, b, c
        {"Z": 1, "y": True, "x": "é"},
    ],
)
def test_label_is_the_one_the_jinja_computed(build_args):
    dockerfile = "FROM debian:bookworm\nRUN echo ü\n"
    assert recipe_sha256(dockerfile, build_args) == _jinja(dockerfile, build_args)


def test_order_of_the_arguments_given_does_not_matter():
    assert recipe_sha256("FROM x", {"a": "1", "B": "2"}) == recipe_sha256("FROM x", {"B": "2", "a": "1"})
    assert recipe_sha256("FROM x", {"a": "1", "B": "2"}) != recipe_sha256("FROM x", {"a": "2", "B": "1"})


def _image(label):
    return [{"Id": "sha256:abc", "Config": {"Labels": {"vacc.qwen3.recipe-sha256": label} if label else None}}]


def test_reuses_an_image_built_from_the_same_recipe():
    sha = recipe_sha256("FROM x", {"A": "1"})
    assert image_recipe("FROM x", {"A": "1"}, _image(sha)) == {"dockerfile": "FROM x", "sha256": sha, "needed": False}


@pytest.mark.parametrize(
    ("images", "rebuild"),
    [
        ([], False),  # no image yet
        (None, False),
        (_image("0" * 64), False),  # another recipe
        (_image(None), False),  # an image without labels (pulled, or built by hand)
        ("same", True),  # a rebuild asked for
        ("same", "yes"),  # as -e gives it
    ],
)
def test_builds_when_missing_stale_or_asked(images, rebuild):
    if images == "same":
        images = _image(recipe_sha256("FROM x"))
    assert image_recipe("FROM x", None, images, rebuild)["needed"] is True


def test_rebuild_false_as_a_string_is_false():
    assert image_recipe("FROM x", {}, _image(recipe_sha256("FROM x")), "false")["needed"] is False


@pytest.mark.parametrize(
    ("dockerfile", "args", "words"), [(None, {}, "must be text"), ("FROM x", ["A=1"], "must be a mapping")]
)
def test_refuses_bad_input_with_one_sentence(dockerfile, args, words):
    with pytest.raises(AnsibleFilterError, match=words):
        image_recipe(dockerfile, args)
