"""rnn-bptt: backpropagate an error derivative through time by hand (Week 7 quiz, question 4)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from generators.core.carry import Carry, Rounding
from generators.core.draw import Draw
from generators.core.mistakes import catalogue
from generators.core.symbolic import fmt, fmt_param
from generators.families import rnn, rnn_numeric
from grader import AnswerSpec, NumericAnswer, Tolerance
from grader.answers import CarryForward

FORWARD_TOLERANCE = Tolerance.decimals(2)
# The published quiz asks for the derivative to four decimal places.
BACKWARD_TOLERANCE = Tolerance.decimals(4)
# The stem states the hidden values to this many significant figures: two decimals would state
# tanh(2) = 0.964 as 0.96, and a derivative from those values would be 11% off the exact one.
STATED_SIGFIGS = 3
# The published quiz's own stem states its hidden values to two decimals (0.2, 0.4, 0.8).
PUBLISHED_STATED_DECIMALS = 2
# Credit for a derivative worked correctly from the student's own wrong hidden values.
ECF_CREDIT = 0.5


def stem_states_hidden(asked: list[str]) -> bool:
    """The stem gives rounded hidden values (as the published quiz does) unless the question
    asks forward quantities itself; derivatives built on a student's own wrong hidden values
    then earn carried-forward credit instead."""
    return not any(p[0] in "zhy" for p in asked)


def _from_own_hidden(
    m: rnn.RnnModel, params: Mapping[str, Any], answers: Mapping[str, Any], part: str
) -> Any:
    """The part's value recomputed from the student's own hidden values (the rest exact)."""

    def compute(own: Mapping[str, float]) -> float | None:
        h = [own.get(f"h_{t}", answers[f"h_{t}"]) for t in range(m.T)]
        value = m.values_from_h(params, h)[part]
        return value if math.isfinite(value) else None

    return compute


def _figures(v: float, params: Mapping[str, Any]) -> str:
    """A stated hidden value with its trailing zeros (0.320: three figures, not two)."""
    text = f"{v:#.{STATED_SIGFIGS}g}"
    return fmt(v) if _is_published(params) or "e" in text else text


def _is_published(params: Mapping[str, Any]) -> bool:
    """The published quiz's question 4, whose stem must come out as it was set."""
    return (
        params["activation"] == "logistic"
        and params["h_init"] == 0
        and all(
            [float(x) for x in params[k]] == [float(x) for x in v]
            if isinstance(v, list)
            else float(params[k]) == float(v)
            for k, v in rnn.PUBLISHED_BPTT.items()
        )
    )


