"""LaTeX of the Kalman worked solutions: the generic formulas, and the same formulas with every
quantity written out as number slots (filled per variant through `core.symbolic.Substitution`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy.printing.latex import LatexPrinter

from generators.core.symbolic import (
    Substitution,
    fmt,
    fmt_param,
)

if TYPE_CHECKING:
    from generators.families.kalman import Builder

# Values this close to 0 are float error (every given number has at most six figures).
ZERO = 1e-12


# -- worked-solution LaTeX with number slots ------------------------------------------------------

# Slot markers: \x01i\x02 a number that needs parentheses when negative, \x03i\x04 one that
# stands bare (a matrix entry), \x05i\x06 a bare entry shown negated (the adjugate's off-diagonal).
_MARK = re.compile("\x01(\\d+)\x02|\x03(\\d+)\x04|\x05(\\d+)\x06")
_OPENERS = ("\\left(", "{", "= ")


def slot_substitution(text: str, names: Sequence[str], given: frozenset[str]) -> Substitution:
    """The printer's marked text as a `Substitution`. A slot inside a matrix, or one that opens a
    group, shows a negative number bare; elsewhere in parentheses."""
    pieces = _MARK.split(text)
    # split gives text, then the three groups of a slot (one set), text, ...
    parts = [pieces[0]]
    slots: list[tuple[str, bool, float, Callable[[float], str] | None]] = []
    for i in range(1, len(pieces), 4):
        loose, tight, negated = pieces[i : i + 3]
        name = names[int(next(g for g in (loose, tight, negated) if g is not None))]
        after = pieces[i + 3]
        before = parts[-1]
        bare = loose is None or (
            (not before.strip() or before.endswith(_OPENERS)) and not after.startswith("^")
        )
        # Given numbers as the stem states them; computed ones to four figures.
        f = fmt_given if name in given else fmt
        slots.append((name, bare, -1.0 if negated is not None else 1.0, f))
        parts.append(after)
    return Substitution.from_slots(parts, slots, snap=ZERO)


@lru_cache(maxsize=8192)
def fmt_given(v: float) -> str:
    # Given numbers repeat (they are set to one or two decimals): format each once.
    return fmt_param(v)


class SlotPrinter(LatexPrinter):
    """LaTeX of the generic formulas: with names (`general`), or with every quantity written out
    as its entries' slots (`slots`)."""

    def __init__(self, b: Builder, slots: list[str] | None, names: Mapping[Any, str]) -> None:
        super().__init__({"order": "none", "mul_symbol": "dot" if slots is not None else None})
        self.b = b
        self.slots = slots
        self.nm = names

    def _slot(self, s: sp.Symbol, tight: bool, negated: bool = False) -> str:
        assert self.slots is not None
        self.slots.append(s.name)
        i = len(self.slots) - 1
        if negated:
            return f"\x05{i}\x06"
        return f"\x03{i}\x04" if tight else f"\x01{i}\x02"

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        if self.slots is not None and expr in self.b.explicit:
            return self._slot(expr, tight=False)
        return self.nm.get(expr) or super()._print_Symbol(expr)

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol) -> str:
        if self.slots is None:
            return self.nm[expr]
        mat = self.b.explicit[expr]
        if mat.shape == (1, 1):
            return self._slot(mat[0, 0], tight=False)
        return pmatrix(mat.rows, mat.cols, [self._slot(s, tight=True) for s in mat])

    def _print_Identity(self, expr: sp.Identity) -> str:
        if self.slots is None:
            return "I"
        return pmatrix(
            expr.rows,
            expr.rows,
            ["1" if i % (expr.rows + 1) == 0 else "0" for i in range(expr.rows**2)],
        )

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        return f"{self._print(expr.arg)}^{{\\top}}"

    def _print_Inverse(self, expr: sp.Inverse) -> str:
        if self.slots is None or expr.arg.shape == (1, 1):
            return f"{self._print(expr.arg)}^{{-1}}"
        # The 2x2 inverse written out: adjugate over determinant.
        entries = list(self.b.explicit[expr.arg])
        a, b, c, d = (self._slot(s, tight=False) for s in entries)
        adj = pmatrix(
            2,
            2,
            [
                self._slot(entries[3], tight=True),
                self._slot(entries[1], tight=True, negated=True),
                self._slot(entries[2], tight=True, negated=True),
                self._slot(entries[0], tight=True),
            ],
        )
        return rf"\frac{{1}}{{{a} \cdot {d} - {b} \cdot {c}}} {adj}"

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        args = list(expr.args)
        last = args[-1]
        if isinstance(last, sp.Inverse) and last.arg.shape == (1, 1):
            # y_t is a scalar: K_t = V C^T / S_t, as people write it.
            num = self._print(sp.MatMul(*args[:-1], evaluate=False))
            return rf"\frac{{{num}}}{{{self._print(last.arg)}}}"
        return super()._print_MatMul(expr)


def pmatrix(rows: int, cols: int, entries: Sequence[str]) -> str:
    body = r" \\ ".join(" & ".join(entries[i * cols : (i + 1) * cols]) for i in range(rows))
    return rf"\begin{{pmatrix}} {body} \end{{pmatrix}}"


def fmt_value(v: float) -> str:
    """A computed value as a worked solution shows it; float dust (0.25 + 0.5 - 0.75) is 0."""
    return fmt(0.0 if -ZERO < v < ZERO else v)


def show(rows: int, cols: int, flat: Sequence[float], f: Callable[[float], str] = fmt_value) -> str:
    """A value in LaTeX: a number, or a matrix (a vector as a column or row)."""
    if rows == 1 and cols == 1:
        return f(flat[0])
    return pmatrix(rows, cols, [f(v) for v in flat])
