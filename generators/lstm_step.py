"""lstm-step: run a standard LSTM with one input and one hidden unit forward, gate by gate."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from generators.core import worked
from generators.core.carry import Carry, Rounding
from generators.core.draw import Draw
from generators.core.mistakes import Mistake, catalogue
from generators.core.params import check_ask, check_keys, check_number, check_number_list
from generators.core.symbolic import fmt_param
from generators.families import lstm, lstm_numeric
from grader import Tolerance

# Gates lie in (0, 1), g and h in (-1, 1) and |c_t| <= t + 1: bounded quantities, so an absolute
# rule fits. Three places survive the rounding of a by-hand chain of sigmoids and tanhs.
TOLERANCE = Tolerance.decimals(3)
# Pre-activations beyond these make a gate 0 or 1 to within 0.02 (saturated): no question left.
SATURATION = {"logistic": 4.0, "tanh": 2.5}
QUANTITIES = ("i", "f", "g", "o", "c", "h")
ID = re.compile(r"[ifgoch]_(?P<t>\d+)")

FORGOT_KEEP = Mistake(
    lstm.FORGOT_KEEP,
    "the forget gate left out: c_t = c_{t-1} + i_t g_t",
    {
        q: "This is what the cell gives without the forget gate (c_t = c_{t-1} + i_t g_t): "
        "f_t scales the old cell value, c_t = f_t c_{t-1} + i_t g_t."
        for q in QUANTITIES
    },
)
NO_OUTPUT_TANH = Mistake(
    lstm.NO_OUTPUT_TANH,
    "the output taken as h_t = o_t c_t, without tanh of the cell",
    {
        q: "This is what you get with h_t = o_t c_t: the cell value goes through tanh before the "
        "output gate, h_t = o_t tanh(c_t)."
        for q in QUANTITIES
    },
)


class LstmStep(lstm.LstmTemplate):
    id = "lstm-step"
    version = 2
    # Carried at the asked three decimals, a chain of gates drifts past ±0.0005 (79 of 150
    # sampled variants); four decimals keep every part.
    carry = Carry(4)
    title = "Forward pass of an LSTM cell"
    misconception_codes = catalogue((FORGOT_KEEP, NO_OUTPUT_TANH))
    perturbations = (FORGOT_KEEP, NO_OUTPUT_TANH)

    # -- params ---------------------------------------------------------------------------
    def validate(self, params: Mapping[str, Any], partial: bool = False) -> dict[str, Any]:
        check_keys(params, ("x", "h_init", "c_init", "w", "ask"))
        out: dict[str, Any] = {}
        if "x" in params or not partial:
            out["x"] = check_number_list(params, "x")
        for name in ("h_init", "c_init"):
            if name in params or not partial:
                out[name] = check_number(params, name, 0.0)
        if "w" in params or not partial:
            out["w"] = lstm.weights(params.get("w"), partial)
        if partial:
            if "ask" in params:
                out["ask"] = lstm.check_ask_form(params["ask"], ID)
                if "x" in out:
                    check_ask(params, self.answer_ids(out))
        else:
            out["ask"] = check_ask(params, self.answer_ids(out))
        return out

    def sample(self, draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any] | None:
        T = len(fixed["x"]) if "x" in fixed else draw.integer(2, 5)
        fixed_w = fixed.get("w", {})
        w = {
            gate: fixed_w[gate]
            if gate in fixed_w
            else [
                draw.nonzero_step(-1.5, 1.5, 0.1),
                draw.nonzero_step(-1.5, 1.5, 0.1),
                draw.step(-1.0, 1.0, 0.1),
            ]
            for gate in lstm.GATES
        }
        p: dict[str, Any] = {
            "x": fixed["x"] if "x" in fixed else [draw.nonzero_step(-2, 2, 0.1) for _ in range(T)],
            "h_init": fixed["h_init"]
            if "h_init" in fixed
            else (0.0 if draw.chance(0.8) else draw.nonzero_step(-0.5, 0.5, 0.1)),
            "c_init": fixed["c_init"]
            if "c_init" in fixed
            else (0.0 if draw.chance(0.8) else draw.nonzero_step(-1.0, 1.0, 0.1)),
            "w": w,
        }
        free = any(n not in fixed for n in ("x", "h_init", "c_init")) or len(fixed_w) < 4
        m = lstm.step_model(T)
        values = m.values(lstm.step_args(p))
        if free and _saturated(values, T):
            return None
        order = self.answer_ids(p)
        last = range(max(1, T - 2), T)
        # The cell and output carry the recurrence; a gate at a later step needs h_{t-1} too.
        pools = [
            [f"{q}_{t}" for t in last for q in ("c", "h")],
            [f"{q}_{t}" for t in range(1, T) for q in lstm.GATES],
        ]
        ask = self.pick_ask(draw, fixed, order, values, pools, draw.integer(1, 3))
        if ask is None:
            return None
        return {**p, "ask": ask}

    # -- answers --------------------------------------------------------------------------
    def answer_ids(self, params: Mapping[str, Any]) -> list[str]:
        return [f"{q}_{t}" for t in range(len(params["x"])) for q in QUANTITIES]

    def model_for(
        self, params: Mapping[str, Any], perturbation: str | None = None
    ) -> lstm.LstmModel:
        return lstm.step_model(len(params["x"]), perturbation)

    def args(self, params: Mapping[str, Any]) -> list[float]:
        return lstm.step_args(params)

    def answers_of(self, params: Mapping[str, Any], values: Mapping[str, float]) -> dict[str, Any]:
        return {pid: values[pid] for pid in self.answer_ids(params)}

    def reference(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return lstm_numeric.step_answers(params)

    def by_hand(self, params: Mapping[str, Any], rnd: Rounding) -> dict[str, Any]:
        return lstm_numeric.step_answers(params, rnd)

    def tolerance(self, part_id: str) -> Tolerance:
        return TOLERANCE

    # -- words ----------------------------------------------------------------------------
    def label(self, part_id: str) -> str:
        q, _, t = part_id.partition("_")
        return f"{q}_{{{t}}}"

    def render(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> tuple[str, str]:
        m = self.model_for(params)
        T = m.T
        rows = [(f"{lstm.GATE_WORDS[g]} ${g}$", params["w"][g]) for g in lstm.GATES]
        table = "\n".join(
            ["| | $w_x$ | $w_h$ | $b$ |", "|---|---|---|---|"]
            + [f"| {name} | " + " | ".join(fmt_param(v) for v in ws) + " |" for name, ws in rows]
        )
        xs = ", ".join(fmt_param(v) for v in params["x"])
        stem = (
            "An LSTM cell has one input unit and one hidden unit. Its input, forget and output "
            "gates are logistic, $\\sigma(z) = 1/(1+e^{-z})$, and its candidate value is a "
            "$\\tanh$ unit. At each time step $t$:\n\n"
            f"$$\\begin{{aligned}} {_aligned(m.equations)} \\end{{aligned}}$$\n\n"
            f"where $h_{{-1}} = h_{{\\text{{init}}}} = {fmt_param(params['h_init'])}$ and "
            f"$c_{{-1}} = c_{{\\text{{init}}}} = {fmt_param(params['c_init'])}$. "
            "The weights, the same at every step, are:\n\n"
            f"{table}\n\n"
            f"The inputs are $x = ({xs})$ for $t = 0, \\ldots, {T - 1}$.\n\n"
            "Compute the following, to three decimal places."
        )
        values = m.all_values(self.args(params))
        formats = {n: fmt_param for n in m.arg_names}
        sol = worked.render(
            m.lines,
            m.deps,
            values,
            asked,
            {f"t{t}": f"Step $t = {t}$." for t in range(T)},
            formats,
            self.label,
        )
        return stem, sol


def _aligned(equations: tuple[str, ...]) -> str:
    return r" \\ ".join(e.replace(" = ", " &= ", 1) for e in equations)


def _saturated(values: Mapping[str, float], T: int) -> bool:
    for t in range(T):
        for gate in lstm.GATES:
            limit = SATURATION["tanh" if gate == "g" else "logistic"]
            if abs(values[f"z{gate}_{t}"]) > limit:
                return True
    return False


TEMPLATE = LstmStep()