class RnnBptt(rnn.RnnTemplate):
    id = "rnn-bptt"
    version = 2
    # A derivative asked to four decimals sits at the end of a forward and a backward chain:
    # six carried decimals keep it there (five missed 2 of 300 sampled variants).
    carry = Carry(6)
    title = "Backpropagation through time"

    @property
    def part_kinds(self) -> tuple[str, ...]:
        return ("numeric", "symbolic")

    kind = "bptt"
    misconception_codes = catalogue(rnn.MISTAKES.values())
    extra = ("targets",)

    def answer_ids(self, params: Mapping[str, Any]) -> list[str]:
        T = len(params["x"])
        ids = [f"{q}_{t}" for t in range(T) for q in ("z", "h", "y")] + ["E"]
        ids += [f"dEd{q}_{t}" for t in range(T) for q in ("y", "h", "z")]
        return ids + list(rnn.PARAM_GRADS) + [f"expr_dEdz_{t}" for t in range(T)]

    def solve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        m = self.model(params)
        values = m.values(params)
        return {
            k: m.formulas[k[5:]] if k.startswith("expr_") else values[k]
            for k in self.answer_ids(params)
        }

    def reference(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return rnn_numeric.bptt_answers(params)

    def by_hand(self, params: Mapping[str, Any], rnd: Rounding) -> dict[str, Any]:
        return rnn_numeric.bptt_answers(params, rnd)

    @staticmethod
    def stated_hidden(
        params: Mapping[str, Any], answers: Mapping[str, Any], T: int
    ) -> tuple[list[float], bool]:
        """The hidden values the stem states, and whether they are exact (linear units: the
        stem must not call them rounded)."""
        h = [float(answers[f"h_{t}"]) for t in range(T)]
        if params["activation"] == "linear":
            # Sums of products of short decimals: exact at 10 places (-1.1e-16 is float noise).
            return [round(v, 10) + 0.0 for v in h], True
        if _is_published(params):
            return [round(v, PUBLISHED_STATED_DECIMALS) for v in h], False
        return [float(f"{v:.{STATED_SIGFIGS}g}") for v in h], False

    def specs(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> dict[str, AnswerSpec]:
        T = len(params["x"])
        m = self.model(params)
        # A formula part knows the mistakes of its value (expr_dEdz_1: those of dEdz_1).
        wrong = self.misconceptions(params, asked, {p: p[5:] for p in asked if p[:5] == "expr_"})
        asked_h = tuple(p for p in asked if p.startswith("h_"))
        hidden, exact = self.stated_hidden(params, answers, T)
        if stem_states_hidden(asked) and not exact:
            # Work done from the rounded hidden values the stem states is right too.
            alt: Mapping[str, float] = m.values_from_h(params, hidden)
        else:
            alt = answers
        out: dict[str, AnswerSpec] = {}
        for p in asked:
            if p.startswith("expr_"):
                out[p] = rnn.formula_part(m, params, p[5:], wrong[p])
                continue
            tol = FORWARD_TOLERANCE if p[0] in "zhy" else BACKWARD_TOLERANCE
            # Kept even inside the default tolerance: a tighter override must still accept it.
            also = () if alt[p] == answers[p] else (alt[p],)
            carry = None
            if asked_h and p.startswith("dEd"):
                carry = CarryForward(asked_h, _from_own_hidden(m, params, answers, p), ECF_CREDIT)
            out[p] = NumericAnswer(answers[p], tol, also, misconceptions=wrong[p], carry=carry)
        return out

    def sample(self, draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any] | None:
        T, act = self.draw_shape(draw, fixed, 2, 4)
        p = self.draw_net(draw, fixed, T, act)
        p["targets"] = (
            fixed["targets"]
            if "targets" in fixed
            else [draw.step(-1.0, 1.0, 0.1) for _ in range(T)]
        )
        values = self.model(p).values(p)
        if self.saturated(values, T, act) and "x" not in fixed:
            return None
        order = self.answer_ids(p)
        floor = 10 * BACKWARD_TOLERANCE.half_width(0.0)
        # Derivatives that flow back through later steps are the point of the question.
        cands = [f"dEd{q}_{t}" for t in range(T - 1) for q in ("z", "h")]
        cands += ["dEdw_xh", "dEdw_hh", "dEdh_init"] if T > 1 else ["dEdz_0", "dEdw_xh", "dEdw_hy"]
        cands = [c for c in cands if abs(values[c]) >= floor]
        both = [f"h_{T - 1}", f"dEdz_{T - 2}"] if T > 1 else []
        if (
            "ask" not in fixed
            and both
            and draw.chance(0.3)
            and abs(values[both[0]]) >= 10 * FORWARD_TOLERANCE.half_width(0.0)
            and abs(values[both[1]]) >= floor
        ):
            # A two-step question: the forward value, then a derivative that depends on it.
            return {**p, "ask": both}
        if "ask" not in fixed and T > 1 and draw.chance(0.15):
            # The derivative as a formula, then its value: the chain rule, then the numbers.
            return {**p, "ask": [f"dEdz_{T - 2}", f"expr_dEdz_{T - 2}"]}
        ask = self.pick_ask(draw, fixed, cands, order, 1 if draw.chance(0.5) else 2)
        if ask is None:
            return None
        return {**p, "ask": ask}

    def render(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> tuple[str, str]:
        m = self.model(params)
        T = len(params["x"])
        targets = ", ".join(fmt_param(v) for v in params["targets"])
        hidden, exact = self.stated_hidden(params, answers, T)
        if exact:
            stated = ", ".join(fmt(v, sig=12) for v in hidden)
            told = f"A forward pass gives the hidden values $h = ({stated})$; you may use them. "
        else:
            stated = ", ".join(_figures(v, params) for v in hidden)
            told = f"A forward pass gives hidden values of about $h = ({stated})$ (rounded); you may use them. "
        typed = (
            " (typed `t0`, `t1`, ... in a formula)"
            if any(p.startswith("expr_") for p in asked)
            else ""
        )
        hint = told if stem_states_hidden(asked) else ""
        stem = (
            rnn.describe_net(m, params)
            + f"\n\nThe error is $E = \\sum_t \\frac{{1}}{{2}} (y^*_t - y_t)^2$ with targets $y^* = ({targets})${typed}. "
            + hint
            + "Derivatives with respect to a hidden value or a pre-activation are total derivatives: "
            "they include the paths through later time steps.\n\n"
            "Compute the following."
        )
        values = m.values(params)
        sol = rnn.solution(
            m,
            values,
            params,
            asked,
            {
                "forward": "Forward pass.",
                "error": "Error.",
                "backward": "Backward pass (chain rule through later time steps).",
            },
        )
        return stem, sol


TEMPLATE = RnnBptt()
