"""Validation of parameters that come from outside (CLI, queue, problem sets): typed, named errors."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from generators.core.errors import ParamError

MAX_T = 12  # longer sequences stop being a question a person can work by hand


def check_keys(params: Mapping[str, Any], allowed: Iterable[str]) -> None:
    allowed = set(allowed)
    for key in params:
        if key not in allowed:
            raise ParamError(
                key, params[key], f"unknown parameter; expected one of {sorted(allowed)}"
            )


def check_number(params: Mapping[str, Any], name: str, default: float | None = None) -> float:
    value = params.get(name)
    if value is None:  # absent or null: the documented default
        value = default
    if value is None:
        raise ParamError(name, None, "is required")
    return as_number(name, value)


def as_number(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParamError(field, value, "must be a number")
    value = float(value)
    if not math.isfinite(value):
        raise ParamError(field, value, "must be finite")
    if abs(value) > 1e6:
        raise ParamError(field, value, "must be at most 1e6 in size")
    return value


def check_number_list(
    params: Mapping[str, Any],
    name: str,
    length: int | None = None,
    min_len: int = 1,
    max_len: int = MAX_T,
) -> list[float]:
    value = params.get(name)
    if value is None:
        raise ParamError(name, None, "is required")
    if not isinstance(value, list | tuple):
        raise ParamError(name, value, "must be a list of numbers")
    if length is not None and len(value) != length:
        raise ParamError(
            name, value, f"must have {length} entries, one per time step (it has {len(value)})"
        )
    if not min_len <= len(value) <= max_len:
        raise ParamError(
            name, value, f"must have from {min_len} to {max_len} entries (it has {len(value)})"
        )
    return [as_number(f"{name}[{i}]", v) for i, v in enumerate(value)]


def check_choice(
    params: Mapping[str, Any], name: str, options: Iterable[str], default: str | None = None
) -> str:
    value = params.get(name, default)
    options = list(options)
    if value not in options:
        raise ParamError(name, value, f"must be one of {options}")
    return value


def check_integer(
    params: Mapping[str, Any], name: str, lo: int, hi: int, default: int | None = None
) -> int:
    value = params.get(name, default)
    if value is None:
        raise ParamError(name, None, "is required")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParamError(name, value, "must be an integer")
    if not lo <= value <= hi:
        raise ParamError(name, value, f"must be from {lo} to {hi}")
    return value


def check_ask(params: Mapping[str, Any], valid: list[str]) -> list[str] | None:
    """The asked part ids in the template's own order, or None when the sampler is to pick."""
    value = params.get("ask")
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not value:
        raise ParamError("ask", value, "must be a non-empty list of part ids")
    for part in value:
        if part not in valid:
            raise ParamError(
                "ask", value, f"{part!r} is not a part of this variant; parts are {valid}"
            )
    chosen = set(value)
    return [p for p in valid if p in chosen]


def fixed_ask(fixed: Mapping[str, Any]) -> list[str] | None:
    """The `ask` a caller fixed, as a list (one part id may be given bare); None if not fixed."""
    if "ask" not in fixed:
        return None
    ask = fixed["ask"]
    return list(ask) if isinstance(ask, list | tuple) else [ask]
