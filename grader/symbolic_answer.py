"""Symbolic-expression answers: a formula in the part's names, graded by equivalence, not by form."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar

from sympy.printing.mathml import mathml

from grader.answers import CORRECT, AnswerSpec, Misconception, register_kind, text_input
from grader.equivalence import (
    DEFAULT_SETTINGS,
    DIVISION_REASON,
    TRANSIENT_REASONS,
    Domains,
    EquivalenceRequest,
    EquivalenceSettings,
    Verdict,
    check_equivalent,
    compile_expr,
    normalize_domains,
)
from grader.errors import SpecError
from grader.expr import DEFAULT_LIMITS, FUNCTIONS, Grammar
from grader.parse import ParseFailure
from grader.result import PartResult, Status

CACHE_SIZE = 4096


def names_prompt(names: Iterable[str], functions: Iterable[str] = FUNCTIONS) -> str:
    """`x0, x1, h0, h1, w_xh` as a compact phrase for the stem."""
    shown = ", ".join(f"`{n}`" for n in names)
    funcs = ", ".join(f"`{f}`" for f in functions)
    return f"a formula in {shown}; operators `+ - * / ^`, functions {funcs}"


@register_kind
@dataclass(frozen=True, slots=True)
class SymbolicAnswer(AnswerSpec):
    """A formula such as `h1*(1-h1)*w_hy*(y1-t1)`.

    `value` is the canonical formula as text; it is read by the same parser as the responses, so
    both go through one path. `names` are the variables a student may use, `domains` maps a name
    to the open interval its random test values come from (default (-2, 2)), `functions` are the
    functions a student may use. Limits on a response scale with the reference's length.
    A response is correct when it equals the reference at random points (see grader.equivalence);
    repeated identical responses are answered from a cache.

    `misconceptions` are the values known mistakes give at the point `at` (the variant's values
    of the free names): a wrong formula whose value there is one of them gets that mistake's
    feedback, as a wrong number does. Like a numeric answer's, they are not serialized.
    """

    kind: ClassVar[str] = "symbolic"
    value: str
    names: tuple[str, ...]
    domains: Domains | Mapping[str, Any] = ()
    functions: tuple[str, ...] = FUNCTIONS
    settings: EquivalenceSettings = DEFAULT_SETTINGS
    # (name, formula) pairs: a name that stands for a formula of earlier names, written out on
    # both sides before comparing (a student may write y1 or w_hy*h1 + b_y).
    definitions: tuple[tuple[str, str], ...] = ()
    misconceptions: tuple[Misconception, ...] = ()
    at: tuple[tuple[str, float], ...] = ()
    _grammar: Grammar = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.value, str):
            raise SpecError(f"symbolic answer value must be a formula as text (got {self.value!r})")
        if isinstance(self.names, str):
            raise SpecError(f"symbolic answer names must be a list of names (got {self.names!r})")
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "functions", tuple(self.functions))
        grammar = Grammar(self.names, self.functions, DEFAULT_LIMITS.scaled_to(self.value))
        object.__setattr__(self, "_grammar", grammar)
        object.__setattr__(self, "domains", normalize_domains(self.domains, self.names))
        parsed = grammar.parse(self.value)
        if isinstance(parsed, ParseFailure):
            raise SpecError(
                f"symbolic answer value {self.value!r} does not parse: {parsed.message}"
            )
        object.__setattr__(
            self, "definitions", tuple((str(n), str(f)) for n, f in self.definitions)
        )
        for name, formula in self.definitions:
            if name not in self.names or isinstance(grammar.parse(formula), ParseFailure):
                raise SpecError(f"symbolic answer definition {name} = {formula!r} does not parse")
        object.__setattr__(self, "misconceptions", tuple(self.misconceptions))
        object.__setattr__(self, "at", tuple((str(n), float(v)) for n, v in self.at))
        for name, value in self.at:
            if name not in self.names or not math.isfinite(value):
                raise SpecError(
                    f"symbolic answer at: {name} = {value!r} is not a finite value of a name"
                )
        if self.misconceptions and not self.at:
            raise SpecError("symbolic answer misconceptions need the point `at` they hold at")

    @property
    def grammar(self) -> Grammar:
        return self._grammar

    def grade(self, raw: Any) -> PartResult:
        if isinstance(raw, int) and not isinstance(raw, bool):
            if raw.bit_length() > 1000:  # str() of a huge int is itself slow (and limited)
                return _invalid("expected a formula; this number is too large")
            raw = str(raw)
        elif isinstance(raw, float):
            if not math.isfinite(raw):
                return _invalid("expected a finite formula")
            raw = repr(raw)
        if not isinstance(raw, str):
            return _invalid(f"expected a formula as text, got {type(raw).__name__}")
        if len(raw) > self._grammar.limits.max_chars:
            # Refused before the cache, so that huge texts never become cache keys.
            return _invalid(_failure_message(self._grammar.parse(raw)))
        # Trailing blanks do not move any position a message points at; leading ones would.
        try:
            return _grade_text(self, raw.rstrip())
        except _Transient as outcome:
            return outcome.result

    def correct_response(self) -> str:
        return self.value

    def near_miss(self) -> str:
        """A response that is wrong everywhere by a constant (for registry-walk tests)."""
        return f"({self.value}) + 1/7"

    def stem_prompt(self, label: str) -> str:
        return f"${label} = ?$ — {names_prompt(self.names, self.functions)}"

    def html_input(self, part_id: str, label: str, value: str | None = None) -> str:
        return text_input(part_id, label, value, f"a formula in {', '.join(self.names)}")

    def preview(self, raw: Any) -> str:
        """The formula as the whitelist parser read it, as MathML (so a student sees that `a/b*c`
        was read as (a/b)*c), or the parser's message, escaped, when it cannot be read."""
        if not isinstance(raw, str) or not raw.strip():
            return ""
        if len(raw) > self._grammar.limits.max_chars:
            # Refused before the cache, as in `grade`, so huge texts never become cache keys.
            return _preview_failure(_failure_message(self._grammar.parse(raw)))
        return _preview_text(self, raw.rstrip())

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "value": self.value,
            "names": list(self.names),
            "domains": {name: [lo, hi] for name, lo, hi in self.domains},  # type: ignore[misc]
            "functions": list(self.functions),
        }
        if self.settings != DEFAULT_SETTINGS:
            out["settings"] = self.settings.to_json()
        if self.definitions:
            out["definitions"] = [list(d) for d in self.definitions]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SymbolicAnswer:
        for key in ("value", "names"):
            if key not in data:
                raise SpecError(f"symbolic answer needs {key!r} (got keys {sorted(data)!r})")
        settings = data.get("settings")
        return cls(
            data["value"],
            tuple(data["names"]),
            data.get("domains", {}),
            tuple(data.get("functions", FUNCTIONS)),
            EquivalenceSettings(**settings) if settings else DEFAULT_SETTINGS,
            tuple((n, f) for n, f in data.get("definitions", ())),
        )


