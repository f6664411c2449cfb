# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
name: qwen3_models
author: vacc.qwen3 contributors (@vacc-qwen3)
version_added: 0.1.0
short_description: The Qwen3 catalog of the vendor guide, per guide revision
description:
  - Returns the Qwen3 checkpoints one revision of the Vastai guide supports (36 in C(AI3.2_GR_1202), the
    seed's; 37 in C(VVI-26.02)), plus the rows given in O(catalog_extra), as a list of dicts, optionally
    filtered. Each dict has name, hf_repo, modelscope_repo (null where the guide lists none),
    family, kind (dense or moe), params, dtype, quant_method, tp (list of ints), thinking,
    native_context, limits per TP, known_failures, min_hardware, arch, revision and source
    (C(guide:<revision>), or C(inventory) for an added row).
  - Terms are model names; with no terms every model is returned.
options:
  _terms:
    description: Model names to return (any case, or the guide's own spelling).
    required: false
  revision:
    description:
      - The guide revision (as C(qwen3_guide_revision)); unset, the seed's C(AI3.2_GR_1202).
    type: str
    choices: [AI3.2_GR_1202, VVI-26.02]
  catalog_extra:
    description: Rows to add, as C(qwen3_catalog_extra) (a list of mappings, or the path of a YAML/JSON file).
    type: raw
  family:
    description: Keep only this family (for example C(8B), C(30B-A3B)).
    type: str
  dtype:
    description: Keep only this dtype.
    type: str
    choices: [BF16, FP8, INT4, INT8]
  kind:
    description: Keep only dense or moe models.
    type: str
    choices: [dense, moe]
"""

EXAMPLES = r"""
- name: Every FP8 checkpoint
  ansible.builtin.debug:
    msg: "{{ query('vacc.qwen3.qwen3_models', dtype='FP8') | map(attribute='name') }}"

- name: One model's TP sizes
  ansible.builtin.debug:
    msg: "{{ lookup('vacc.qwen3.qwen3_models', 'Qwen3-8B-AWQ').tp }}"

- name: The current guide's GPTQ-INT8 checkpoints
  ansible.builtin.debug:
    msg: "{{ query('vacc.qwen3.qwen3_models', revision='VVI-26.02', dtype='INT8') | map(attribute='name') }}"

- name: The current guide with a row of your own (the plan of a host follows its qwen3_plan.guide_revision)
  ansible.builtin.debug:
    msg: "{{ query('vacc.qwen3.qwen3_models', revision='VVI-26.02', catalog_extra=qwen3_catalog_extra) | map(attribute='name') }}"
"""

RETURN = r"""
_list:
  description: Catalog entries.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _catalog as qwen3_catalog
from ansible_collections.vacc.qwen3.plugins.plugin_utils import _inputs
from ansible_collections.vacc.qwen3.plugins.plugin_utils._planner import PlanError, find_model


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        try:
            extra = self.get_option("catalog_extra")
            extra = _inputs.convert("catalog_extra", "rows", extra) if extra not in (None, "") else None
            guide = qwen3_catalog.guide(self.get_option("revision"), extra)
            entries = guide.catalog()
            wanted = [find_model(term, guide)["name"] for term in terms]
        except PlanError as exc:
            raise AnsibleLookupError(str(exc)) from None
        if terms:
            entries = [e for name in wanted for e in entries if e["name"] == name]
        for key in ("family", "dtype", "kind"):
            value = self.get_option(key)
            if value:
                entries = [e for e in entries if str(e[key]).lower() == str(value).lower()]
        return entries
