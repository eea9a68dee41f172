"""Symbolic computation graphs: local definitions, reverse-mode derivatives by sympy.diff,
straight-line numeric code by lambdify, and worked-solution LaTeX with number slots."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp


class Logistic(sp.Function):
    """logistic(z) = 1/(1+e^-z), kept unevaluated so that its derivative reads sigma (1 - sigma)."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return self * (1 - self)

    def _sympystr(self, printer: Any) -> str:
        return f"sigma({printer._print(self.args[0])})"  # the name students type

    def _eval_rewrite_as_exp(self, arg: sp.Expr, **kwargs: Any) -> sp.Expr:
        return 1 / (1 + sp.exp(-arg))

    def _eval_evalf(self, prec: int) -> sp.Expr:
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _latex(self, printer: Any, exp: Any = None) -> str:
        arg = printer._print(self.args[0])
        base = rf"\sigma\left({arg}\right)"
        return rf"{base}^{{{exp}}}" if exp else base


def py_logistic(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


ACTIVATIONS: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    "logistic": Logistic,
    "tanh": sp.tanh,
    "linear": lambda z: z,
}
MATH_MODULES: list[Any] = [{"Logistic": py_logistic}, "math"]


@dataclass
class Graph:
    """Named quantities defined in order from inputs and earlier quantities."""

    inputs: list[sp.Symbol] = field(default_factory=list)
    nodes: list[tuple[sp.Symbol, sp.Expr]] = field(default_factory=list)
    latex_names: dict[sp.Symbol, str] = field(default_factory=dict)

    def input(self, name: str, latex: str | None = None) -> sp.Symbol:
        s = sp.Symbol(name, real=True)
        self.inputs.append(s)
        if latex:
            self.latex_names[s] = latex
        return s

    def define(self, name: str, expr: sp.Expr, latex: str | None = None) -> sp.Symbol:
        s = sp.Symbol(name, real=True)
        self.nodes.append((s, sp.sympify(expr)))
        if latex:
            self.latex_names[s] = latex
        return s

    def definition(self, sym: sp.Symbol) -> sp.Expr:
        return dict(self.nodes)[sym]

    def backward(
        self,
        output: sp.Symbol,
        wrt: Sequence[sp.Symbol],
        prefix: str,
        out_latex: str,
        rule: Callable[[sp.Symbol, sp.Symbol, sp.Expr], sp.Expr] | None = None,
    ) -> Adjoints:
        """Reverse-mode total derivatives d output / d v for every node and each of `wrt`:
        adj(v) = sum over the quantities c defined from v of adj(c) * (d def_c / d v), the local
        partials by sympy.diff, each activation written back in terms of its output symbol.
        `rule(c, v, partial)` may replace a local partial: that is how a misconception (a
        dropped term, a wrong derivative) is derived from the same graph."""
        defs = dict(self.nodes)
        back_sub = {expr: sym for sym, expr in self.nodes if not expr.is_Symbol}
        adj: dict[sp.Symbol, sp.Symbol] = {output: sp.Integer(1)}
        steps: list[AdjointStep] = []
        order = [s for s, _ in self.nodes]
        idx = {s: i for i, s in enumerate(order)}
        candidates = list(reversed(order[: idx[output]])) + list(wrt)
        for v in candidates:
            terms = []
            for c in order[: idx[output] + 1]:
                if c not in adj or c == v or not defs[c].has(v):
                    continue
                partial = sp.diff(defs[c], v).xreplace(back_sub)
                if rule is not None:
                    partial = rule(c, v, partial)
                if partial != 0:
                    terms.append((c, partial))
            if not terms:
                continue
            a = sp.Symbol(f"{prefix}{v.name}", real=True)
            name_v = self.latex_names.get(v, sp.latex(v))
            self.latex_names[a] = rf"\frac{{\partial {out_latex}}}{{\partial {name_v}}}"
            expr = sp.Add(*[(1 if adj[c] == 1 else adj[c]) * p for c, p in terms])
            steps.append(AdjointStep(a, v, [c for c, _ in terms], expr))
            adj[v] = a
        return Adjoints(output, out_latex, adj, steps)


@dataclass
class AdjointStep:
    sym: sp.Symbol  # the adjoint's own symbol
    of: sp.Symbol  # the quantity it is the derivative with respect to
    children: list[sp.Symbol]  # the quantities through which it flows (chain-rule terms)
    expr: sp.Expr  # in terms of the children's adjoints and local values


@dataclass
class Adjoints:
    output: sp.Symbol
    out_latex: str
    adj: dict[sp.Symbol, sp.Expr]
    steps: list[AdjointStep]


def compile_straight_line(
    args: Sequence[sp.Symbol],
    assignments: Sequence[tuple[sp.Symbol, sp.Expr]],
    outputs: Sequence[sp.Expr],
    modules: Any = None,
) -> Callable[..., Any]:
    """lambdify into one function that runs `assignments` in order (the graph's own structure, no
    unrolling) and returns `outputs` as a tuple."""
    assignments = list(assignments)
    outs = list(outputs)

    def straight(_exprs: Any) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
        return assignments, outs

    return sp.lambdify(
        list(args), outs, modules=modules or MATH_MODULES, cse=straight, docstring_limit=0
    )


