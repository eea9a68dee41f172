"""hmm-forward: the forward algorithm by hand: alphas, likelihood, filtering and prediction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generators.core.carry import Rounding
from generators.core.draw import Draw
from generators.core.mistakes import catalogue
from generators.core.symbolic import fmt
from generators.families import hmm, hmm_numeric
from grader import AnswerSpec, NumericAnswer, Tolerance

# alpha_t(i) and the likelihood are products of 2T probabilities, often 1e-3 or smaller, where a
# fixed number of decimals would accept nearly anything: they are graded to 3 significant
# figures. The filtered, predicted and next-symbol distributions are normalized (entries in
# [0, 1] summing to 1), where 3 decimal places is the natural precision and does not demand
# spurious digits of a small entry such as 0.0123.
JOINT_TOLERANCE = Tolerance.sigfigs(3)
DIST_TOLERANCE = Tolerance.decimals(3)


MAX = hmm.MISTAKES[hmm.MAX_INSTEAD_OF_SUM]
UNNORMALIZED = hmm.MISTAKES[hmm.UNNORMALIZED_FILTER]
TRANSPOSED = hmm.MISTAKES[hmm.TRANSPOSED_TRANSITION]


def _headings(obs: list[int], T: int) -> dict[tuple[str, int], str]:
    """Section headings of the worked solution: the general recursion of each step."""
    out = {
        ("alpha", 0): hmm.init_heading("alpha", obs[0]),
        ("likelihood", T - 1): (
            rf"**Likelihood**: the sum of the last alphas, $P({hmm.span(T - 1)}) = "
            rf"\sum_i \alpha_{{{T - 1}}}(i)$."
        ),
        ("predict", T): (
            rf"**Prediction**: one more step of the chain from the filtered distribution, "
            rf"$P(s_{{{T}}} = i \mid {hmm.span(T - 1)}) = \sum_j \hat{{\alpha}}_{{{T - 1}}}(j)"
            rf"\, A_{{j,i}}$."
        ),
        ("next", T): (
            rf"**Next observation**: emit from the predicted state, "
            rf"$P(o_{{{T}}} = k \mid {hmm.span(T - 1)}) = \sum_i "
            rf"P(s_{{{T}}} = i \mid {hmm.span(T - 1)}) \, B_{{i,k}}$."
        ),
    }
    for t in range(1, T):
        out[("alpha", t)] = hmm.step_heading(
            t,
            obs[t],
            rf"$\alpha_{{{t}}}(i) = B_{{i,o_{{{t}}}}} \sum_j \alpha_{{{t - 1}}}(j) \, A_{{j,i}}$.",
        )
    for t in range(T):
        norm = "the likelihood" if t == T - 1 else rf"$P({hmm.span(t)}) = \sum_i \alpha_{{{t}}}(i)$"
        out[("filter", t)] = (
            rf"**Filtering at $t = {t}$**: $\hat{{\alpha}}_{{{t}}}(i) = "
            rf"P(s_{{{t}}} = i \mid {hmm.span(t)})$ is $\alpha_{{{t}}}(i)$ divided by {norm}."
        )
    return out


def _wanted(part: str, N: int, M: int, T: int) -> list[str]:
    """The model values that make up an answer id."""
    if part == "likelihood":
        return ["likelihood"]
    if part == "predict":
        return [f"predict_{i}" for i in range(N)]
    if part == "next_obs":
        return [f"next_{k}" for k in range(M)]
    head, _, t = part.partition("_")
    return [f"{head}_{t}_{i}" for i in range(N)]


class HmmForward(hmm.HmmTemplate):
    id = "hmm-forward"
    version = 2
    title = "Forward algorithm of a hidden Markov model"
    misconception_codes = catalogue((MAX, UNNORMALIZED, TRANSPOSED))

    def answer_ids(self, params: Mapping[str, Any]) -> list[str]:
        T = len(params["obs"])
        ids = [f"alpha_{t}" for t in range(T)] + ["likelihood"]
        return ids + [f"filter_{t}" for t in range(T)] + ["predict", "next_obs"]

    def model(self, params: Mapping[str, Any], perturbation: str = "") -> hmm.HmmModel:
        return hmm.forward_model(*hmm.shape(params), perturbation)

    def solve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        m = self.model(params)
        return hmm.forward_answers(m.values(params), m.N, m.M, m.T)

    def reference(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return hmm_numeric.forward_answers(params)

    def by_hand(self, params: Mapping[str, Any], rnd: Rounding) -> dict[str, Any]:
        return hmm_numeric.forward_answers(params, rnd)

    def specs(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> dict[str, AnswerSpec]:
        N, M, T = hmm.shape(params)
        joint = self.model(params).values(params)
        max_values = self.model(params, hmm.MAX_INSTEAD_OF_SUM).values(params)
        as_max = hmm.forward_answers(max_values, N, M, T)
        as_tr = hmm.forward_answers(
            self.model(params, hmm.TRANSPOSED_TRANSITION).values(params), N, M, T
        )
        unnormalized = {
            "predict": [joint[f"joint_{i}"] for i in range(N)],
            "next_obs": [joint[f"joint_next_{k}"] for k in range(M)],
        }
        out: dict[str, AnswerSpec] = {}
        for p in asked:
            if p == "likelihood":
                out[p] = NumericAnswer(
                    answers[p],
                    JOINT_TOLERANCE,
                    misconceptions=(
                        MAX.at(as_max[p]),
                        MAX.at(max_values["likelihood_max"]),
                        TRANSPOSED.at(as_tr[p], "forward"),
                    ),
                )
                continue
            kind = p.partition("_")[0] if p.startswith(("alpha_", "filter_")) else p
            wrong = [(MAX.code, as_max[p], MAX.message())]
            if kind == "filter":
                t = p.partition("_")[2]
                wrong.append((UNNORMALIZED.code, answers[f"alpha_{t}"], UNNORMALIZED.message(kind)))
            elif kind in UNNORMALIZED.messages:
                wrong.append((UNNORMALIZED.code, unnormalized[kind], UNNORMALIZED.message(kind)))
            wrong.append((TRANSPOSED.code, as_tr[p], TRANSPOSED.message("forward")))
            tol = JOINT_TOLERANCE if kind == "alpha" else DIST_TOLERANCE
            out[p] = hmm.vector_answer(answers[p], tol, wrong)
        return out

    def sample(self, draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any] | None:
        p = hmm.draw_model(draw, fixed)
        if p is None:
            return None
        if not hmm.all_fixed(fixed):
            if hmm.impossible_step(p) is not None:
                return None
            if hmm.tiny(self.model(p).values(p)["likelihood"], len(p["obs"])):
                return None
        T = len(p["obs"])
        # The later steps make the student carry the recursion; one to three parts.
        cands = [f"alpha_{t}" for t in range(1, T)] + ["likelihood", f"filter_{T - 1}"]
        cands += ["predict", "next_obs"]
        ask = hmm.pick_ask(draw, fixed, cands, draw.integer(1, 3))
        return {**p, "ask": ask}

    @property
    def part_kinds(self) -> tuple[str, ...]:
        return ("numeric", "vector")

    def label(self, part_id: str) -> str:
        if part_id == "likelihood":
            return r"P(o_{0}, \ldots, o_{T-1})"
        if part_id == "predict":
            return r"P(s_{T} \mid o_{0}, \ldots, o_{T-1})"
        if part_id == "next_obs":
            return r"P(o_{T} \mid o_{0}, \ldots, o_{T-1})"
        head, _, t = part_id.partition("_")
        return rf"\alpha_{{{t}}}" if head == "alpha" else rf"\hat{{\alpha}}_{{{t}}}"

    def render(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> tuple[str, str]:
        m = self.model(params)
        T = m.T
        stem = (
            hmm.describe_model(params) + f" Here $T = {T}$.\n\n"
            r"Use the forward algorithm, with $\alpha_t(i) = P(o_0, \ldots, o_t, s_t = i)$ and "
            r"the filtered distribution $\hat{\alpha}_t(i) = P(s_t = i \mid o_0, \ldots, o_t)$. "
            "A vector lists its entries in the order of the states $0, 1, \\ldots$ (of the "
            "symbols, for the next observation). Carry at least 5 significant figures through "
            "the intermediate steps.\n\nCompute the following."
        )
        return stem, self.solution(m, params, answers, asked)

    @staticmethod
    def solution(
        m: hmm.HmmModel, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> str:
        """The alpha table step by step (general recursion, numbers substituted, result), then
        whatever the asked parts need, each line generated from the model's own definitions."""
        N, M, T = m.N, m.M, m.T
        need: set[str] = set()
        for part in asked:
            for name in _wanted(part, N, M, T):
                need.add(name)
                need |= m.deps[name]
        values = m.all_values(params)
        headings = _headings(params["obs"], T)
        out: list[str] = []
        section = None
        last_alpha = max(t for t in range(T) if f"alpha_{t}_0" in need)
        for line in m.lines:
            if line.name not in need:
                continue
            if line.section != section:
                if section == ("alpha", last_alpha):
                    out.append(_alpha_table(values, params["obs"], N, last_alpha))
                section = line.section
                out.append(f"\n{headings[section]}\n")
            out.append(f"$${hmm.fill_line(line, values)}$$")
        if section == ("alpha", last_alpha):
            out.append(_alpha_table(values, params["obs"], N, last_alpha))
        shown = []
        for part in asked:
            v = answers[part]
            text = fmt(v) if isinstance(v, float) else hmm.vector_latex(v)
            shown.append(f"${_answer_label(part, T)} = {text}$")
        out.append(f"\n**Answer.** {', '.join(shown)}.")
        return "\n".join(out).strip()


def _alpha_table(values: Mapping[str, float], obs: list[int], N: int, t_max: int) -> str:
    return hmm.markdown_table(
        ["$t$", "$o_t$", *(rf"$\alpha_t({i})$" for i in range(N))],
        (
            [t, obs[t], *(f"${fmt(values[f'alpha_{t}_{i}'])}$" for i in range(N))]
            for t in range(t_max + 1)
        ),
    )


def _answer_label(part: str, T: int) -> str:
    if part == "likelihood":
        return f"P({hmm.span(T - 1)})"
    if part == "predict":
        return rf"P(s_{{{T}}} \mid {hmm.span(T - 1)})"
    if part == "next_obs":
        return rf"P(o_{{{T}}} \mid {hmm.span(T - 1)})"
    return TEMPLATE.label(part)


TEMPLATE = HmmForward()
