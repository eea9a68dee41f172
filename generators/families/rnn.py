"""The scalar recurrent net of the course quiz: one symbolic model per (kind, T, activation),
derived once, lambdified, cached; answers, alternates, misconceptions and worked solutions all
come from it."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, ClassVar

import sympy as sp

from generators.core import worked
from generators.core.draw import Draw
from generators.core.formulas import formula_text, student_name
from generators.core.mistakes import Mistake, by_code
from generators.core.params import (
    MAX_T,
    check_ask,
    check_choice,
    check_keys,
    check_number,
    check_number_list,
    fixed_ask,
)
from generators.core.symbolic import (
    ACTIVATIONS,
    Adjoints,
    Graph,
    Substitution,
    compile_straight_line,
    fmt,
    fmt_param,
    index_list,
    plus,
    times,
)
from generators.core.template import Template
from grader.answers import Misconception
from grader.symbolic_answer import SymbolicAnswer, distinct_mistakes

ACTIVATION_NAMES = ("logistic", "tanh", "linear")
WEIGHTS = ("w_xh", "w_hh", "w_hy", "b_h", "b_y", "h_init")
WEIGHT_DEFAULTS = {"b_h": 0.0, "b_y": 0.0, "h_init": 0.0}
PARAM_GRADS = ("dEdw_xh", "dEdw_hh", "dEdw_hy", "dEdb_h", "dEdb_y", "dEdh_init")
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
    "target": "y^{*}",
}

# The published Week 7 quiz's questions 3 (forward pass) and 4 (backpropagation through time):
# SPEC.md fixes their answers (h_2 = 0.0753, y_1 = -0.3551; dE/dz_1 = 0.01393, 0.01392 from the
# hidden values 0.2, 0.4, 0.8 that its stem states).
PUBLISHED_FORWARD: dict[str, Any] = {
    "x": [9, 4, -2],
    "w_xh": 0.5,
    "w_hh": -1.0,
    "w_hy": -0.7,
    "b_h": -1.0,
    "b_y": 0,
}
PUBLISHED_BPTT: dict[str, Any] = {
    "x": [18, 9, -8],
    "w_xh": -0.1,
    "w_hh": 0.5,
    "w_hy": 0.25,
    "b_h": 0.4,
    "b_y": 0,
    "targets": [0.1, -0.1, -0.2],
}

# -- misconceptions: perturbations of the computation graph ------------------------------------
# A backward perturbation replaces local partials while the graph is differentiated; a parameter
# perturbation evaluates the same model with a term switched off; `off-by-one-time` reads the
# neighbouring step's value. The grader drops any whose value a variant's tolerance cannot tell
# from the right answer.
_MESSAGES: dict[str, str] = {
    "missing-future-terms": "You kept only the local term: the derivative with respect to a hidden "
    "value must also include the path through the next step, w_hh times dE/dz at t+1.",
    "missing-activation-derivative": "You left out the activation's derivative: dE/dz_t = "
    "dE/dh_t times f'(z_t).",
    "wrong-activation-derivative": "The activation's derivative is off: write it in terms of the "
    "unit's output, h_t(1 - h_t) for the logistic and 1 - h_t^2 for tanh, not of z_t.",
    "sign-error": "The sign is flipped: dE/dy_t = y_t - t_t, not t_t - y_t.",
    "no-recurrence": "You left out the recurrent connection w_hh h_{t-1}.",
    "missing-bias": "You left out the bias.",
    "off-by-one-time": "That is the value at a neighbouring time step: check the index t.",
}
_DESCRIPTIONS: dict[str, str] = {
    "missing-future-terms": "dE/dh_t without the path through the next step (w_hh dE/dz_{t+1})",
    "missing-activation-derivative": "dE/dz_t = dE/dh_t, the f'(z_t) factor left out",
    "wrong-activation-derivative": "f' written in terms of z_t instead of the unit's output h_t",
    "sign-error": "dE/dy_t = t_t − y_t instead of y_t − t_t",
    "no-recurrence": "the recurrent term w_hh h_{t−1} left out",
    "missing-bias": "the biases left out",
    "off-by-one-time": "the value of a neighbouring time step",
}
MISTAKES = by_code(
    Mistake(code, _DESCRIPTIONS[code], {"": text}) for code, text in _MESSAGES.items()
)
BACKWARD_PERTURBATIONS = (
    "missing-future-terms",
    "missing-activation-derivative",
    "wrong-activation-derivative",
    "sign-error",
)
PARAM_PERTURBATIONS: dict[str, dict[str, float]] = {
    "no-recurrence": {"w_hh": 0.0},
    "missing-bias": {"b_h": 0.0, "b_y": 0.0},
}


def _kind_of(sym: sp.Symbol) -> str:
    return sym.name.partition("_")[0]


def _rule(code: str) -> Callable[[sp.Symbol, sp.Symbol, sp.Expr], sp.Expr]:
    """The local-partial replacement that makes the mistake `code`."""

    def rule(c: sp.Symbol, v: sp.Symbol, partial: sp.Expr) -> sp.Expr:
        child, of = _kind_of(c), _kind_of(v)
        if child == "h" and of == "z":  # the activation's derivative
            if code == "missing-activation-derivative":
                return sp.Integer(1)
            if code == "wrong-activation-derivative":
                return partial.xreplace({c: v})
        if code == "missing-future-terms" and child == "z" and of == "h":
            return sp.Integer(0)
        if code == "sign-error" and c.name == "E" and of == "y":
            return -partial
        return partial

    return rule


@dataclass(frozen=True)
class Derivation:
    """The symbolic net: its graph, backward passes, and every quantity in computation order."""

    graph: Graph
    passes: list[Adjoints]
    hidden: list[sp.Symbol]
    assignments: list[tuple[sp.Symbol, sp.Expr]]


def derive(kind: str, T: int, activation: str, perturbation: str | None = None) -> Derivation:
    """Build the unrolled net of `kind` ('forward', 'bptt' or 'flow') and its derivatives in SymPy,
    with a backward misconception's perturbation when one is named."""
    f = ACTIVATIONS[activation]
    rule = _rule(perturbation) if perturbation else None
    g = Graph()
    x = [g.input(f"x_{t}") for t in range(T)]
    w_xh, w_hh, w_hy, b_h, b_y, h_init = (g.input(n, LATEX[n]) for n in WEIGHTS)
    h = h_init
    ys, hs = [], []
    for t in range(T):
        # Unevaluated sums keep the course's order of terms in the worked solution.
        z = g.define(f"z_{t}", plus(times(w_xh, x[t]), times(w_hh, h), b_h))
        h = g.define(f"h_{t}", f(z))
        hs.append(h)
        if kind != "flow" or t == T - 1:
            ys.append(g.define(f"y_{t}", plus(times(w_hy, h), b_y)))
    params = [w_xh, w_hh, w_hy, b_h, b_y, h_init]
    passes: list[Adjoints] = []
    if kind == "bptt":
        # Targets y*_t: `t` already counts the time steps (students type them as t0, t1, ...).
        tg = [g.input(f"t_{t}", f"y^{{*}}_{{{t}}}") for t in range(T)]
        E = g.define("E", sp.Add(*[sp.Rational(1, 2) * (tg[t] - ys[t]) ** 2 for t in range(T)]))
        passes.append(g.backward(E, params, "dEd", "E", rule))
    elif kind == "flow":
        target = g.input("target", "y^{*}")
        E = g.define("E", sp.Rational(1, 2) * (target - ys[-1]) ** 2)
        passes.append(g.backward(hs[-1], [], "gain_", f"h_{{{T - 1}}}", rule))
        passes.append(g.backward(E, [w_xh], "dEd", "E", rule))
    assignments = list(g.nodes) + [(st.sym, st.expr) for p in passes for st in p.steps]
    if kind == "flow" and not any(s.name == "gain_h_0" for s, _ in assignments):
        assignments.append((sp.Symbol("gain_h_0", real=True), sp.Integer(1)))  # T = 1: dh_0/dh_0
    return Derivation(g, passes, hs, assignments)


