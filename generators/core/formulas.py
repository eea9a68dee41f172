"""Formula answers: a model's symbolic expression printed in the names students type (`h1`, not
`h_1`), and the prompt's list of names and functions."""

from __future__ import annotations

import re

import sympy as sp

_INDEXED = re.compile(r"^([A-Za-z]+)_(\d+)$")


def student_name(name: str) -> str:
    """`h_1` -> `h1`, `keep_0` -> `keep0`; other names (`w_xh`) stay as they are."""
    m = _INDEXED.match(name)
    return f"{m.group(1)}{m.group(2)}" if m else name


def formula_text(expr: sp.Expr) -> str:
    """The expression as a student would type it, in student names (deterministic)."""
    renamed = expr.xreplace({s: sp.Symbol(student_name(s.name)) for s in expr.free_symbols})
    return sp.sstr(renamed, order="lex")
