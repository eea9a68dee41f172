"""context-window: which feed-forward or recurrent setups hear enough sound around a phoneme (Week 7 quiz)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any, ClassVar

import sympy as sp

from generators.core.draw import Draw
from generators.core.errors import ParamError
from generators.core.params import check_ask, check_keys
from generators.core.symbolic import Substitution
from generators.core.template import Template
from generators.families import concepts, concepts_numeric
from generators.families.concepts import ms
from grader import AnswerSpec, MultiSelectAnswer
from grader.answers import TYPED_SELECTION

ARCHS = ("feedforward", "rnn")
ARCH_WORDS = {"feedforward": "feed-forward net", "rnn": "recurrent net"}
MAX_MS = 10_000.0
MAX_SETUPS = 8
SETUP_KEYS = ("id", "arch", "input_ms")
# Outcomes the sampler aims for; "none" and "all" keep students from guessing a mixed answer.
OUTCOMES = ("mixed", "mixed", "mixed", "none", "all")
RNN_FRAMES = (10, 20, 25, 30, 50, 100, 200)
# How the feedback names a setup; the recurrent one says why its input length does not matter.
WHAT = {
    "feedforward": "Feed-forward net with a {w} ms input window",
    "rnn": "Recurrent net reading {w} ms per step, whose hidden state keeps the sound from "
    "before the phoneme however short its input",
}

C, D, W = sp.symbols("c d w", positive=True)
SYMBOLS = [C, D, W]


@dataclass(frozen=True)
class Condition:
    """One inequality of the rule: LaTeX with number slots, a compiled test, and the sentence
    the feedback uses when it holds or fails (filled with the variant's numbers)."""

    general: str
    subst: Substitution
    test: Callable[[Fraction, Fraction, Fraction], bool]
    rhs: Callable[[Fraction, Fraction, Fraction], Fraction]
    holds: str
    fails: str

    def check(self, c: float, d: float, w: float) -> tuple[bool, str, str]:
        """(verdict, the inequality with numbers in LaTeX, the feedback sentence)."""
        # Exact decimals: 80.3 + 37.4 must equal a 117.7 ms window, as it does on paper.
        exact = [Fraction(str(v)) for v in (c, d, w)]
        ok = bool(self.test(*exact))
        vals = {"c": c, "d": d, "w": w}
        filled = self.subst.fill(vals, {k: ms for k in vals})
        words = (self.holds if ok else self.fails).format(
            c=ms(c), d=ms(d), w=ms(w), rhs=ms(float(self.rhs(*exact)))
        )
        return ok, filled, words


@dataclass(frozen=True)
class Rule:
    conditions: dict[str, tuple[Condition, ...]]  # per architecture
    notes: dict[str, str]  # why an architecture needs the conditions it does


def _condition(rel: sp.Rel, holds: str, fails: str) -> Condition:
    return Condition(
        sp.latex(rel, order="none"),
        Substitution(rel, SYMBOLS),
        sp.lambdify(SYMBOLS, rel, modules="math"),
        sp.lambdify(SYMBOLS, rel.rhs, modules="math"),
        holds,
        fails,
    )


@cache
def rule() -> Rule:
    """The course's rule, stated once: the sound after the phoneme has arrived when d >= c; a
    feed-forward net also needs the sound before it, which began d + c ago, inside its window."""
    after = _condition(
        sp.Ge(D, C),
        "the phoneme is {d} ms back, so the {c} ms after it have arrived ({d} >= {c})",
        "the phoneme is only {d} ms back, so the {c} ms after it have not all arrived ({d} < {c})",
    )
    window = _condition(
        sp.Ge(W, sp.Add(D, C, evaluate=False)),
        "its {w} ms window reaches back to the start of the context before the phoneme, "
        "{rhs} ms ago ({w} >= {d} + {c})",
        "its {w} ms window does not reach back to the start of the context before the phoneme, "
        "{rhs} ms ago ({w} < {d} + {c})",
    )
    return Rule(
        {"feedforward": (after, window), "rnn": (after,)},
        {
            "feedforward": "a feed-forward net sees nothing but its input window, the last $w$ ms",
            "rnn": "a recurrent net keeps what it heard earlier in its hidden state, so the length "
            "of its input per step does not limit how far back it can use",
        },
    )


@dataclass(frozen=True)
class Verdict:
    id: str
    arch: str
    input_ms: float
    ok: bool
    lines: tuple[tuple[str, bool], ...]  # each condition with numbers, and whether it holds
    explanation: str


def judge(params: Mapping[str, Any]) -> list[Verdict]:
    r = rule()
    c, d = params["context_ms"], params["delay_ms"]
    out = []
    for s in params["setups"]:
        w = s["input_ms"]
        checks = [cond.check(c, d, w) for cond in r.conditions[s["arch"]]]
        ok = all(k[0] for k in checks)
        what = WHAT[s["arch"]].format(w=ms(w))
        reasons = "; ".join(k[2] for k in checks)
        explanation = f"{what}: {reasons}: {'enough' if ok else 'not enough'} data."
        lines = tuple((k[1], k[0]) for k in checks)
        out.append(Verdict(s["id"], s["arch"], w, ok, lines, explanation))
    return out


def _setups(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list | tuple) or not 1 <= len(value) <= MAX_SETUPS:
        raise ParamError(
            "setups", value, f"must be a list of 1 to {MAX_SETUPS} setups {{id, arch, input_ms}}"
        )
    out: list[dict[str, Any]] = []
    seen: dict[Any, int] = {}
    for i, s in enumerate(value):
        where = f"setups[{i}]"
        if not isinstance(s, Mapping):
            raise ParamError(where, s, "must be an object {id, arch, input_ms}")
        for k in s:
            if k not in SETUP_KEYS:
                raise ParamError(f"{where}.{k}", s[k], f"unknown key; expected {list(SETUP_KEYS)}")
        sid = concepts.option_id(f"{where}.id", s.get("id"))
        if s.get("arch") not in ARCHS:
            raise ParamError(f"{where}.arch", s.get("arch"), f"must be one of {list(ARCHS)}")
        w = concepts.duration(f"{where}.input_ms", s.get("input_ms"), 1, MAX_MS)
        for key, what in ((sid, "id"), ((s["arch"], w), "arch and input_ms")):
            if key in seen:
                raise ParamError(where, dict(s), f"repeats the {what} of setups[{seen[key]}]")
            seen[key] = i
        out.append({"id": sid, "arch": s["arch"], "input_ms": w})
    return out


class ContextWindow(Template):
    id = "context-window"
    version = 2
    title = "Enough context to recognize a phoneme?"
    family: ClassVar[str] = "concepts"

    def validate(self, params: Mapping[str, Any], partial: bool = False) -> dict[str, Any]:
        check_keys(params, ("context_ms", "delay_ms", "setups", "ask"))
        out: dict[str, Any] = {}
        for name, lo in (("context_ms", 1.0), ("delay_ms", 0.0)):
            if name in params or not partial:
                if params.get(name) is None:
                    raise ParamError(name, None, "is required (a time in ms)")
                out[name] = concepts.duration(name, params[name], lo, MAX_MS)
        if "setups" in params or not partial:
            out["setups"] = _setups(params.get("setups"))
        if "ask" in params:
            out["ask"] = check_ask(params, ["setups"])
        elif not partial:
            out["ask"] = None
        return out

    def sample(self, draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any] | None:
        c = fixed["context_ms"] if "context_ms" in fixed else int(draw.step(50, 300, 50))
        if "delay_ms" in fixed:
            d = fixed["delay_ms"]
            outcome = "none" if d < c else draw.choice(("mixed", "mixed", "all"))
        else:
            outcome = draw.choice(OUTCOMES)
            if outcome == "none":
                d = draw.step(10, c - 10, 10) if c >= 20 else 0
            else:
                d = c + draw.choice((0, 0, 50, 100))  # the published quiz sits on the boundary
        if d > MAX_MS:
            return None
        d = int(d) if float(d).is_integer() else d
        p: dict[str, Any] = {"context_ms": c, "delay_ms": d}
        if "setups" in fixed:
            p["setups"] = fixed["setups"]
        else:
            setups = _draw_setups(draw, c, d, outcome)
            if setups is None:
                return None
            p["setups"] = setups
            ok = concepts_numeric.context_window(p)["setups"]
            got = "none" if not ok else "all" if len(ok) == len(setups) else "mixed"
            if got != outcome:
                return None
        p["ask"] = concepts.pick_ask(draw, fixed, ["setups"], ["setups"], 0)
        return p

    def answer_ids(self, params: Mapping[str, Any]) -> list[str]:
        return ["setups"]

    def solve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {"setups": sorted(v.id for v in judge(params) if v.ok)}

    def reference(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return concepts_numeric.context_window(params)

    def specs(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> dict[str, AnswerSpec]:
        verdicts = judge(params)
        return {
            "setups": MultiSelectAnswer(
                tuple(answers["setups"]),
                tuple(v.id for v in verdicts),
                tuple((v.id, v.explanation) for v in verdicts),
            )
        }

    def label(self, part_id: str) -> str:
        return (
            "Which setups have enough sound to recognize the phoneme now? Select every one that "
            "does (possibly none, possibly all)" + TYPED_SELECTION
        )

    def render(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> tuple[str, str]:
        c, d = ms(params["context_ms"]), ms(params["delay_ms"])
        setups = "\n".join(
            f"- **{s['id']}**: " + _describe(s["arch"], ms(s["input_ms"])) for s in params["setups"]
        )
        stem = (
            "A speech recognizer has to identify a phoneme. To tell which phoneme it is, it needs "
            f"the sound from $c = {c}$ ms before the phoneme to $c = {c}$ ms after it. The phoneme "
            f"was spoken $d = {d}$ ms ago; the sound up to now has been fed in, and nothing later. "
            # The question itself is the part's label, asked once.
            f"The setups are:\n\n{setups}"
        )
        r = rule()
        after, window = r.conditions["feedforward"]
        items = []
        for v in judge(params):
            conds = "; ".join(
                f"${g}$: ${line}$, {'holds' if ok else 'fails'}"
                for g, (line, ok) in zip(
                    (k.general for k in r.conditions[v.arch]), v.lines, strict=True
                )
            )
            verdict = "enough data" if v.ok else "not enough data"
            items.append(
                f"- **{v.id}** ({ARCH_WORDS[v.arch]}, $w = {ms(v.input_ms)}$ ms): {conds}: **{verdict}**."
            )
        chosen = ", ".join(answers["setups"]) if answers["setups"] else "none of the setups"
        solution = (
            f"The phoneme lies $d = {d}$ ms in the past, and the sound from $c = {c}$ ms before "
            "it to $c$ ms after it is needed.\n\n"
            f"- The sound after the phoneme has all arrived when ${after.general}$; this holds "
            "for every setup alike.\n"
            f"- {r.notes['feedforward'].capitalize()}; the context before the phoneme began "
            f"$d + c$ ms ago, so a feed-forward net also needs ${window.general}$.\n"
            f"- {r.notes['rnn'].capitalize()}: it needs only ${after.general}$.\n\n"
            "Setup by setup:\n\n" + "\n".join(items) + f"\n\n**Answer.** {chosen}."
        )
        return stem, solution

    @property
    def part_kinds(self) -> tuple[str, ...]:
        return ("multiselect",)


def _describe(arch: str, w: str) -> str:
    if arch == "feedforward":
        return f"a feed-forward net whose input is the most recent {w} ms of sound"
    return (
        f"a recurrent net that receives {w} ms of sound at each time step and has been running "
        "since the sound began"
    )


def _draw_setups(draw: Draw, c: float, d: float, outcome: str) -> list[dict[str, Any]] | None:
    """3 to 5 setups of both kinds; feed-forward windows just short of, at, or beyond what the
    rule needs (d + c), recurrent nets often paired with a feed-forward window of the same size."""
    need = d + c
    unit = 10 if need >= 20 else 1

    def short() -> float | None:
        if need <= unit:
            return None
        if draw.chance(0.5):
            return draw.step(unit, need - unit, unit)
        return max(unit, need - draw.choice((1, 2, 5)) * unit)

    def enough() -> float:
        return need + draw.choice((0, 0, 50, 100, 200))

    n = draw.integer(3, 5)
    n_ff = draw.integer(1, n - 1)
    windows: list[float | None] = []
    for i in range(n_ff):
        if outcome == "all" or (outcome == "none" and i == 0):
            # With no setup working, one wide window shows that the delay alone decides.
            windows.append(enough())
        elif outcome == "mixed" and i == 0:
            windows.append(short())
        else:
            windows.append(short() if draw.chance(0.4) else enough())
    if None in windows or len(set(windows)) < len(windows):
        return None
    frames: list[float] = []
    for _ in range(n - n_ff):
        frames.append(draw.choice(windows) if draw.chance(0.5) else draw.choice(RNN_FRAMES))
    if len(set(frames)) < len(frames):
        return None
    pairs = [("feedforward", w) for w in windows] + [("rnn", f) for f in frames]
    if any(w > MAX_MS for _, w in pairs):
        return None
    out = []
    for k, (arch, w) in enumerate(draw.shuffled(pairs)):
        w = int(w) if float(w).is_integer() else w
        out.append({"id": chr(ord("A") + k), "arch": arch, "input_ms": w})
    return out


TEMPLATE = ContextWindow()