# -- worked-solution rendering ------------------------------------------------------------------

_SLOT = re.compile("\x01(\\d+)\x02")


def fmt(v: float, sig: int = 4) -> str:
    """A number as a person writes it in a worked solution, in LaTeX."""
    if v == 0:
        return "0"
    if float(v).is_integer() and abs(v) < 1e6:
        return str(int(v))
    if _plain(v):
        return f"{v:.{sig}g}"
    return _scientific(v, sig)


def _plain(v: float) -> bool:
    """Whether `fmt` writes v without a power of ten."""
    return v == 0 or (float(v).is_integer() and abs(v) < 1e6) or 1e-3 <= abs(v) < 1e5


def _scientific(v: float, sig: int) -> str:
    mant, exp = f"{v:.{sig - 1}e}".split("e")
    return rf"{mant} \times 10^{{{int(exp)}}}"


def fmt_param(v: float) -> str:
    return fmt(v, sig=6)


def fmt_row(values: Sequence[float], sig: int = 4) -> list[str]:
    """Numbers a reader compares side by side (one row of a table) in one notation: when one
    of them needs powers of ten, all of them get them, so that 4.000 x 10^-4 does not stand
    next to 0.00945 and look like the larger."""
    if all(_plain(v) for v in values):
        return [fmt(v, sig) for v in values]
    return ["0" if v == 0 else _scientific(v, sig) for v in values]


def index_list(name: str, last: int) -> str:
    """name_0, ..., name_last in LaTeX, written out when there are at most three (`t = 0, 1`
    reads better than `t = 0, ..., 1`); an empty name lists the indices themselves."""

    def item(k: int) -> str:
        if not name:
            return str(k)
        return f"{name}_{k}" if k < 10 else f"{name}_{{{k}}}"

    if last <= 2:
        return ", ".join(item(k) for k in range(last + 1))
    return rf"{item(0)}, \ldots, {item(last)}"


class Substitution:
    """LaTeX with number slots, compiled once per shape; `fill` puts numbers in. Built from an
    expression (`Substitution(expr, symbols)`), or from text a family's own printer marked
    (`Substitution.from_slots`). A negative number stands in parentheses unless its slot is bare."""

    __slots__ = ("_parts", "_slots", "_snap")

    def __init__(self, expr: sp.Expr, symbols: Sequence[sp.Symbol]) -> None:
        names = {s: f"\x01{i}\x02" for i, s in enumerate(symbols)}
        text = sp.latex(expr, symbol_names=names, mul_symbol="dot", order="none")
        pieces = _SLOT.split(text)
        slot_names = [symbols[int(i)].name for i in pieces[1::2]]
        # A slot already inside \left( ... \right) needs no parentheses of its own for a sign,
        # nor does a slot that is the whole expression: h_0 = z_0 = -1.9, not (-1.9).
        bare = [
            (pieces[2 * k].endswith("\\left(") and pieces[2 * k + 2].startswith("\\right)"))
            or (pieces[2 * k] == "" and pieces[2 * k + 2] == "" and len(slot_names) == 1)
            for k in range(len(slot_names))
        ]
        self._parts = tuple(pieces[0::2])
        self._slots = tuple((n, b, 1.0, None) for n, b in zip(slot_names, bare, strict=True))
        self._snap = 0.0

    @classmethod
    def from_slots(
        cls,
        parts: Sequence[str],
        slots: Sequence[tuple[str, bool, float, Callable[[float], str] | None]],
        snap: float = 0.0,
    ) -> Substitution:
        """Text pieces around slots (name, bare, sign, format or None for `fill`'s); a value
        within `snap` of 0 is float dust and shown as 0."""
        out = cls.__new__(cls)
        out._parts = tuple(parts)
        out._slots = tuple(slots)
        out._snap = snap
        return out

    def fill(
        self,
        values: Mapping[str, float],
        formats: Mapping[str, Callable[[float], str]] | None = None,
    ) -> str:
        parts = self._parts
        out = [parts[0]]
        snap = self._snap
        for k, (name, bare, sign, own) in enumerate(self._slots, 1):
            v = values[name] if sign == 1.0 else sign * values[name]
            if snap and -snap < v < snap:
                v = 0.0
            f = own or (formats.get(name, fmt) if formats else fmt)
            s = f(v)
            out.append(f"\\left({s}\\right)" if v < 0 and not bare else s)
            out.append(parts[k])
        return "".join(out)


def plus(*terms: Any) -> Any:
    """A sum kept unevaluated, so that a worked solution shows the course's order of terms."""
    if terms and isinstance(terms[0], sp.MatrixExpr):
        return sp.MatAdd(*terms, evaluate=False)
    return sp.Add(*terms, evaluate=False)


def times(*factors: Any) -> Any:
    """A product kept unevaluated (of matrices when any factor is one)."""
    if any(isinstance(f, sp.MatrixExpr) for f in factors):
        return sp.MatMul(*factors, evaluate=False)
    return sp.Mul(*factors, evaluate=False)


def latex(expr: sp.Expr, names: Mapping[sp.Symbol, str]) -> str:
    return sp.latex(expr, symbol_names=dict(names))
