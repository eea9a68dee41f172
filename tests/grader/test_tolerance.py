"""Tolerance modes: the predicates of SPEC.md, their intervals, and their JSON form."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader import SpecError, Tolerance, ToleranceMode
from grader.tolerance import is_correct_decimals, is_correct_relabs, is_correct_sigfigs


def test_relabs_rule() -> None:
    assert is_correct_relabs(1.01, 1.0, 0.01, 0.0)
    assert not is_correct_relabs(1.0101, 1.0, 0.01, 0.0)
    assert is_correct_relabs(1e-9, 0.0, 0.01, 1e-8)


def test_decimals_rule_matches_the_published_quiz() -> None:
    # "two digits after the decimal point": 0.08 and 0.07 for 0.0753? 0.08 is within 0.005.
    assert is_correct_decimals(0.08, 0.0753, 2)
    assert is_correct_decimals(0.0703, 0.0753, 2)
    assert not is_correct_decimals(0.07, 0.0753, 2)
    assert is_correct_decimals(0.0139, 0.013934, 4)
    assert is_correct_decimals(0.01392, 0.013934, 4)
    assert not is_correct_decimals(0.012, 0.013934, 4)


def test_decimals_boundary_is_inclusive_despite_float_error() -> None:
    # 0.125 - 0.12 is 0.0050000000000000044 in binary floating point.
    assert is_correct_decimals(0.12, 0.125, 2)
    assert is_correct_decimals(0.13, 0.125, 2)


def test_sigfigs_rule() -> None:
    assert is_correct_sigfigs(1235, 1234.4, 3)
    assert is_correct_sigfigs(1230, 1234.4, 3)
    assert not is_correct_sigfigs(1240, 1234.4, 3)
    assert is_correct_sigfigs(-0.0123, -0.01234, 3)
    assert is_correct_sigfigs(0.0, 0.0, 3)
    assert not is_correct_sigfigs(1e-300, 0.0, 3)


@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.sampled_from(
        [
            Tolerance.relabs(0.01, 1e-6),
            Tolerance.decimals(2),
            Tolerance.decimals(4),
            Tolerance.sigfigs(3),
        ]
    ),
)
def test_interval_agrees_with_predicate_on_both_sides(r: float, tol: Tolerance) -> None:
    lo, hi = tol.interval(r)
    # Inside the closed interval, up to the last representable float, everything is accepted...
    inner = [math.nextafter(lo, math.inf), math.nextafter(hi, -math.inf)]
    assert all(tol.accepts(s, r) for s in inner if lo <= s <= hi)
    # ...and a hair beyond either end (1e-9 of the width, or a few ulps) nothing is.
    w = hi - lo
    if w > 0:
        hair = max(1e-9 * w, 4 * math.ulp(max(abs(lo), abs(hi))))
        assert not tol.accepts(lo - hair, r)
        assert not tol.accepts(hi + hair, r)


@pytest.mark.parametrize(
    "data",
    [{"decimals": 3}, {"sigfigs": 2}, {"rtol": 0.05, "atol": 0.001}, {"rtol": 0.1}],
)
def test_json_round_trip(data: dict) -> None:
    tol = Tolerance.from_json(data)
    assert Tolerance.from_json(tol.to_json()) == tol


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"decimals": -1}, "tolerance.decimals must be an integer from 0 to 15 (got -1)"),
        ({"decimals": 2.5}, "tolerance.decimals must be an integer (got 2.5)"),
        ({"sigfigs": 0}, "tolerance.sigfigs must be at least 1"),
        ({"rtol": "x"}, "tolerance.rtol must be a number (got 'x')"),
        ({"rtol": 0, "atol": 0}, "cannot both be 0"),
        ({"digits": 2}, "must have keys"),
        ("2", "must be an object"),
    ],
)
def test_bad_tolerance_names_the_field_and_value(data: object, needle: str) -> None:
    with pytest.raises(SpecError) as err:
        Tolerance.from_json(data)
    assert needle in str(err.value)


def test_modes_are_an_enum() -> None:
    assert {m.value for m in ToleranceMode} == {"relabs", "decimals", "sigfigs"}
