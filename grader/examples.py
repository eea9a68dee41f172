"""Example responses for any answer kind: what a right answer looks like, and a near miss just
outside what the spec accepts. The demo's sample class and the registry-walk tests use them."""

from __future__ import annotations

from typing import Any

from grader.answers import (
    AnswerSpec,
    BitStringAnswer,
    ChoiceAnswer,
    IntSequenceAnswer,
    MultiSelectAnswer,
    NumericAnswer,
    VectorAnswer,
)
from grader.symbolic_answer import SymbolicAnswer


def correct_response(spec: AnswerSpec) -> Any:
    """What a student who got it right would type."""
    if isinstance(spec, NumericAnswer):
        typed = repr(spec.value)
        if spec.min_decimals and "e" not in typed:
            whole, _, frac = typed.partition(".")
            typed = f"{whole}.{frac.ljust(spec.min_decimals, '0')}"  # 1.5 typed as 1.50
        return typed
    if isinstance(spec, VectorAnswer):
        return spec.to_json()["value"]
    if isinstance(spec, MultiSelectAnswer):
        return list(spec.value)
    if isinstance(spec, IntSequenceAnswer):
        return list(spec.value)
    if hasattr(spec, "value"):
        return spec.value
    raise TypeError(f"no correct response known for {type(spec).__name__}")


def near_miss(spec: AnswerSpec) -> Any:
    """A response just outside what the spec accepts."""
    if isinstance(spec, NumericAnswer):
        w = spec.tolerance.half_width(spec.value)
        for sign in (1, -1):
            s = spec.value + sign * max(1.5 * w, 1e-9 * max(1.0, abs(spec.value)))
            if not any(spec.tolerance.accepts(s, r) for r in (spec.value, *spec.also)):
                return repr(s)
        raise AssertionError(f"no near miss outside every accepted interval of {spec}")
    if isinstance(spec, VectorAnswer):
        value = spec.to_json()["value"]
        if isinstance(value[0], list):
            r = value[0][0]
            value[0][0] = r + 1.5 * spec.tolerance.half_width(r) + 1e-9
        else:
            r = value[0]
            value[0] = r + 1.5 * spec.tolerance.half_width(r) + 1e-9
        return value
    if isinstance(spec, ChoiceAnswer):
        return next(o for o in spec.options if o != spec.value)
    if isinstance(spec, MultiSelectAnswer):
        picked = set(spec.value) ^ {spec.options[0]}
        return sorted(picked)
    if isinstance(spec, IntSequenceAnswer):
        v = list(spec.value)
        v[0] += 1
        return v
    if isinstance(spec, SymbolicAnswer):
        return spec.near_miss()
    if isinstance(spec, BitStringAnswer):
        return spec.value[:-1] + ("0" if spec.value[-1] == "1" else "1")
    raise TypeError(f"no near miss known for {type(spec).__name__}")