@dataclass(frozen=True)
class RnnModel:
    kind: str
    T: int
    activation: str
    arg_names: tuple[str, ...]
    value_names: tuple[str, ...]
    fn: Any  # args -> every node and adjoint value, in value_names order
    fn_from_h: Any  # (args, h_0..h_{T-1}) -> the same values with the hidden values given
    lines: tuple[worked.Line, ...]
    deps: Mapping[str, frozenset[str]]  # each value's transitive dependencies (for the solution)
    cell: tuple[str, str, str]  # the generic z_t, h_t, y_t equations in LaTeX
    formulas: Mapping[str, str]  # each derivative written out in the students' names
    formula_names: tuple[str, ...]  # the names a formula answer may use
    definitions: tuple[tuple[str, str], ...]  # z_t, h_t, y_t as formulas of earlier names

    def values(self, params: Mapping[str, Any]) -> dict[str, float]:
        return dict(zip(self.value_names, self.fn(*self.args(params)), strict=True))

    def values_from_h(self, params: Mapping[str, Any], h: list[float]) -> dict[str, float]:
        return dict(zip(self.value_names, self.fn_from_h(*self.args(params), *h), strict=True))

    def perturbed(self, params: Mapping[str, Any], code: str) -> dict[str, float]:
        """Every value as the mistake `code` computes it."""
        if code in PARAM_PERTURBATIONS:
            return self.values({**params, **PARAM_PERTURBATIONS[code]})
        names, fn = perturbed_fn(self.kind, self.T, self.activation, code)
        return dict(zip(names, fn(*self.args(params)), strict=True))

    def args(self, params: Mapping[str, Any]) -> list[float]:
        out = list(params["x"])
        out += [params[w] for w in WEIGHTS]
        if self.kind == "bptt":
            out += list(params["targets"])
        elif self.kind == "flow":
            out.append(params["target"])
        return out


