"""rnn-bptt states the hidden values a student may use: to 3 significant figures when rounded,
exactly (and not called rounded) for linear units, and as published for the Week 7 quiz."""

from __future__ import annotations

import math
import re

from generators import REGISTRY, make_variant
from generators.families import rnn

BPTT = REGISTRY.get("rnn-bptt")
STATED = re.compile(r"hidden values (of about )?\$h = \(([^)]*)\)\$( \(rounded\))?")


def stated(stem: str) -> tuple[list[float], bool] | None:
    m = STATED.search(stem)
    if m is None:
        return None
    assert bool(m[1]) == bool(m[3]), stem  # "about" and "(rounded)" go together
    return [float(x) for x in m[2].split(",")], bool(m[1])


def test_rounded_hidden_values_carry_three_significant_figures() -> None:
    seen = {"rounded": 0, "exact": 0}
    for seed in range(200):
        v = make_variant(BPTT, seed)
        got = stated(v.stem)
        if got is None:
            continue
        values, rounded = got
        exact = [v.answers[f"h_{t}"] for t in range(len(values))]
        if v.params["activation"] == "linear":
            # A linear unit's value is exact: the stem must not call it rounded.
            assert not rounded, (seed, v.stem)
            assert all(
                math.isclose(s, h, abs_tol=1e-9) for s, h in zip(values, exact, strict=True)
            ), (seed, values, exact)
            seen["exact"] += 1
            continue
        assert rounded, (seed, v.stem)
        for s, h in zip(values, exact, strict=True):
            half = 0.5 * 10.0 ** (math.floor(math.log10(abs(h))) - 2)
            assert abs(s - h) <= half + 1e-12, (seed, s, h)
        seen["rounded"] += 1
    assert seen["rounded"] > 20 and seen["exact"] > 0, seen


def test_the_published_question_states_its_own_rounded_values() -> None:
    v = make_variant(BPTT, None, {**rnn.PUBLISHED_BPTT, "ask": ["dEdz_1"]})
    assert stated(v.stem) == ([0.2, 0.4, 0.8], True)
    for typed in ("0.01393", "0.01392"):
        assert v.parts["dEdz_1"].grade(typed).score == 1.0, typed
