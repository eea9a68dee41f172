"""What the conceptual templates share: params checks for ids and durations, and asked parts."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from generators.core.draw import Draw
from generators.core.errors import ParamError
from generators.core.params import as_number, fixed_ask

# Option ids travel through text answers ("A, C") that split on commas and spaces.
OPTION_ID = re.compile(r"[A-Za-z0-9_-]{1,20}")


def option_id(field: str, value: Any) -> str:
    if not isinstance(value, str) or not OPTION_ID.fullmatch(value):
        raise ParamError(
            field, value, "must be 1 to 20 letters, digits, '_' or '-' (it is an option id)"
        )
    return value


def duration(field: str, value: Any, lo: float, hi: float) -> int | float:
    """A time in ms; whole numbers are kept as ints so that stems read `100 ms`, not `100.0 ms`."""
    v = as_number(field, value)
    if not lo <= v <= hi:
        raise ParamError(field, value, f"must be from {lo:g} to {hi:g} ms")
    return int(v) if v.is_integer() else v


def ms(v: float) -> str:
    return f"{v:g}"


def pick_ask(
    draw: Draw, fixed: Mapping[str, Any], order: list[str], always: list[str], k_max: int
) -> list[str]:
    """The fixed `ask` if any, else `always` plus up to `k_max` of the other parts, in `order`."""
    if (ask := fixed_ask(fixed)) is not None:
        return ask
    others = [p for p in order if p not in always]
    chosen = set(always) | set(draw.sample(others, draw.integer(0, min(k_max, len(others)))))
    return [p for p in order if p in chosen]


def log2_exact(n: int) -> int | None:
    """log2 n when n is a power of 2, else None."""
    if n < 1 or n & (n - 1):
        return None
    return int(math.log2(n))
