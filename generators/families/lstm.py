"""LSTM memory cells: the course's gated cell and a standard scalar LSTM, each derived once per T
(and per perturbation) in SymPy, lambdified and cached; answers, misconceptions and worked
solutions all come from these models."""

from __future__ import annotations

import math
import re
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

import sympy as sp

from generators.core.draw import Draw
from generators.core.errors import ParamError
from generators.core.mistakes import Mistake
from generators.core.params import MAX_T, as_number, check_number_list, fixed_ask
from generators.core.symbolic import (
    Graph,
    Logistic,
    Substitution,
    compile_straight_line,
    fmt_param,
    plus,
    py_logistic,
    times,
)
from generators.core.template import Template
from generators.core.worked import Line, adjoint_lines, dependencies, tex
from grader import AnswerSpec, NumericAnswer, Tolerance


class Tanh(sp.Function):
    """tanh kept unevaluated so that it prints as tanh(z) with a number slot inside."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return 1 - self**2

    def _latex(self, printer: Any, exp: Any = None) -> str:
        base = rf"\tanh\left({printer._print(self.args[0])}\right)"
        return rf"{base}^{{{exp}}}" if exp else base


MODULES: list[Any] = [{"Logistic": py_logistic, "Tanh": math.tanh}, "math"]


# -- the models ---------------------------------------------------------------------------------

FORGOT_KEEP = "forgot-keep-gate"
NO_OUTPUT_TANH = "missing-output-tanh"


@dataclass(frozen=True)
class LstmModel:
    """One unrolled model: `fn` maps the args (in `arg_names` order) to every value."""

    T: int
    arg_names: tuple[str, ...]
    value_names: tuple[str, ...]
    fn: Callable[..., Any]
    lines: tuple[Line, ...]
    deps: Mapping[str, frozenset[str]]
    equations: tuple[str, ...]  # the generic step equations in LaTeX, for the stem
    closed: Mapping[str, sp.Expr]  # closed forms of derivatives (cell: products of keep gates)
    local_factor: str  # LaTeX of d c_t / d c_{t-1} from the model's own cell equation

    def values(self, args: Sequence[float]) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.value_names, self.fn(*args), strict=True)}

    def all_values(self, args: Sequence[float]) -> dict[str, float]:
        """Args and computed values by name: what the worked solution's slots are filled from."""
        return dict(zip(self.arg_names, args, strict=True)) | self.values(args)


CELL_LISTS = ("inputs", "keep", "write", "read")
CELL_LATEX = {
    "inputs": "x",
    "keep": r"\mathrm{keep}",
    "write": r"\mathrm{write}",
    "read": r"\mathrm{read}",
}
CELL_SYM = {"inputs": "x", "keep": "keep", "write": "write", "read": "read"}


def cell_args(params: Mapping[str, Any]) -> list[float]:
    out: list[float] = []
    for name in CELL_LISTS:
        out += params[name]
    out.append(params["c_init"])
    return out


