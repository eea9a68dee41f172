"""Variants that no template on main makes yet: every answer kind of `grader.answers`, a kind the
exporters do not know (as the symbolic kind will be), and the params of each figure family."""

from __future__ import annotations

from typing import Any

from generators import Variant
from grader import AnswerSpec, PartResult, Status, Tolerance
from grader.answers import (
    BitStringAnswer,
    ChoiceAnswer,
    IntSequenceAnswer,
    MultiSelectAnswer,
    NumericAnswer,
    VectorAnswer,
)


class SymbolicStandIn(AnswerSpec):
    """A kind no exporter knows: graded by exact text here, by SymPy in the real one."""

    kind = "symbolic"

    def __init__(self, value: str) -> None:
        self.value = value

    def grade(self, raw: Any) -> PartResult:
        ok = isinstance(raw, str) and raw.strip() == self.value
        return PartResult(float(ok), Status.CORRECT if ok else Status.INCORRECT, "")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value}


HMM_PARAMS = {
    "pi": [0.6, 0.4],
    "A": [[0.7, 0.3], [0.4, 0.6]],
    "B": [[0.5, 0.5], [0.1, 0.9]],
    "obs": [0, 1, 1],
}
CELL_PARAMS = {
    "inputs": [3.0, 1.0, -2.0],
    "keep": [1.0, 0.5, 1.0],
    "write": [1.0, 0.0, 1.0],
    "read": [0.0, 0.0, 1.0],
    "c_init": 0.0,
}
LSTM_PARAMS = {
    "x": [1.0, 2.0],
    "w": {"i": [0.5, 0.2, 0.1], "f": [1.0, 1.0, 0.0], "g": [0.3, -0.2, 0.0], "o": [1.0, 0.0, -1.0]},
}

EXPLAIN = (
    ("vanishing", "|gain| < 1: the signal shrinks {by} #steps ~ early = weak: yes"),
    ("exploding", "|gain| > 1: the signal grows"),
)


def every_kind() -> Variant:
    parts: dict[str, AnswerSpec] = {
        "p": NumericAnswer(0.0753460865553955, Tolerance.decimals(2), also=(0.07621,)),
        "r": NumericAnswer(-12.5, Tolerance.relabs(0.02, 0.0)),
        "s": NumericAnswer(0.000421, Tolerance.sigfigs(2)),
        "alpha_1": VectorAnswer([0.1, 0.25, 0.65], Tolerance.decimals(2)),
        "A": VectorAnswer([[0.7, 0.3], [0.4, 0.6]], Tolerance.relabs(0.01, 1e-3)),
        "regime": ChoiceAnswer("exploding", ("vanishing", "exploding"), EXPLAIN),
        "bits": ChoiceAnswer(">16", ("2", "4", "16", ">16")),
        "setups": MultiSelectAnswer(
            ("ff200", "rnn200", "rnn30"), ("ff200", "rnn200", "ff30", "rnn30")
        ),
        "nothing": MultiSelectAnswer((), ("ff30", "rnn30", "ff20")),
        "path": IntSequenceAnswer((0, 1, 1, 0)),
        "sum": BitStringAnswer("01011"),
        "expr": SymbolicStandIn("w_hh**3*h_0"),
    }
    labels = {
        "p": "p_{0}",
        "r": "r",
        "s": r"\sigma_{s}",
        "alpha_1": r"\alpha_{1}",
        "A": "A",
        "regime": "Does the gradient vanish or explode?",
        "bits": "How many bits can the state carry?",
        "setups": "Which setups have enough context?",
        "nothing": "Which setups see the whole phoneme?",
        "path": r"\text{path}",
        "sum": r"\text{sum}",
        "expr": r"\partial h_{3} / \partial h_{0}",
    }
    stem = (
        "A stem with inline math $h_t = \\sigma(z_t)$, display math\n\n"
        "$$z_t = w_{xh} x_t + w_{hh} h_{t-1}, \\qquad y_t = w_{hy} h_t$$\n\n"
        "and characters each format escapes: {braces} # ~ = : & < > % _ ^ \\ and **bold**, "
        "*emphasis* and `code`.\n\n"
        "| state | 0 | 1 |\n|---|---|---|\n| p | 0.6 | 0.4 |\n\n"
        "- one item\n- two items"
    )
    return Variant(
        template="test-every-kind",
        version=1,
        seed=None,
        params=dict(HMM_PARAMS),
        answers={pid: spec.to_json()["value"] for pid, spec in parts.items()},
        parts=parts,
        labels=labels,
        stem=stem,
        solution="**Solution.** $$a = b + c = 2 + 3 = 5$$\n\nSo $a = 5$.",
        points={"p": 2.0, "alpha_1": 1.5, "setups": 2.0},
        title="Every answer kind",
    )


def figure_variants() -> list[Variant]:
    """A one-part variant for each other figure family."""
    out = []
    for name, params in (("test-cell", CELL_PARAMS), ("test-lstm", LSTM_PARAMS)):
        spec = NumericAnswer(1.5, Tolerance.decimals(2))
        out.append(
            Variant(
                template=name,
                version=1,
                seed=7,
                params=params,
                answers={"c": 1.5},
                parts={"c": spec},
                labels={"c": "c_{2}"},
                stem="Compute $c_2$.",
                solution="$c_2 = 1.5$",
                title=name,
            )
        )
    return out
