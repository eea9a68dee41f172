"""Answer kinds: each spec holds its reference, says how a response compares, and gives feedback."""

from __future__ import annotations

import html
import importlib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from grader.errors import SpecError
from grader.parse import (
    MAX_INT_BITS,
    ParseFailure,
    TooLargeNumber,
    parse_number,
    parse_number_list,
    parse_number_matrix,
    too_large,
    typed_decimals,
)
from grader.result import PartResult, Status
from grader.tolerance import Tolerance, is_exact, read_override

# ASCII only: str.isdigit() is true for "²", which int() refuses.
_INT_RE = re.compile(r"[+-]?[0-9]{1,9}")
_DIGITS_RE = re.compile(r"[0-9]+")
# Text longer than any honest answer of its kind is refused before it is split or scanned.
MAX_CHOICE_CHARS = 200
MAX_SELECTION_CHARS = 2000
MAX_SELECTION_ITEMS = 200
MAX_SEQUENCE_CHARS = 4000
MAX_BITS_CHARS = 256
# Words a student may type for the empty selection (case-insensitive); "" stays unanswered.
NONE_WORDS = frozenset({"none", "none of these", "none of them", "nothing", "\u2205"})
# The value of a student page's "none of these" box (a multi-select's explicit empty answer).
NONE_VALUE = "none"
# The option that the exports add to every multi-select: how a checkbox says "none".
NONE_OF_THESE = "none of these"
# How a multi-select label says to type the answer, and what the exports say instead.
TYPED_SELECTION = (
    ": give their letters, such as B, C, or write none; when none does, any letter scores 0."
)
TICKED_SELECTION = (
    f": tick each one, or only “{NONE_OF_THESE}” when none does; with it, any other tick scores 0."
)
# Characters that separate option ids in typed text, so an id may not contain them.
_SELECTION_SPLIT_RE = re.compile(r"[\s,;]+")
_SELECTION_BAD_CHARS = frozenset(" \t\n\r,;[](){}'\"")
CORRECT = "Correct."
RIGHT = PartResult(1.0, Status.CORRECT, CORRECT)
RIGHT_FROM_ROUNDED = PartResult(
    1.0, Status.CORRECT, "Correct (from the rounded values the question gives)."
)


@dataclass(frozen=True, slots=True)
class Misconception:
    """A wrong value that a known mistake produces, with the feedback that names the mistake."""

    code: str
    value: Any
    message: str


@dataclass(frozen=True, slots=True)
class CarryForward:
    """Error carried forward: when a student's answers to the `inputs` parts are wrong, this part
    is worth `credit` if it matches `compute(their values)`, the right working from their own
    earlier numbers. `compute` gets the parsed values of the answered inputs and returns the
    reference, or None when those values give no sensible one."""

    inputs: tuple[str, ...]
    compute: Callable[[Mapping[str, float]], float | None]
    credit: float = 0.5


class AnswerSpec:
    """Base of every answer kind. A kind is one class holding everything about it: parsing and
    grading, its JSON form, the words a stem and an export print for it, an example right answer
    and a near miss, and the HTML input a student page renders. `KIND_METHODS` lists what every
    registered kind implements (a test walks the registry)."""

    kind: ClassVar[str]

    def grade(self, raw: Any) -> PartResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AnswerSpec:  # pragma: no cover - abstract
        raise NotImplementedError

    def correct_response(self) -> Any:  # pragma: no cover - abstract
        """What a student who got it right would type."""
        raise NotImplementedError

    def near_miss(self) -> Any:  # pragma: no cover - abstract
        """A response just outside what the spec accepts."""
        raise NotImplementedError

    def stem_prompt(self, label: str) -> str:
        """The part's line in a stem's list of parts, before its `[id]` tag."""
        return f"${label} = ?$"

    def prompt(self, label: str) -> str:
        """The part's words in an export, where the answer box follows."""
        return f"${label} = ?$"

    def precision(self) -> str | None:
        """The precision a student is told, in a variant's JSON without answers."""
        return None

    def override(self, raw: Any, where: str) -> AnswerSpec:
        """This spec with a tolerance override applied; kinds without a tolerance ignore it."""
        return self

    def html_input(self, part_id: str, label: str, value: str | None = None) -> str:
        """The labelled input for a student page: one text box named `part_id`."""
        return text_input(part_id, label, value)

    def preview(self, raw: Any) -> str:
        """HTML showing how a submitted response was read, put next to its input after a
        submission; "" for kinds whose response is shown plainly by the input itself."""
        return ""

    def form_value(self, values: list[str]) -> Any:
        """The response `grade` takes, from the strings a form submitted for this part; None
        when it submitted nothing (a missing part)."""
        if not values:
            return None
        return values[0] if len(values) == 1 else list(values)  # several: graded invalid


