"""rnn-binary-addition: the recurrent net that adds two binary numbers as a finite-state machine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from itertools import product
from typing import Any, ClassVar

import sympy as sp

from generators.core.draw import Draw
from generators.core.errors import ParamError
from generators.core.mistakes import Mistake, catalogue
from generators.core.params import check_ask, check_keys
from generators.core.template import Template
from generators.families import concepts, concepts_numeric
from grader import AnswerSpec, BitStringAnswer
from grader.answers import Misconception

MAX_BITS = 16

SUM_LSB_FIRST = "sum-lsb-first"
MISSING_FINAL_CARRY = "missing-final-carry"
SAMPLE_BITS = (3, 8)
LSB_FIRST = Mistake(
    SUM_LSB_FIRST,
    "the sum written in the order the net outputs it, least significant bit first",
    {
        "": "This is the sum written least significant bit first, in the order the net outputs "
        "it. Write it most significant bit first: s_{last} down to s_0, with the final carry "
        "c_{last} in front."
    },
)
NO_FINAL_CARRY = Mistake(
    MISSING_FINAL_CARRY,
    "the sum without the final carry in front (n bits where it has n + 1)",
    {
        "": "This leaves out the final carry. After the last column the carry c_{last} = "
        "{carry} is still in the hidden state, and it is the sum's leading bit: two {n}-bit "
        "numbers can add up to {n1} bits."
    },
)

A, B, C = sp.symbols("a b c")
NAMES = {A: "a_t", B: "b_t", C: "c_{t-1}"}


@dataclass(frozen=True)
class Machine:
    """The full adder as a finite-state machine: (carry in, a, b) -> (output bit, carry out)."""

    step: Mapping[tuple[int, int, int], tuple[int, int]]
    sum_latex: str
    carry_latex: str
    table_md: str


@cache
def machine() -> Machine:
    """Derive the transition table once from the symbolic full adder: the output bit is the
    exclusive or of the three bits and the carry their majority."""
    out_bit = sp.Xor(A, B, C)
    carry = sp.Or(sp.And(A, B), sp.And(A, C), sp.And(B, C))
    step = {}
    for c, a, b in product((0, 1), repeat=3):
        env = {A: bool(a), B: bool(b), C: bool(c)}
        step[(c, a, b)] = (int(bool(out_bit.subs(env))), int(bool(carry.subs(env))))
    head = "| $c_{t-1}$ | " + " | ".join(
        f"$a_t b_t = {a}{b}$" for a, b in product((0, 1), repeat=2)
    )
    rows = [head + " |", "|---" * 5 + "|"]
    for c in (0, 1):
        cells = [
            f"$s_t = {s}$, $c_t = {k}$"
            for s, k in (step[(c, a, b)] for a, b in product((0, 1), repeat=2))
        ]
        rows.append(f"| {c} | " + " | ".join(cells) + " |")
    return Machine(
        step,
        sp.latex(out_bit, symbol_names=NAMES),
        sp.latex(carry, symbol_names=NAMES),
        "\n".join(rows),
    )


@dataclass(frozen=True)
class Walk:
    """The machine run over the columns, least significant first."""

    a: str  # padded to n bits, most significant first
    b: str
    outputs: tuple[int, ...]  # s_t, t = 0 is the least significant column
    carries: tuple[int, ...]  # c_t after reading column t

    @property
    def total(self) -> str:
        return str(self.carries[-1]) + "".join(str(s) for s in reversed(self.outputs))


def run(a: str, b: str) -> Walk:
    n = max(len(a), len(b))
    a, b = a.zfill(n), b.zfill(n)
    step = machine().step
    carry = 0
    outputs, carries = [], []
    for t in range(n):
        s, carry = step[(carry, int(a[n - 1 - t]), int(b[n - 1 - t]))]
        outputs.append(s)
        carries.append(carry)
    return Walk(a, b, tuple(outputs), tuple(carries))


def _bits(params: Mapping[str, Any], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_BITS or set(value) - {"0", "1"}:
        raise ParamError(
            name,
            value,
            f"must be a string of 1 to {MAX_BITS} characters 0 and 1, most significant bit first",
        )
    return value


def sum_misconceptions(total: str) -> tuple[Misconception, ...]:
    """The sums a student who makes a known mistake writes, as bit strings compare (leading
    zeros do not matter): never the right sum, and each value named by its first mistake."""
    n = len(total) - 1
    carry = total[0]
    candidates = (
        (LSB_FIRST, total[::-1]),
        (NO_FINAL_CARRY, total[1:]),
        # The outputs alone in the order they came: both mistakes, the order named first (a
        # palindrome without its carry is taken for the missing carry above).
        (LSB_FIRST, total[1:][::-1]),
    )
    seen = {total.lstrip("0")}
    out = []
    for mistake, value in candidates:
        if value.lstrip("0") not in seen:
            seen.add(value.lstrip("0"))
            out.append(mistake.at(value, n=n, n1=n + 1, last=n - 1, carry=carry))
    return tuple(out)


def _what_to_give(asked: list[str], n: int) -> str:
    wants = []
    if "sum" in asked:
        wants.append(
            f"the sum as a bit string, most significant bit first, including the final carry "
            f"({n + 1} bits)"
        )
    if any(p != "sum" for p in asked):
        wants.append("each carry asked for as 0 or 1")
    return "Give " + ", and ".join(wants) + "."


class RnnBinaryAddition(Template):
    id = "rnn-binary-addition"
    version = 1
    title = "A recurrent net that adds binary numbers"
    family: ClassVar[str] = "rnn"
    misconception_codes = catalogue((LSB_FIRST, NO_FINAL_CARRY))

    def validate(self, params: Mapping[str, Any], partial: bool = False) -> dict[str, Any]:
        check_keys(params, ("a", "b", "ask"))
        out: dict[str, Any] = {}
        for name in ("a", "b"):
            if name in params or not partial:
                out[name] = _bits(params, name)
        if "ask" in params:
            if "a" in out and "b" in out:
                out["ask"] = check_ask(params, self.answer_ids(out))
            else:  # the sampler picks the length; here only the ids' form is checked
                out["ask"] = check_ask(params, self.answer_ids({"a": "0" * MAX_BITS, "b": ""}))
        elif not partial:
            out["ask"] = None
        return out

    def sample(self, draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any] | None:
        given = [fixed[k] for k in ("a", "b") if k in fixed]
        # A fixed `ask` naming carry_t needs at least t + 1 columns.
        need = max(
            (int(q.removeprefix("carry_")) + 1 for q in fixed.get("ask") or () if q != "sum"),
            default=1,
        )
        if given:
            n = max(map(len, given))
            if n < need:
                raise ParamError(
                    "ask", fixed["ask"], f"asks for a carry beyond the {n} columns of a and b"
                )
        else:
            n = max(draw.integer(*SAMPLE_BITS), need)

        def bits() -> str:
            return "".join("1" if v else "0" for v in draw.integers(0, 1, n))

        a = fixed.get("a") or bits()
        b = fixed.get("b") or bits()
        w = run(a, b)
        if len(given) < 2:
            # A question worth setting: a top column that is not 0 + 0, and at least one carry
            # (unless a fixed number of zeros makes a carry impossible).
            if w.a[0] == w.b[0] == "0":
                return None
            if 1 not in w.carries and not any(set(g) == {"0"} for g in given):
                return None
        p = {"a": a, "b": b}
        order = self.answer_ids(p)
        return {**p, "ask": concepts.pick_ask(draw, fixed, order, ["sum"], 2)}

    def answer_ids(self, params: Mapping[str, Any]) -> list[str]:
        n = max(len(params["a"]), len(params["b"]))
        return ["sum"] + [f"carry_{t}" for t in range(n)]

    def solve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        w = run(params["a"], params["b"])
        out: dict[str, Any] = {"sum": w.total}
        for t, c in enumerate(w.carries):
            out[f"carry_{t}"] = str(c)
        return out

    def reference(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return concepts_numeric.binary_addition(params)

    def specs(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> dict[str, AnswerSpec]:
        return {
            p: BitStringAnswer(answers[p], sum_misconceptions(answers[p]) if p == "sum" else ())
            for p in asked
        }

    def label(self, part_id: str) -> str:
        if part_id == "sum":
            return "a + b"
        return f"c_{{{part_id.removeprefix('carry_')}}}"

    def render(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> tuple[str, str]:
        w = run(params["a"], params["b"])
        n = len(w.a)
        pad = ""
        if len(params["a"]) != len(params["b"]):
            pad = f" The shorter number is read with leading zeros, as ${w.a}$ and ${w.b}$."
        stem = (
            "A recurrent net adds two binary numbers. At time step $t$ it reads one column: bit "
            "$a_t$ of the first number and bit $b_t$ of the second, least significant bit first "
            "($t = 0$ is the rightmost column), and it outputs bit $s_t$ of the sum. Its hidden "
            "state carries the carry from column to column: $c_t$ is the carry after reading "
            "column $t$, and $c_{-1} = 0$.\n\n"
            f"The numbers, written most significant bit first, are $a = {params['a']}$ and "
            f"$b = {params['b']}$.{pad}\n\n" + _what_to_give(asked, n)
        )
        m = machine()
        rows = [
            "| $t$ | $a_t$ | $b_t$ | $c_{t-1}$ | $s_t$ | $c_t$ |",
            "|---|---|---|---|---|---|",
        ]
        prev = 0
        for t in range(n):
            a_t, b_t = w.a[n - 1 - t], w.b[n - 1 - t]
            rows.append(f"| {t} | {a_t} | {b_t} | {prev} | {w.outputs[t]} | {w.carries[t]} |")
            prev = w.carries[t]
        carries = ", ".join(f"$c_{{{t}}} = {c}$" for t, c in enumerate(w.carries))
        solution = (
            "The net is a finite-state machine: its state is the carry together with the bit it outputs, "
            "and the next state depends only on the carry and the two bits it reads. The full "
            "adder gives the output bit and the next carry:\n\n"
            f"$$s_t = {m.sum_latex}, \\qquad c_t = {m.carry_latex}$$\n\n"
            r"($\veebar$ is exclusive or: $s_t$ is 1 when an odd number of the three bits are 1; "
            "the carry is 1 when at least two of them are.) Over every carry and pair of bits this "
            f"is the transition table\n\n{m.table_md}\n\n"
            "Reading the columns least significant bit first, starting with no carry:\n\n"
            + "\n".join(rows)
            + f"\n\nThe outputs $s_{{{n - 1}}} \\ldots s_0$ with the final carry $c_{{{n - 1}}} = "
            f"{w.carries[-1]}$ in front give the sum, most significant bit first.\n\n"
            f"**Answer.** $a + b = {w.total}$; {carries}."
        )
        return stem, solution

    @property
    def part_kinds(self) -> tuple[str, ...]:
        return ("bits",)


TEMPLATE = RnnBinaryAddition()
