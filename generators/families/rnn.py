"""The scalar recurrent net of the course quiz: one symbolic model per (kind, T, activation),
derived once, lambdified, cached; answers, alternates and worked solutions all come from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

import sympy as sp

from generators.core import params as P
from generators.core.draw import Draw
from generators.core.symbolic import (
    ACTIVATIONS,
    Adjoints,
    Graph,
    Substitution,
    compile_straight_line,
    fmt,
    fmt_param,
)
from generators.core.template import Template

ACTIVATION_NAMES = ("logistic", "tanh", "linear")
WEIGHTS = ("w_xh", "w_hh", "w_hy", "b_h", "b_y", "h_init")
WEIGHT_DEFAULTS = {"b_h": 0.0, "b_y": 0.0, "h_init": 0.0}
PARAM_GRADS = ("dEdw_xh", "dEdw_hh", "dEdw_hy", "dEdb_h", "dEdb_y", "dEdh_init")
ACT_LATEX = {"logistic": r"\sigma", "tanh": r"\tanh", "linear": ""}
ACT_WORDS = {
    "logistic": r"logistic hidden unit, $\sigma(z) = 1/(1+e^{-z})$",
    "tanh": r"$\tanh$ hidden unit",
    "linear": "linear hidden unit ($h = z$)",
}
LATEX = {
    "w_xh": "w_{xh}",
    "w_hh": "w_{hh}",
    "w_hy": "w_{hy}",
    "b_h": "b_{h}",
    "b_y": "b_{y}",
    "h_init": r"h_{\text{init}}",
    "target": "t",
}


@dataclass(frozen=True)
class Line:
    """One line of a worked solution: `lhs = general = chain = substituted = value`."""

    name: str
    lhs: str
    general: str
    chain: str | None
    subst: Substitution | None


@dataclass(frozen=True)
class RnnModel:
    kind: str
    T: int
    activation: str
    arg_names: tuple[str, ...]
    value_names: tuple[str, ...]
    fn: Any  # args -> every node and adjoint value, in value_names order
    fn_from_h: Any  # (args, h_0..h_{T-1}) -> the same values with the hidden values given
    lines: tuple[Line, ...]
    deps: Mapping[str, frozenset[str]]  # each value's transitive dependencies (for the solution)
    cell: tuple[str, str, str]  # the generic z_t, h_t, y_t equations in LaTeX

    def values(self, params: Mapping[str, Any]) -> dict[str, float]:
        args = self.args(params)
        return dict(zip(self.value_names, self.fn(*args), strict=True))

    def values_from_h(self, params: Mapping[str, Any], h: list[float]) -> dict[str, float]:
        return dict(zip(self.value_names, self.fn_from_h(*self.args(params), *h), strict=True))

    def args(self, params: Mapping[str, Any]) -> list[float]:
        out = list(params["x"])
        out += [params[w] for w in WEIGHTS]
        if self.kind == "bptt":
            out += list(params["targets"])
        elif self.kind == "flow":
            out.append(params["target"])
        return out


@dataclass(frozen=True)
class Derivation:
    """The symbolic net: its graph, backward passes, and every quantity in computation order."""

    graph: Graph
    passes: list[Adjoints]
    hidden: list[sp.Symbol]
    assignments: list[tuple[sp.Symbol, sp.Expr]]


def derive(kind: str, T: int, activation: str) -> Derivation:
    """Build the unrolled net of `kind` ('forward', 'bptt' or 'flow') and its derivatives in SymPy."""
    f = ACTIVATIONS[activation]
    g = Graph()
    x = [g.input(f"x_{t}") for t in range(T)]
    w_xh, w_hh, w_hy, b_h, b_y, h_init = (g.input(n, LATEX[n]) for n in WEIGHTS)
    h = h_init
    ys, hs = [], []
    for t in range(T):
        # Unevaluated sums keep the course's order of terms in the worked solution.
        z = g.define(f"z_{t}", _sum(_prod(w_xh, x[t]), _prod(w_hh, h), b_h))
        h = g.define(f"h_{t}", f(z))
        hs.append(h)
        if kind != "flow" or t == T - 1:
            ys.append(g.define(f"y_{t}", _sum(_prod(w_hy, h), b_y)))
    params = [w_xh, w_hh, w_hy, b_h, b_y, h_init]
    passes: list[Adjoints] = []
    if kind == "bptt":
        tg = [g.input(f"t_{t}") for t in range(T)]
        E = g.define("E", sp.Add(*[sp.Rational(1, 2) * (tg[t] - ys[t]) ** 2 for t in range(T)]))
        passes.append(g.backward(E, params, "dEd", "E"))
    elif kind == "flow":
        target = g.input("target", "t")
        E = g.define("E", sp.Rational(1, 2) * (target - ys[-1]) ** 2)
        passes.append(g.backward(hs[-1], [], "gain_", f"h_{{{T - 1}}}"))
        passes.append(g.backward(E, [w_xh], "dEd", "E"))

    assignments = list(g.nodes) + [(st.sym, st.expr) for p in passes for st in p.steps]
    if kind == "flow" and T == 1:  # gain = dh_0/dh_0 = 1: no backward step defines it
        assignments.append((sp.Symbol("gain_h_0", real=True), sp.Integer(1)))
    return Derivation(g, passes, hs, assignments)


@cache
def model(kind: str, T: int, activation: str) -> RnnModel:
    """Derive once per (kind, T, activation); lambdify; precompile the worked-solution lines."""
    d = derive(kind, T, activation)
    g, passes, hs, assignments = d.graph, d.passes, d.hidden, d.assignments
    w_xh, w_hh, w_hy, b_h, b_y = (g.inputs[T + i] for i in range(5))
    f = ACTIVATIONS[activation]
    value_syms = [s for s, _ in assignments]
    fn = compile_straight_line(g.inputs, assignments, value_syms)
    h_set = set(hs)
    fn_from_h = compile_straight_line(
        list(g.inputs) + hs, [(s, e) for s, e in assignments if s not in h_set], value_syms
    )

    names = dict(g.latex_names)
    symbols = list(g.inputs) + value_syms
    lines = []
    for sym, expr in g.nodes:
        lines.append(
            Line(sym.name, _l(sym, names), _l(expr, names), None, Substitution(expr, symbols))
        )
    for p in passes:
        for st in p.steps:
            chain = " + ".join(
                names[p.adj[c]]
                + r"\,"
                + rf"\frac{{\partial {_l(c, names)}}}{{\partial {_l(st.of, names)}}}"
                if p.adj[c] != 1
                else rf"\frac{{\partial {_l(c, names)}}}{{\partial {_l(st.of, names)}}}"
                for c in st.children
            )
            lines.append(
                Line(
                    st.sym.name,
                    names[st.sym],
                    _l(st.expr, names),
                    chain,
                    Substitution(st.expr, symbols),
                )
            )

    deps: dict[str, frozenset[str]] = {}
    for sym, expr in assignments:
        needs: set[str] = set()
        for s in expr.free_symbols:
            needs.add(s.name)
            needs |= deps.get(s.name, frozenset())
        deps[sym.name] = frozenset(needs)

    xt, hp, zt, ht = (sp.Symbol(n) for n in ("x_t", "h_{t-1}", "z_t", "h_t"))
    cell = (
        _l(_sum(_prod(w_xh, xt), _prod(w_hh, hp), b_h), names),
        _l(f(zt), names),
        _l(_sum(_prod(w_hy, ht), b_y), names),
    )
    return RnnModel(
        kind,
        T,
        activation,
        tuple(s.name for s in g.inputs),
        tuple(s.name for s in value_syms),
        fn,
        fn_from_h,
        tuple(lines),
        deps,
        cell,
    )


def _l(expr: sp.Expr, names: Mapping[sp.Symbol, str]) -> str:
    return sp.latex(expr, symbol_names=dict(names), order="none")


def _sum(*terms: sp.Expr) -> sp.Expr:
    return sp.Add(*terms, evaluate=False)


def _prod(*factors: sp.Expr) -> sp.Expr:
    return sp.Mul(*factors, evaluate=False)


# -- params -----------------------------------------------------------------------------------


def validate(params: Mapping[str, Any], partial: bool, extra: tuple[str, ...]) -> dict[str, Any]:
    """Shared checks of the rnn templates; `extra` names the template's own params."""
    P.check_keys(params, ("x", *WEIGHTS, "activation", "ask", *extra))
    out: dict[str, Any] = {}
    T = None
    if "x" in params or not partial:
        out["x"] = P.number_list(params, "x", min_len=1, max_len=P.MAX_T)
        T = len(out["x"])
    for w in WEIGHTS:
        if w in params or not partial:
            out[w] = P.number(params, w, WEIGHT_DEFAULTS.get(w))
    if "activation" in params or not partial:
        out["activation"] = P.choice(params, "activation", ACTIVATION_NAMES, "logistic")
    if "targets" in extra and ("targets" in params or not partial):
        out["targets"] = P.number_list(params, "targets", length=T)
    if "target" in extra and ("target" in params or not partial):
        out["target"] = P.number(params, "target")
    if "ask" in params:
        out["ask"] = params["ask"]
    elif not partial:
        out["ask"] = None
    return out