# What every registered kind implements itself; the rest have defaults that suit a formula-like
# kind (a `$label = ?$` prompt, one text box). A test walks the registry for these.
KIND_METHODS = ("grade", "to_json", "from_json", "correct_response", "near_miss")


def _attr(text: Any) -> str:
    return html.escape(str(text), quote=True)


def text_input(part_id: str, label: str, value: str | None, hint: str = "") -> str:
    shown = "" if value is None else f' value="{_attr(value)}"'
    placeholder = f' placeholder="{_attr(hint)}"' if hint else ""
    return (
        f'<label for="{_attr(part_id)}">{_attr(label)}</label> '
        f'<input type="text" id="{_attr(part_id)}" name="{_attr(part_id)}"{shown}{placeholder}'
        ' autocomplete="off">'
    )


def _picks(
    part_id: str, label: str, options: Sequence[str], chosen: set[str], box: str, extra: str = ""
) -> str:
    rows = []
    for i, o in enumerate(options):
        ticked = " checked" if o in chosen else ""
        rows.append(
            f'<label><input type="{box}" name="{_attr(part_id)}" value="{_attr(o)}"'
            f' id="{_attr(part_id)}-{i}"{ticked}> {_attr(o)}</label>'
        )
    return f"<fieldset><legend>{_attr(label)}</legend>" + "".join(rows) + extra + "</fieldset>"


def _invalid(message: str) -> PartResult:
    return PartResult(0.0, Status.INVALID, message)


