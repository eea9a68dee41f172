"""Worked solutions rendered line by line from a symbolic model: the general formula (with its
chain-rule expansion for a derivative), the numbers substituted, and the result."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import sympy as sp

from generators.core.symbolic import Adjoints, Substitution, fmt


@dataclass(frozen=True)
class Line:
    """One line, `lhs = chain = general = substituted... = value`, built once per shape.
    `substs` are filled in order (e.g. sigma(0.5 . 1 + 0.2) then sigma(0.7)); a form equal to its
    predecessor is shown once. The line of every family's worked solution."""

    name: str  # the value the line computes
    lhs: str
    general: str
    chain: str | None = None
    substs: tuple[Substitution, ...] = ()
    section: Hashable = ""  # a heading's key (rnn, lstm), (quantity, t) in hmm, t in kalman
    shape: tuple[int, int] = (1, 1)  # rows and columns of the value (a matrix in kalman)


def tex(expr: sp.Expr, names: Mapping[sp.Symbol, str]) -> str:
    """LaTeX in the model's own order of terms and with its own names."""
    return sp.latex(expr, symbol_names=dict(names), order="none")


def dependencies(assignments: Iterable[tuple[sp.Symbol, sp.Expr]]) -> dict[str, frozenset[str]]:
    """Each assigned value's transitive dependencies, by name: what a solution must show first."""
    return closure((sym.name, (s.name for s in expr.free_symbols)) for sym, expr in assignments)


def closure(direct: Iterable[tuple[str, Iterable[str]]]) -> dict[str, frozenset[str]]:
    """Close direct dependencies transitively; `direct` lists each name after those it uses."""
    deps: dict[str, frozenset[str]] = {}
    for name, uses in direct:
        d: set[str] = set()
        for u in uses:
            d.add(u)
            d |= deps.get(u, frozenset())
        deps[name] = frozenset(d)
    return deps


def adjoint_lines(
    passes: Adjoints, names: Mapping[sp.Symbol, str], symbols: Sequence[sp.Symbol], section: str
) -> list[Line]:
    """One line per reverse-mode step: the chain rule over the quantities the value feeds, the
    local partials written out, then the numbers."""
    out = []
    for st in passes.steps:
        chain = " + ".join(
            (names[passes.adj[c]] + r"\," if passes.adj[c] != 1 else "")
            + rf"\frac{{\partial {tex(c, names)}}}{{\partial {tex(st.of, names)}}}"
            for c in st.children
        )
        out.append(
            Line(
                st.sym.name,
                names[st.sym],
                tex(st.expr, names),
                chain,
                (Substitution(st.expr, symbols),),
                section,
            )
        )
    return out


def render(
    lines: Sequence[Line],
    deps: Mapping[str, frozenset[str]],
    values: Mapping[str, float],
    wanted: Sequence[str],
    headings: Mapping[str, str],
    formats: Mapping[str, Callable[[float], str]],
    label: Callable[[str], str],
) -> str:
    """The lines the `wanted` values need, under their section headings, and the answers.
    `values` holds every input and computed value by name; `label` names a wanted value."""
    need = set(wanted)
    for w in wanted:
        need |= deps.get(w, frozenset())
    out: list[str] = []
    section = None
    for line in lines:
        if line.name not in need:
            continue
        head = headings.get(line.section)
        if head and head != section:
            out.append(f"\n**{head}**\n")
            section = head
        parts = [line.lhs]
        if line.chain:
            parts.append(line.chain)
        parts.append(line.general)
        parts.extend(s.fill(values, formats) for s in line.substs)
        parts.append(fmt(values[line.name]))
        out.append("$$" + " = ".join(_dedupe(parts)) + "$$")
    answers = ", ".join(f"${label(w)} = {fmt(values[w])}$" for w in wanted if w in values)
    if answers:
        out.append(f"\n**Answer.** {answers}.")
    return "\n".join(out).strip()


def _dedupe(parts: list[str]) -> list[str]:
    out: list[str] = []
    for p in parts:
        if not out or out[-1] != p:
            out.append(p)
    return out
