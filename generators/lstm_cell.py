"""lstm-cell: run Hinton's memory cell (keep, write and read gates) and backpropagate through it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from functools import cache
from typing import Any

import sympy as sp

from generators.core import worked
from generators.core.carry import Carry, Rounding
from generators.core.draw import Draw
from generators.core.formulas import formula_text
from generators.core.mistakes import Mistake, catalogue
from generators.core.params import check_ask, check_keys, check_number, check_number_list
from generators.core.symbolic import fmt, fmt_param, index_list
from generators.families import lstm, lstm_numeric
from grader import AnswerSpec, Tolerance
from grader.symbolic_answer import SymbolicAnswer, distinct_mistakes

# Cell values are sums of products of one-decimal numbers that a person works out by hand; the
# course's quizzes ask such forward values to two decimal places.
VALUE_TOLERANCE = Tolerance.decimals(2)
# dc_{T-1}/dc_t is a product of gates and may be small (0.3^3 = 0.027): what matters is its
# relative accuracy, which a fixed number of decimals would not judge.
GRADIENT_TOLERANCE = Tolerance.sigfigs(3)
ID = re.compile(r"(?:cell|out|dcdc)_(?P<t>\d+)")
GATE_ROWS = (
    ("inputs", "input $x_t$"),
    ("keep", r"keep gate $\mathrm{keep}_t$"),
    ("write", r"write gate $\mathrm{write}_t$"),
    ("read", r"read gate $\mathrm{read}_t$"),
)

FORGOT_KEEP = Mistake(
    lstm.FORGOT_KEEP,
    "the keep gate left out: c_t = c_{t-1} + write_t x_t, so dc_{T-1}/dc_t taken as 1",
    {
        "cell": "This is the cell value with the keep gate left out (c_t = c_{t-1} + write_t x_t): "
        "the keep gate scales the old cell value before the new input is added, "
        "c_t = keep_t c_{t-1} + write_t x_t.",
        "out": "This is the output of a cell whose keep gate was left out (c_t = c_{t-1} + write_t "
        "x_t): the keep gate scales the old cell value, c_t = keep_t c_{t-1} + write_t x_t.",
        "dcdc": "This treats every keep gate as 1: each step back through the cell multiplies "
        "the gradient by dc_t/dc_{t-1} = keep_t, so the gradient is the product of the later keep "
        "gates.",
    },
)


@cache
def _formulas(T: int) -> dict[str, str]:
    """expr_dcdc_t -> dc_{T-1}/dc_t written in the keep gates, once per shape."""
    closed = lstm.cell_model(T, None).closed
    return {f"expr_dcdc_{t}": formula_text(sp.sympify(closed[f"dcdc_c_{t}"])) for t in range(T)}


@cache
def _formula_answer(T: int, formula: str) -> SymbolicAnswer:
    """dc_{T-1}/dc_t as a formula in the keep gates, which lie in (0, 1)."""
    names = tuple(f"keep{t}" for t in range(T))
    return SymbolicAnswer(formula, names, dict.fromkeys(names, (0.0, 1.0)))


def _value_name(part_id: str) -> str:
    """The model's name of an answer: cell_2 -> c_2, dcdc_1 -> dcdc_c_1, out_0 -> out_0 (a
    formula part, expr_dcdc_1, is worked out as its value, dcdc_c_1)."""
    if part_id.startswith("expr_"):
        part_id = part_id[5:]
    kind, _, t = part_id.rpartition("_")
    return {"cell": f"c_{t}", "out": part_id, "dcdc": f"dcdc_c_{t}"}[kind]


class LstmCell(lstm.LstmTemplate):
    id = "lstm-cell"
    version = 2
    # The cell's running sum carried at the asked two decimals can drift past ±0.005 (1 of 150
    # sampled variants); four decimals keep every part.
    carry = Carry(4)
    title = "A memory cell with keep, write and read gates"
    misconception_codes = catalogue((FORGOT_KEEP,))
    perturbations = (FORGOT_KEEP,)

    # -- params ---------------------------------------------------------------------------
    def validate(self, params: Mapping[str, Any], partial: bool = False) -> dict[str, Any]:
        check_keys(params, (*lstm.CELL_LISTS, "c_init", "ask"))
        out: dict[str, Any] = {}
        T = None
        for name in lstm.CELL_LISTS:
            if name in params or not partial:
                if name == "inputs":
                    out[name] = check_number_list(params, name, length=T)
                else:
                    out[name] = lstm.gate_list(params, name, T)
                T = len(out[name])
        if "c_init" in params or not partial:
            out["c_init"] = check_number(params, "c_init", 0.0)
        if partial:
            if "ask" in params:
                out["ask"] = lstm.check_ask_form(params["ask"], ID)
                if T is not None:
                    check_ask(params, self.answer_ids({"inputs": [0.0] * T}))
        else:
            out["ask"] = check_ask(params, self.answer_ids(out))
        return out

    def sample(self, draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any] | None:
        given = [fixed[n] for n in lstm.CELL_LISTS if n in fixed]
        T = len(given[0]) if given else draw.integer(2, 5)

        def pick(name: str, make: Any) -> Any:
            return fixed[name] if name in fixed else make()

        p: dict[str, Any] = {
            "inputs": pick("inputs", lambda: [draw.nonzero_step(-3, 3, 0.1) for _ in range(T)]),
            # Keep gates of 1 are the point of the cell, so they come up most often.
            "keep": pick("keep", lambda: [_gate(draw, 0.45, 0.1) for _ in range(T)]),
            "write": pick("write", lambda: [_gate(draw, 0.35, 0.2) for _ in range(T)]),
            "read": pick("read", lambda: [_gate(draw, 0.4, 0.2) for _ in range(T)]),
            "c_init": pick(
                "c_init", lambda: 0.0 if draw.chance(0.8) else draw.nonzero_step(-2, 2, 0.1)
            ),
        }
        free = any(n not in fixed for n in (*lstm.CELL_LISTS, "c_init"))
        if free and not any(w != 0 for w in p["write"][1:]):
            return None  # nothing is ever written after the first step: nothing to remember
        order = self.answer_ids(p)
        values = self.solve(p)
        later = [f"{q}_{t}" for t in range(1, T) for q in ("cell", "out")]
        grads = [f"dcdc_{t}" for t in range(T - 1)]
        # The gradient is the lesson of the cell: most variants ask for one.
        pools = [grads, later] if draw.chance(0.6) else [later, grads]
        ask = self.pick_ask(draw, fixed, order, values, pools, draw.integer(1, 3))
        if ask is None:
            return None
        grads_asked = [a for a in ask if a.startswith("dcdc_")]
        if "ask" not in fixed and grads_asked and draw.chance(0.25):
            # The gradient as a formula in the keep gates: why it does not vanish.
            keep = (
                ask
                if len(ask) < 3
                else [grads_asked[0], next(a for a in ask if a != grads_asked[0])]
            )
            chosen = {*keep, f"expr_{grads_asked[0]}"}
            ask = [a for a in order if a in chosen]
        return {**p, "ask": ask}

    # -- answers --------------------------------------------------------------------------
    def answer_ids(self, params: Mapping[str, Any]) -> list[str]:
        T = len(params["inputs"])
        ids = [f"{q}_{t}" for t in range(T) for q in ("cell", "out")]
        return ids + [f"dcdc_{t}" for t in range(T)] + [f"expr_dcdc_{t}" for t in range(T)]

    def model_for(
        self, params: Mapping[str, Any], perturbation: str | None = None
    ) -> lstm.LstmModel:
        return lstm.cell_model(len(params["inputs"]), perturbation)

    def args(self, params: Mapping[str, Any]) -> list[float]:
        return lstm.cell_args(params)

    def answers_of(self, params: Mapping[str, Any], values: Mapping[str, float]) -> dict[str, Any]:
        formulas = _formulas(len(params["inputs"]))
        return {
            pid: formulas[pid] if pid.startswith("expr_") else values[_value_name(pid)]
            for pid in self.answer_ids(params)
        }

    def specs(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> dict[str, AnswerSpec]:
        # A formula part knows the mistakes of its value (expr_dcdc_1: those of dcdc_1), which it
        # recognises at the variant's keep gates.
        values = [p[5:] if p.startswith("expr_") else p for p in asked]
        numeric = super().specs(params, answers, values)
        T = len(params["inputs"])
        at = tuple((f"keep{t}", float(k)) for t, k in enumerate(params["keep"]))
        out: dict[str, AnswerSpec] = {}
        for p, value in zip(asked, values, strict=True):
            if p == value:
                out[p] = numeric[p]
                continue
            formula = _formula_answer(T, answers[p])
            wrong = distinct_mistakes(getattr(numeric[value], "misconceptions", ()), answers[value])
            out[p] = replace(formula, misconceptions=wrong, at=at) if wrong else formula
        return out

    @property
    def part_kinds(self) -> tuple[str, ...]:
        return ("numeric", "symbolic")

    def reference(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return lstm_numeric.cell_answers(params)

    def by_hand(self, params: Mapping[str, Any], rnd: Rounding) -> dict[str, Any]:
        return lstm_numeric.cell_answers(params, rnd)

    def tolerance(self, part_id: str) -> Tolerance:
        return GRADIENT_TOLERANCE if part_id.startswith("dcdc") else VALUE_TOLERANCE

    # -- words ----------------------------------------------------------------------------
    def label(self, part_id: str) -> str:
        kind, _, t = part_id.rpartition("_")
        if kind == "cell":
            return f"c_{{{t}}}"
        if kind == "out":
            return rf"\mathrm{{out}}_{{{t}}}"
        if kind == "dcdc":
            return rf"\partial c_{{T-1}} / \partial c_{{{t}}}"  # the stem says what T is
        if kind == "expr_dcdc":
            return self.label(part_id[5:]) + r"\ \text{as a formula}"
        return part_id

    def render(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> tuple[str, str]:
        m = self.model_for(params)
        T = m.T
        cell_eq, out_eq = m.equations
        rows = [(words, params[name]) for name, words in GATE_ROWS]
        stem = (
            "A memory cell stores a real value $c_t$. At each time step $t$ its keep gate, "
            "write gate and read gate, each between 0 and 1, decide how much of the stored "
            "value to keep, how much of the input to add, and how much of the cell to show:\n\n"
            f"$$c_t = {cell_eq}, \\qquad \\mathrm{{out}}_t = {out_eq},$$\n\n"
            f"where $c_{{-1}} = c_{{\\text{{init}}}} = {fmt_param(params['c_init'])}$. "
            f"Over the steps $t = {index_list('', T - 1)}$ the inputs and gates are:\n\n"
            + lstm.gate_table(rows, T)
            + (
                f"\n\nHere $T = {T}$, so $\\partial c_{{T-1}} / \\partial c_t$ is the derivative "
                f"of the last cell value $c_{{{T - 1}}}$ with respect to the cell value at step $t$: "
                "how strongly a gradient arriving at the end reaches back to that step."
                if any("dcdc" in p for p in asked)
                else ""
            )
            + "\n\nCompute the following."
        )
        args = self.args(params)
        values = m.all_values(args)
        # A formula part is worked out as its value: listed once, under the value's own name.
        wanted = list(dict.fromkeys(_value_name(p) for p in asked))
        labels = {
            _value_name(p): self.label(p.removeprefix("expr_")).replace("T-1", str(T - 1))
            for p in asked
        }
        formats = {n: fmt_param for n in m.arg_names}
        sol = worked.render(
            m.lines,
            m.deps,
            values,
            wanted,
            {
                "forward": "Forward pass, one time step at a time.",
                "gradient": f"Backward through the cell, from $c_{{{T - 1}}}$ (chain rule).",
            },
            formats,
            labels.__getitem__,
        )
        if any(p.startswith("dcdc") for p in asked):
            sol += "\n\n" + _keep_gates_and_the_gradient(m, params, values, asked)
        return stem, sol


def _keep_gates_and_the_gradient(
    m: lstm.LstmModel, params: Mapping[str, Any], values: Mapping[str, float], asked: list[str]
) -> str:
    """How the gradient travels back through the cell: the local factor, from the model, and
    this variant's gates. The heading says the gradient does not vanish only when it arrives
    undiminished; keep gates below 1 shrink it, and the heading says so."""
    T = m.T
    t = min(int(p.rpartition("_")[2]) for p in asked if p.startswith("dcdc"))
    keeps = params["keep"][t + 1 :]
    heading = "Why the gradient does not vanish."
    if keeps:
        these = (
            f"Here the keep gates after step {t} are "
            f"${', '.join(fmt_param(k) for k in keeps)}$, so "
            f"$\\partial c_{{{T - 1}}} / \\partial c_{{{t}}} = {fmt(values[f'dcdc_c_{t}'])}$"
        )
        if all(k == 1 for k in keeps):
            these += ": every one is 1, and the gradient arrives undiminished."
        elif any(k == 0 for k in keeps):
            heading = "What stops the gradient."
            these += (
                ": a keep gate of 0 empties the cell, and with it the gradient; nothing stored "
                "before that step reaches the end."
            )
        else:
            heading = "What shrinks the gradient."
            these += (
                ": the keep gates below 1 shrink it, step by step, as the cell is told to "
                "forget; only a keep gate of 1 passes it on whole."
            )
    else:
        these = "Here no step lies between, and the derivative is 1."
    return (
        f"**{heading}** Each step back through the cell multiplies the "
        f"gradient by $\\partial c_t / \\partial c_{{t-1}} = {m.local_factor}$, the derivative of "
        "the cell equation. There is no squashing function and no weight on this path, so no "
        "factor $w f'(z)$ that shrinks the gradient at every step as in an ordinary recurrent "
        "net. Hence $\\partial c_{T-1} / \\partial c_t = \\prod_{s=t+1}^{T-1} \\mathrm{keep}_s$: "
        "while the keep gate is 1 the cell holds its value and the gradient passes back "
        f"unchanged, however many steps it travels. {these}"
    )


def _gate(draw: Draw, p_one: float, p_zero: float) -> float:
    """A gate a person would set: fully open or shut often, a half sometimes, else one decimal."""
    u = draw.uniform(0.0, 1.0)
    if u < p_one:
        return 1.0
    if u < p_one + p_zero:
        return 0.0
    if u < p_one + p_zero + 0.1:
        return 0.5
    return draw.step(0.1, 0.9, 0.1)


TEMPLATE = LstmCell()