@dataclass(frozen=True, slots=True)
class NumericAnswer(AnswerSpec):
    """A real number compared with a tolerance; `also` lists other accepted references
    (values computed from rounded intermediates the question states)."""

    kind: ClassVar[str] = "numeric"
    value: float
    tolerance: Tolerance
    also: tuple[float, ...] = ()
    min_decimals: int | None = None
    misconceptions: tuple[Misconception, ...] = ()
    carry: CarryForward | None = field(default=None, compare=False)
    # The misconceptions this tolerance can tell from a right answer (all are kept, so that an
    # override of the tolerance decides afresh).
    _active: tuple[Misconception, ...] = field(default=(), repr=False, compare=False)
    _bounds: tuple[tuple[float, float], ...] = field(default=(), repr=False, compare=False)
    _wrong: PartResult = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "_wrong",
            PartResult(
                0.0,
                Status.INCORRECT,
                f"Incorrect: this does not match the correct value {self.tolerance.describe()}.",
            ),
        )
        if not math.isfinite(self.value):
            raise SpecError(f"numeric answer value must be finite (got {self.value!r})")
        bounds = [self.tolerance.interval(self.value)]
        bounds += [self.tolerance.interval(v) for v in self.also]
        object.__setattr__(self, "_bounds", tuple(bounds))
        # Never call a right answer a mistake: drop a misconception inside the accepted set.
        kept = tuple(m for m in self.misconceptions if not self._accepts(m.value))
        object.__setattr__(self, "_active", kept)

    @property
    def recognised(self) -> tuple[Misconception, ...]:
        """The misconceptions this tolerance can tell from a right answer."""
        return self._active

    def _accepts(self, s: float) -> bool:
        return any(lo <= s <= hi for lo, hi in self._bounds)

    def grade(self, raw: Any) -> PartResult:
        parsed = parse_number(raw)
        if parsed.__class__ is ParseFailure:
            return _invalid(parsed.message)
        s = parsed.value
        lo, hi = self._bounds[0]
        exact = lo <= s <= hi
        if exact or self._accepts(s):
            # min_decimals keeps a coarse rounding from passing as an answer; the exact value
            # ("-0.4" for -0.4, as "-2/5" is) is right however it is typed. A short rounding is
            # a format the student fixes and resubmits (invalid), never a wrong answer.
            if (
                self.min_decimals is not None
                and parsed.decimals == -1
                and not any(is_exact(s, r) for r in (self.value, *self.also))
            ):
                typed = typed_decimals(raw)
                if typed < self.min_decimals:
                    return _invalid(
                        f"Give at least {self.min_decimals} digits after the decimal point (you "
                        f"gave {typed}): {raw.strip()[:40]} is close to the answer but not exact, "
                        "so answer again with more digits."
                    )
            return RIGHT if exact else RIGHT_FROM_ROUNDED
        for m in self._active:
            if self.tolerance.accepts(s, m.value):
                return PartResult(0.0, Status.INCORRECT, f"Incorrect. {m.message}", m.code)
        return self._wrong

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "value": self.value,
            "tolerance": self.tolerance.to_json(),
        }
        if self.also:
            out["also"] = list(self.also)
        if self.min_decimals is not None:
            out["min_decimals"] = self.min_decimals
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NumericAnswer:
        tol = Tolerance.from_json(data.get("tolerance"))
        return cls(float(data["value"]), tol, tuple(data.get("also", ())), data.get("min_decimals"))

    def correct_response(self) -> str:
        typed = repr(self.value)
        if self.min_decimals and "e" not in typed:
            whole, _, frac = typed.partition(".")
            typed = f"{whole}.{frac.ljust(self.min_decimals, '0')}"  # 1.5 typed as 1.50
        return typed

    def near_miss(self) -> str:
        w = self.tolerance.half_width(self.value)
        for sign in (1, -1):
            s = self.value + sign * max(1.5 * w, 1e-9 * max(1.0, abs(self.value)))
            if not any(self.tolerance.accepts(s, r) for r in (self.value, *self.also)):
                return repr(s)
        raise AssertionError(f"no near miss outside every accepted interval of {self}")

    def _how(self) -> str:
        how = self.tolerance.describe()
        if self.min_decimals:
            how += f", with at least {self.min_decimals} digits after the decimal point"
        return how

    def stem_prompt(self, label: str) -> str:
        return f"${label} = ?$ — {self._how()}"

    def prompt(self, label: str) -> str:
        return f"${label} = ?$ — {self._how()}"

    def precision(self) -> str:
        return self.tolerance.describe()

    def override(self, raw: Any, where: str) -> NumericAnswer:
        tol, min_decimals = read_override(raw, where=where)
        digits = self.min_decimals if min_decimals is None else min_decimals
        return NumericAnswer(
            self.value, tol or self.tolerance, self.also, digits, self.misconceptions, self.carry
        )

    def html_input(self, part_id: str, label: str, value: str | None = None) -> str:
        return text_input(part_id, label, value, "a number")


def _shape(value: Any) -> tuple[int, ...]:
    if isinstance(value, list | tuple) and value and isinstance(value[0], list | tuple):
        return (len(value), len(value[0]))
    return (len(value),)


