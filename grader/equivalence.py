"""Are two formulas equal? High-precision random points first, a time-capped simplify as fallback.

Both formulas are evaluated at random points drawn from per-name domains, in ball arithmetic
(FLINT's arb) at `dps` significant digits, so that every value carries a rigorous error bound. A
point where the values differ by more than their error bounds proves the formulas different; a
point where they agree within the bounds, and the bounds are tiny, is a vote for equal. Points
where either side is undefined (log or sqrt of a negative number, division by zero, overflow) or
where the bounds are too wide to tell are skipped. `min_points` agreeing points and no
disagreeing one make the formulas equal; with fewer, `sp.simplify(a - b) == 0` under a time cap
may still prove them equal; otherwise the verdict is an honest "undecided".

Everything here runs in a `Sandbox` worker with a memory cap and a wall-clock budget
(`check_equivalent`); `decide` is the same decision in the current process, for the worker and for
tests.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import math
import random
import signal
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

import sympy as sp
from flint import arb, ctx

from grader.errors import SpecError
from grader.expr import ExprLimits, Grammar
from grader.parse import ParseFailure
from grader.sandbox import Sandbox, SandboxCrashed, SandboxTimeout

DEFAULT_DOMAIN = (-2.0, 2.0)
# Guards that keep every operation cheap: beyond them a point counts as undefined.
_EXP_LIMIT = 1e6  # |argument| of exp (and of exp(y log x) inside a power)
_MAX_BITS = 1 << 20  # |value| < 2**(2**20)
_MAX_INT_POWER = 10**6

UNDEFINED_REASON = (
    "it is undefined (a division by zero, the log or square root of a negative number, or an "
    "overflow) at most of the values the variables can take"
)
IMPRECISE_REASON = "it loses too much precision to be checked; try writing it more simply"
REFERENCE_REASON = "the correct answer itself could not be evaluated; please report this question"
TOO_LARGE_REASON = (
    "numbers in it grow too large to compute (an exponent or an exp of a large value); "
    "try writing it more simply"
)
DIVISION_REASON = "division by zero: a denominator in it is 0 whatever the values"
TIMEOUT_REASON = "checking it took too long; try writing it more simply"
CRASH_REASON = "checking it needed too much memory or failed; try writing it more simply"
# Outcomes of the sandbox's state rather than of the formula: never remembered as its grade.
TRANSIENT_REASONS = frozenset((TIMEOUT_REASON, CRASH_REASON))


@dataclass(frozen=True, slots=True)
class EquivalenceSettings:
    """How hard to look: points, precision and time."""

    points: int = 8  # agreeing points wanted
    min_points: int = 4  # agreeing points enough when the others are undefined
    attempts: int = 32  # candidate points drawn
    dps: int = 50  # significant digits of the evaluation
    symbolic_seconds: float = 0.75  # cap on the simplify fallback (an alarm in the worker)
    budget_seconds: float = 1.5  # wall clock for one check, after which the worker is killed

    def __post_init__(self) -> None:
        if not 1 <= self.min_points <= self.points <= self.attempts <= 1000:
            raise SpecError(
                "settings need 1 <= min_points <= points <= attempts <= 1000 "
                f"(got {self.min_points}, {self.points}, {self.attempts})"
            )
        if not 15 <= self.dps <= 1000:
            raise SpecError(f"settings.dps must be from 15 to 1000 (got {self.dps!r})")
        for name in ("symbolic_seconds", "budget_seconds"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0 <= value <= 600):
                raise SpecError(f"settings.{name} must be from 0 to 600 seconds (got {value!r})")

    def to_json(self) -> dict[str, Any]:
        return {
            "points": self.points,
            "min_points": self.min_points,
            "attempts": self.attempts,
            "dps": self.dps,
            "symbolic_seconds": self.symbolic_seconds,
            "budget_seconds": self.budget_seconds,
        }


DEFAULT_SETTINGS = EquivalenceSettings()


class Verdict(StrEnum):
    EQUIVALENT = "equivalent"
    DIFFERENT = "different"
    UNDECIDED = "undecided"


@dataclass(frozen=True, slots=True)
class Equivalence:
    """A decision, how it was reached, a point where the formulas differ, or why it is undecided."""

    verdict: Verdict
    method: str = "numeric"  # "numeric", "symbolic" or "none"
    point: tuple[tuple[str, float], ...] = ()
    reason: str = ""
    # For formulas that differ, with the request's `at`: (the response's value there, the
    # reference's), to match against the values known mistakes give.
    values_at: tuple[float, float] | None = None

    def to_json(self) -> dict[str, Any]:
        out = {
            "verdict": self.verdict.value,
            "method": self.method,
            "point": [[n, v] for n, v in self.point],
            "reason": self.reason,
        }
        if self.values_at is not None:
            out["values_at"] = list(self.values_at)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Equivalence:
        point = tuple((str(n), float(v)) for n, v in data.get("point", ()))
        values = data.get("values_at")
        return cls(
            Verdict(data["verdict"]),
            data["method"],
            point,
            data.get("reason", ""),
            None if values is None else (float(values[0]), float(values[1])),
        )


Domains = tuple[tuple[str, float, float], ...]


def normalize_domains(domains: Any, names: Sequence[str]) -> Domains:
    """Domains as a sorted tuple of (name, lo, hi); names without one get DEFAULT_DOMAIN."""
    try:
        if isinstance(domains, Mapping):
            items = [(n, *tuple(v)) for n, v in domains.items()]
        else:
            items = [tuple(d) for d in domains]
    except TypeError:
        raise SpecError(f"domains must map names to [lo, hi] (got {domains!r})") from None
    given: dict[str, tuple[float, float]] = {}
    for item in items:
        if len(item) != 3 or not isinstance(item[0], str):
            raise SpecError(f"domains entries must be name: [lo, hi] (got {item!r})")
        name, lo, hi = item
        if name not in names:
            raise SpecError(f"domains name {name!r} is not one of the names {list(names)!r}")
        ok = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (lo, hi))
        if not (ok and math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise SpecError(f"domains[{name!r}] must be finite numbers lo < hi (got {[lo, hi]!r})")
        given[name] = (float(lo), float(hi))
    return tuple((n, *given.get(n, DEFAULT_DOMAIN)) for n in sorted(names))  # type: ignore[misc]


@dataclass(frozen=True, slots=True)
class EquivalenceRequest:
    """Everything the worker needs: both texts, the grammar they are read with, the domains."""

    reference: str
    response: str
    grammar: Grammar
    domains: Domains
    settings: EquivalenceSettings = DEFAULT_SETTINGS
    # Names that stand for formulas of earlier names (`y1` for `w_hy*h1 + b_y`), in order: both
    # sides are compared with them written out, so either way of writing a quantity is right.
    definitions: tuple[tuple[str, str], ...] = ()
    # The response already parsed and compiled by the caller (it parses to report typos anyway):
    # the worker then parses it again only for the rare symbolic fallback.
    program: Program | None = None
    # A point of particular interest (the variant's values): when the formulas differ, both are
    # evaluated there too (`Equivalence.values_at`).
    at: tuple[tuple[str, float], ...] = ()

    def to_json(self) -> dict[str, Any]:
        out = self._fields()
        if self.program is not None:
            out["program"] = [list(op) for op in self.program.ops]
        if self.at:
            out["at"] = [[n, v] for n, v in self.at]
        return out

    def _fields(self) -> dict[str, Any]:
        return {
            "definitions": [list(d) for d in self.definitions],
            "reference": self.reference,
            "response": self.response,
            "names": list(self.grammar.names),
            "functions": list(self.grammar.functions),
            "limits": self.grammar.limits.to_json(),
            "domains": [list(d) for d in self.domains],
            "settings": self.settings.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EquivalenceRequest:
        grammar = Grammar(
            tuple(data["names"]),
            tuple(data["functions"]),
            ExprLimits.from_json(data["limits"]),
        )
        domains = tuple((str(n), float(lo), float(hi)) for n, lo, hi in data["domains"])
        return cls(
            data["reference"],
            data["response"],
            grammar,
            domains,
            EquivalenceSettings(**data["settings"]),
            tuple((str(n), str(f)) for n, f in data.get("definitions", ())),
            _program_from_json(data["program"]) if "program" in data else None,
            tuple((str(n), float(v)) for n, v in data.get("at", ())),
        )


def _program_from_json(data: Any) -> Program:
    ops: list[tuple[Any, ...]] = []
    for op in data:
        code = op[0]
        if code == _VAR and isinstance(op[1], str):
            ops.append((_VAR, op[1]))
        elif code == _NUM:
            ops.append((_NUM, int(op[1]), int(op[2])))
        elif isinstance(code, int) and _ADD <= code <= _TANH:
            ops.append((code, *(int(x) for x in op[1:2])))
        else:
            raise ValueError(f"not a program operation: {op!r}")
    return Program(tuple(ops))


# -- compiling a SymPy tree into a postfix program -------------------------------------------

_VAR, _NUM, _ADD, _MUL, _POWI, _POW, _EXP, _LOG, _TANH = range(9)


@dataclass(frozen=True, slots=True)
class Program:
    """A SymPy tree flattened to postfix operations, evaluated with a stack (no recursion)."""

    ops: tuple[tuple[Any, ...], ...]


def compile_expr(expr: sp.Expr) -> Program:
    """Flatten the node types the parser builds; anything else is refused with ValueError."""
    ops: list[tuple[Any, ...]] = []
    stack: list[tuple[Any, bool]] = [(expr, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            if isinstance(node, sp.Add):
                ops.append((_ADD, len(node.args)))
            elif isinstance(node, sp.Mul):
                ops.append((_MUL, len(node.args)))
            elif isinstance(node, sp.Pow):
                e = node.exp
                if isinstance(e, sp.Integer) and abs(int(e)) <= _MAX_INT_POWER:
                    ops.append((_POWI, int(e)))
                else:
                    ops.append((_POW,))
            elif isinstance(node, sp.exp):
                ops.append((_EXP,))
            elif isinstance(node, sp.log):
                ops.append((_LOG,))
            else:
                ops.append((_TANH,))
            continue
        if isinstance(node, sp.Symbol):
            ops.append((_VAR, node.name))
        elif isinstance(node, sp.Rational):
            ops.append((_NUM, int(node.p), int(node.q)))
        elif isinstance(node, sp.Pow):
            stack.append((node, True))
            e = node.exp
            if not (isinstance(e, sp.Integer) and abs(int(e)) <= _MAX_INT_POWER):
                stack.append((e, False))
            stack.append((node.base, False))
        elif isinstance(node, sp.Add | sp.Mul | sp.exp | sp.log | sp.tanh) and node.args:
            if isinstance(node, sp.log) and len(node.args) != 1:
                raise ValueError("log with a base is not supported")
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node.args))
        else:
            raise ValueError(f"cannot evaluate a {type(node).__name__} node")
    return Program(tuple(ops))


class _Undefined(Exception):
    """The formula has no real, finite value at this point (or one too large to compute)."""


class _TooLarge(_Undefined):
    """A value or a power beyond the guards: computing it exactly could take without bound."""


class _DividesByZero(_Undefined):
    """A division by a value that is exactly zero here."""


# Why a formula had no value at a point (see `evaluate`).
DOMAIN, TOO_LARGE, BY_ZERO = "domain", "too-large", "by-zero"


_BIG = arb(2) ** _MAX_BITS  # exact: a power of two


def _check(v: arb) -> arb:
    if not v.is_finite() or v.abs_upper() > _BIG:
        raise _TooLarge
    return v


Value = arb  # a value and its error bound, as one ball [mid +/- rad]


@contextmanager
def precision(dps: int) -> Iterator[None]:
    """Evaluate with `dps` significant digits inside (FLINT's precision is process-wide)."""
    before = ctx.prec
    ctx.dps = dps
    try:
        yield
    finally:
        ctx.prec = before


def evaluate(
    program: Program, point: Mapping[str, Value], why: list[str] | None = None
) -> Value | None:
    """The value at `point` (each name's value as a ball) as a ball that contains the exact value,
    at the current precision (`precision`), or None if undefined; then `why` gets DOMAIN,
    TOO_LARGE or BY_ZERO.

    Ball arithmetic (FLINT's arb) carries a rigorous error bound through every operation, at
    C speed; the guards keep every operation cheap and refuse values beyond 2**(2**20).
    """
    stack: list[arb] = []
    try:
        for op in program.ops:
            code = op[0]
            if code == _VAR:
                stack.append(point[op[1]])
            elif code == _NUM:
                p, q = op[1], op[2]
                stack.append(_check(arb(p) if q == 1 else arb(p) / q))
            elif code == _ADD:
                n = op[1]
                total = stack[-n]
                for x in stack[-n + 1 :]:
                    total = total + x
                del stack[-n:]
                stack.append(_check(total))
            elif code == _MUL:
                n = op[1]
                product = stack[-n]
                for x in stack[-n + 1 :]:
                    product = product * x
                del stack[-n:]
                stack.append(_check(product))
            elif code == _POWI:
                stack.append(_powi(stack.pop(), op[1]))
            elif code == _POW:
                x = stack.pop()
                stack.append(_pow(stack.pop(), x))
            elif code == _EXP:
                x = stack.pop()
                if x.abs_upper() > _EXP_LIMIT:
                    raise _TooLarge
                stack.append(_check(x.exp()))
            elif code == _LOG:
                x = stack.pop()
                if not x > 0:
                    raise _Undefined
                stack.append(x.log())
            else:
                stack.append(stack.pop().tanh())
    except (_TooLarge, OverflowError):
        if why is not None:
            why.append(TOO_LARGE)
        return None
    except (_DividesByZero, ZeroDivisionError):
        if why is not None:
            why.append(BY_ZERO)
        return None
    except (_Undefined, ValueError):
        if why is not None:
            why.append(DOMAIN)
        return None
    (result,) = stack
    return result if result.is_finite() else None


def _bits(x: arb) -> int:
    """About log2 |x| for an x that is not 0."""
    man, exp = x.mid().man_exp()
    return int(exp) + int(man).bit_length()


def _powi(b: arb, k: int) -> arb:
    if k == 0:
        return arb(1)
    if b.contains(0):
        if k < 0:
            raise _DividesByZero if b.mid().is_zero() else _Undefined  # too close to 0
        return _check(b**k)
    if abs(k) * abs(_bits(b)) > _MAX_BITS:
        raise _TooLarge
    return _check(b**k)


def _pow(b: arb, x: arb) -> arb:
    if not b > 0:
        # A real power of a negative base is undefined here (as in SymPy: principal root).
        if b.is_zero() and x > 0:
            return arb(0)
        raise _Undefined
    t = x * b.log()
    if t.abs_upper() > _EXP_LIMIT:
        raise _TooLarge
    return _check(t.exp())


# -- the decision -------------------------------------------------------------------------------

_AGREE, _DIFFER, _UNSURE = "agree", "differ", "unsure"


def _compare(a: arb, b: arb, dps: int) -> str:
    va, vb = a.mid(), b.mid()
    diff = abs(va - vb)
    tol = 1024 * (a.rad() + b.rad())
    scale = abs(va) if abs(va) > abs(vb) else abs(vb)
    # Agreement to 30 of 50 digits is treated as equality (nothing a student types differs so
    # little); a difference above the error bound is a proof of difference.
    fine = arb(10) ** (-(dps * 3 // 5))
    if diff > tol and diff > fine * scale:
        return _DIFFER
    if tol <= arb(10) ** (-(dps * 3 // 10)) * scale or tol <= fine:
        return _AGREE
    return _UNSURE


def sample_points(domains: Domains, seed_text: str, count: int) -> list[dict[str, float]]:
    """`count` points, uniform in each name's open interval, the same for the same inputs."""
    seed = int.from_bytes(hashlib.sha256(seed_text.encode()).digest()[:8], "big")
    rng = random.Random(seed)
    points = []
    for _ in range(count):
        point = {}
        for name, lo, hi in domains:
            u = rng.random()
            while u == 0.0:  # pragma: no cover - probability 2**-53
                u = rng.random()
            point[name] = lo + (hi - lo) * u
        points.append(point)
    return points


@dataclass(frozen=True, slots=True)
class _Reference:
    program: Program
    expr: sp.Expr  # as written, definitions not substituted
    points: tuple[dict[str, float], ...]
    # Every name's value at each point, the defined names computed from their definitions (None
    # where a definition is undefined), and the reference's value there.
    envs: tuple[dict[str, Value] | None, ...]
    values: tuple[Value | None, ...]
    bases: Mapping[str, frozenset[str]]  # each name -> the free names it stands for


@lru_cache(maxsize=256)
def expansion(
    grammar: Grammar, definitions: tuple[tuple[str, str], ...]
) -> dict[sp.Symbol, sp.Expr]:
    """Each defined name -> its formula in the free names (earlier definitions written out).
    Only the symbolic fallback needs this, and only for formulas whose rebuild is bounded."""
    out: dict[sp.Symbol, sp.Expr] = {}
    for name, formula in definitions:
        sym, parsed = grammar.parse(name), grammar.parse(formula)
        if isinstance(sym, ParseFailure) or isinstance(parsed, ParseFailure):
            raise SpecError(f"definition {name} = {formula!r} does not parse")
        out[sym.value] = parsed.value.xreplace(out)
    return out


@dataclass(frozen=True, slots=True)
class _Definitions:
    programs: tuple[tuple[str, Program], ...]
    bases: Mapping[str, frozenset[str]]


@lru_cache(maxsize=256)
def _definitions(grammar: Grammar, definitions: tuple[tuple[str, str], ...]) -> _Definitions:
    """The definitions compiled, to be computed in numbers at each point: substituting them into
    a formula symbolically rebuilds (and evaluates) its tree, which is slow, and unbounded for a
    formula such as (h1-h1+9)^(h1-h1+9)^(h1-h1+9)."""
    programs: list[tuple[str, Program]] = []
    bases = {name: frozenset((name,)) for name in grammar.names}
    for name, formula in definitions:
        parsed = grammar.parse(formula)
        if name not in bases or isinstance(parsed, ParseFailure):
            raise SpecError(f"definition {name} = {formula!r} does not parse")
        programs.append((name, compile_expr(parsed.value)))
        used = [bases[s.name] for s in parsed.value.free_symbols]
        bases[name] = frozenset().union(*used)
    return _Definitions(tuple(programs), bases)


def _environment(point: Mapping[str, float], defs: _Definitions) -> dict[str, Value] | None:
    env: dict[str, Value] = {name: arb(value) for name, value in point.items()}
    for name, program in defs.programs:
        value = evaluate(program, env)
        if value is None:
            return None
        env[name] = value
    return env


@lru_cache(maxsize=256)
def _reference(
    text: str,
    grammar: Grammar,
    domains: Domains,
    settings: EquivalenceSettings,
    definitions: tuple[tuple[str, str], ...] = (),
) -> _Reference:
    parsed = grammar.parse(text)
    if isinstance(parsed, ParseFailure):
        raise SpecError(f"reference formula {text!r} does not parse: {parsed.message}")
    defs = _definitions(grammar, definitions)
    program = compile_expr(parsed.value)
    seed_text = json.dumps([text, list(grammar.names), [list(d) for d in domains]])
    points = tuple(sample_points(domains, seed_text, settings.attempts))
    with precision(settings.dps):
        envs = tuple(_environment(p, defs) for p in points)
        values = tuple(None if e is None else evaluate(program, e) for e in envs)
    return _Reference(program, parsed.value, points, envs, values, defs.bases)


def _rebuild_is_bounded(expr: sp.Expr, max_product: int = 10_000) -> bool:
    """True when SymPy can rebuild `expr` (substitute, simplify) without exact arithmetic that
    has no bound: every exponent is a number, and nested exponents multiply to at most
    `max_product` (SymPy computes (9 + h1 - h1)^100 as the integer 9^100, and 9^(9^9) takes
    seconds inside one C call that no alarm interrupts)."""
    stack: list[tuple[sp.Expr, int]] = [(expr, 1)]
    while stack:
        node, product = stack.pop()
        if isinstance(node, sp.Pow):
            if not isinstance(node.exp, sp.Rational):
                return False
            product *= max(1, abs(int(node.exp.p)))
            if product > max_product:
                return False
            stack.append((node.base, product))
        else:
            stack.extend((arg, product) for arg in node.args)
    return True


def _shown_point(point: Mapping[str, float], names: set[str]) -> tuple[tuple[str, float], ...]:
    return tuple((n, float(f"{v:.4g}")) for n, v in sorted(point.items()) if n in names)


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Raise TimeoutError after `seconds` of wall time (main thread only; it cannot interrupt a
    long C call, which is why the sandbox's kill stays the real limit). An alarm already set by
    someone else (pytest-timeout, say) is restored afterwards with the time it had left."""

    def ring(signum: int, frame: Any) -> None:
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, ring)
    start = time.monotonic()
    earlier, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if earlier > 0:
            left = earlier - (time.monotonic() - start)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))


def symbolic_zero(difference: sp.Expr, seconds: float) -> bool | None:
    """True when simplify proves `difference` is 0; None when it cannot say within `seconds`."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        return None
    try:
        with _alarm(seconds):
            return bool(sp.simplify(difference) == 0) or None
    except (TimeoutError, RecursionError, MemoryError):
        return None
    except Exception:  # a SymPy internal failure is an honest "cannot say"
        return None


def _values_at(
    request: EquivalenceRequest, ref: _Reference, program: Program
) -> tuple[float, float] | None:
    """Both formulas at `request.at` (names it does not give count as 0), as floats."""
    if not request.at:
        return None
    point = dict.fromkeys(request.grammar.names, 0.0) | dict(request.at)
    env = _environment(point, _definitions(request.grammar, request.definitions))
    if env is None:
        return None
    b, a = evaluate(program, env), evaluate(ref.program, env)
    if a is None or b is None:
        return None
    values = float(b.mid()), float(a.mid())
    return values if all(math.isfinite(v) for v in values) else None


def decide(request: EquivalenceRequest) -> Equivalence:
    """The whole decision in this process (the sandbox worker runs this)."""
    grammar, settings = request.grammar, request.settings
    ref = _reference(request.reference, grammar, request.domains, settings, request.definitions)
    program = request.program
    if program is None:
        parsed = grammar.parse(request.response)
        if isinstance(parsed, ParseFailure):
            return Equivalence(Verdict.UNDECIDED, "none", reason=parsed.message)
        program = compile_expr(parsed.value)
    used = {op[1] for op in program.ops if op[0] == _VAR} | {s.name for s in ref.expr.free_symbols}
    shown = set().union(*(ref.bases.get(n, frozenset((n,))) for n in used))
    agree = undefined = unsure = defined_ref = 0
    why: list[str] = []
    with precision(settings.dps):
        for point, env, a in zip(ref.points, ref.envs, ref.values, strict=True):
            if a is None or env is None:
                continue
            defined_ref += 1
            b = evaluate(program, env, why)
            if b is None:
                undefined += 1
                continue
            outcome = _compare(a, b, settings.dps)
            if outcome == _DIFFER:
                values = _values_at(request, ref, program)
                return Equivalence(
                    Verdict.DIFFERENT, "numeric", _shown_point(point, shown), values_at=values
                )
            if outcome == _AGREE:
                agree += 1
                if agree >= settings.points:
                    break
            else:
                unsure += 1
    if agree >= settings.min_points:
        return Equivalence(Verdict.EQUIVALENT, "numeric")
    if why and not agree and not unsure and all(w == BY_ZERO for w in why):
        return Equivalence(Verdict.UNDECIDED, "none", reason=DIVISION_REASON)
    if TOO_LARGE not in why and BY_ZERO not in why:
        parsed = grammar.parse(request.response)
        if isinstance(parsed, ParseFailure):
            return Equivalence(Verdict.UNDECIDED, "none", reason=parsed.message)
        if _rebuild_is_bounded(parsed.value):
            full = expansion(grammar, request.definitions) if request.definitions else {}
            difference = sp.Add(ref.expr.xreplace(full), -parsed.value.xreplace(full))
            if symbolic_zero(difference, settings.symbolic_seconds):
                return Equivalence(Verdict.EQUIVALENT, "symbolic")
    if defined_ref < settings.min_points:
        reason = REFERENCE_REASON
    elif TOO_LARGE in why:
        reason = TOO_LARGE_REASON
    elif undefined >= unsure:
        reason = UNDEFINED_REASON
    else:
        reason = IMPRECISE_REASON
    return Equivalence(Verdict.UNDECIDED, "none", reason=reason)


def sandbox_handler(payload: dict[str, Any]) -> dict[str, Any]:
    """The worker's side of `check_equivalent`."""
    return decide(EquivalenceRequest.from_json(payload)).to_json()


_SANDBOX: Sandbox | None = None
_SANDBOX_LOCK = threading.Lock()
SANDBOX_MEMORY_MB = 512


def default_sandbox() -> Sandbox:
    """The process-wide sandbox for equivalence checks (created on first use)."""
    global _SANDBOX
    with _SANDBOX_LOCK:
        if _SANDBOX is None:
            _SANDBOX = Sandbox(sandbox_handler, memory_mb=SANDBOX_MEMORY_MB)
            atexit.register(_SANDBOX.close)
        return _SANDBOX


def check_equivalent(request: EquivalenceRequest, sandbox: Sandbox | None = None) -> Equivalence:
    """Decide in the sandbox within `settings.budget_seconds`. No response makes this raise; only
    a sandbox that cannot start at all does (SandboxUnavailable: a setup problem to report)."""
    box = sandbox if sandbox is not None else default_sandbox()
    try:
        reply = box.call(request.to_json(), timeout=request.settings.budget_seconds)
    except SandboxTimeout:
        return Equivalence(Verdict.UNDECIDED, "none", reason=TIMEOUT_REASON)
    except SandboxCrashed:
        return Equivalence(Verdict.UNDECIDED, "none", reason=CRASH_REASON)
    return Equivalence.from_json(reply)
