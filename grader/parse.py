"""Parsing of typed numeric responses: numbers, fractions, scientific notation; never eval."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import orjson

# Characters students paste from word processors and phones, folded one-to-one to ASCII before
# parsing (one-to-one, so that positions in a formula's messages still point at what they typed).
# The one table for numbers and formulas.
FOLD = str.maketrans(
    {
        "\u2212": "-",  # minus sign
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\ufe63": "-",
        "\uff0d": "-",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\u00d7": "*",  # multiplication sign
        "\u00b7": "*",  # middle dot
        "\u22c5": "*",  # dot operator
    }
)
# Exponents of any length: the 200-character cap bounds the work, and "1e99999" is then a
# number too large rather than text that does not parse.
_DECIMAL = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER_RE = re.compile(rf"\s*({_DECIMAL})\s*")
_FRACTION_RE = re.compile(rf"\s*({_DECIMAL})\s*/\s*({_DECIMAL})\s*")
# "7.53 x 10^-2", "7.53*10^-2" and "10**-2", as people type scientific notation by hand.
_TIMES_TEN_RE = re.compile(
    rf"\s*(?:({_DECIMAL})\s*[x*]\s*)?10\s*(?:\^|\*\*)\s*\(?\s*([+-]?\d+)\s*\)?\s*"
)
# A matrix row in brackets, inside the outer brackets of "[[a, b], [c, d]]".
_ROW_RE = re.compile(r"[\[(]([^\[\]()]*)[\])]")
_ROW_GAP_RE = re.compile(r"[\s,;]*")
# Outer brackets around bracketed rows: "[[" ... "]]" (spaces allowed between).
_OUTER_RE = re.compile(r"[\[(]\s*[\[(].*[\])]\s*[\])]", re.DOTALL)
_ROW_SPLIT_RE = re.compile(r"\s*[;\n]\s*")
MAX_NUMBER_CHARS = 200
# JSON readers differ beyond 64 bits (orjson reads a float, the standard library an int of any
# size): a JSON number of 2^64 or more in size is refused whichever reader handed it over, so
# that the verdict does not depend on the reader. Text has no such limit ("1e20" is a number).
MAX_INT_BITS = 64
MAX_JSON_NUMBER = 2.0**MAX_INT_BITS


@dataclass(frozen=True, slots=True)
class TooLargeNumber:
    """A JSON number that no float holds (1e400, 1 and 400 zeros), kept as its text by
    `loads_json` so that the part it answers is invalid rather than the whole request refused."""

    text: str


def _json_int(text: str) -> int | TooLargeNumber:
    if len(text) <= 4000:  # int() refuses over 4300 digits
        return int(text)
    return TooLargeNumber(text[:300])  # digits a bit string typed as a number can use


def _json_float(text: str) -> float | TooLargeNumber:
    value = float(text)
    return value if math.isfinite(value) else TooLargeNumber(text[:40])


def _json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads_json(data: bytes | str) -> Any:
    """orjson.loads, except that a number beyond what a float holds becomes a `TooLargeNumber`
    (graded "number too large" where it answers a part) instead of an error or a rounded float.
    Raises orjson.JSONDecodeError for text that is not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "infinity" not in str(exc):
            raise
    # Only a document orjson refuses for its numbers pays for the standard library's hooks.
    return loads_json_exact(data)