@cache
def cell_model(T: int, perturbation: str | None = None) -> LstmModel:
    """Hinton's memory cell unrolled over T steps, with d c_{T-1} / d c_t by reverse mode.
    `perturbation` FORGOT_KEEP builds the cell as a student who drops the keep gate would."""
    g = Graph()
    seqs = {
        name: [g.input(f"{CELL_SYM[name]}_{t}", f"{CELL_LATEX[name]}_{{{t}}}") for t in range(T)]
        for name in CELL_LISTS
    }
    c_init = g.input("c_init", r"c_{\text{init}}")
    c = c_init
    cells = []
    for t in range(T):
        keep = sp.Integer(1) if perturbation == FORGOT_KEEP else seqs["keep"][t]
        c = g.define(
            f"c_{t}",
            plus(times(keep, c), times(seqs["write"][t], seqs["inputs"][t])),
            f"c_{{{t}}}",
        )
        cells.append(c)
        g.define(f"out_{t}", times(seqs["read"][t], c), rf"\mathrm{{out}}_{{{t}}}")
    grad = g.backward(cells[-1], [], "dcdc_", f"c_{{{T - 1}}}")
    last = sp.Symbol(f"dcdc_c_{T - 1}", real=True)  # d c_{T-1} / d c_{T-1}: no step defines it
    g.latex_names[last] = rf"\frac{{\partial c_{{{T - 1}}}}}{{\partial c_{{{T - 1}}}}}"
    assignments = [*g.nodes, *((st.sym, st.expr) for st in grad.steps), (last, sp.Integer(1))]
    value_syms = [s for s, _ in assignments]
    fn = compile_straight_line(g.inputs, assignments, value_syms, MODULES)

    # The closed form of each derivative: substitute the later adjoints into the recursion.
    closed: dict[sp.Symbol, sp.Expr] = {last: sp.Integer(1)}
    for st in grad.steps:  # in reverse-mode order: each step's later adjoints come first
        closed[st.sym] = st.expr.xreplace(closed)
    for sym, expr in closed.items():
        factors = sorted(sp.Mul.make_args(expr), key=_time_of)
        closed[sym] = times(*factors) if len(factors) > 1 else expr

    names = dict(g.latex_names)
    symbols = [*g.inputs, *value_syms]
    lines = [
        Line(s.name, tex(s, names), tex(e, names), None, (Substitution(e, symbols),), "forward")
        for s, e in g.nodes
    ]
    for line, st in zip(adjoint_lines(grad, names, symbols, "gradient"), grad.steps, strict=True):
        form = tex(closed[st.sym], names)
        general = line.general if line.general == form else f"{line.general} = {form}"
        lines.append(
            Line(
                line.name,
                line.lhs,
                general,
                line.chain,
                (Substitution(closed[st.sym], symbols),),
                "gradient",
            )
        )
    lines.append(Line(last.name, names[last], "1", None, (), "gradient"))

    # The generic step, and d c_t / d c_{t-1} differentiated from it (not written by hand).
    kt, wt, xt, rt, cp, ct = (
        sp.Symbol(n, real=True) for n in ("keep_t", "write_t", "x_t", "read_t", "c_p", "c_t")
    )
    gen = {
        kt: r"\mathrm{keep}_t",
        wt: r"\mathrm{write}_t",
        xt: "x_t",
        rt: r"\mathrm{read}_t",
        cp: "c_{t-1}",
        ct: "c_t",
    }
    keep_t = sp.Integer(1) if perturbation == FORGOT_KEEP else kt
    step = plus(times(keep_t, cp), times(wt, xt))
    equations = (tex(step, gen), tex(times(rt, ct), gen))
    local = tex(sp.diff(step, cp), gen)
    return LstmModel(
        T=T,
        arg_names=tuple(s.name for s in g.inputs),
        value_names=tuple(s.name for s in value_syms),
        fn=fn,
        lines=tuple(lines),
        deps=dependencies(assignments),
        equations=equations,
        closed={s.name: e for s, e in closed.items()},
        local_factor=local,
    )


def _time_of(factor: sp.Expr) -> int:
    m = re.search(r"_(\d+)$", getattr(factor, "name", ""))
    return int(m.group(1)) if m else -1


GATES = ("i", "f", "g", "o")
GATE_WORDS = {"i": "input gate", "f": "forget gate", "g": "candidate", "o": "output gate"}


def step_args(params: Mapping[str, Any]) -> list[float]:
    out = [*params["x"], params["h_init"], params["c_init"]]
    for gate in GATES:
        out += params["w"][gate]
    return out


