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
    a = NumericAnswer(0.5073, Tolerance.decimals(1), min_decimals=2)
    assert a.grade("0.51").score == 1
    short = a.grade("0.5")  # within the tolerance, but a rounding too coarse to judge
    assert short.status is Status.INVALID and short.score == 0
    assert "at least 2 digits" in short.feedback
    assert a.grade("0.3").status is Status.INCORRECT  # outside: wrong, however it is typed
    assert a.grade("3/6").status is Status.CORRECT  # not a decimal: no digits to count


@pytest.mark.parametrize("typed", ["-0.4", "-.4", "-4e-1", "-2/5", -0.4, "-0.40"])
def test_min_decimals_never_refuses_the_exact_value(typed: object) -> None:
    a = NumericAnswer(0.1 * 2 * -1.5 - 0.1, Tolerance.decimals(2), min_decimals=2)  # -0.4 + ulp
    assert a.grade(typed).status is Status.CORRECT


def test_min_decimals_exact_means_within_1e_12_relative() -> None:
    assert (
        NumericAnswer(0.5 * (1 + 1e-13), Tolerance.decimals(2), min_decimals=2).grade("0.5").correct
    )
    near = NumericAnswer(0.5 * (1 + 1e-11), Tolerance.decimals(2), min_decimals=2).grade("0.5")
    assert near.status is Status.INVALID
    zero = NumericAnswer(0.0, Tolerance.decimals(2), min_decimals=3)
    assert zero.grade("0").correct and zero.grade("-0.0").correct
    assert zero.grade("0.00").status is Status.CORRECT
    # The value from the rounded numbers a stem states is a reference too.
    also = NumericAnswer(0.01393, Tolerance.decimals(4), also=(0.01,), min_decimals=3)
    assert also.grade("0.01").score == 1 and "rounded" in also.grade("0.01").feedback


def test_misconception_named_and_dropped_inside_tolerance() -> None:
    wrong = Misconception("missing-future-terms", 0.012, "You kept only the local term.")
    a = NumericAnswer(0.01393, Tolerance.decimals(4), misconceptions=(wrong,))
    r = a.grade("0.012")
    assert r.misconception == "missing-future-terms" and "local term" in r.feedback
    inside = Misconception("sign-error", 0.01395, "x")
    b = NumericAnswer(0.01393, Tolerance.decimals(4), misconceptions=(inside,))
    assert b.grade("0.01395").status is Status.CORRECT
    # A tighter tolerance tells it apart again: the override decides afresh.
    c = NumericAnswer(0.01393, Tolerance.decimals(5), misconceptions=(inside,))
    assert c.grade("0.01395").misconception == "sign-error"


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


@pytest.mark.parametrize(
    "typed",
    [
        "[[0.641, 0], [0, 0.581]]",
        "[[0.641,0],[0,0.581]]",
        " [ [0.641, 0] , [0, 0.581] ] ",
        "[[0.641 0]\n [0 0.581]]",
        "[0.641, 0], [0, 0.581]",
        "[0.641 0; 0 0.581]",
        "0.641 0; 0 0.581",
        "0.641, 0\n0, 0.581",
        "((0.641, 0), (0, 0.581))",
        "[[0.641, \u22120], [0, 0.581]]",
        ["0.641, 0", "[0 0.581]"],
    ],
)
def test_matrix_typed_as_text(typed: object) -> None:
    a = VectorAnswer([[0.6412, 0.0], [0.0, 0.5809]], Tolerance.decimals(2))
    assert a.grade(typed).status is Status.CORRECT, a.grade(typed)


@pytest.mark.parametrize(
    ("typed", "needle"),
    [
        ("[[0.641, 0], [0, 0.581], [1, 1]]", "got 3 rows"),
        ("[0.641 0 0 0.581]", "got 1 row"),
        ("[[0.641, 0], [0, 0.581, 2]]", "row 1: expected 2 numbers, got 3"),
        ("[[0.641, 0] and [0, 0.581]]", "rows in brackets"),
        ("[[0.641, 0], [0, x]]", "row 1: entry 1"),
        ("[[1, 0], [0, 1e400]]", "number too large"),
        ("", "got 0 rows"),
        ("[" * 10**5, "characters"),
        (5, "got int"),
    ],
)
def test_matrix_text_that_does_not_fit_is_invalid(typed: object, needle: str) -> None:
    a = VectorAnswer([[0.6412, 0.0], [0.0, 0.5809]], Tolerance.decimals(2))
    r = a.grade(typed)
    assert r.status is Status.INVALID and needle in r.feedback, r


