"""Seeded random draws that give the same numbers on every machine, numpy and Python version."""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")
BLOCK = 32


class Draw:
    """Random choices for samplers. Only `Generator.random()` is used: PCG64's stream of doubles
    is fixed, whereas numpy keeps the right to change `integers` and `choice` between versions."""

    __slots__ = ("_buffer", "_rng")

    def __init__(self, template_id: str, seed: int) -> None:
        # The template id is mixed in so that seed 7 of two templates are unrelated problems.
        self._rng = np.random.Generator(
            np.random.PCG64(
                np.random.SeedSequence(
                    [seed & 0xFFFFFFFFFFFFFFFF, zlib.crc32(template_id.encode())]
                )
            )
        )
        self._buffer: list[float] = []

    def random(self) -> float:
        """The next double of the stream. Doubles are taken from numpy in blocks (one call per
        32, not one per draw); block or single, the stream is the same sequence."""
        if not self._buffer:
            self._buffer = self._rng.random(BLOCK).tolist()[::-1]
        return self._buffer.pop()

    def uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.random()

    def integer(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi], both ends included."""
        return lo + min(int(self.random() * (hi - lo + 1)), hi - lo)

    def integers(self, lo: int, hi: int, n: int) -> list[int]:
        span = hi - lo + 1
        return [lo + min(int(self.random() * span), span - 1) for _ in range(n)]

    def choice(self, options: Sequence[T]) -> T:
        return options[self.integer(0, len(options) - 1)]

    def chance(self, p: float) -> bool:
        return self.random() < p

    def step(self, lo: float, hi: float, step: float) -> float:
        """A multiple of `step` in [lo, hi], as a person sets it (0.1, -1.5, ...)."""
        k = self.integer(math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9))
        return round(k * step, 10)

    def nonzero_step(self, lo: float, hi: float, step: float) -> float:
        while True:
            v = self.step(lo, hi, step)
            if v != 0:
                return v

    def sample(self, options: Sequence[T], k: int) -> list[T]:
        """k distinct items, in the order drawn."""
        pool = list(options)
        out = []
        for _ in range(min(k, len(pool))):
            out.append(pool.pop(self.integer(0, len(pool) - 1)))
        return out

    def shuffled(self, options: Sequence[T]) -> list[T]:
        return self.sample(options, len(options))
