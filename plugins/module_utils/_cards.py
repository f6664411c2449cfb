# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""The Vastai cards as the runtime counts them, in one place: the host-side die detection
(vacc_facts) and the controller-side catalog both read it."""

from __future__ import annotations

# Dies are what the runtime counts as devices: TP counts dies (one VA16 runs TP4).
CARDS = {
    "VA16": {"memory_gb": 128, "dies": 4, "die_memory_gb": 32},
    "VA10L": {"memory_gb": 128, "dies": 4, "die_memory_gb": 32},
    # The VA1L's die count is not public: stored as unknown; callers must say so.
    "VA1L": {"memory_gb": 64, "dies": None, "die_memory_gb": None},
}
DIES_PER_CARD = {name: card["dies"] for name, card in CARDS.items()}
