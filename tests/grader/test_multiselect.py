"""Multi-select answers: blank text is unanswered (invalid), an empty list selects no option."""

from __future__ import annotations

from grader import MultiSelectAnswer, Status


def test_blank_text_is_invalid_and_an_empty_list_selects_none() -> None:
    none_right = MultiSelectAnswer((), ("A", "B"))
    assert none_right.grade([]).status is Status.CORRECT
    for blank in ("", "   "):
        result = none_right.grade(blank)
        assert result.status is Status.INVALID and "empty list" in result.feedback
    some_right = MultiSelectAnswer(("B",), ("A", "B"))
    assert some_right.grade("").status is Status.INVALID
    assert some_right.grade("B").status is Status.CORRECT
    assert some_right.grade([]).status is Status.INCORRECT
