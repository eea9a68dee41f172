"""memory-capacity: how many bits an RNN's hidden vector and an HMM's hidden state carry (Week 7 quiz)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

import sympy as sp

from generators.core.draw import Draw
from generators.core.errors import ParamError
from generators.core.params import check_ask, check_choice, check_keys
from generators.core.symbolic import Substitution
from generators.core.template import Template
from generators.families import concepts, concepts_numeric
from grader import AnswerSpec, ChoiceAnswer

MODELS = ("rnn", "hmm")
# N = 2^(2^k): every option, log2(log2 N) included, is then a whole number of bits. N = 2 is left
# out because its smallest option, log2(log2 2) = 0 bits, is no answer anyone would weigh.
UNITS = (4, 16, 256, 65536)
MODEL_WORDS = {
    "rnn": "a recurrent neural network with {n} logistic hidden units",
    "hmm": "a hidden Markov model with {n} hidden states",
}

N = sp.Symbol("N", positive=True, integer=True)


class Log2(sp.Function):
    """log2, evaluated by SymPy's `log` whenever the result is exact (log2 16 = 4, log2 2^N = N)."""

    @classmethod
    def eval(cls, x: sp.Expr) -> sp.Expr | None:
        v = sp.expand_log(sp.log(x, 2), force=True)
        return None if v.has(sp.log) else v

    def _latex(self, printer: Any, exp: Any = None) -> str:
        arg = self.args[0]
        inner = printer._print(arg)
        if arg.is_Add or arg.is_Mul:
            inner = rf"\left({inner}\right)"
        out = rf"\log_2 {inner}"
        return rf"\left({out}\right)^{{{exp}}}" if exp else out


@dataclass(frozen=True)
class Step:
    """One count of the derivation: `log2(...)` in general, with N put in, and its value."""

    general: str
    simplified: str
    subst: Substitution
    expr: sp.Expr

    def line(self, n: int) -> tuple[str, int]:
        value = int(self.expr.subs(N, n))
        # log2 2^N = N = 16 reads better than putting 16 into 2^N; log2 N = log2 16 = 4 needs it.
        middle = self.simplified if self.simplified != self.general else self.subst.fill({"N": n})
        return f"{self.general} = {middle} = {value}", value


@cache
def derivation() -> dict[str, Step]:
    """The three counts, derived once: one of N states (log2 N), N on/off units (log2 2^N = N)
    and the distractor log2(log2 N)."""
    raw = {
        "state": Log2(N, evaluate=False),
        "binary": Log2(2**N, evaluate=False),
        "loglog": Log2(Log2(N, evaluate=False), evaluate=False),
    }
    return {
        k: Step(sp.latex(e), sp.latex(e.doit()), Substitution(e, [N]), e.doit())
        for k, e in raw.items()
    }


@dataclass(frozen=True)
class Counts:
    n: int
    state_bits: int  # one of N states
    binary_bits: int  # N binary units
    loglog: int
    lines: dict[str, str]

    @property
    def options(self) -> tuple[str, ...]:
        return (str(self.loglog), str(self.state_bits), str(self.binary_bits), f">{self.n}")


@cache
def counts(n: int) -> Counts:
    lines, values = {}, {}
    for k, step in derivation().items():
        lines[k], values[k] = step.line(n)
    return Counts(n, values["state"], values["binary"], values["loglog"], lines)


def answer(model: str, c: Counts) -> str:
    return f">{c.n}" if model == "rnn" else str(c.state_bits)


def explanations(model: str, c: Counts) -> tuple[tuple[str, str], ...]:
    n, s = c.n, c.state_bits
    o_loglog, o_state, o_n, o_more = c.options
    loglog = (
        f"log2(log2 {n}) = {c.loglog} is the number of bits that picks one of log2 {n} = {s} "
        "things; it counts neither the states nor the units."
    )
    if model == "hmm":
        return (
            (o_loglog, loglog),
            (
                o_state,
                f"The hidden state is one of {n} states, and picking one of {n} values takes "
                f"log2 {n} = {s} bits.",
            ),
            (
                o_n,
                f"{n} bits would take 2^{n} states; one of {n} states carries only log2 {n} = {s} bits.",
            ),
            (
                o_more,
                f"An HMM's state is one of only {n} values: at most log2 {n} = {s} bits, far below {n}.",
            ),
        )
    return (
        (o_loglog, loglog),
        (
            o_state,
            f"log2 {n} = {s} bits is what one of {n} discrete states carries (an HMM); {n} units "
            f"together have many more than {n} states.",
        ),
        (
            o_n,
            f"{n} bits is what {n} binary on/off units carry; logistic units are real-valued, so "
            "they carry more.",
        ),
        (
            o_more,
            f"Even as on/off units the {n} units would have 2^{n} states ({n} bits), and their "
            "real-valued activities hold more than one bit each.",
        ),
    )