@cache
def model(kind: str, T: int, activation: str) -> RnnModel:
    """Derive once per (kind, T, activation); lambdify; precompile the worked-solution lines."""
    d = derive(kind, T, activation)
    g, hs, assignments = d.graph, d.hidden, d.assignments
    value_syms = [s for s, _ in assignments]
    fn = compile_straight_line(g.inputs, assignments, value_syms)
    h_set = set(hs)
    fn_from_h = compile_straight_line(
        list(g.inputs) + hs, [(s, e) for s, e in assignments if s not in h_set], value_syms
    )
    names = dict(g.latex_names)
    symbols = list(g.inputs) + value_syms
    lines = [
        worked.Line(
            s.name,
            _l(s, names),
            _l(e, names),
            None,
            (Substitution(e, symbols),),
            _section_of(s.name),
        )
        for s, e in g.nodes
    ]
    for p in d.passes:
        lines += worked.adjoint_lines(
            p,
            names,
            symbols,
            "gain" if p.steps and p.steps[0].sym.name.startswith("gain_") else "backward",
        )
    w_xh, w_hh, w_hy, b_h, b_y = (g.inputs[T + i] for i in range(5))
    xt, hp, zt, ht = (sp.Symbol(n) for n in ("x_t", "h_{t-1}", "z_t", "h_t"))
    cell = (
        _l(plus(times(w_xh, xt), times(w_hh, hp), b_h), names),
        _l(ACTIVATIONS[activation](zt), names),
        _l(plus(times(w_hy, ht), b_y), names),
    )
    # Derivatives as formulas: later adjoints substituted into each step's expression.
    written: dict[sp.Symbol, sp.Expr] = {}
    for p in d.passes:
        for st in p.steps:
            written[st.sym] = st.expr.xreplace(written)
    formulas = {s.name: formula_text(e) for s, e in written.items()}
    if kind == "flow" and "gain_h_0" not in formulas:
        formulas["gain_h_0"] = "1"
    student = {
        s: sp.Symbol(student_name(s.name))
        for s in (*g.inputs, *(n for n, _ in g.nodes))
        if s.name != "E"
    }
    formula_names = tuple(
        student[s].name for s in sorted(student, key=lambda s: (_kind_of(s) not in "xhyzt", s.name))
    )
    definitions = tuple((student[s].name, formula_text(e)) for s, e in g.nodes if s.name != "E")
    return RnnModel(
        kind,
        T,
        activation,
        tuple(s.name for s in g.inputs),
        tuple(s.name for s in value_syms),
        fn,
        fn_from_h,
        tuple(lines),
        worked.dependencies(assignments),
        cell,
        formulas,
        formula_names,
        definitions,
    )


@cache
def perturbed_fn(kind: str, T: int, activation: str, code: str) -> tuple[tuple[str, ...], Any]:
    """The model with a backward misconception, lambdified once per shape like the model; a
    dropped term can remove a quantity altogether, so the names come with the function."""
    d = derive(kind, T, activation, code)
    value_syms = [s for s, _ in d.assignments]
    return tuple(s.name for s in value_syms), compile_straight_line(
        d.graph.inputs, d.assignments, value_syms
    )


@cache
def formula_answer(kind: str, T: int, activation: str, name: str) -> SymbolicAnswer:
    """The formula part for the model value `name`, built once per shape: the names of every
    quantity of the net are allowed, and z_t, h_t, y_t count as their definitions."""
    m = model(kind, T, activation)
    return SymbolicAnswer(m.formulas[name], m.formula_names, definitions=m.definitions)


def formula_part(
    m: RnnModel, params: Mapping[str, Any], name: str, wrong: tuple[Misconception, ...]
) -> SymbolicAnswer:
    """The formula part of one variant: the shape's answer plus, when `wrong` holds the values
    that known mistakes give here, the variant's inputs, at which a wrong formula is evaluated
    to name its mistake."""
    answer = formula_answer(m.kind, m.T, m.activation, name)
    wrong = distinct_mistakes(wrong, m.values(params)[name])
    if not wrong:
        return answer
    at = tuple(
        (student_name(n), float(v)) for n, v in zip(m.arg_names, m.args(params), strict=True)
    )
    return replace(answer, misconceptions=wrong, at=at)


