"""rnn-gradient-flow: decide whether a gradient vanishes or explodes (Week 7 quiz, question 5)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from generators.core.carry import Carry, Rounding
from generators.core.draw import Draw
from generators.core.mistakes import catalogue
from generators.core.symbolic import fmt
from generators.families import rnn, rnn_numeric
from grader import AnswerSpec, ChoiceAnswer, NumericAnswer, Tolerance

GAIN_TOLERANCE = Tolerance.sigfigs(2)
GRAD_TOLERANCE = Tolerance.sigfigs(3)
# A regime is unambiguous when the gain is at least this many decades away from 1.
MIN_DECADES = 0.5
REGIMES = ("vanishing", "exploding")
EXPLANATIONS = (
    (
        "vanishing",
        "When |dh_{T-1}/dh_0| < 1 the backward signal shrinks each step it travels back, so early inputs barely affect the weight updates.",
    ),
    (
        "exploding",
        "When |dh_{T-1}/dh_0| > 1 the backward signal grows each step it travels back, so small changes early on make huge gradients.",
    ),
)


INNER_ATTEMPTS = 200
WHH_RANGE = {
    ("logistic", "exploding"): (6.0, 9.0, 1.0),
    ("logistic", "vanishing"): (0.5, 2.5, 0.5),
    ("tanh", "exploding"): (1.5, 3.0, 0.1),
    ("tanh", "vanishing"): (0.2, 0.7, 0.1),
    ("linear", "exploding"): (1.5, 2.5, 0.1),
    ("linear", "vanishing"): (0.2, 0.6, 0.1),
}


def regime(gain: float) -> str:
    return "vanishing" if abs(gain) < 1 else "exploding"


class RnnGradientFlow(rnn.RnnTemplate):
    id = "rnn-gradient-flow"
    version = 2
    # The gain is a product of T-1 slopes and dE/dw_xh a sum that may cancel: six significant
    # figures keep both within their asked figures (five missed 1 of 300 sampled variants).
    carry = Carry(6, sigfigs=True)
    title = "Vanishing or exploding gradients"
    kind = "flow"
    misconception_codes = catalogue(
        rnn.MISTAKES[c] for c in (*rnn.BACKWARD_PERTURBATIONS, "off-by-one-time")
    )
    extra = ("target",)

    def answer_ids(self, params: Mapping[str, Any]) -> list[str]:
        return ["dEdw_xh", "gain", "regime", "expr_gain"]

    @property
    def part_kinds(self) -> tuple[str, ...]:
        return ("numeric", "choice", "symbolic")

    def label(self, part_id: str) -> str:
        if part_id == "expr_gain":
            return self.label("gain") + r"\ \text{as a formula}"
        if part_id == "gain":
            return r"\partial h_{T-1} / \partial h_{0}"  # T is the variant's; the stem says which
        if part_id == "regime":
            return "Does the gradient with respect to the early hidden state vanish or explode?"
        return rnn.label(part_id)

    def solve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        values = self.model(params).values(params)
        gain = values["gain_h_0"]
        return {
            "dEdw_xh": values["dEdw_xh"],
            "gain": gain,
            "regime": regime(gain),
            "expr_gain": self.model(params).formulas["gain_h_0"],
        }

    def reference(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return rnn_numeric.flow_answers(params)

    def by_hand(self, params: Mapping[str, Any], rnd: Rounding) -> dict[str, Any]:
        return rnn_numeric.flow_answers(params, rnd)

    def specs(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> dict[str, AnswerSpec]:
        wrong = self.misconceptions(params, asked, {"gain": "gain_h_0", "expr_gain": "gain_h_0"})
        out: dict[str, AnswerSpec] = {}
        for p in asked:
            if p == "regime":
                out[p] = ChoiceAnswer(answers[p], REGIMES, EXPLANATIONS)
            elif p == "expr_gain":
                out[p] = rnn.formula_part(self.model(params), params, "gain_h_0", wrong[p])
            else:
                tol = GAIN_TOLERANCE if p == "gain" else GRAD_TOLERANCE
                out[p] = NumericAnswer(answers[p], tol, misconceptions=wrong[p])
        return out

    def sample(self, draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any] | None:
        T = len(fixed["x"]) if "x" in fixed else draw.integer(3, 6)
        act = fixed.get("activation") or draw.choice(("logistic", "logistic", "tanh", "linear"))
        # The regime is chosen first and kept while searching, so half the variants explode.
        want = draw.choice(REGIMES)
        free = not all(k in fixed for k in ("x", "w_xh", "w_hh", "b_h", "h_init"))
        for _ in range(INNER_ATTEMPTS if free else 1):
            p = self._draw(draw, fixed, T, act, want)
            values = self.model(p).values(p)
            gain = values["gain_h_0"]
            if free and (
                gain == 0
                or abs(math.log10(abs(gain))) < MIN_DECADES
                or regime(gain) != want
                or (act != "logistic" and self.saturated(values, T, act))
            ):
                continue
            order = self.answer_ids(p)
            if "ask" in fixed:
                ask = self.pick_ask(draw, fixed, [], order, 0)
            else:
                numeric = (
                    ["gain", "regime"] if draw.chance(0.5) or values["dEdw_xh"] == 0 else order[:3]
                )
                # Sometimes the gain as a formula too: the product of w_hh f'(z_t) factors.
                ask = [*numeric, "expr_gain"] if T > 1 and draw.chance(0.2) else numeric
            return {**p, "ask": ask}
        return None

    def _draw(
        self, draw: Draw, fixed: Mapping[str, Any], T: int, act: str, want: str
    ) -> dict[str, Any]:
        """Weights that make the wanted regime likely; the caller's check makes it certain."""
        p = self.draw_net(draw, fixed, T, act)
        exploding_logistic = act == "logistic" and want == "exploding"
        if "w_hh" not in fixed:
            lo, hi, step = WHH_RANGE[(act, want)]
            p["w_hh"] = draw.step(lo, hi, step) * draw.choice((-1, 1))
        if "x" not in fixed:
            p["x"] = [float(v) for v in draw.integers(-3, 3, T)]
        if "w_xh" not in fixed:
            reach = 0.3 if exploding_logistic else 0.5
            p["w_xh"] = draw.nonzero_step(-reach, reach, 0.1)
        if act == "logistic":
            # A logistic unit amplifies only near its steepest point (sigma' <= 1/4): centre it
            # there, z = 0 at h = 1/2, so that w_hh sigma' can exceed 1 at every step.
            if "b_h" not in fixed:
                jitter = 0.0 if exploding_logistic else draw.step(-0.5, 0.5, 0.1)
                p["b_h"] = round(-p["w_hh"] / 2 + jitter, 10)
            if "h_init" not in fixed and exploding_logistic:
                p["h_init"] = 0.5
        p["target"] = fixed["target"] if "target" in fixed else draw.step(-1.0, 1.0, 0.1)
        return p

    def render(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> tuple[str, str]:
        m = self.model(params)
        T = len(params["x"])
        stem = (
            rnn.describe_net(m, params)
            + f"\n\nThere are $T = {T}$ time steps. The net produces an output only at the last step, $t = T - 1 = {T - 1}$, with error "
            f"$E = \\frac{{1}}{{2}} (y^* - y_{{{T - 1}}})^2$ and target $y^* = {fmt(params['target'])}$. "
            f"The gain $\\partial h_{{{T - 1}}} / \\partial h_0$ says how much a change of the first "
            "hidden state moves the last one, and so how strongly the error reaches back in time.\n\n"
            "Compute the following."
        )
        values = m.values(params)
        wanted = [p for p in asked if p == "dEdw_xh"]
        wanted.append("gain_h_0")
        sol = rnn.solution(
            m,
            values,
            params,
            wanted,
            {
                "forward": "Forward pass.",
                "error": "Error.",
                "gain": f"Gain: backpropagate from $h_{{{T - 1}}}$ to $h_0$ (one factor $w_{{hh}} f'(z_t)$ per step).",
                "backward": "Backward pass of the error.",
            },
            {"gain_h_0": self.label("gain")},
        )
        g = answers["gain"]
        verdict = (
            f"\n\nSo $\\partial h_{{{T - 1}}} / \\partial h_0 = {fmt(g)}$, whose size is "
            f"{'below' if abs(g) < 1 else 'above'} 1: the gradient is **{regime(g)}**."
        )
        return stem, sol + verdict


TEMPLATE = RnnGradientFlow()