def _why_not(n: float) -> str:
    if n < 2:
        return "an HMM needs at least 2 states and log2(log2 N) needs N > 1"
    if not float(n).is_integer() or concepts.log2_exact(int(n)) is None:
        return "N must be a power of 2"
    if n == 2:
        return "N = 2 gives the option log2(log2 2) = 0 bits, which no one would weigh"
    if n > UNITS[-1]:
        return f"N above {UNITS[-1]} is not a number a question sets"
    return f"log2 N = {int(n).bit_length() - 1} is not a power of 2, so log2(log2 N) is no whole number of bits"


class MemoryCapacity(Template):
    id = "memory-capacity"
    version = 2
    title = "Memory capacity of an RNN and an HMM"
    family: ClassVar[str] = "concepts"

    def validate(self, params: Mapping[str, Any], partial: bool = False) -> dict[str, Any]:
        check_keys(params, ("units", "model", "ask"))
        out: dict[str, Any] = {}
        if "units" in params or not partial:
            n = params.get("units")
            if n is None or isinstance(n, bool) or not isinstance(n, int | float):
                raise ParamError("units", n, f"must be one of {list(UNITS)}")
            if n not in UNITS:
                raise ParamError("units", n, f"must be one of {list(UNITS)}: {_why_not(n)}")
            n = int(n)
            out["units"] = n
        if "model" in params or not partial:
            if params.get("model") is None:
                raise ParamError("model", None, f"is required: one of {list(MODELS)}")
            out["model"] = check_choice(params, "model", MODELS)
        if "ask" in params:
            out["ask"] = check_ask(params, self.answer_ids(out))
        elif not partial:
            out["ask"] = None
        return out

    def sample(self, draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any] | None:
        n = fixed["units"] if "units" in fixed else draw.choice(UNITS)
        model = fixed["model"] if "model" in fixed else draw.choice(MODELS)
        p = {"units": n, "model": model}
        return {**p, "ask": concepts.pick_ask(draw, fixed, ["bits"], ["bits"], 0)}

    def answer_ids(self, params: Mapping[str, Any]) -> list[str]:
        return ["bits"]

    def solve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {"bits": answer(params["model"], counts(params["units"]))}

    def reference(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return concepts_numeric.memory_capacity(params)

    def specs(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> dict[str, AnswerSpec]:
        c = counts(params["units"])
        return {"bits": ChoiceAnswer(answers["bits"], c.options, explanations(params["model"], c))}

    def label(self, part_id: str) -> str:
        return "How many bits of information about the past can the hidden state carry?"

    def render(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> tuple[str, str]:
        return _render(params["units"], params["model"])

    @property
    def part_kinds(self) -> tuple[str, ...]:
        return ("choice",)


@cache
def _render(n: int, model: str) -> tuple[str, str]:
    c = counts(n)
    what = MODEL_WORDS[model].format(n=n)
    options = ", ".join(f"`{o}`" for o in c.options[:-1]) + f" and `{c.options[-1]}`"
    # The question itself is the part's label: the stem sets the scene and lists the options.
    stem = (
        f"A sequence is modelled by {what}. At any one time step, everything the model knows "
        "about the earlier part of the sequence is held in its hidden state.\n\n"
        f"The options are {options} (`>{n}` means more than {n} bits)."
    )
    lines = c.lines
    if model == "hmm":
        body = (
            f"At each time step the hidden state of an HMM is exactly **one** of its $N = {n}$ "
            f"discrete states. Picking one of $N$ values takes\n\n$${lines['state']}"
            r" \text{ bits},$$"
            "\n\nand that is all it can carry: whatever the model remembers about the past must be "
            "coded in which state it is in.\n\n"
            f"For comparison, $N$ binary units would carry ${lines['binary']}$ bits, "
            f"and a recurrent net with {n} real-valued units more still; "
            f"${lines['loglog']}$ counts neither states nor units."
        )
    else:
        body = (
            f"The hidden state of the RNN is a vector of $N = {n}$ logistic activities, each a "
            r"real number in $(0, 1)$. If every unit were only on or off, the vector would "
            f"already take $2^{{N}}$ different values and carry\n\n$${lines['binary']}"
            r" \text{ bits};$$"
            f"\n\nreal-valued activities distinguish more than two levels each, so the hidden "
            f"vector carries **more than {n} bits** (as many as the precision of its activities "
            "allows). Its units describe the past together, in a distributed way.\n\n"
            f"For comparison, an HMM with {n} states carries only ${lines['state']}$ bits, "
            f"and ${lines['loglog']}$ counts neither states nor units."
        )
    solution = body + f"\n\n**Answer.** `{answer(model, c)}`."
    return stem, solution


TEMPLATE = MemoryCapacity()
