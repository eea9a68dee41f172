"""Multi-select answers: the forms a student may type, the empty selection, and the score rule
(README "Grading"): max(0, hits/|correct| - false picks/|wrong|); when no option is correct,
the empty selection scores 1 and any pick 0."""

from __future__ import annotations

import pytest

from grader import MultiSelectAnswer, SpecError, Status

OPTIONS = ("A", "B", "C", "D", "E")
B_AND_C = MultiSelectAnswer(("B", "C"), OPTIONS)
NOTHING = MultiSelectAnswer((), OPTIONS)
EVERYTHING = MultiSelectAnswer(OPTIONS, OPTIONS)


@pytest.mark.parametrize(
    "typed",
    [
        "B,C",
        "b,c",
        "b, c",
        "B C",
        "c;b",
        "{B, C}",
        "[b c]",
        "(B,C)",
        '["B","C"]',
        "['b', 'c']",
        " B , C , B ",
        ["B", "C"],
        ["c", "b"],
        (" B", "C "),
    ],
)
def test_every_listed_form_selects_b_and_c(typed: object) -> None:
    assert B_AND_C.grade(typed).status is Status.CORRECT


@pytest.mark.parametrize(
    "typed",
    [
        [],
        "[]",
        "{}",
        "()",
        "none",
        "None",
        "NONE",
        " none ",
        "{none}",
        ["none"],
        "none of these",
        "\u2205",
    ],
)
def test_the_empty_selection_has_several_spellings(typed: object) -> None:
    assert NOTHING.grade(typed).status is Status.CORRECT
    assert B_AND_C.grade(typed).score == 0


@pytest.mark.parametrize(
    ("typed", "needle"),
    [
        ("", "to select none, answer none"),
        ("   ", "to select none, answer none"),
        ([""], "to select none, answer none"),
        (",", "no option ids"),
        ("none, A", "'none' cannot be selected together"),
        (["A", "none"], "'none' cannot be selected together"),
        ("B, Z", "unknown option ids ['Z']"),
        ("B C D E F G H" * 1000, "characters"),
        (["A"] * 10_000, "a list of 10000 items"),
        ([["B"]], "entry 0: expected an option id as text"),
        ([10**400], "entry 0: number too large"),
        ({"B": True}, "got dict"),
        ("]]", "unknown option ids"),
    ],
)
def test_what_cannot_be_read_is_invalid_with_a_message(typed: object, needle: str) -> None:
    for spec in (NOTHING, B_AND_C):
        result = spec.grade(typed)
        assert result.status is Status.INVALID and needle in result.feedback, result


def test_the_score_rule_at_its_edges() -> None:
    half_right = B_AND_C.grade("B").score
    assert half_right == 0.5
    assert B_AND_C.grade("B, C, A").score == pytest.approx(1 - 1 / 3, abs=1e-6)
    assert B_AND_C.grade("A, D, E").score == 0  # 0 - 1, floored
    assert B_AND_C.grade("none").score == 0
    # Nothing qualifies: only "none" is right; one wrong pick is no better than any other.
    assert NOTHING.grade("none").score == 1
    for picks in ("A", "A, B", "A, B, C, D, E"):
        result = NOTHING.grade(picks)
        assert result.score == 0 <= half_right and result.status is Status.INCORRECT
        assert "no option qualifies" in result.feedback
    # Everything qualifies: the false-picks term is 0, partial credit for what was found.
    assert EVERYTHING.grade("A, B, C, D").score == 0.8
    assert EVERYTHING.grade("A").score == 0.2
    assert EVERYTHING.grade("none").score == 0


def test_option_ids_that_typed_text_cannot_select_are_refused() -> None:
    for bad in (("a", "A"), ("A", "none"), ("A", "B C"), ("A", "B,C"), ("A", "")):
        with pytest.raises(SpecError):
            MultiSelectAnswer((), bad)