def loads_json_exact(data: bytes | str) -> Any:
    """The standard library's reader, which keeps integers of any length exact (an id beyond
    64 bits stays the int the client sent); numbers no float holds become `TooLargeNumber`."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    try:
        return json.loads(
            text, parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant
        )
    except json.JSONDecodeError as exc:
        raise orjson.JSONDecodeError(exc.msg, exc.doc, exc.pos) from None
    except (ValueError, RecursionError) as exc:
        raise orjson.JSONDecodeError(str(exc), text, 0) from None


@dataclass(frozen=True, slots=True)
class ParseSuccess:
    value: Any
    # -1: a plain decimal was typed (count its digits with `typed_decimals` when needed);
    # None: not a plain decimal (a fraction, a JSON number), so digits typed are not known.
    decimals: int | None = None


@dataclass(frozen=True, slots=True)
class ParseFailure:
    message: str
    position: int | None = None


ParseResult = ParseSuccess | ParseFailure


def typed_decimals(text: str) -> int:
    """Digits after the decimal point as typed ("0.080" has 3; "8e-2" counts as 2)."""
    mantissa, _, exponent = text.strip().lower().partition("e")
    _, _, frac = mantissa.partition(".")
    digits = len(frac)
    if exponent:
        digits -= int(exponent)
    return max(digits, 0)


def too_large(what: str) -> str:
    """The one message for a number beyond what the grader holds, whatever its form."""
    return f"number too large: {what} (the largest number that can be graded is about 1.8e308)"


def _too_large_text(text: str) -> ParseFailure:
    shown = text.strip()
    return ParseFailure(too_large(repr(shown if len(shown) <= 40 else shown[:37] + "...")))


_BIG_JSON = ParseFailure(
    "number too large: a JSON number must be below 2^64 (about 1.8e19) in size; if you mean "
    'it, send it as text, such as "2e19"'
)


def _finite(value: float, text: str) -> ParseResult:
    if not math.isfinite(value):
        return _too_large_text(text)
    return ParseSuccess(value)


def parse_number(raw: Any) -> ParseResult:
    """Parse one real number from a JSON number or a typed string."""
    if isinstance(raw, bool):
        return ParseFailure(f"expected a number, got {str(raw).lower()}")
    if isinstance(raw, TooLargeNumber):
        return _BIG_JSON
    if isinstance(raw, int):
        return _BIG_JSON if raw.bit_length() > MAX_INT_BITS else ParseSuccess(float(raw))
    if isinstance(raw, float):
        if math.isnan(raw):
            return ParseFailure("expected a finite number, got NaN")
        return _BIG_JSON if abs(raw) >= MAX_JSON_NUMBER else ParseSuccess(raw)
    if not isinstance(raw, str):
        return ParseFailure(f"expected a number, got {type(raw).__name__}")
    if len(raw) > MAX_NUMBER_CHARS:
        return ParseFailure(f"expected a number, got {len(raw)} characters of text")
    # Most answers are plain ASCII decimals: one pattern match, no folding.
    m = _NUMBER_RE.fullmatch(raw) if raw.isascii() else None
    if m:
        value = float(m.group(1))
        if value - value == 0.0:
            return ParseSuccess(value, -1)
    text = raw.translate(FOLD)
    if not text.strip():
        return ParseFailure("expected a number, got an empty answer")
    m = _NUMBER_RE.fullmatch(text)
    if m:
        value = float(m.group(1))
        if value - value != 0.0:  # inf (nan cannot match the pattern)
            return _too_large_text(text)
        return ParseSuccess(value, -1)
    m = _FRACTION_RE.fullmatch(text)
    if m:
        num, den = float(m.group(1)), float(m.group(2))
        if den == 0:
            return ParseFailure("division by zero in the fraction", text.index("/"))
        return _finite(num / den, text)
    m = _TIMES_TEN_RE.fullmatch(text)
    if m:
        mantissa = float(m.group(1)) if m.group(1) else 1.0
        if not math.isfinite(mantissa):
            return _too_large_text(text)
        if mantissa == 0:
            return ParseSuccess(0.0)
        # float() reads an exponent of any length (to inf or 0.0); 10.0 ** n raises instead.
        return _finite(mantissa * float(f"1e{m.group(2)}"), text)
    return ParseFailure(
        f"expected a number such as 0.0753, -.5, 7.53e-2 or 3/40, got {raw.strip()[:40]!r}",
        _first_bad_position(text),
    )


def _first_bad_position(text: str) -> int | None:
    for i, ch in enumerate(text):
        if not (ch.isdigit() or ch in " +-.eE/"):
            return i
    return None


def parse_number_list(raw: Any, expected_len: int | None = None) -> ParseResult:
    """A vector typed as a JSON list or as "0.1, 0.2" / "[0.1 0.2]"; entries parse as numbers."""
    if isinstance(raw, str):
        text = raw.translate(FOLD).strip()
        if len(text) > 20 * MAX_NUMBER_CHARS:
            return ParseFailure(f"expected a list of numbers, got {len(text)} characters of text")
        if text[:1] in "[(" and text[-1:] in "])":
            text = text[1:-1]
        items: list[Any] = (
            [t for t in re.split(r"[,;\s]+", text.strip()) if t] if text.strip() else []
        )
    elif isinstance(raw, list | tuple):
        items = list(raw)
    else:
        return ParseFailure(f"expected a list of numbers, got {type(raw).__name__}")
    if expected_len is not None and len(items) != expected_len:
        return ParseFailure(f"expected {expected_len} numbers, got {len(items)}")
    values = []
    for i, item in enumerate(items):
        parsed = parse_number(item)
        if isinstance(parsed, ParseFailure):
            return ParseFailure(f"entry {i}: {parsed.message}")
        values.append(parsed.value)
    return ParseSuccess(values)


def parse_number_matrix(raw: Any, rows: int, cols: int) -> ParseResult:
    """A matrix typed as a JSON list of rows, or as text the way a stem shows one:
    "[[0.6, 0], [0, 0.5]]", "[0.6 0; 0 0.5]", or one row a line; the value is the entries
    row by row."""
    shape = f"{rows}x{cols}"
    if isinstance(raw, str):
        text = raw.translate(FOLD).strip()
        if len(text) > 20 * MAX_NUMBER_CHARS * rows:
            return ParseFailure(f"expected a {shape} matrix, got {len(text)} characters of text")
        if _OUTER_RE.fullmatch(text):
            text = text[1:-1].strip()
        items: list[Any] = []
        if any(c in text for c in "[]()"):
            # Rows in their own brackets; only separators may stand between them.
            if not _ROW_GAP_RE.fullmatch(_ROW_RE.sub("", text)):
                return ParseFailure(
                    f"expected a {shape} matrix written as rows in brackets such as "
                    f"[[a, b], [c, d]], got {raw.strip()[:40]!r}"
                )
            items = _ROW_RE.findall(text)
        if len(items) == 1 and rows > 1:  # "[a b; c d]": the rows inside one pair of brackets
            text, items = items[0], []
        if not items:
            items = [r for r in _ROW_SPLIT_RE.split(text.strip()) if r.strip()]
        if len(items) != rows:
            return ParseFailure(
                f"expected a {shape} matrix ({rows} rows: [[a, b], [c, d]], or rows separated "
                f"by ';' or new lines), got {len(items)} row{'s' if len(items) != 1 else ''}"
            )
    elif isinstance(raw, list | tuple):
        if len(raw) != rows:
            return ParseFailure(f"expected a {shape} matrix as a list of rows, got {len(raw)} rows")
        items = list(raw)
    else:
        return ParseFailure(
            f"expected a {shape} matrix as a list of rows, got {type(raw).__name__}"
        )
    flat: list[float] = []
    for i, row in enumerate(items):
        parsed = parse_number_list(row, cols)
        if isinstance(parsed, ParseFailure):
            return ParseFailure(f"row {i}: {parsed.message}")
        flat.extend(parsed.value)
    return ParseSuccess(flat)
