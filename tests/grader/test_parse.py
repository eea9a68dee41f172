"""Parsing typed numbers: what SPEC.md says must parse does, the rest is a message, never a raise."""

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.parse import (
    ParseFailure,
    ParseSuccess,
    TooLargeNumber,
    loads_json,
    parse_number,
    parse_number_list,
    parse_number_matrix,
    typed_decimals,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.0753", 0.0753),
        ("7.53e-2", 0.0753),
        ("-.5", -0.5),
        ("3/40", 0.075),
        (" 0.08 ", 0.08),
        ("\u22120.5", -0.5),
        ("+2", 2.0),
        ("1E3", 1000.0),
        ("7.53 x 10^-2", 0.0753),
        ("2*10**3", 2000.0),
        ("-3 / 4", -0.75),
        ("5.", 5.0),
        (0.25, 0.25),
        (3, 3.0),
        ("10^-2", 0.01),
        ("10**3", 1000.0),
        ("1e-99999", 0.0),
        ("0 x 10^99999", 0.0),
        (2**64 - 1, 1.8446744073709552e19),
    ],
)
def test_parses(text: object, value: float) -> None:
    result = parse_number(text)
    assert isinstance(result, ParseSuccess), result
    assert result.value == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty"),
        ("abc", "expected a number"),
        ("1/0", "division by zero"),
        ("nan", "expected a number"),
        ("inf", "expected a number"),
        ("1e99999", "number too large"),
        ("1_000", "expected a number"),
        ("0x10", "expected a number"),
        ("1,5", "expected a number"),
        (True, "expected a number"),
        (None, "expected a number"),
        ([1], "expected a number"),
        ("9" * 500, "characters"),
        (float("nan"), "finite"),
        (float("inf"), "number too large"),
        ("10**400", "number too large"),
        ("1e400", "number too large"),
        ("-1e400", "number too large"),
        ("1e400/3", "number too large"),
        ("2^999999999999", "expected a number"),
        ("1e308*10^10", "too large"),
    ],
)
def test_rejects_with_a_message(text: object, needle: str) -> None:
    result = parse_number(text)
    assert isinstance(result, ParseFailure)
    assert needle in result.message


def test_typed_decimals() -> None:
    assert typed_decimals("0.080") == 3
    assert typed_decimals("8e-2") == 2
    assert typed_decimals("12") == 0
    assert parse_number("0.0753").decimals == -1  # a plain decimal: digits counted on demand
    assert parse_number("3/40").decimals is None


def test_lists() -> None:
    assert parse_number_list("[0.1, 0.2 0.3]").value == [0.1, 0.2, 0.3]
    assert parse_number_list(["1/2", 0.5], 2).value == [0.5, 0.5]
    assert "expected 3 numbers, got 2" in parse_number_list([1, 2], 3).message
    assert "entry 1" in parse_number_list([1, "x"]).message


@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    assert isinstance(parse_number(text), ParseSuccess | ParseFailure)
    assert isinstance(parse_number_list(text), ParseSuccess | ParseFailure)


@pytest.mark.parametrize(
    "big",
    [10**400, -(10**400), 2**64, -(2**64) - 1],
    ids=["10**400", "-10**400", "2**64", "-2**64-1"],
)
def test_a_json_number_beyond_64_bits_is_too_large(big: float) -> None:
    result = parse_number(big)
    assert isinstance(result, ParseFailure) and result.message.startswith("number too large")


def test_number_lists_and_matrices_refuse_huge_numbers_with_the_entry() -> None:
    assert "entry 1: number too large" in parse_number_list([1, 10**400]).message
    assert (
        "row 0: entry 0: number too large"
        in parse_number_matrix("[[1e999, 0], [0, 1]]", 2, 2).message
    )


@given(st.text(max_size=300))
def test_arbitrary_matrix_text_never_raises(text: str) -> None:
    assert isinstance(parse_number_matrix(text, 2, 2), ParseSuccess | ParseFailure)


@pytest.mark.parametrize(
    "text",
    [
        '{"h": 1e400}',
        '{"h": -1e400}',
        '{"h": ' + "1" + "0" * 41 + "}",
        '{"h": ' + "9" * 5000 + "}",
        '{"h": 18446744073709551616}',
        '{"h": 2e19}',
    ],
    ids=["1e400", "-1e400", "10**41", "5000-digits", "2**64", "2e19"],
)
def test_a_json_number_of_2_to_the_64_or_more_is_too_large(text: str) -> None:
    result = parse_number(loads_json(text)["h"])
    assert isinstance(result, ParseFailure) and result.message.startswith("number too large")


def test_just_below_2_to_the_64_is_a_number_and_text_has_no_such_limit() -> None:
    assert parse_number(loads_json('{"h": 18446744073709551615}')["h"]).value == 2.0**64
    assert parse_number(1.8e19).value == 1.8e19
    assert parse_number("2e19").value == 2e19
    assert loads_json('{"h": 1e400}')["h"] == TooLargeNumber("1e400")


def test_loads_json_is_orjson_for_everything_else() -> None:
    doc = '{"a": [1, 2.5, -3e-2], "b": "12345678901234567890123", "c": 18446744073709551615}'
    assert loads_json(doc) == orjson.loads(doc)
    assert loads_json(doc.encode()) == orjson.loads(doc)
    for bad in ('{"a": NaN}', '{"a": Infinity}', '{"a": 1e400', "nope", "[" * 10**5 + "1e400"):
        with pytest.raises(orjson.JSONDecodeError):
            loads_json(bad)