@cache
def step_model(T: int, perturbation: str | None = None) -> LstmModel:
    """A standard LSTM with input and hidden size 1 unrolled over T steps. `perturbation`
    FORGOT_KEEP drops f_t from the cell update; NO_OUTPUT_TANH takes h_t = o_t c_t."""
    g = Graph()
    x = [g.input(f"x_{t}", f"x_{{{t}}}") for t in range(T)]
    h = g.input("h_init", r"h_{\text{init}}")
    c = g.input("c_init", r"c_{\text{init}}")
    W = {
        gate: (
            g.input(f"w_{gate}x", f"w_{{{gate}x}}"),
            g.input(f"w_{gate}h", f"w_{{{gate}h}}"),
            g.input(f"b_{gate}", f"b_{{{gate}}}"),
        )
        for gate in GATES
    }
    act = {"i": Logistic, "f": Logistic, "g": Tanh, "o": Logistic}
    gate_defs: list[tuple[sp.Symbol, sp.Expr, sp.Expr]] = []  # gate, f(z), f(definition of z)
    for t in range(T):
        gv = {}
        for gate in GATES:
            wx, wh, b = W[gate]
            zdef = plus(times(wx, x[t]), times(wh, h), b)
            z = g.define(f"z{gate}_{t}", zdef, f"z^{{{gate}}}_{{{t}}}")
            gv[gate] = g.define(f"{gate}_{t}", act[gate](z), f"{gate}_{{{t}}}")
            gate_defs.append((gv[gate], act[gate](z), act[gate](zdef)))
        keep = sp.Integer(1) if perturbation == FORGOT_KEEP else gv["f"]
        c = g.define(f"c_{t}", plus(times(keep, c), times(gv["i"], gv["g"])), f"c_{{{t}}}")
        squash = c if perturbation == NO_OUTPUT_TANH else Tanh(c)
        h = g.define(f"h_{t}", times(gv["o"], squash), f"h_{{{t}}}")
    value_syms = [s for s, _ in g.nodes]
    fn = compile_straight_line(g.inputs, g.nodes, value_syms, MODULES)

    names = dict(g.latex_names)
    symbols = [*g.inputs, *value_syms]
    by_gate = {s: (fz, fdef) for s, fz, fdef in gate_defs}
    lines = []
    for s, e in g.nodes:
        section = "t" + s.name.rpartition("_")[2]
        if s.name.startswith("z"):
            continue  # folded into its gate's line: i_t = sigma(w x + w h + b) = sigma(z) = i
        if s in by_gate:
            fz, fdef = by_gate[s]
            substs = (Substitution(fdef, symbols), Substitution(fz, symbols))
            lines.append(Line(s.name, tex(s, names), tex(fdef, names), None, substs, section))
        else:
            lines.append(
                Line(
                    s.name, tex(s, names), tex(e, names), None, (Substitution(e, symbols),), section
                )
            )

    xt, hp, cp, ct = (sp.Symbol(n, real=True) for n in ("x_t", "h_p", "c_p", "c_t"))
    gen: dict[sp.Symbol, str] = {xt: "x_t", hp: "h_{t-1}", cp: "c_{t-1}", ct: "c_t"}
    gt = {}
    equations = []
    for gate in GATES:
        wx, wh, b = W[gate]
        gen |= {wx: names[wx], wh: names[wh], b: names[b]}
        gt[gate] = sp.Symbol(f"{gate}_t", real=True)
        gen[gt[gate]] = f"{gate}_t"
        equations.append(
            f"{gate}_t = " + tex(act[gate](plus(times(wx, xt), times(wh, hp), b)), gen)
        )
    keep = sp.Integer(1) if perturbation == FORGOT_KEEP else gt["f"]
    cell = plus(times(keep, cp), times(gt["i"], gt["g"]))
    equations.append("c_t = " + tex(cell, gen))
    squash = ct if perturbation == NO_OUTPUT_TANH else Tanh(ct)
    equations.append("h_t = " + tex(times(gt["o"], squash), gen))
    return LstmModel(
        T=T,
        arg_names=tuple(s.name for s in g.inputs),
        value_names=tuple(s.name for s in value_syms),
        fn=fn,
        lines=tuple(lines),
        deps=dependencies(g.nodes),
        equations=tuple(equations),
        closed={},
        local_factor=tex(sp.diff(cell, cp), gen),
    )


# -- params -----------------------------------------------------------------------------------


def gate_list(params: Mapping[str, Any], name: str, T: int | None) -> list[float]:
    values = check_number_list(params, name, length=T)
    for i, v in enumerate(values):
        if not 0.0 <= v <= 1.0:
            raise ParamError(f"{name}[{i}]", params[name][i], "a gate must be from 0 to 1")
    return values


def weights(value: Any, partial: bool) -> dict[str, list[float]]:
    """`w` = {"i": [w_x, w_h, b], "f": ..., "g": ..., "o": ...}, in that gate order."""
    if not isinstance(value, Mapping):
        raise ParamError(
            "w", value, 'must be an object {"i": [w_x, w_h, b], "f": .., "g": .., "o": ..}'
        )
    for key in value:
        if key not in GATES:
            raise ParamError("w", value, f"unknown gate {key!r}; gates are i, f, g, o")
    out: dict[str, list[float]] = {}
    for gate in GATES:
        if gate not in value:
            if partial:
                continue
            raise ParamError("w", value, f"is missing gate {gate!r}; it needs i, f, g and o")
        row = value[gate]
        if not isinstance(row, list | tuple) or len(row) != 3:
            raise ParamError(f"w.{gate}", row, "must be 3 numbers [w_x, w_h, b]")
        out[gate] = [as_number(f"w.{gate}[{j}]", v) for j, v in enumerate(row)]
    return out


