"""Working by hand: how many figures a stem tells students to carry, and the rounding of every
intermediate quantity that a template's `by_hand` applies when it works a variant as they do."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

# What a student does to each quantity they write down; `exact` keeps every digit.
Rounding = Callable[[float], float]


def exact(x: float) -> float:
    return x


def round_decimals(digits: int) -> Rounding:
    def rnd(x: float) -> float:
        return round(float(x), digits) + 0.0

    return rnd


def round_sigfigs(digits: int) -> Rounding:
    def rnd(x: float) -> float:
        x = float(x)
        if x == 0 or not math.isfinite(x):
            return x
        return round(x, digits - 1 - math.floor(math.log10(abs(x)))) + 0.0

    return rnd


@dataclass(frozen=True, slots=True)
class Carry:
    """The precision a stem tells students to carry through a long chain of arithmetic: so many
    decimal places, or so many significant figures. The stem prints `describe()`."""

    digits: int
    sigfigs: bool = False

    def describe(self) -> str:
        what = "significant figures" if self.sigfigs else "decimal places"
        return f"Carry at least {self.digits} {what} in every intermediate value you write down."

    def rounding(self) -> Rounding:
        return round_sigfigs(self.digits) if self.sigfigs else round_decimals(self.digits)
