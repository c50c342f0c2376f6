"""Seeded randomness: one independent stream per purpose, all derived from the cluster's seed.

A stream per purpose (names, scheduling ties, traffic, ...) keeps outputs stable:
adding a new random choice in one place does not shift the pod names elsewhere.

Example
-------
>>> a = Randomness(seed=0).stream("names").random()
>>> b = Randomness(seed=0).stream("names").random()
>>> a == b
True
"""

from __future__ import annotations

import random


class Randomness:
    def __init__(self, seed: int = 0):
        self.seed = seed
        self._streams: dict[str, random.Random] = {}

    def stream(self, purpose: str) -> random.Random:
        """The random generator for ``purpose`` (created on first use, seeded from the cluster seed)."""
        rng = self._streams.get(purpose)
        if rng is None:
            # str seeds hash with SHA-512 in CPython: stable across runs and platforms.
            rng = self._streams[purpose] = random.Random(f"k8slab:{self.seed}:{purpose}")
        return rng

    def __repr__(self) -> str:
        return f"Randomness(seed={self.seed})"