def _l(expr: sp.Expr, names: Mapping[sp.Symbol, str]) -> str:
    return worked.tex(expr, names)


# -- params -----------------------------------------------------------------------------------


def validate(params: Mapping[str, Any], partial: bool, extra: tuple[str, ...]) -> dict[str, Any]:
    """Shared checks of the rnn templates; `extra` names the template's own params."""
    check_keys(params, ("x", *WEIGHTS, "activation", "ask", *extra))
    out: dict[str, Any] = {}
    T = None
    if "x" in params or not partial:
        out["x"] = check_number_list(params, "x", min_len=1, max_len=MAX_T)
        T = len(out["x"])
    for w in WEIGHTS:
        if w in params or not partial:
            out[w] = check_number(params, w, WEIGHT_DEFAULTS.get(w))
    if "activation" in params or not partial:
        out["activation"] = check_choice(params, "activation", ACTIVATION_NAMES, "logistic")
    if "targets" in extra and ("targets" in params or not partial):
        out["targets"] = check_number_list(params, "targets", length=T)
    if "target" in extra and ("target" in params or not partial):
        out["target"] = check_number(params, "target")
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
        f"The inputs are $x = ({xs})$ for $t = {index_list('', m.T - 1)}$."
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
    allv = dict(values)
    allv.update(zip(m.arg_names, m.args(params), strict=True))
    labels = labels or {}
    return worked.render(
        m.lines, m.deps, allv, wanted, headings, formats_for(m), lambda w: labels.get(w) or label(w)
    )


def _section_of(name: str) -> str:
    if name == "E":
        return "error"
    return "forward"


def label(part_id: str) -> str:
    """LaTeX of an answer id: `h_2` -> h_{2}, `dEdz_1` -> dE/dz_{1}, `gain` -> dh_{T-1}/dh_0."""
    if part_id.startswith("expr_"):
        return label(part_id[5:]) + r"\ \text{as a formula}"
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

# How far a sampled pre-activation may go: beyond it the unit is saturated, its slope too small
# for a derivative worked by hand to mean anything. The bounds keep the slope at least
# SATURATION_SLOPE: sigma'(3) = 0.045, tanh'(2) = 0.071 (tanh'(2.5) would be 0.027).
SATURATION = {"logistic": 3.0, "tanh": 2.0, "linear": 25.0}
SATURATION_SLOPE = 0.045


class RnnTemplate(Template):
    """What the three rnn templates share: params, the cached model, labels, the net's draw."""

    family: ClassVar[str] = "rnn"
    kind: ClassVar[str]
    extra: ClassVar[tuple[str, ...]] = ()

    def validate(self, params: Mapping[str, Any], partial: bool = False) -> dict[str, Any]:
        out = validate(params, partial, self.extra)
        if not partial:
            out["ask"] = check_ask(out, self.answer_ids(out))
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
            return fixed_ask(fixed)
        if not candidates:
            return None
        chosen = set(draw.sample(candidates, k))
        return [p for p in order if p in chosen]

    @property
    def part_kinds(self) -> tuple[str, ...]:
        return ("numeric",)

    def misconceptions(
        self, params: Mapping[str, Any], asked: list[str], name_of: Mapping[str, str] | None = None
    ) -> dict[str, tuple[Misconception, ...]]:
        """Each asked numeric part's wrong values from the family's perturbations (`name_of` maps
        an answer id to its value's name in the model where they differ)."""
        m = self.model(params)
        name_of = name_of or {}
        cache: dict[str, dict[str, float]] = {}

        def value(code: str, name: str) -> float | None:
            if code not in cache:
                cache[code] = m.perturbed(params, code)
            v = cache[code].get(name)
            return v if v is not None and math.isfinite(v) else None

        exact = m.values(params)
        out: dict[str, tuple[Misconception, ...]] = {}
        for part in asked:
            name = name_of.get(part, part)
            if name not in exact:
                continue
            backward = name.startswith(("dEd", "gain_"))
            codes = BACKWARD_PERTURBATIONS if backward else tuple(PARAM_PERTURBATIONS)
            found = [MISTAKES[code].at(v) for code in codes if (v := value(code, name)) is not None]
            head, _, t = name.rpartition("_")
            if t.isdigit():
                for nt in (int(t) - 1, int(t) + 1):
                    v = exact.get(f"{head}_{nt}")
                    if v is not None:
                        found.append(MISTAKES["off-by-one-time"].at(v))
            out[part] = tuple(found)
        return out
