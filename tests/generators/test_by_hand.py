"""A simulated hand-worker scores full marks: for every template, each sampled variant is worked
the way a student works it, every intermediate quantity rounded to the precision the stem tells
them to carry (or, when the stem says nothing, to the precision the parts ask for), and the
answers so found must all be graded right."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import pytest

from generators import REGISTRY, Template, Variant, make_variant
from generators.core.carry import Rounding, round_decimals, round_sigfigs
from generators.core.variants import grade_response
from grader.answers import NumericAnswer, VectorAnswer
from grader.symbolic_answer import SymbolicAnswer
from grader.tolerance import ToleranceMode

TEMPLATES = list(REGISTRY)
IDS = [t.id for t in TEMPLATES]
SEEDS = range(150)
CARRY = re.compile(r"Carry at least (\d+) (decimal places|significant figures)")


def precision(v: Variant) -> tuple[int, bool]:
    """(digits, as significant figures?) a student carries: what the stem says, else what the
    asked parts ask: the most significant figures any asks (a relative tolerance r asks
    1 + ceil(-log10 r)), or failing that the most decimals."""
    if m := CARRY.search(v.stem):
        return int(m[1]), m[2] == "significant figures"
    decimals, sigfigs = 0, 0
    for spec in v.parts.values():
        if not isinstance(spec, NumericAnswer | VectorAnswer):
            continue
        tol = spec.tolerance
        if tol.mode is ToleranceMode.DECIMALS:
            decimals = max(decimals, tol.digits)
        elif tol.mode is ToleranceMode.SIGFIGS:
            sigfigs = max(sigfigs, tol.digits)
        else:
            sigfigs = max(sigfigs, 1 + math.ceil(-math.log10(tol.rtol)))
    return (sigfigs, True) if sigfigs else (decimals, False)


def typed(x: float, digits: int, sigfigs: bool) -> str:
    """The number as the student writes it, trailing zeros included ("0.10", not "0.1")."""
    return f"{x:.{digits}g}" if sigfigs else f"{x:.{digits}f}"


def hand_response(template: Template, v: Variant) -> tuple[dict[str, Any], str]:
    digits, sigfigs = precision(v)
    rnd: Rounding = round_sigfigs(digits) if sigfigs else round_decimals(digits)
    worked = template.by_hand(v.params, rnd)
    response: dict[str, Any] = {}
    for pid, spec in v.parts.items():
        value = worked[pid]
        if isinstance(spec, SymbolicAnswer):
            response[pid] = v.answers[pid]  # a formula is written, not rounded
        elif isinstance(spec, NumericAnswer):
            response[pid] = typed(value, digits, sigfigs)
        elif isinstance(spec, VectorAnswer):
            response[pid] = _typed_all(value, digits, sigfigs)
        else:
            response[pid] = value
    how = f"carrying {digits} {'significant figures' if sigfigs else 'decimals'}"
    return response, how


def _typed_all(value: Any, digits: int, sigfigs: bool) -> Any:
    if isinstance(value, list | tuple):
        return [_typed_all(x, digits, sigfigs) for x in value]
    return typed(value, digits, sigfigs)


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_a_student_carrying_the_stated_precision_scores_full_marks(template: Template) -> None:
    misses: list[str] = []
    for seed in SEEDS:
        v = make_variant(template, seed)
        response, how = hand_response(template, v)
        result = grade_response(template, seed, None, response)
        if result.score != 1.0:
            wrong = {p: (response[p], v.answers[p]) for p, r in result.parts.items() if r.score < 1}
            misses.append(f"seed {seed} {how}: {wrong}")
    assert not misses, f"{template.id}: {len(misses)} of {len(SEEDS)} variants\n" + "\n".join(
        misses[:10]
    )


def test_exact_hand_work_is_the_reference() -> None:
    """With nothing rounded the hand-worker is the independent reference itself."""
    for template in TEMPLATES:
        v = make_variant(template, 0, render=False)
        worked = template.by_hand(v.params, lambda x: x)
        ref = template.reference(v.params)
        assert _close(worked, ref), template.id


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, Mapping):
        return set(a) == set(b) and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)
