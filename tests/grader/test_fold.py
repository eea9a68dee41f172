"""One folding table for pasted Unicode: a typed number and a typed formula fold the same
characters to the same ASCII."""

from __future__ import annotations

import pytest

from grader.expr import parse_expression
from grader.parse import FOLD, ParseSuccess, parse_number


@pytest.mark.parametrize("ch", sorted(chr(c) for c in FOLD))
def test_every_folded_character_works_in_numbers_and_formulas(ch: str) -> None:
    ascii_ = FOLD[ord(ch)]
    number = {"-": f"{ch}0.5", " ": f"0.5{ch}", "*": f"7.5{ch}10^-2"}[ascii_]
    parsed = parse_number(number)
    assert isinstance(parsed, ParseSuccess), (ch, parsed)
    assert parsed.value == {"-": -0.5, " ": 0.5, "*": 0.075}[ascii_]
    formula = parse_expression(
        {"-": f"x0{ch}h1", " ": f"x0{ch}*h1", "*": f"x0{ch}h1"}[ascii_], ["x0", "h1"]
    )
    assert isinstance(formula, ParseSuccess), (ch, formula)


def test_middle_dot_in_a_number_and_fullwidth_minus_in_a_formula() -> None:
    # The two tables had diverged: numbers lacked the dots, formulas the fullwidth minus.
    assert isinstance(parse_number("7.53\u00b710^-2"), ParseSuccess)
    assert isinstance(parse_expression("x0\uff0dh1", ["x0", "h1"]), ParseSuccess)
