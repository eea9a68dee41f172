"""The 200 formulas of issue 9 for rnn-bptt `expr_dEdz_1` (T = 3, logistic): 100 rewrites of the
reference (expanded, factored, collected, reordered, y written out) and 100 typical mistakes (a
missing term, a sign, w_hh for w_hy, an index off by one, a dropped h(1-h)), each in many forms.

Deterministic: the same 200 strings on every run. Shared by bench/symbolic_bench.py and the test
that holds every verdict (tests/grader/test_equivalence.py).
"""

from __future__ import annotations

import random

import sympy as sp

PARAMS = {
    "x": [18, 9, -8],
    "w_xh": -0.1,
    "w_hh": 0.5,
    "w_hy": 0.25,
    "b_h": 0.4,
    "b_y": 0,
    "targets": [0.1, -0.1, -0.2],
    "ask": ["expr_dEdz_1"],
}
PART = "expr_dEdz_1"

_S = {n: sp.Symbol(n) for n in ["h0", "h1", "h2", "y1", "y2", "t1", "t2", "w_hh", "w_hy", "b_y"]}
h0, h1, h2, y1, y2, t1, t2, w_hh, w_hy, b_y = _S.values()
_Y = {y1: b_y + w_hy * h1, y2: b_y + w_hy * h2}


def _dedz(a1: sp.Expr, e1: sp.Expr, a2: sp.Expr, e2: sp.Expr, w: sp.Expr = w_hh) -> sp.Expr:
    """a1 * (w_hy e1 + w a2 w_hy e2): dE/dz_1 built from its pieces, to make mistakes in."""
    return a1 * (w_hy * e1 + w * a2 * w_hy * e2)


REFERENCE = _dedz(h1 * (1 - h1), y1 - t1, h2 * (1 - h2), y2 - t2)
MISTAKES = (
    h1 * (1 - h1) * w_hy * (y1 - t1),  # the path through step 2 missing
    _dedz(h1 * (1 - h1), y1 - t1, h2 * (1 - h2), y2 - t2) + w_hy * (y1 - t1),  # an extra term
    _dedz(h1 * (1 - h1), t1 - y1, h2 * (1 - h2), t2 - y2),  # the sign of dE/dy
    _dedz(h1 * (1 - h1), y1 - t1, h2 * (1 - h2), t2 - y2),  # one sign
    _dedz(h1 * (1 - h1), y1 - t1, h2 * (1 - h2), y2 - t2, w_hy),  # w_hy for w_hh
    h1 * (1 - h1) * (w_hh * (y1 - t1) + w_hh * h2 * (1 - h2) * w_hy * (y2 - t2)),  # w_hh for w_hy
    _dedz(h2 * (1 - h2), y1 - t1, h2 * (1 - h2), y2 - t2),  # h2 for h1
    _dedz(h0 * (1 - h0), y1 - t1, h1 * (1 - h1), y2 - t2),  # each h one step early
    _dedz(sp.Integer(1), y1 - t1, h2 * (1 - h2), y2 - t2),  # h1(1-h1) dropped
    _dedz(h1 * (1 - h1), y1 - t1, sp.Integer(1), y2 - t2),  # h2(1-h2) dropped
)


def _shapes(expr: sp.Expr) -> list[sp.Expr]:
    """The same value in different algebraic shapes."""
    expanded = sp.expand(expr)
    out = [expr, expanded, sp.factor(expr)]
    out += [sp.collect(expanded, v) for v in (w_hy, h1, w_hh, h2)]
    written = expr.xreplace(_Y)
    out += [written, sp.expand(written), sp.collect(sp.expand(written), h1)]
    return out


def _text(expr: sp.Expr, rng: random.Random, style: dict[str, str]) -> str:
    """Print `expr` as a student might: terms and factors in a random order, `^` or `**`,
    spaces or not, powers written out as products or not."""
    if expr.is_Symbol:
        return expr.name
    if expr.is_Integer:
        return str(expr)
    if expr.is_Add:
        terms = [_text(t, rng, style) for t in expr.args]
        rng.shuffle(terms)
        out = terms[0]
        for t in terms[1:]:
            out += (
                f"{style['sp']}-{style['sp']}{t[1:]}"
                if t.startswith("-")
                else (f"{style['sp']}+{style['sp']}{t}")
            )
        return out
    if expr.is_Pow:
        base, k = expr.args
        b = _text(base, rng, style) if base.is_Symbol else f"({_text(base, rng, style)})"
        if style["expand_powers"] and k.is_Integer and 0 < k <= 3:
            return style["mul"].join([b] * int(k))
        return f"{b}{style['pow']}{_text(k, rng, style)}"
    if expr.is_Mul:
        coeff, rest = expr.as_coeff_mul()
        factors = []
        for f in rest:
            s = _text(f, rng, style)
            factors.append(f"({s})" if f.is_Add else s)
        rng.shuffle(factors)
        body = style["mul"].join(factors)
        if coeff == -1:
            return "-" + body
        if coeff != 1:
            return f"{coeff}{style['mul']}{body}"
        return body
    raise ValueError(f"no printer for {type(expr).__name__}")  # pragma: no cover


def _forms(exprs: tuple[sp.Expr, ...], count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    shapes = [s for e in exprs for s in _shapes(e)]
    seen: set[str] = set()
    out: list[str] = []
    k = 0
    while len(out) < count:
        # Each round prints every shape once in one style; the first round is the longest.
        rounds = k // len(shapes)
        spaced = rounds % 3 != 1
        style = {
            "sp": " " if spaced else "",
            "mul": " * " if spaced else "*",
            "pow": "^" if rounds % 2 else "**",
            "expand_powers": "1" if rounds % 4 in (0, 3) else "",
        }
        text = _text(shapes[k % len(shapes)], rng, style)
        k += 1
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def formula_set() -> tuple[list[str], list[str]]:
    """(100 right formulas, 100 wrong ones); the right ones include the fully expanded
    reference with y written out and every product spelled out (the longest form)."""
    right = _forms((REFERENCE,), 100, 9)
    wrong = _forms(MISTAKES, 100, 10)
    return right, wrong