# -- rendering --------------------------------------------------------------------------------


def formats_for(m: RnnModel) -> dict[str, Any]:
    return {n: fmt_param for n in m.arg_names}


def describe_net(m: RnnModel, params: Mapping[str, Any]) -> str:
    z, h, y = m.cell
    act = ACT_WORDS[m.activation]
    weights = ", ".join(f"${LATEX[w]} = {fmt_param(params[w])}$" for w in WEIGHTS)
    xs = ", ".join(fmt_param(v) for v in params["x"])
    return (
        f"A recurrent net has one input unit, one {act}, and one linear output unit, "
        f"with the same weights at every time step (weight tying). At each step $t$:\n\n"
        f"$$z_t = {z}, \\qquad h_t = {h}, \\qquad y_t = {y},$$\n\n"
        f"where $h_{{-1}} = h_{{\\text{{init}}}}$. The parameters are {weights}. "
        f"The inputs are $x = ({xs})$ for $t = 0, \\ldots, {m.T - 1}$."
    )


def solution(
    m: RnnModel,
    values: Mapping[str, float],
    params: Mapping[str, Any],
    wanted: list[str],
    headings: Mapping[str, str],
    labels: Mapping[str, str] | None = None,
) -> str:
    """The worked solution for the `wanted` values: each line gives the general formula (with the
    chain-rule expansion for derivatives), the numbers substituted, and the result. `labels`
    names a wanted value whose answer id differs from its name in the model."""
    need = set(wanted)
    for w in wanted:
        need |= m.deps.get(w, frozenset())
    allv = dict(values)
    for i, v in enumerate(params["x"]):
        allv[f"x_{i}"] = v
    for w in WEIGHTS:
        allv[w] = params[w]
    for i, v in enumerate(params.get("targets", ())):
        allv[f"t_{i}"] = v
    if "target" in params:
        allv["target"] = params["target"]
    formats = formats_for(m)
    out: list[str] = []
    section = None
    for line in m.lines:
        if line.name not in need:
            continue
        head = headings.get(_section_of(line.name))
        if head and head != section:
            out.append(f"\n**{head}**\n")
            section = head
        parts = [line.lhs]
        if line.chain:
            parts.append(line.chain)
        parts.append(line.general)
        if line.subst is not None:
            filled = line.subst.fill(allv, formats)
            if filled != parts[-1]:
                parts.append(filled)
        parts.append(fmt(values[line.name]))
        out.append("$$" + " = ".join(_dedupe(parts)) + "$$")
    labels = labels or {}
    answers = ", ".join(
        f"${labels.get(w) or label(w)} = {fmt(values[w])}$" for w in wanted if w in values
    )
    if answers:
        out.append(f"\n**Answer.** {answers}.")
    return "\n".join(out).strip()


