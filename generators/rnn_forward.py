"""rnn-forward: run a scalar recurrent net forward by hand (Week 7 quiz, question 3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generators.core.carry import Carry, Rounding
from generators.core.draw import Draw
from generators.core.mistakes import catalogue
from generators.families import rnn, rnn_numeric
from grader import AnswerSpec, NumericAnswer, Tolerance

# The published quiz asks forward values "to two decimal places", typed "with at least two digits
# after the decimal point" (an override can drop it: {"*": {"min_decimals": 0}}).
FORWARD_TOLERANCE = Tolerance.decimals(2)
MIN_DECIMALS = 2


class RnnForward(rnn.RnnTemplate):
    id = "rnn-forward"
    version = 2
    # Four steps of sigmoids carried at the asked two decimals drift past ±0.005 (33 of 150
    # sampled variants): the stem asks for four.
    carry = Carry(4)
    title = "Forward pass of a recurrent net"
    kind = "forward"
    misconception_codes = catalogue(
        rnn.MISTAKES[c] for c in ("no-recurrence", "missing-bias", "off-by-one-time")
    )

    def answer_ids(self, params: Mapping[str, Any]) -> list[str]:
        return [f"{q}_{t}" for t in range(len(params["x"])) for q in ("z", "h", "y")]

    def solve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        values = self.model(params).values(params)
        return {k: values[k] for k in self.answer_ids(params)}

    def reference(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return rnn_numeric.forward_answers(params)

    def by_hand(self, params: Mapping[str, Any], rnd: Rounding) -> dict[str, Any]:
        return rnn_numeric.forward_answers(params, rnd)

    def specs(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> dict[str, AnswerSpec]:
        wrong = self.misconceptions(params, asked)
        return {
            p: NumericAnswer(
                answers[p], FORWARD_TOLERANCE, min_decimals=MIN_DECIMALS, misconceptions=wrong[p]
            )
            for p in asked
        }

    def sample(self, draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any] | None:
        T, act = self.draw_shape(draw, fixed, 2, 4)
        p = self.draw_net(draw, fixed, T, act)
        values = self.model(p).values(p)
        if self.saturated(values, T, act) and not _all_fixed(fixed):
            return None
        # Later steps make the student carry the recurrence; tiny values would be swallowed.
        order = self.answer_ids(p)
        floor = 10 * FORWARD_TOLERANCE.half_width(0.0)
        cands = [
            k
            for k in order
            if k[0] in "hy" and int(k[2:]) >= max(1, T - 2) and abs(values[k]) >= floor
        ]
        ask = self.pick_ask(draw, fixed, cands, order, 2)
        if ask is None:
            return None
        return {**p, "ask": ask}

    def render(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> tuple[str, str]:
        m = self.model(params)
        stem = (
            rnn.describe_net(m, params)
            + "\n\nCompute the following, to two decimal places (type at least two digits after the decimal point)."
        )
        values = m.values(params)
        sol = rnn.solution(
            m, values, params, asked, {"forward": "Forward pass, one time step at a time."}
        )
        return stem, sol


def _all_fixed(fixed: Mapping[str, Any]) -> bool:
    return all(k in fixed for k in ("x", "w_xh", "w_hh", "b_h", "h_init"))


TEMPLATE = RnnForward()