@dataclass(frozen=True, slots=True)
class VectorAnswer(AnswerSpec):
    """A vector (list) or matrix (list of rows) compared element-wise; partial credit is the
    fraction of entries within tolerance."""

    kind: ClassVar[str] = "vector"
    value: tuple[Any, ...]
    tolerance: Tolerance
    also: tuple[tuple[Any, ...], ...] = ()
    misconceptions: tuple[Misconception, ...] = ()
    _active: tuple[Misconception, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _freeze(self.value))
        object.__setattr__(self, "also", tuple(_freeze(a) for a in self.also))
        # Never call a right answer a mistake: drop a misconception the tolerance cannot tell apart.
        refs = [self._flat(r) for r in (self.value, *self.also)]
        kept = tuple(
            m
            for m in self.misconceptions
            if not any(
                all(
                    self.tolerance.accepts(s, r)
                    for s, r in zip(self._flat(m.value), ref, strict=True)
                )
                for ref in refs
            )
        )
        object.__setattr__(self, "_active", kept)

    @property
    def recognised(self) -> tuple[Misconception, ...]:
        """The misconceptions this tolerance can tell from a right answer."""
        return self._active

    @property
    def shape(self) -> tuple[int, ...]:
        return _shape(self.value)

    def _flat(self, value: Any) -> list[float]:
        if len(self.shape) == 2:
            return [float(x) for row in value for x in row]
        return [float(x) for x in value]

    def _parse(self, raw: Any) -> list[float] | str:
        shape = self.shape
        if len(shape) == 1:
            parsed = parse_number_list(raw, shape[0])
        else:
            parsed = parse_number_matrix(raw, shape[0], shape[1])
        return parsed.message if isinstance(parsed, ParseFailure) else parsed.value

    def _label(self, k: int) -> str:
        if len(self.shape) == 2:
            return f"[{k // self.shape[1]}][{k % self.shape[1]}]"
        return f"[{k}]"

    def grade(self, raw: Any) -> PartResult:
        got = self._parse(raw)
        if isinstance(got, str):
            return _invalid(got)
        best: list[int] | None = None
        for ref in (self.value, *self.also):
            wrong = [
                k
                for k, (s, r) in enumerate(zip(got, self._flat(ref), strict=True))
                if not self.tolerance.accepts(s, r)
            ]
            if best is None or len(wrong) < len(best):
                best = wrong
        assert best is not None
        n = len(got)
        if not best:
            return PartResult(1.0, Status.CORRECT, CORRECT)
        for m in self._active:
            if all(
                self.tolerance.accepts(s, r) for s, r in zip(got, self._flat(m.value), strict=True)
            ):
                return PartResult(0.0, Status.INCORRECT, f"Incorrect. {m.message}", m.code)
        score = round((n - len(best)) / n, 6)
        labels = ", ".join(self._label(k) for k in best)
        status = Status.PARTIAL if score > 0 else Status.INCORRECT
        return PartResult(
            score,
            status,
            f"{len(best)} of {n} entries do not match the correct values {self.tolerance.describe()}: {labels}.",
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "value": _thaw(self.value),
            "tolerance": self.tolerance.to_json(),
        }
        if self.also:
            out["also"] = [_thaw(a) for a in self.also]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VectorAnswer:
        tol = Tolerance.from_json(data.get("tolerance"))
        return cls(data["value"], tol, tuple(data.get("also", ())))

    def correct_response(self) -> Any:
        return _thaw(self.value)

    def near_miss(self) -> Any:
        value = _thaw(self.value)
        row = value[0] if isinstance(value[0], list) else value
        r = row[0]
        row[0] = r + 1.5 * self.tolerance.half_width(r) + 1e-9
        return value

    def stem_prompt(self, label: str) -> str:
        return f"${label} = ?$ — a list, each entry {self.tolerance.describe()}"

    def prompt(self, label: str) -> str:
        shape = self.shape
        what = f"a {shape[0]}×{shape[1]} matrix" if len(shape) == 2 else f"{shape[0]} numbers"
        return f"${label} = ?$ — {what}, each {self.tolerance.describe()}"

    def precision(self) -> str:
        return self.tolerance.describe()

    def override(self, raw: Any, where: str) -> VectorAnswer:
        tol, _ = read_override(raw, where=where)
        return VectorAnswer(self.value, tol or self.tolerance, self.also, self.misconceptions)

    def html_input(self, part_id: str, label: str, value: str | None = None) -> str:
        shape = self.shape
        if len(shape) == 1:
            return text_input(part_id, label, value, f"{shape[0]} numbers, e.g. 0.1, 0.2")
        # A matrix is typed one row per line, as `parse_number_matrix` reads it.
        rows, cols = shape
        return (
            f'<label for="{_attr(part_id)}">{_attr(label)}</label> '
            f'<textarea id="{_attr(part_id)}" name="{_attr(part_id)}" rows="{rows}"'
            f' placeholder="{rows} rows of {cols} numbers">{_attr(value or "")}</textarea>'
        )