def _dedupe(parts: list[str]) -> list[str]:
    out: list[str] = []
    for p in parts:
        if not out or out[-1] != p:
            out.append(p)
    return out


def _section_of(name: str) -> str:
    if name.startswith("gain_"):
        return "gain"
    if name.startswith("dEd"):
        return "backward"
    if name == "E":
        return "error"
    return "forward"


def label(part_id: str) -> str:
    """LaTeX of an answer id: `h_2` -> h_{2}, `dEdz_1` -> dE/dz_{1}, `gain` -> dh_{T-1}/dh_0."""
    if part_id.startswith("dEd"):
        q = part_id[3:]
        return rf"\partial E / \partial {label(q)}"
    if part_id in LATEX:
        return LATEX[part_id]
    head, _, t = part_id.partition("_")
    if t.isdigit():
        return f"{head}_{{{t}}}"
    return part_id


def fmt_values(values: list[float]) -> str:
    return ", ".join(fmt(v) for v in values)


# -- the family's template base ---------------------------------------------------------------

# How far a pre-activation may go before the unit counts as saturated (sigma'(4) = 0.018).
SATURATION = {"logistic": 4.0, "tanh": 2.5, "linear": 25.0}


class RnnTemplate(Template):
    """What the three rnn templates share: params, the cached model, labels, the net's draw."""

    family: ClassVar[str] = "rnn"
    kind: ClassVar[str]
    extra: ClassVar[tuple[str, ...]] = ()

    def validate(self, params: Mapping[str, Any], partial: bool = False) -> dict[str, Any]:
        out = validate(params, partial, self.extra)
        if not partial:
            out["ask"] = P.ask(out, self.answer_ids(out))
        return out

    def model(self, params: Mapping[str, Any]) -> RnnModel:
        return model(self.kind, len(params["x"]), params["activation"])

    def label(self, part_id: str) -> str:
        return label(part_id)

    def draw_net(self, draw: Draw, fixed: Mapping[str, Any], T: int, act: str) -> dict[str, Any]:
        """Numbers a person would set: integer inputs, weights to one or two decimals."""

        def pick(name: str, make: Any) -> Any:
            return fixed[name] if name in fixed else make()

        x_max = 10 if act != "linear" else 5
        p: dict[str, Any] = {
            "x": pick("x", lambda: [float(v) for v in draw.integers(-x_max, x_max, T)]),
            "w_xh": pick("w_xh", lambda: draw.nonzero_step(-0.5, 0.5, 0.1)),
            "w_hh": pick("w_hh", lambda: draw.nonzero_step(-1.5, 1.5, 0.1)),
            "w_hy": pick("w_hy", lambda: draw.nonzero_step(-1.0, 1.0, 0.05)),
            "b_h": pick("b_h", lambda: draw.step(-1.0, 1.0, 0.1)),
            "b_y": pick("b_y", lambda: 0.0 if draw.chance(0.7) else draw.step(-0.5, 0.5, 0.1)),
            "h_init": pick("h_init", lambda: 0.0 if draw.chance(0.8) else draw.step(0.1, 0.9, 0.1)),
            "activation": act,
        }
        return p

    @staticmethod
    def saturated(values: Mapping[str, float], T: int, act: str) -> bool:
        limit = SATURATION[act]
        return any(abs(values[f"z_{t}"]) > limit for t in range(T))

    @staticmethod
    def draw_shape(draw: Draw, fixed: Mapping[str, Any], t_lo: int, t_hi: int) -> tuple[int, str]:
        T = len(fixed["x"]) if "x" in fixed else draw.integer(t_lo, t_hi)
        act = fixed.get("activation") or draw.choice(
            ("logistic", "logistic", "logistic", "tanh", "linear")
        )
        return T, act

    @staticmethod
    def pick_ask(
        draw: Draw, fixed: Mapping[str, Any], candidates: list[str], order: list[str], k: int
    ) -> list[str] | None:
        if "ask" in fixed:
            return fixed["ask"] if isinstance(fixed["ask"], list) else [fixed["ask"]]
        if not candidates:
            return None
        chosen = set(draw.sample(candidates, k))
        return [p for p in order if p in chosen]

    @property
    def part_kinds(self) -> tuple[str, ...]:
        return ("numeric",)