def test_choice() -> None:
    a = ChoiceAnswer("4", ("2", "4", "16", ">16"), (("4", "log2 16"), ("16", "one bit a unit")))
    assert a.grade("4").score == 1 and "log2 16" in a.grade("4").feedback
    assert a.grade(4).score == 1 and a.grade(4.0).score == 1
    assert a.grade("> 16").status is Status.INCORRECT
    assert "one bit a unit" in a.grade("16").feedback
    assert a.grade("5").status is Status.INVALID
    with pytest.raises(SpecError):
        ChoiceAnswer("5", ("2", "4"))


@pytest.mark.parametrize(
    "typed", ["vanishing", "Vanishing", "VANISHING", " vAnIsHiNg ", ["Vanishing"]]
)
def test_choice_ignores_case_and_spacing(typed: object) -> None:
    a = ChoiceAnswer("vanishing", ("vanishing", "exploding"))
    assert a.grade(typed).status is Status.CORRECT
    assert a.grade("EXPLODING").status is Status.INCORRECT


def test_choice_options_that_differ_only_in_case_are_refused() -> None:
    with pytest.raises(SpecError, match="differ in more than case"):
        ChoiceAnswer("a", ("a", "A"))


@pytest.mark.parametrize(
    ("typed", "needle"),
    [
        ("x" * 10**6, "characters"),
        (10**400, "number too large"),
        (float("inf"), "number too large"),
        (True, "expected an option id"),
        ({"a": 1}, "as text"),
        (["vanishing", "exploding"], "as text"),
        ("vanish", "expected one of vanishing, exploding"),
    ],
)
def test_choice_hostile_input_is_invalid_with_a_message(typed: object, needle: str) -> None:
    r = ChoiceAnswer("vanishing", ("vanishing", "exploding")).grade(typed)
    assert r.status is Status.INVALID and needle in r.feedback, r


def test_multiselect_rule_never_below_zero() -> None:
    a = MultiSelectAnswer(("a", "b"), ("a", "b", "c", "d"))
    assert a.grade(["a", "b"]).score == 1
    assert a.grade(["a"]).score == 0.5
    assert a.grade(["a", "c"]).score == 0.0  # 1/2 - 1/2
    assert a.grade(["c", "d"]).score == 0.0  # 0 - 1, floored
    assert a.grade(["z"]).status is Status.INVALID
    empty = MultiSelectAnswer((), ("a", "b"))
    assert empty.grade([]).score == 1 and empty.grade(["a"]).score == 0


def test_int_sequence_partial_per_position() -> None:
    a = IntSequenceAnswer((0, 1, 1, 0))
    assert a.grade([0, 1, 1, 0]).score == 1
    assert a.grade("0 1 0 0").score == 0.75
    assert a.grade("0110").score == 1
    assert a.grade([0, 1]).status is Status.INVALID


@pytest.mark.parametrize(
    ("typed", "needle"),
    [
        ("0 " * 10**6, "characters"),
        (list(range(10**6)), "expected 4 integers, got 1000000"),
        ([0, 10**400, 1, 0], "entry 1: number too large"),
        ([0, 2**64, 1, 0], "entry 1: number too large"),
        ([0, 1e300, 1, 0], "entry 1: number too large"),
        ([0, float("nan"), 1, 0], "entry 1: expected an integer"),
        ("0 1 x 0", "entry 2"),
    ],
    ids=["long-text", "long-list", "10**400", "2**64", "1e300", "nan", "letter"],
)
def test_int_sequence_hostile_input_is_invalid_with_a_message(typed: object, needle: str) -> None:
    r = IntSequenceAnswer((0, 1, 1, 0)).grade(typed)
    assert r.status is Status.INVALID and needle in r.feedback, r


def test_bits() -> None:
    a = BitStringAnswer("0101")
    assert a.grade("101").score == 1
    assert a.grade("111").score == 0
    assert a.grade("12").status is Status.INVALID


@pytest.mark.parametrize(
    ("typed", "needle"),
    [("1" * 10**6, "characters"), (10**5000, "longer number"), ("1" * 300, "0s and 1s")],
    ids=["long-text", "huge-int", "300-bits"],
)
def test_bits_hostile_input_is_invalid_with_a_message(typed: object, needle: str) -> None:
    r = BitStringAnswer("0101").grade(typed)
    assert r.status is Status.INVALID and needle in r.feedback, r


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
