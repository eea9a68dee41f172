"""Formula answers: a model's symbolic expression printed in the names students type (`h1`, not
`h_1`), and the prompt's list of names and functions."""

from __future__ import annotations

import re
from collections.abc import Iterable

import sympy as sp

from grader.expr import FUNCTIONS

_INDEXED = re.compile(r"^([A-Za-z]+)_(\d+)$")


def student_name(name: str) -> str:
    """`h_1` -> `h1`, `keep_0` -> `keep0`; other names (`w_xh`) stay as they are."""
    m = _INDEXED.match(name)
    return f"{m.group(1)}{m.group(2)}" if m else name


def formula_text(expr: sp.Expr) -> str:
    """The expression as a student would type it, in student names (deterministic)."""
    renamed = expr.xreplace({s: sp.Symbol(student_name(s.name)) for s in expr.free_symbols})
    return sp.sstr(renamed, order="lex")


def names_prompt(names: Iterable[str], functions: Iterable[str] = FUNCTIONS) -> str:
    """`x0, x1, h0, h1, w_xh` as a compact phrase for the stem."""
    shown = ", ".join(f"`{n}`" for n in names)
    funcs = ", ".join(f"`{f}`" for f in functions)
    return f"a formula in {shown}; operators `+ - * / ^`, functions {funcs}"