def check_ask_form(value: Any, pattern: re.Pattern[str]) -> list[str]:
    """The form of a fixed `ask` before T is known: part ids this template could have."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not value:
        raise ParamError("ask", value, "must be a non-empty list of part ids")
    for part in value:
        m = pattern.fullmatch(part) if isinstance(part, str) else None
        if m is None or int(m.group("t")) >= MAX_T:
            raise ParamError("ask", value, f"{part!r} is not a part id of this template")
    return list(value)


# -- rendering and the family's template base -------------------------------------------------


def gate_table(rows: Sequence[tuple[str, Sequence[float]]], T: int) -> str:
    head = "| $t$ | " + " | ".join(str(t) for t in range(T)) + " |"
    rule = "|---|" + "---|" * T
    body = [f"| {name} | " + " | ".join(fmt_param(v) for v in vs) + " |" for name, vs in rows]
    return "\n".join([head, rule, *body])


class LstmTemplate(Template):
    """What the two lstm templates share: ask picking, misconceptions, numeric part kinds."""

    family: ClassVar[str] = "lstm"
    perturbations: ClassVar[tuple[Mistake, ...]] = ()  # known mistakes, as models

    @property
    def part_kinds(self) -> tuple[str, ...]:
        return ("numeric",)

    @abstractmethod
    def tolerance(self, part_id: str) -> Tolerance:
        """The default tolerance of a part."""

    @abstractmethod
    def model_for(self, params: Mapping[str, Any], perturbation: str | None = None) -> LstmModel:
        """The cached model of this variant's shape, or of a known mistake."""

    @abstractmethod
    def args(self, params: Mapping[str, Any]) -> list[float]:
        """The model's arguments from the params, in its `arg_names` order."""

    @abstractmethod
    def answers_of(self, params: Mapping[str, Any], values: Mapping[str, float]) -> dict[str, Any]:
        """Every answer id's value from the model's values."""

    def solve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return self.answers_of(params, self.model_for(params).values(self.args(params)))

    def wrong_answers(self, params: Mapping[str, Any], code: str) -> dict[str, Any]:
        """Every answer as the perturbed model `code` computes it."""
        return self.answers_of(params, self.model_for(params, code).values(self.args(params)))

    def specs(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> dict[str, AnswerSpec]:
        wrong = {p.code: self.wrong_answers(params, p.code) for p in self.perturbations}
        out: dict[str, AnswerSpec] = {}
        for pid in asked:
            kind = pid.rpartition("_")[0]
            found = tuple(
                p.at(wrong[p.code][pid], kind)
                for p in self.perturbations
                if kind in p.messages and wrong[p.code][pid] != answers[pid]
            )
            # NumericAnswer drops a misconception that its tolerance would call right.
            out[pid] = NumericAnswer(answers[pid], self.tolerance(pid), misconceptions=found)
        return out

    def pick_ask(
        self,
        draw: Draw,
        fixed: Mapping[str, Any],
        order: list[str],
        values: Mapping[str, float],
        pools: Sequence[Sequence[str]],
        k: int,
    ) -> list[str] | None:
        """The fixed `ask` when given (None if this shape lacks one of its parts), else k parts
        drawn from the pools in turn, skipping values their tolerance would swallow."""
        if "ask" in fixed:
            ask = fixed_ask(fixed)
            return ask if set(ask) <= set(order) else None
        ok = [[p for p in pool if self.clear(p, values[p])] for pool in pools]
        chosen: list[str] = []
        for pool in ok:
            rest = [p for p in pool if p not in chosen]
            chosen += draw.sample(rest, k - len(chosen))
            if len(chosen) >= k:
                break
        if not chosen:
            return None
        return [p for p in order if p in chosen]

    def clear(self, part_id: str, value: float) -> bool:
        """Whether the value stands clear of its own tolerance (not 0 to within it)."""
        return value != 0 and abs(value) >= 10 * self.tolerance(part_id).half_width(value)
