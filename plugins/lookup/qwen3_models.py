# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
name: qwen3_models
author: vacc.qwen3 contributors (@vacc-qwen3)
version_added: 0.1.0
short_description: The Qwen3 catalog of the vendor guide
description:
  - Returns the 36 Qwen3 checkpoints the Vastai guide supports, as a list of dicts, optionally
    filtered. Each dict has name, hf_repo, modelscope_repo (null where the guide lists none),
    family, kind (dense or moe), params, dtype, quant_method, tp (list of ints), thinking,
    native_context, limits per TP, known_failures, min_hardware and arch.
  - Terms are model names; with no terms every model is returned.
options:
  _terms:
    description: Model names to return (exact names).
    required: false
  family:
    description: Keep only this family (for example C(8B), C(30B-A3B)).
    type: str
  dtype:
    description: Keep only this dtype.
    type: str
    choices: [BF16, FP8, INT4]
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
from ansible_collections.vacc.qwen3.plugins.plugin_utils._planner import PlanError, find_model


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        entries = qwen3_catalog.catalog()
        if terms:
            try:
                wanted = [find_model(term)["name"] for term in terms]
            except PlanError as exc:
                raise AnsibleLookupError(str(exc))
            entries = [e for name in wanted for e in entries if e["name"] == name]
        for key in ("family", "dtype", "kind"):
            value = self.get_option(key)
            if value:
                entries = [e for e in entries if str(e[key]).lower() == str(value).lower()]
        return entries
