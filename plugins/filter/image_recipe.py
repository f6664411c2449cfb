# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""The recipe of an offline image build and whether it must run. Docs: image_recipe.yml beside this file."""

from __future__ import annotations

import hashlib

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

LABEL = "vacc.qwen3.recipe-sha256"


def recipe_sha256(dockerfile, build_args=None):
    """sha256 of the Dockerfile followed by the build arguments' values in key order (case-insensitive, as
    Jinja's dictsort orders them): the label an image built from this recipe carries. The formula is the one the
    builder used in Jinja, so images labelled before keep their label's meaning."""
    if not isinstance(dockerfile, str):
        raise AnsibleFilterError(f"image_recipe: the Dockerfile must be text, not {type(dockerfile).__name__}.")
    if not isinstance(build_args or {}, dict):
        raise AnsibleFilterError("image_recipe: image_build_args must be a mapping of build argument to value.")
    args = build_args or {}
    values = "".join(str(args[key]) for key in sorted(args, key=lambda k: k.lower() if isinstance(k, str) else k))
    return hashlib.sha256((dockerfile + values).encode("utf-8", "surrogateescape")).hexdigest()


def image_recipe(dockerfile, build_args=None, images=None, rebuild=False):
    """{dockerfile, sha256, needed}: the rendered Dockerfile, its recipe's sha256, and whether to build - a rebuild
    asked for, no image yet (`images`: docker_image_info's list), or an image whose recipe label differs."""
    sha = recipe_sha256(dockerfile, build_args)
    labels = ((images or [{}])[0].get("Config") or {}).get("Labels") or {}
    needed = boolean(rebuild, strict=False) or not images or labels.get(LABEL, "") != sha
    return {"dockerfile": dockerfile, "sha256": sha, "needed": needed}


class FilterModule(object):
    def filters(self):
        return {"image_recipe": image_recipe}
