"""Answer kinds: each grades a right answer 1, a near miss below 1, garbage as invalid."""

import pytest

from grader import (
    BitStringAnswer,
    ChoiceAnswer,
    IntSequenceAnswer,
    MultiSelectAnswer,
    NumericAnswer,
    SpecError,
    Status,
    Tolerance,
    VectorAnswer,
    grade_parts,
    spec_from_json,
)
from grader.answers import Misconception


def test_numeric_correct_near_miss_invalid() -> None:
    a = NumericAnswer(0.0753, Tolerance.decimals(2))
    assert a.grade("0.08").status is Status.CORRECT
    assert a.grade("0.0702").status is Status.INCORRECT
    bad = a.grade("zero point oh eight")
    assert bad.status is Status.INVALID and "expected a number" in bad.feedback


def test_numeric_alternate_reference_from_rounded_stem() -> None:
    a = NumericAnswer(0.013934, Tolerance.relabs(1e-4, 0), also=(0.01392,))
    assert a.grade("0.013934").score == 1
    alt = a.grade("0.01392")
    assert alt.score == 1 and "rounded" in alt.feedback
    assert a.grade("0.0137").score == 0


def test_min_decimals_judged_on_the_typed_string() -> None:
    a = NumericAnswer(0.5, Tolerance.decimals(2), min_decimals=2)
    assert a.grade("0.50").score == 1
    short = a.grade("0.5")
    assert short.score == 0 and "at least 2 digits" in short.feedback


def test_misconception_named_and_dropped_inside_tolerance() -> None:
    wrong = Misconception("missing-future-terms", 0.012, "You kept only the local term.")
    a = NumericAnswer(0.01393, Tolerance.decimals(4), misconceptions=(wrong,))
    r = a.grade("0.012")
    assert r.misconception == "missing-future-terms" and "local term" in r.feedback
    inside = Misconception("sign-error", 0.01395, "x")
    b = NumericAnswer(0.01393, Tolerance.decimals(4), misconceptions=(inside,))
    assert b.misconceptions == ()


def test_vector_partial_credit_names_wrong_entries() -> None:
    a = VectorAnswer([0.1, 0.2, 0.7], Tolerance.decimals(2))
    assert a.grade([0.1, 0.2, 0.7]).score == 1
    r = a.grade("[0.1, 0.3, 0.7]")
    assert r.score == pytest.approx(2 / 3) and "[1]" in r.feedback
    assert a.grade([0.1, 0.2]).status is Status.INVALID


def test_matrix_shape_checked() -> None:
    a = VectorAnswer([[1.0, 0.0], [0.0, 1.0]], Tolerance.decimals(2))
    assert a.grade([[1, 0], [0, 1]]).score == 1
    r = a.grade([[1, 0], [0, 2]])
    assert r.score == 0.75 and "[1][1]" in r.feedback
    assert a.grade([1, 0, 0, 1]).status is Status.INVALID


def test_choice() -> None:
    a = ChoiceAnswer("4", ("2", "4", "16", ">16"), (("4", "log2 16"), ("16", "one bit a unit")))
    assert a.grade("4").score == 1 and "log2 16" in a.grade("4").feedback
    assert a.grade(4).score == 1
    assert "one bit a unit" in a.grade("16").feedback
    assert a.grade("5").status is Status.INVALID
    with pytest.raises(SpecError):
        ChoiceAnswer("5", ("2", "4"))


def test_multiselect_rule_never_below_zero() -> None:
    a = MultiSelectAnswer(("a", "b"), ("a", "b", "c", "d"))
    assert a.grade(["a", "b"]).score == 1
    assert a.grade(["a"]).score == 0.5
    assert a.grade(["a", "c"]).score == 0.0  # 1/2 - 1/2
    assert a.grade(["c", "d"]).score == 0.0  # 0 - 1, floored
    assert a.grade(["z"]).status is Status.INVALID
    empty = MultiSelectAnswer((), ("a", "b"))
    assert empty.grade([]).score == 1 and empty.grade(["a"]).score == 0.5


def test_int_sequence_partial_per_position() -> None:
    a = IntSequenceAnswer((0, 1, 1, 0))
    assert a.grade([0, 1, 1, 0]).score == 1
    assert a.grade("0 1 0 0").score == 0.75
    assert a.grade("0110").score == 1
    assert a.grade([0, 1]).status is Status.INVALID


def test_bits() -> None:
    a = BitStringAnswer("0101")
    assert a.grade("101").score == 1
    assert a.grade("111").score == 0
    assert a.grade("12").status is Status.INVALID


def test_grade_parts_weights_and_missing() -> None:
    specs = {
        "a": NumericAnswer(1.0, Tolerance.decimals(2)),
        "b": NumericAnswer(2.0, Tolerance.decimals(2)),
    }
    r = grade_parts(specs, {"a": "1"}, {"a": 3, "b": 1})
    assert r.score == 0.75
    assert r.parts["b"].status is Status.MISSING
    assert r.to_json()["parts"]["a"] == {
        "score": 1.0,
        "correct": True,
        "status": "correct",
        "feedback": "Correct.",
        "misconception": None,
    }


@pytest.mark.parametrize(
    "spec",
    [
        NumericAnswer(0.5, Tolerance.decimals(3), also=(0.49,)),
        VectorAnswer([0.1, 0.9], Tolerance.sigfigs(2)),
        ChoiceAnswer("b", ("a", "b")),
        MultiSelectAnswer(("a",), ("a", "b")),
        IntSequenceAnswer((1, 0)),
        BitStringAnswer("10"),
    ],
)
def test_spec_json_round_trip(spec: object) -> None:
    assert spec_from_json(spec.to_json()).to_json() == spec.to_json()
