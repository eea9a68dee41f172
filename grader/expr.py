"""A whitelist parser for students' formulas: it tokenizes, parses and builds SymPy trees itself.

Grammar (every rule is checked against `ExprLimits`; nothing is ever `eval`ed or `sympify`ed):

    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/") unary | IMPLICIT power)*
    unary   := ("+" | "-") unary | power
    power   := primary (("^" | "**") unary)?        right-associative: 2^3^2 = 2^9
    primary := NUMBER | NAME | FUNCTION "(" sum ")" | "(" sum ")"

- NUMBER: `12`, `0.5`, `.5`, `5.`, `7.53e-2`, kept exact (a Rational), never a float. A number
  directly followed by `e`/`E` and a digit is scientific notation (`2e1` is 20, not 2*e1).
- NAME: one of the part's allowed names (case-sensitive ASCII identifiers such as `x0`, `w_xh`).
- FUNCTION: one of the part's allowed functions, always with parentheses and one argument:
  `sigma`/`logistic` (1/(1+exp(-z))), `tanh`, `exp`, `log` (natural), `sqrt`.
- `-x^2` is -(x^2); `2^-x` is 2^(-x).
- IMPLICIT multiplication is allowed only where it cannot be misread: after a number or a `)`,
  before a name, a function or `(` (`2x0`, `2(x0+1)`, `(1-h1)h1`, `(a)(b)`, `2 sigma(z0)`). It is
  refused, with a message asking for `*`, between two names (`x0 h1`), after a name (`h1(1-h1)`
  reads as a call), before a number (`(x0)2`), and right after a denominator or an exponent
  (`1/2x0`, `x0^2(1-x0)`): there people disagree on what it means.
- Constant sub-expressions are folded in floats only to be checked: a constant exponent larger
  than `max_power` in size (`9**9**9**9`), a constant beyond `max_constant`, a division by a
  constant zero and an undefined constant (`log(0)`, `sqrt(-1)`) are parse errors. The SymPy tree
  itself is built unevaluated, so no huge number is ever computed here.

Parsing is linear in the input and bounded by the limits; it is safe to run in the grading process.
Recursion depth is bounded by `max_depth` (each level costs five Python frames), everything after
parsing (compiling, evaluating) walks trees iteratively.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

import sympy as sp

from grader.errors import SpecError
from grader.parse import FOLD, ParseFailure, ParseSuccess

FUNCTIONS: tuple[str, ...] = ("sigma", "logistic", "tanh", "exp", "log", "sqrt")
_INDEXED_RE = re.compile(r"([A-Za-z]+)([0-9]+)")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")


@dataclass(frozen=True, slots=True)
class ExprLimits:
    """Bounds on a typed formula; everything a parse can cost is linear in these."""

    # A student may type a derivative fully expanded, y written out and every product spelled
    # out (rnn-bptt's dE/dz_1 takes about 700 characters that way), so the length admits a few
    # times that; parsing stays linear and depth, numbers and exponents have their own bounds.
    max_chars: int = 3000
    max_tokens: int = 1500
    max_depth: int = 50  # nested parentheses, function calls, signs and exponents
    max_number_chars: int = 40  # characters of one number literal
    max_number_exponent: int = 300  # a literal lies in 1e-300 .. 1e300 (or is 0)
    max_power: float = 100.0  # |constant exponent|
    max_constant: float = 1e300  # |value| of any constant sub-expression

    def __post_init__(self) -> None:
        for name, lo, hi in (
            ("max_chars", 1, 100_000),
            ("max_tokens", 1, 50_000),
            ("max_depth", 1, 150),  # keeps the recursive descent far from Python's stack limit
            ("max_number_chars", 1, 1_000),
            ("max_number_exponent", 0, 10_000),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise SpecError(
                    f"limits.{name} must be an integer from {lo} to {hi} (got {value!r})"
                )
        for name in ("max_power", "max_constant"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 1):
                raise SpecError(f"limits.{name} must be a finite number >= 1 (got {value!r})")

    def scaled_to(self, text: str) -> ExprLimits:
        """Limits that admit `text` (a reference) and responses a few times its size."""
        n = len(text)
        return ExprLimits(
            max_chars=max(self.max_chars, 4 * n),
            max_tokens=max(self.max_tokens, 2 * n),
            max_depth=self.max_depth,
            max_number_chars=self.max_number_chars,
            max_number_exponent=self.max_number_exponent,
            max_power=self.max_power,
            max_constant=self.max_constant,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "max_chars": self.max_chars,
            "max_tokens": self.max_tokens,
            "max_depth": self.max_depth,
            "max_number_chars": self.max_number_chars,
            "max_number_exponent": self.max_number_exponent,
            "max_power": self.max_power,
            "max_constant": self.max_constant,
        }

    @classmethod
    def from_json(cls, data: Any) -> ExprLimits:
        if data is None:
            return cls()
        if not isinstance(data, dict) or set(data) - set(cls.__dataclass_fields__):
            raise SpecError(f"limits must be an object with keys such as max_chars (got {data!r})")
        return cls(**data)


DEFAULT_LIMITS = ExprLimits()


class Problem(StrEnum):
    """Why a typed formula was refused; `_message` turns each into words for the student."""

    EMPTY = "empty"
    TOO_LONG = "too-long"
    TOO_MANY_TOKENS = "too-many-tokens"
    BAD_CHARACTER = "bad-character"
    BAD_NUMBER = "bad-number"
    NUMBER_TOO_LONG = "number-too-long"
    NUMBER_OUT_OF_RANGE = "number-out-of-range"
    UNEXPECTED = "unexpected"
    UNCLOSED = "unclosed"
    TOO_DEEP = "too-deep"
    UNKNOWN_NAME = "unknown-name"
    FUNCTION_NOT_ALLOWED = "function-not-allowed"
    NOT_A_FUNCTION = "not-a-function"
    NEEDS_PARENTHESES = "needs-parentheses"
    MISSING_OPERATOR = "missing-operator"
    AMBIGUOUS_PRODUCT = "ambiguous-product"
    EXPONENT_TOO_LARGE = "exponent-too-large"
    CONSTANT_TOO_LARGE = "constant-too-large"
    DIVISION_BY_ZERO = "division-by-zero"
    UNDEFINED_CONSTANT = "undefined-constant"


class _Reject(Exception):
    """Control flow inside the parser only; `Grammar.parse` turns it into a ParseFailure."""

    def __init__(self, problem: Problem, position: int | None, **detail: Any) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.position = position
        self.detail = detail


# Token kinds
_NUM, _NAME, _OP, _LP, _RP, _END = "number", "name", "operator", "(", ")", "end"


class _Token(NamedTuple):
    """Immutable like a frozen dataclass, and several times cheaper to make: a long formula is
    hundreds of tokens."""

    kind: str
    text: str
    pos: int
    value: sp.Rational | None = None
    approx: float = 0.0


@dataclass(frozen=True, slots=True)
class _Node:
    """A parsed sub-expression: its tree, its float value when constant, and how it ended."""

    expr: sp.Expr
    const: float | None
    ends_in_power: bool = False


def _show_char(ch: str) -> str:
    """A character as a student can read it in a message, invisible ones by their code point."""
    name = unicodedata.name(ch, "")
    code = f"U+{ord(ch):04X}{' ' + name if name else ''}"
    if ch.isascii() and ch.isprintable():
        return repr(ch)
    if ch.isprintable() and unicodedata.category(ch)[0] in "LNPS":
        return f"{ch!r} ({code})"
    return code


def _message(
    problem: Problem, position: int | None, detail: dict[str, Any], grammar: Grammar
) -> str:
    """The one place where a refused formula becomes words for the student (positions count from 1)."""
    at = f" at position {position + 1}" if position is not None else ""
    d = detail
    if problem is Problem.EMPTY:
        return "the answer is empty; type a formula such as " + grammar.example()
    if problem is Problem.TOO_LONG:
        return f"the answer is too long ({d['length']} characters; at most {d['limit']})"
    if problem is Problem.TOO_MANY_TOKENS:
        return (
            f"the formula has too many parts{at} (at most {d['limit']} numbers, names and symbols)"
        )
    if problem is Problem.BAD_CHARACTER:
        ch = d["char"]
        hint = ""
        if not ch.isascii():
            hint = "; type plain ASCII letters, digits and + - * / ^ ( )"
        elif ch in ",;":
            hint = "; each function takes one argument and lists are not used here"
        elif ch in "[]{}":
            hint = "; use round parentheses ( )"
        return f"unexpected character {_show_char(ch)}{at}{hint}"
    if problem is Problem.BAD_NUMBER:
        return f"malformed number {d['text']!r}{at}"
    if problem is Problem.NUMBER_TOO_LONG:
        return f"the number{at} is too long (at most {d['limit']} characters)"
    if problem is Problem.NUMBER_OUT_OF_RANGE:
        return f"the number {d['text'][:20]!r}{at} is too large or too small (use 1e-{d['limit']} to 1e{d['limit']})"
    if problem is Problem.UNEXPECTED:
        what = "the end of the answer" if d["text"] == "" else repr(d["text"])
        return f"unexpected {what}{at}; expected {d['expected']}"
    if problem is Problem.UNCLOSED:
        return f"missing ')' to close the '('{at}"
    if problem is Problem.TOO_DEEP:
        return f"the formula is nested too deeply{at} (at most {d['limit']} levels of parentheses, signs and powers)"
    if problem is Problem.UNKNOWN_NAME:
        return f"unknown name {d['name']!r}{at}{_name_hint(d['name'], grammar)}; you may use {grammar.vocabulary()}"
    if problem is Problem.FUNCTION_NOT_ALLOWED:
        return f"the function {d['name']!r}{at} is not allowed in this answer; you may use {grammar.vocabulary()}"
    if problem is Problem.NOT_A_FUNCTION:
        return f"{d['name']!r}{at} is not a function: to multiply, write {d['name']}*(...)"
    if problem is Problem.NEEDS_PARENTHESES:
        return f"the function {d['name']!r}{at} needs its argument in parentheses, as in {d['name']}(...)"
    if problem is Problem.MISSING_OPERATOR:
        return f"missing operator between {d['left']!r} and {d['right']!r}{at}; write * to multiply"
    if problem is Problem.AMBIGUOUS_PRODUCT:
        return (
            f"ambiguous product{at} right after {d['after']}: write * and parentheses, "
            f"e.g. {d['example']}"
        )
    if problem is Problem.EXPONENT_TOO_LARGE:
        return f"the exponent{at} is too large (at most {grammar.limits.max_power:g} in size)"
    if problem is Problem.CONSTANT_TOO_LARGE:
        return (
            f"a number computed{at} is too large (at most {grammar.limits.max_constant:g} in size)"
        )
    if problem is Problem.DIVISION_BY_ZERO:
        return f"division by zero{at}"
    if problem is Problem.UNDEFINED_CONSTANT:
        return f"{d['what']}{at} is undefined"
    raise AssertionError(problem)  # pragma: no cover - every Problem is handled above


def _name_hint(name: str, grammar: Grammar) -> str:
    lowered = {n.lower(): n for n in grammar.names}
    if name not in grammar.names and name.lower() in lowered:
        return f" (names are case-sensitive: did you mean {lowered[name.lower()]!r}?)"
    for i in range(1, len(name)):
        if name[:i] in grammar.symbols and name[i:] in grammar.symbols:
            return f" (did you mean {name[:i]}*{name[i:]}?)"
    if name in ("e", "E"):
        return " (write exp(...) for powers of e)"
    if name.lower() in ("nan", "inf", "infinity", "oo"):
        return " (only finite formulas are accepted)"
    return ""


@dataclass(frozen=True, slots=True)
class Grammar:
    """The formulas one part accepts: its names, its functions and its limits."""

    names: tuple[str, ...]
    functions: tuple[str, ...] = FUNCTIONS
    limits: ExprLimits = DEFAULT_LIMITS
    symbols: dict[str, sp.Symbol] = field(
        init=False, default_factory=dict, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        names = tuple(self.names)
        functions = tuple(self.functions)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "functions", functions)
        for name in names:
            if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
                raise SpecError(
                    f"names must be ASCII identifiers of at most 32 characters (got {name!r})"
                )
            if name in FUNCTIONS:
                raise SpecError(f"name {name!r} is also a function name; choose another name")
        if len(set(names)) != len(names):
            raise SpecError(f"names must be distinct (got {list(names)!r})")
        unknown = [f for f in functions if f not in FUNCTIONS]
        if unknown:
            raise SpecError(f"functions must be among {list(FUNCTIONS)!r} (got {unknown!r})")
        # real=True lets the symbolic fallback simplify sqrt(x^2) and the like.
        symbols = {n: sp.Symbol(n, real=True) for n in names}
        # The stem prints h1 as $h_{1}$, so `h_1` is read as `h1` (when `h_1` is no name itself).
        for n in names:
            m = _INDEXED_RE.fullmatch(n)
            if m and f"{m.group(1)}_{m.group(2)}" not in symbols:
                symbols[f"{m.group(1)}_{m.group(2)}"] = symbols[n]
        object.__setattr__(self, "symbols", symbols)

    def vocabulary(self) -> str:
        """Names and functions as the messages list them."""
        shown = list(self.names[:12]) + (["..."] if len(self.names) > 12 else [])
        names = ", ".join(shown) if shown else "no names"
        if not self.functions:
            return names
        return f"{names} and the functions {', '.join(self.functions)}"

    def example(self) -> str:
        return f"2*{self.names[0]} + 1" if self.names else "2/3"

    def parse(self, raw: str) -> ParseSuccess | ParseFailure:
        """Parse a typed formula; never raises on any text (ParseFailure says what is wrong)."""
        if not isinstance(raw, str):
            return ParseFailure(f"expected a formula as text, got {type(raw).__name__}")
        try:
            if len(raw) > self.limits.max_chars:
                raise _Reject(Problem.TOO_LONG, None, length=len(raw), limit=self.limits.max_chars)
            text = raw.translate(FOLD)
            tokens = _tokenize(text, self.limits)
            if tokens[0].kind == _END:
                raise _Reject(Problem.EMPTY, None)
            expr = _Parser(tokens, self, text).parse()
        except _Reject as err:
            return ParseFailure(_message(err.problem, err.position, err.detail, self), err.position)
        return ParseSuccess(expr)


def parse_expression(
    raw: str,
    names: Sequence[str],
    functions: Iterable[str] = FUNCTIONS,
    limits: ExprLimits = DEFAULT_LIMITS,
) -> ParseSuccess | ParseFailure:
    """Parse `raw` with the given names and functions; see `Grammar.parse`."""
    return Grammar(tuple(names), tuple(functions), limits).parse(raw)


# One match per token or run of blanks; anything else (a digit or '.' starts a number, scanned by
# `_number` with its own checks) is looked at character by character.
_SIMPLE = re.compile(r"([ \t\r\n]+)|([A-Za-z_][A-Za-z0-9_]*)|(\*\*)|([-+*/^])|([()])", re.ASCII)


def _tokenize(text: str, limits: ExprLimits) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    match = _SIMPLE.match
    while i < n:
        m = match(text, i)
        if m is not None and m.lastindex == 1:  # blanks
            i = m.end()
            continue
        if len(tokens) >= limits.max_tokens:
            raise _Reject(Problem.TOO_MANY_TOKENS, i, limit=limits.max_tokens)
        if m is None:
            ch = text[i]
            if ch.isascii() and (ch.isdigit() or ch == "."):
                token, i = _number(text, i, limits)
                tokens.append(token)
                continue
            raise _Reject(Problem.BAD_CHARACTER, i, char=ch)
        j, group = m.end(), m.lastindex
        if group == 2:  # a name
            if j - i > 64:
                raise _Reject(Problem.UNKNOWN_NAME, i, name=text[i : i + 20] + "...")
            tokens.append(_Token(_NAME, text[i:j], i))
        elif group == 3:
            tokens.append(_Token(_OP, "^", i))
        elif group == 4:
            tokens.append(_Token(_OP, text[i], i))
        else:
            tokens.append(_Token(text[i], text[i], i))
        i = j
    tokens.append(_Token(_END, "", n))
    return tokens


def _isdigit(ch: str) -> bool:
    return "0" <= ch <= "9"


def _number(text: str, start: int, limits: ExprLimits) -> tuple[_Token, int]:
    """Scan a decimal literal with an optional exponent; its size is checked before any arithmetic."""
    i, n = start, len(text)
    while i < n and (_isdigit(text[i]) or text[i] == "."):
        i += 1
    mantissa = text[start:i]
    if mantissa == ".":
        raise _Reject(Problem.BAD_CHARACTER, start, char=".")
    if mantissa.count(".") > 1:
        raise _Reject(Problem.BAD_NUMBER, start, text=mantissa)
    exp_digits = ""
    exp_sign = 1
    if i < n and text[i] in "eE":
        j = i + 1
        if j < n and text[j] in "+-":
            exp_sign = -1 if text[j] == "-" else 1
            j += 1
        if j < n and _isdigit(text[j]):
            k = j
            while k < n and _isdigit(text[k]):
                k += 1
            exp_digits = text[j:k]
            i = k
    literal = text[start:i]
    if len(literal) > limits.max_number_chars:
        raise _Reject(Problem.NUMBER_TOO_LONG, start, limit=limits.max_number_chars)
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    exponent = exp_sign * int(exp_digits) if exp_digits else 0  # at most max_number_chars digits
    if not digits:
        return _Token(_NUM, literal, start, sp.Integer(0), 0.0), i
    shift = exponent - len(frac)
    order = shift + len(digits) - 1  # the literal is about 10**order
    if abs(order) > limits.max_number_exponent:
        raise _Reject(
            Problem.NUMBER_OUT_OF_RANGE, start, text=literal, limit=limits.max_number_exponent
        )
    m = int(digits)
    value = sp.Integer(m * 10**shift) if shift >= 0 else sp.Rational(m, 10**-shift)
    try:
        approx = float(value)
    except OverflowError:  # only with raised limits; the constant check then refuses it
        approx = math.inf
    return _Token(_NUM, literal, start, value, approx), i


_EXPECT_OPERAND = "a number, a name, a function or '('"
_EXPECT_OPERATOR = "an operator such as + - * / ^ or ')'"


class _Parser:
    """Recursive descent over a token list; depth is bounded by `limits.max_depth`."""

    def __init__(self, tokens: list[_Token], grammar: Grammar, text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.i = 0
        self.grammar = grammar
        self.limits = grammar.limits

    # -- helpers
    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def unexpected(self, token: _Token, expected: str) -> _Reject:
        return _Reject(Problem.UNEXPECTED, token.pos, text=token.text, expected=expected)

    def check_depth(self, depth: int, token: _Token) -> None:
        if depth > self.limits.max_depth:
            raise _Reject(Problem.TOO_DEEP, token.pos, limit=self.limits.max_depth)

    def constant(self, value: float | complex, pos: int, what: str) -> float:
        if isinstance(value, complex) or math.isnan(value):
            raise _Reject(Problem.UNDEFINED_CONSTANT, pos, what=what)
        if not abs(value) <= self.limits.max_constant:
            raise _Reject(Problem.CONSTANT_TOO_LARGE, pos)
        return value

    # -- grammar
    def parse(self) -> sp.Expr:
        node = self.sum(0)
        token = self.peek()
        if token.kind == _RP:
            raise _Reject(
                Problem.UNEXPECTED, token.pos, text=")", expected="no ')' without a matching '('"
            )
        if token.kind != _END:
            raise self.unexpected(token, _EXPECT_OPERATOR)
        return node.expr

    def sum(self, depth: int) -> _Node:
        first = self.product(depth)
        terms = [first.expr]
        const = first.const
        while self.peek().kind == _OP and self.peek().text in "+-":
            op = self.take()
            node = self.product(depth)
            expr = _negate(node.expr) if op.text == "-" else node.expr
            terms.append(expr)
            if const is not None and node.const is not None:
                value = const - node.const if op.text == "-" else const + node.const
                const = self.constant(value, op.pos, "this sum")
            else:
                const = None
        if len(terms) == 1:
            return first
        return _Node(sp.Add(*terms, evaluate=False), const)

    def product(self, depth: int) -> _Node:
        node = self.unary(depth)
        factors = [node.expr]
        const = node.const
        after_division = False
        while True:
            token = self.peek()
            if token.kind == _OP and token.text in "*/":
                self.take()
                right = self.unary(depth)
                expr = right.expr
                if token.text == "/":
                    if right.const is not None and right.const == 0:
                        raise _Reject(Problem.DIVISION_BY_ZERO, token.pos)
                    expr = sp.Pow(expr, sp.S.NegativeOne, evaluate=False)
                after_division = token.text == "/"
            elif token.kind in (_NUM, _NAME, _LP):
                self.check_implicit(token, node, after_division)
                right = self.power(depth)
                expr = right.expr
                after_division = False
            else:
                break
            factors.append(expr)
            if const is not None and right.const is not None:
                value = const / right.const if token.text == "/" else const * right.const
                const = self.constant(value, token.pos, "this product")
            else:
                const = None
            node = right
        if len(factors) == 1:
            return _Node(factors[0], const, node.ends_in_power)
        return _Node(sp.Mul(*factors, evaluate=False), const)

    def check_implicit(self, token: _Token, left: _Node, after_division: bool) -> None:
        """Allow `2x`, `2(x)`, `(a)b`, `(a)(b)`; refuse every other juxtaposition with a reason."""
        prev = self.tokens[self.i - 1]
        if prev.kind == _NAME and token.kind == _LP:
            raise _Reject(Problem.NOT_A_FUNCTION, prev.pos, name=prev.text)
        if token.kind == _NUM or prev.kind == _NAME:
            raise _Reject(Problem.MISSING_OPERATOR, token.pos, left=prev.text, right=token.text)
        if after_division:
            raise _Reject(
                Problem.AMBIGUOUS_PRODUCT,
                token.pos,
                after="a division",
                example="1/(2*x) or (1/2)*x",
            )
        if left.ends_in_power:
            raise _Reject(
                Problem.AMBIGUOUS_PRODUCT,
                token.pos,
                after="an exponent",
                example="x^2*(1-x) or x^(2*y)",
            )

    def unary(self, depth: int) -> _Node:
        token = self.peek()
        self.check_depth(depth, token)
        if token.kind == _OP and token.text in "+-":
            self.take()
            node = self.unary(depth + 1)
            if token.text == "+":
                return node
            const = None if node.const is None else -node.const
            return _Node(_negate(node.expr), const, node.ends_in_power)
        return self.power(depth)

    def power(self, depth: int) -> _Node:
        base = self.primary(depth)
        token = self.peek()
        if not (token.kind == _OP and token.text == "^"):
            return base
        self.take()
        exponent = self.unary(depth + 1)
        const = None
        if exponent.const is not None:
            if abs(exponent.const) > self.limits.max_power:
                raise _Reject(Problem.EXPONENT_TOO_LARGE, token.pos)
            if base.const is not None:
                try:
                    value = base.const**exponent.const
                except ZeroDivisionError:
                    raise _Reject(Problem.DIVISION_BY_ZERO, token.pos) from None
                except OverflowError:
                    raise _Reject(Problem.CONSTANT_TOO_LARGE, token.pos) from None
                const = self.constant(value, token.pos, "this power")
        expr = sp.Pow(base.expr, exponent.expr, evaluate=False)
        return _Node(expr, const, ends_in_power=True)

    def primary(self, depth: int) -> _Node:
        token = self.take()
        if token.kind == _NUM:
            assert token.value is not None
            return _Node(token.value, self.constant(token.approx, token.pos, "this number"))
        if token.kind == _LP:
            node = self.sum(depth + 1)
            close = self.peek()
            if close.kind != _RP:
                if close.kind == _END:
                    raise _Reject(Problem.UNCLOSED, token.pos)
                raise self.unexpected(close, _EXPECT_OPERATOR)
            self.take()
            return _Node(node.expr, node.const)
        if token.kind == _NAME:
            return self.name(token, depth)
        if token.kind == _RP:
            raise _Reject(Problem.UNEXPECTED, token.pos, text=")", expected=_EXPECT_OPERAND)
        raise self.unexpected(token, _EXPECT_OPERAND)

    def name(self, token: _Token, depth: int) -> _Node:
        grammar = self.grammar
        symbol = grammar.symbols.get(token.text)
        if symbol is not None:
            return _Node(symbol, None)
        if token.text not in FUNCTIONS:
            raise _Reject(Problem.UNKNOWN_NAME, token.pos, name=token.text)
        if token.text not in grammar.functions:
            raise _Reject(Problem.FUNCTION_NOT_ALLOWED, token.pos, name=token.text)
        if self.peek().kind != _LP:
            raise _Reject(Problem.NEEDS_PARENTHESES, token.pos, name=token.text)
        opening = self.take()
        arg = self.sum(depth + 1)
        close = self.peek()
        if close.kind != _RP:
            if close.kind == _END:
                raise _Reject(Problem.UNCLOSED, opening.pos)
            raise self.unexpected(close, "')' (each function takes one argument)")
        self.take()
        expr, const = _apply(token.text, arg.expr), None
        if arg.const is not None:
            what = self.text[token.pos : close.pos + 1]
            what = what if len(what) <= 30 else f"{token.text}(...)"
            value = _apply_float(token.text, arg.const, token.pos, what)
            const = self.constant(value, token.pos, what)
        return _Node(expr, const)


def _negate(expr: sp.Expr) -> sp.Expr:
    if isinstance(expr, sp.Rational):
        return -expr
    return sp.Mul(sp.S.NegativeOne, expr, evaluate=False)


def _apply(function: str, arg: sp.Expr) -> sp.Expr:
    """SymPy for a whitelisted function, unevaluated; the logistic is written out."""
    if function in ("sigma", "logistic"):
        denominator = sp.Add(sp.S.One, sp.exp(_negate(arg), evaluate=False), evaluate=False)
        return sp.Pow(denominator, sp.S.NegativeOne, evaluate=False)
    if function == "tanh":
        return sp.tanh(arg, evaluate=False)
    if function == "exp":
        return sp.exp(arg, evaluate=False)
    if function == "log":
        return sp.log(arg, evaluate=False)
    if function == "sqrt":
        return sp.Pow(arg, sp.S.Half, evaluate=False)
    raise AssertionError(function)  # pragma: no cover - the grammar only admits FUNCTIONS


def _apply_float(function: str, x: float, pos: int, what: str) -> float:
    """A constant function value, only to check it is defined and not huge."""
    try:
        if function in ("sigma", "logistic"):
            return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        if function == "tanh":
            return math.tanh(x)
        if function == "exp":
            return math.exp(x)
        if function == "log":
            return math.log(x)
        return math.sqrt(x)
    except OverflowError:
        raise _Reject(Problem.CONSTANT_TOO_LARGE, pos) from None
    except ValueError:
        raise _Reject(Problem.UNDEFINED_CONSTANT, pos, what=what) from None