def _invalid(message: str) -> PartResult:
    return PartResult(0.0, Status.INVALID, message)


def _preview_failure(message: str) -> str:
    return f'<span class="preview-error">{html.escape(message, quote=True)}</span>'


@lru_cache(maxsize=CACHE_SIZE)
def _preview_text(spec: SymbolicAnswer, text: str) -> str:
    parsed = spec.grammar.parse(text)
    if isinstance(parsed, ParseFailure):
        return _preview_failure(parsed.message)
    # Printing walks the tree the parser built from whitelisted names and functions; the typed
    # text itself is never handed to SymPy.
    try:
        body = mathml(parsed.value, printer="presentation")
    except (TypeError, ValueError, RecursionError):
        return ""
    label = html.escape(str(parsed.value), quote=True)
    return f'<math display="inline" aria-label="{label}">{body}</math>'


def _failure_message(parsed: Any) -> str:
    return parsed.message if isinstance(parsed, ParseFailure) else "could not read the formula"


class _Transient(Exception):
    """Carries a result that says how the sandbox fared (a timeout, a crash), not what the
    formula is: raised out of the cached function so that the cache never keeps it."""

    def __init__(self, result: PartResult) -> None:
        super().__init__(result.feedback)
        self.result = result


@lru_cache(maxsize=CACHE_SIZE)
def _grade_text(spec: SymbolicAnswer, text: str) -> PartResult:
    """Grade one stripped response; cached on (spec, text), so a class typing the same formula
    costs one check. A check cut short (a timeout, a crash) is not cached: one stalled sandbox
    must not make a right formula "took too long" for good. Its cost stays bounded by the
    submission's budget (grader.result)."""
    parsed = spec.grammar.parse(text)
    if isinstance(parsed, ParseFailure):
        return _invalid(parsed.message)
    request = EquivalenceRequest(
        spec.value,
        text,
        spec.grammar,
        spec.domains,
        spec.settings,
        spec.definitions,  # type: ignore[arg-type]
        compile_expr(parsed.value),
        spec.at,
    )
    outcome = check_equivalent(request)
    if outcome.verdict is Verdict.EQUIVALENT:
        return PartResult(1.0, Status.CORRECT, CORRECT)
    if outcome.verdict is Verdict.DIFFERENT:
        known = _known_mistake(spec.misconceptions, outcome.values_at)
        if known is not None:
            return PartResult(0.0, Status.INCORRECT, f"Incorrect. {known.message}", known.code)
        where = ", ".join(f"{name} = {value:g}" for name, value in outcome.point)
        at = f" (they differ at {where})" if where else ""
        return PartResult(
            0.0,
            Status.INCORRECT,
            f"Incorrect: your formula is not equivalent to the correct one{at}.",
        )
    if outcome.reason == DIVISION_REASON:
        return _invalid(f"your formula has a {outcome.reason}")
    if outcome.reason in TRANSIENT_REASONS:
        raise _Transient(_invalid(f"could not check your formula: {outcome.reason}"))
    return _invalid(f"could not check your formula: {outcome.reason}")


# A formula that makes a known mistake gives that mistake's value up to rounding; a match this
# close is no coincidence.
MATCH_RTOL = 1e-9


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= MATCH_RTOL * max(1.0, abs(a), abs(b))


def distinct_mistakes(
    misconceptions: tuple[Misconception, ...], right: float
) -> tuple[Misconception, ...]:
    """The misconceptions whose value differs from the right value `right` at the point `at`: the
    ones a formula part can recognise (as `NumericAnswer.recognised`)."""
    return tuple(m for m in misconceptions if not _close(m.value, right))


def _known_mistake(
    misconceptions: tuple[Misconception, ...], values: tuple[float, float] | None
) -> Misconception | None:
    if values is None:
        return None
    mine, right = values
    for m in misconceptions:
        # A mistake that gives the right value at this variant cannot be told apart here.
        if _close(mine, m.value) and not _close(m.value, right):
            return m
    return None


def clear_cache() -> None:
    """Forget cached grades (tests and benchmarks)."""
    _grade_text.cache_clear()
    _preview_text.cache_clear()