def _freeze(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def _fold(text: str) -> str:
    """An option id as compared: case and spaces do not matter ("> 16" is ">16", "b" is "B")."""
    return "".join(text.split()).casefold()


def _too_large_int(raw: int) -> bool:
    return raw.bit_length() > MAX_INT_BITS


def _id_text(raw: Any, where: str = "") -> str | PartResult:
    """One option id as sent: text, or a JSON number standing for a numeric id (16 for "16")."""
    if isinstance(raw, bool):
        return _invalid(f"{where}expected an option id, got {str(raw).lower()}")
    if isinstance(raw, TooLargeNumber):
        return _invalid(where + too_large(repr(raw.text[:40])))
    if isinstance(raw, int):
        if _too_large_int(raw):
            return _invalid(where + too_large(f"an integer of more than {MAX_INT_BITS} bits"))
        return str(raw)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            return _invalid(where + too_large(repr(raw)))
        return f"{raw:g}"
    if not isinstance(raw, str):
        return _invalid(f"{where}expected an option id as text, got {type(raw).__name__}")
    if len(raw) > MAX_CHOICE_CHARS:
        return _invalid(f"{where}expected an option id, got {len(raw)} characters of text")
    return raw


@dataclass(frozen=True, slots=True)
class ChoiceAnswer(AnswerSpec):
    """One option id out of several, matched whatever its case and spacing; each option may
    carry an explanation the feedback shows."""

    kind: ClassVar[str] = "choice"
    value: str
    options: tuple[str, ...]
    explanations: tuple[tuple[str, str], ...] = ()
    _lookup: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.value not in self.options:
            raise SpecError(
                f"choice answer {self.value!r} is not one of the options {list(self.options)!r}"
            )
        lookup = {_fold(o): o for o in self.options}
        if len(lookup) != len(self.options):
            raise SpecError(
                "choice options must differ in more than case and spacing "
                f"(got {list(self.options)!r})"
            )
        object.__setattr__(self, "_lookup", lookup)

    def grade(self, raw: Any) -> PartResult:
        if isinstance(raw, list | tuple) and len(raw) == 1:  # ["B"], as a form may send one pick
            raw = raw[0]
        text = _id_text(raw)
        if isinstance(text, PartResult):
            return text
        choice = self._lookup.get(_fold(text))
        if choice is None:
            return _invalid(
                f"expected one of {', '.join(self.options)} (case does not matter), "
                f"got {text.strip()[:40]!r}"
            )
        why = dict(self.explanations).get(choice, "")
        if choice == self.value:
            return PartResult(1.0, Status.CORRECT, f"Correct. {why}".strip())
        return PartResult(0.0, Status.INCORRECT, f"Incorrect. {why}".strip())

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value, "options": list(self.options)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChoiceAnswer:
        return cls(data["value"], tuple(data["options"]))

    def correct_response(self) -> str:
        return self.value

    def near_miss(self) -> str:
        return next(o for o in self.options if o != self.value)

    def stem_prompt(self, label: str) -> str:
        return label

    def prompt(self, label: str) -> str:
        return label

    def html_input(self, part_id: str, label: str, value: str | None = None) -> str:
        choice = self._lookup.get(_fold(value)) if value is not None else None
        return _picks(part_id, label, self.options, {choice} if choice else set(), "radio")


@dataclass(frozen=True, slots=True)
class MultiSelectAnswer(AnswerSpec):
    """A set of option ids. Score = max(0, hits/|correct| - false picks/|wrong|), the false-picks
    term 0 when every option is correct; when no option is correct, the empty selection scores 1
    and any other 0 (it is a wrong answer to the question "which ones?", as in an LMS where
    "none of these" is the one right option)."""

    kind: ClassVar[str] = "multiselect"
    value: tuple[str, ...]
    options: tuple[str, ...]
    explanations: tuple[tuple[str, str], ...] = ()
    _lookup: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", tuple(sorted(self.value)))
        extra = set(self.value) - set(self.options)
        if extra:
            raise SpecError(f"multi-select answer has ids that are not options: {sorted(extra)!r}")
        for o in self.options:
            # Typed answers are split on these characters and "none" means no option, so an
            # id made of them could not be selected.
            if not o or set(o) & _SELECTION_BAD_CHARS or o.casefold() in NONE_WORDS:
                raise SpecError(
                    "multi-select option ids must be non-empty, without spaces, commas, "
                    f"semicolons, brackets or quotes, and not 'none' (got {o!r})"
                )
        lookup = {o.casefold(): o for o in self.options}
        if len(lookup) != len(self.options):
            raise SpecError(
                f"multi-select options must differ in more than case (got {list(self.options)!r})"
            )
        object.__setattr__(self, "_lookup", lookup)

    def _items(self, raw: Any) -> list[str] | PartResult:
        if isinstance(raw, str):
            if len(raw) > MAX_SELECTION_CHARS:
                return _invalid(f"expected option ids, got {len(raw)} characters of text")
            text = raw.strip()
            if not text:
                # A blank box is an unanswered part, not a choice of no option.
                return _invalid("no option ids given; to select none, answer none")
            if text[:1] in "[{(" and text[-1:] in "]})":
                text = text[1:-1].strip()
                if not text:  # "[]", "{}", "()": the empty selection, written out
                    return []
            items = [t.strip("'\"") for t in _SELECTION_SPLIT_RE.split(text)]
            if not any(items):
                return _invalid(f"no option ids given in {raw.strip()[:20]!r}")
            return items
        if isinstance(raw, list | tuple):
            if len(raw) > MAX_SELECTION_ITEMS:
                return _invalid(f"expected option ids, got a list of {len(raw)} items")
            items = []
            for i, x in enumerate(raw):
                t = _id_text(x, f"entry {i}: ")
                if isinstance(t, PartResult):
                    return t
                items.append(t.strip())
            if raw and not any(items):
                return _invalid("no option ids given; to select none, answer none")
            return items
        return _invalid(
            f'expected option ids such as "B, C" or a list ["B", "C"], got {type(raw).__name__}'
        )

    def _picked(self, raw: Any) -> frozenset[str] | PartResult:
        items = self._items(raw)
        if isinstance(items, PartResult):
            return items
        items = [t for t in items if t]
        if not items or " ".join(items).casefold() in NONE_WORDS:
            return frozenset()
        picked: set[str] = set()
        unknown: list[str] = []
        for t in items:
            o = self._lookup.get(t.casefold())
            if o is None:
                unknown.append(t[:20])
            else:
                picked.add(o)
        if any(t.casefold() in NONE_WORDS for t in unknown):
            return _invalid("'none' cannot be selected together with options")
        if unknown:
            return _invalid(
                f"unknown option ids {unknown[:5]!r}; options are {', '.join(self.options)}"
            )
        return frozenset(picked)

    def grade(self, raw: Any) -> PartResult:
        picked = self._picked(raw)
        if isinstance(picked, PartResult):
            return picked
        right = set(self.value)
        if picked == right:
            return PartResult(1.0, Status.CORRECT, CORRECT)
        wrong = set(self.options) - right
        if right:
            hits = len(picked & right) / len(right)
            false = len(picked & wrong) / len(wrong) if wrong else 0.0
            score = round(max(0.0, hits - false), 6)
        else:
            score = 0.0
        why = dict(self.explanations)
        notes = [f"{o}: {why[o]}" for o in sorted(picked ^ right) if o in why]
        missed = sorted(right - picked)
        extra = sorted(picked - right)
        msg = "Not quite." if right else "Incorrect: no option qualifies here."
        if missed:
            msg += f" Missing: {', '.join(missed)}."
        if extra:
            msg += f" Should not be selected: {', '.join(extra)}."
        if notes:
            msg += " " + " ".join(notes)
        return PartResult(score, Status.PARTIAL if score > 0 else Status.INCORRECT, msg)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": list(self.value), "options": list(self.options)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MultiSelectAnswer:
        return cls(tuple(data["value"]), tuple(data["options"]))

    def correct_response(self) -> list[str]:
        return list(self.value)

    def near_miss(self) -> list[str]:
        return sorted(set(self.value) ^ {self.options[0]})

    def stem_prompt(self, label: str) -> str:
        return label

    def prompt(self, label: str) -> str:
        """The exports' prompt: a box per option and one more, "none of these" (seqquiz's
        typed "none"); a label that says how to type the answer says how to tick it instead."""
        if label.endswith(TYPED_SELECTION):
            return label.removesuffix(TYPED_SELECTION) + TICKED_SELECTION
        return f"{label} (select all that apply, or only “{NONE_OF_THESE}”)"

    def html_input(self, part_id: str, label: str, value: str | None = None) -> str:
        # An empty checkbox group submits nothing, which must stay an unanswered part: "none"
        # is a box of its own. `value` is a submitted selection as typed ("B, C" or "none").
        picked = self._picked(value) if value is not None else frozenset()
        chosen = set(picked) if isinstance(picked, frozenset) else set()
        none = value is not None and isinstance(picked, frozenset) and not picked
        extra = (
            f'<label><input type="checkbox" name="{_attr(part_id)}" value="{NONE_VALUE}"'
            f' id="{_attr(part_id)}-none"{" checked" if none else ""}> none of these</label>'
        )
        return _picks(part_id, label, self.options, chosen, "checkbox", extra)

    def form_value(self, values: list[str]) -> Any:
        if not values:
            return None  # nothing ticked: a missing part, never the empty selection
        if values == [NONE_VALUE]:
            return "none"
        if NONE_VALUE in values:
            return ", ".join(values)  # graded invalid: 'none' cannot be selected with options
        return list(values)


@dataclass(frozen=True, slots=True)
class IntSequenceAnswer(AnswerSpec):
    """A sequence of integers (a state path); partial credit per position. With `states`, every
    entry must be a state 0..states-1: a path outside is invalid, not a wrong path, and
    `from_one` (when given) names the mistake of a path whose entries are all within 1..states."""

    kind: ClassVar[str] = "int_sequence"
    value: tuple[int, ...]
    misconceptions: tuple[Misconception, ...] = ()
    states: int | None = None
    from_one: Misconception | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", tuple(int(v) for v in self.value))

    def grade(self, raw: Any) -> PartResult:
        n = len(self.value)
        if isinstance(raw, str):
            if len(raw) > MAX_SEQUENCE_CHARS:
                return _invalid(f"expected {n} integers, got {len(raw)} characters of text")
            text = raw.strip().strip("[]()")
            tokens = [t for t in text.replace(",", " ").split() if t]
            if (
                len(tokens) == 1
                and len(tokens[0]) == len(self.value)
                and _DIGITS_RE.fullmatch(tokens[0])
            ):
                tokens = list(tokens[0])
            raw = tokens
        if not isinstance(raw, list | tuple):
            return _invalid(f"expected a list of {n} integers")
        if len(raw) != n:  # before reading any entry: a long list costs nothing
            return _invalid(f"expected {n} integers, got {len(raw)}")
        got: list[int] = []
        for i, item in enumerate(raw):
            if isinstance(item, bool):
                return _invalid(f"entry {i}: expected an integer, got {item!r}")
            if isinstance(item, TooLargeNumber) or (
                isinstance(item, int | float) and abs(item) >= 2.0**MAX_INT_BITS
            ):
                shown = item.text if isinstance(item, TooLargeNumber) else str(item)
                return _invalid(f"entry {i}: " + too_large(shown[:20]))
            if isinstance(item, int):
                got.append(item)
            elif (isinstance(item, float) and item.is_integer()) or (
                isinstance(item, str) and _INT_RE.fullmatch(item.strip())
            ):
                got.append(int(item))
            else:
                return _invalid(f"entry {i}: expected an integer, got {str(item)[:20]!r}")
        wrong = [i for i, (a, b) in enumerate(zip(got, self.value, strict=True)) if a != b]
        if not wrong:
            return PartResult(1.0, Status.CORRECT, CORRECT)
        for m in self.misconceptions:
            if tuple(got) == tuple(m.value):
                return PartResult(0.0, Status.INCORRECT, f"Incorrect. {m.message}", m.code)
        if self.states is not None:
            outside = [i for i, s in enumerate(got) if not 0 <= s < self.states]
            if outside:
                # Counting positions of a path that is no path would grade a misreading.
                # No state 0 and a state past the last: numbered from 1 (the issue's [2, 3, 2]
                # for two states is read so too: a 1-based habit, not a misread table).
                if self.from_one is not None and min(got) >= 1:
                    m = self.from_one
                    return PartResult(0.0, Status.INVALID, m.message, m.code)
                i = outside[0]
                last = self.states - 1
                return _invalid(
                    f"entry {i}: {got[i]} is not a state; the states are numbered from 0 to {last}"
                )
        score = round((n - len(wrong)) / n, 6)
        return PartResult(
            score,
            Status.PARTIAL if score > 0 else Status.INCORRECT,
            f"{len(wrong)} of {n} positions are wrong: {', '.join(map(str, wrong))}.",
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "value": list(self.value)}
        if self.states is not None:
            out["states"] = self.states
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IntSequenceAnswer:
        return cls(tuple(data["value"]), states=data.get("states"))

    def correct_response(self) -> list[int]:
        return list(self.value)

    def near_miss(self) -> list[int]:
        v = list(self.value)
        v[0] += 1
        return v

    def prompt(self, label: str) -> str:
        return f"${label} = ?$ — {len(self.value)} integers"

    def html_input(self, part_id: str, label: str, value: str | None = None) -> str:
        return text_input(part_id, label, value, f"{len(self.value)} integers, e.g. 1 2 1")


@dataclass(frozen=True, slots=True)
class BitStringAnswer(AnswerSpec):
    """A string of 0s and 1s, most significant bit first; leading zeros do not matter."""

    kind: ClassVar[str] = "bits"
    value: str
    misconceptions: tuple[Misconception, ...] = ()

    def __post_init__(self) -> None:
        if not self.value or set(self.value) - {"0", "1"}:
            raise SpecError(f"bit string answer must be 0s and 1s (got {self.value!r})")

    def grade(self, raw: Any) -> PartResult:
        if isinstance(raw, TooLargeNumber) and raw.text.isdigit():  # bits typed as a number
            raw = raw.text
        if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
            if raw >= 10**MAX_BITS_CHARS:  # str() of a huge int is slow, then refused anyway
                return _invalid(f"expected at most {MAX_BITS_CHARS} bits, got a longer number")
            raw = str(raw)
        if not isinstance(raw, str):
            return _invalid("expected a string of 0s and 1s")
        if len(raw) > 4 * MAX_BITS_CHARS:
            return _invalid(f"expected at most {MAX_BITS_CHARS} bits, got {len(raw)} characters")
        text = raw.strip().replace(" ", "").replace("_", "")
        if not text or len(text) > MAX_BITS_CHARS or set(text) - {"0", "1"}:
            return _invalid(f"expected a string of 0s and 1s, got {raw.strip()[:40]!r}")
        if text.lstrip("0") == self.value.lstrip("0"):
            return PartResult(1.0, Status.CORRECT, CORRECT)
        for m in self.misconceptions:
            if text.lstrip("0") == m.value.lstrip("0"):
                return PartResult(0.0, Status.INCORRECT, f"Incorrect. {m.message}", m.code)
        n = max(len(text), len(self.value))
        a, b = text.zfill(n), self.value.zfill(n)
        bad = sum(1 for x, y in zip(a, b, strict=True) if x != y)
        return PartResult(0.0, Status.INCORRECT, f"Incorrect: {bad} bit(s) differ.")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BitStringAnswer:
        return cls(data["value"])

    def correct_response(self) -> str:
        return self.value

    def near_miss(self) -> str:
        return self.value[:-1] + ("0" if self.value[-1] == "1" else "1")

    def prompt(self, label: str) -> str:
        return f"${label} = ?$ — a bit string, most significant bit first"

    def html_input(self, part_id: str, label: str, value: str | None = None) -> str:
        return text_input(part_id, label, value, "0s and 1s, e.g. 1011")


# The one table of answer kinds: `register_kind` fills it, `spec_from_json` reads it.
_KINDS: dict[str, type[AnswerSpec]] = {}


def register_kind(cls: type[AnswerSpec]) -> type[AnswerSpec]:
    """Register an answer kind (rebuilt from JSON by its `from_json` classmethod)."""
    if _KINDS.setdefault(cls.kind, cls) is not cls:
        raise SpecError(f"answer kind {cls.kind!r} is already registered by {_KINDS[cls.kind]!r}")
    return cls


#: Built-in kinds declared in modules of their own (they bring SymPy): imported when the table is
#: first read, so that `grader.answers` stays light to import and the table is still complete.
_KINDS_ELSEWHERE = ("grader.symbolic_answer",)


def _table() -> dict[str, type[AnswerSpec]]:
    for name in _KINDS_ELSEWHERE:
        importlib.import_module(name)
    return _KINDS


def kinds() -> dict[str, type[AnswerSpec]]:
    """Every registered kind by its `kind` name."""
    return dict(_table())


for _cls in (
    NumericAnswer,
    VectorAnswer,
    ChoiceAnswer,
    MultiSelectAnswer,
    IntSequenceAnswer,
    BitStringAnswer,
):
    register_kind(_cls)


def spec_from_json(data: dict[str, Any]) -> AnswerSpec:
    """Rebuild a spec written by `to_json` (the grading half of an exported variant)."""
    kind = data.get("kind")
    table = _table()
    if kind not in table:
        raise SpecError(f"answer kind must be one of {sorted(table)} (got {kind!r})")
    return table[kind].from_json(data)
