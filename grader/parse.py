"""Parsing of typed numeric responses: numbers, fractions, scientific notation; never eval."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

# Characters students paste from word processors and phones, folded to ASCII before parsing.
_FOLD = str.maketrans(
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
        "\u00d7": "*",
    }
)
_DECIMAL = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,4})?"
_NUMBER_RE = re.compile(rf"\s*({_DECIMAL})\s*")
_FRACTION_RE = re.compile(rf"\s*({_DECIMAL})\s*/\s*({_DECIMAL})\s*")
# "7.53 x 10^-2" and "7.53*10^-2", as people type scientific notation by hand.
_TIMES_TEN_RE = re.compile(
    rf"\s*({_DECIMAL})\s*[x*]\s*10\s*(?:\^|\*\*)\s*\(?\s*([+-]?\d{{1,4}})\s*\)?\s*"
)
MAX_NUMBER_CHARS = 200


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


def _finite(value: float, text: str) -> ParseResult:
    if not math.isfinite(value):
        return ParseFailure(f"{text.strip()!r} is too large to be a number here")
    return ParseSuccess(value)


def parse_number(raw: Any) -> ParseResult:
    """Parse one real number from a JSON number or a typed string."""
    if isinstance(raw, bool):
        return ParseFailure(f"expected a number, got {str(raw).lower()}")
    if isinstance(raw, int | float):
        value = float(raw)
        if not math.isfinite(value):
            return ParseFailure("expected a finite number")
        return ParseSuccess(value)
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
    text = raw.translate(_FOLD)
    if not text.strip():
        return ParseFailure("expected a number, got an empty answer")
    m = _NUMBER_RE.fullmatch(text)
    if m:
        value = float(m.group(1))
        if value - value != 0.0:  # inf (nan cannot match the pattern)
            return ParseFailure(f"{text.strip()!r} is too large to be a number here")
        return ParseSuccess(value, -1)
    m = _FRACTION_RE.fullmatch(text)
    if m:
        num, den = float(m.group(1)), float(m.group(2))
        if den == 0:
            return ParseFailure("division by zero in the fraction", text.index("/"))
        return _finite(num / den, text)
    m = _TIMES_TEN_RE.fullmatch(text)
    if m:
        try:
            value = float(m.group(1)) * 10.0 ** int(m.group(2))
        except OverflowError:
            return ParseFailure(f"{text.strip()!r} is too large to be a number here")
        return _finite(value, text)
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
        text = raw.translate(_FOLD).strip()
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
