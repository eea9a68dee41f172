"""hmm-viterbi: the most likely state path by the Viterbi recursion, with its probability."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generators.core.carry import Rounding
from generators.core.draw import Draw
from generators.core.errors import ParamError
from generators.core.mistakes import catalogue
from generators.core.params import fixed_ask
from generators.core.symbolic import fmt, fmt_row
from generators.families import hmm, hmm_numeric
from grader import AnswerSpec, IntSequenceAnswer, NumericAnswer, Tolerance
from grader.answers import Misconception

# P(path, obs) is a product of 2T probabilities, often 1e-3 or smaller: significant figures.
PATH_PROB_TOLERANCE = Tolerance.sigfigs(3)
# The best path must beat the runner-up by this factor, so that a student's rounding can never
# make a different path look best and the answer is visibly unique.
MARGIN = 1.1


TRANSPOSED = hmm.MISTAKES[hmm.TRANSPOSED_TRANSITION]
ONE_BASED = hmm.MISTAKES[hmm.ONE_BASED_STATES]


def _headings(obs: list[int], T: int) -> dict[tuple[str, int], str]:
    out = {
        ("delta", 0): hmm.init_heading("delta", obs[0]),
        ("path_prob", T - 1): (
            rf"**Termination**: $P(s^{{*}}, o) = \max_i \delta_{{{T - 1}}}(i)$ and "
            rf"$s^{{*}}_{{{T - 1}}} = \arg\max_i \delta_{{{T - 1}}}(i)$."
        ),
    }
    for t in range(1, T):
        out[("delta", t)] = hmm.step_heading(
            t,
            obs[t],
            rf"$\delta_{{{t}}}(i) = B_{{i,o_{{{t}}}}} \max_j \delta_{{{t - 1}}}(j) \, A_{{j,i}}$, "
            rf"with the backpointer $\psi_{{{t}}}(i)$ the maximizing $j$.",
        )
    return out


class HmmViterbi(hmm.HmmTemplate):
    id = "hmm-viterbi"
    version = 2
    title = "Viterbi decoding of a hidden Markov model"
    misconception_codes = catalogue((TRANSPOSED, ONE_BASED))

    def answer_ids(self, params: Mapping[str, Any]) -> list[str]:
        return ["path", "path_prob"]

    def model(self, params: Mapping[str, Any], perturbation: str = "") -> hmm.HmmModel:
        return hmm.viterbi_model(len(params["pi"]), len(params["obs"]), perturbation)

    def decoded(
        self, params: Mapping[str, Any], perturbation: str = ""
    ) -> tuple[list[int], float, list[list[int]], dict[str, float]]:
        m = self.model(params, perturbation)
        values = m.values(params)
        path, psi = hmm.decode(values, m.N, m.T)
        return path, values["path_prob"], psi, values

    def solve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        path, prob, _, _ = self.decoded(params)
        return {"path": path, "path_prob": prob}

    def reference(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return hmm_numeric.viterbi_answers(params)

    def by_hand(self, params: Mapping[str, Any], rnd: Rounding) -> dict[str, Any]:
        return hmm_numeric.viterbi_answers(params, rnd)

    def specs(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> dict[str, AnswerSpec]:
        best, second = hmm.two_best_paths(params)
        if "path" in asked and second >= best * (1 - 1e-9):
            # Ties are resolved by index in the solution, but a student may pick any best path.
            raise ParamError(
                "obs",
                params["obs"],
                f"the most likely state path is not unique for these params (two paths have "
                f"probability {best:.6g}); a Viterbi question needs one best path",
            )
        tr_path, tr_prob, _, _ = self.decoded(params, hmm.TRANSPOSED_TRANSITION)
        out: dict[str, AnswerSpec] = {}
        for p in asked:
            if p == "path":
                right = tuple(answers["path"])
                candidates = (
                    ONE_BASED.at(tuple(s + 1 for s in right)),
                    TRANSPOSED.at(tuple(tr_path), "viterbi"),
                )
                wrong: list[Misconception] = []
                for m in candidates:
                    # A right path is never a mistake; two mistakes with one path: the first.
                    if m.value != right and all(m.value != w.value for w in wrong):
                        wrong.append(m)
                n = len(params["pi"])
                outside = ONE_BASED.at(None, "outside", n=n, last=n - 1)
                out[p] = IntSequenceAnswer(right, tuple(wrong), states=n, from_one=outside)
            else:
                out[p] = NumericAnswer(
                    answers[p],
                    PATH_PROB_TOLERANCE,
                    misconceptions=(TRANSPOSED.at(tr_prob, "viterbi"),),
                )
        return out

    def sample(self, draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any] | None:
        p = hmm.draw_model(draw, fixed)
        if p is None:
            return None
        if not hmm.all_fixed(fixed):
            if hmm.impossible_step(p) is not None:
                return None
            best, second = hmm.two_best_paths(p)
            if hmm.tiny(best, len(p["obs"])) or best < MARGIN * second:
                return None
        # The path is the point of the question; its probability is asked most of the time.
        if "ask" in fixed:
            ask = fixed_ask(fixed)
        else:
            ask = ["path"] if draw.chance(0.3) else ["path", "path_prob"]
        return {**p, "ask": ask}

    @property
    def part_kinds(self) -> tuple[str, ...]:
        return ("int_sequence", "numeric")

    def label(self, part_id: str) -> str:
        if part_id == "path":
            return r"(s^{*}_{0}, \ldots, s^{*}_{T-1})"
        return r"P(s^{*}, o)"

    def render(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> tuple[str, str]:
        m = self.model(params)
        T = m.T
        stem = (
            hmm.describe_model(params) + f" Here $T = {T}$.\n\n"
            r"Use the Viterbi algorithm to find the most likely sequence of hidden states "
            r"$s^{*} = (s^{*}_0, \ldots, s^{*}_{T-1})$ given the observations, that is the path "
            r"that maximizes $P(s_0, \ldots, s_{T-1}, o_0, \ldots, o_{T-1})$, and its joint "
            r"probability with the observations, $P(s^{*}, o)$. Give the path as a list of state "
            "numbers. Carry at least 5 significant figures through the intermediate steps.\n\n"
            "Compute the following."
        )
        return stem, self.solution(m, params, answers)

    def solution(
        self, m: hmm.HmmModel, params: Mapping[str, Any], answers: Mapping[str, Any]
    ) -> str:
        """The delta table step by step with backpointers, then the backtrace; every line from
        the model's own definitions with the numbers substituted."""
        N, T = m.N, m.T
        values = m.all_values(params)
        path, psi = hmm.decode(values, N, T)
        headings = _headings(params["obs"], T)
        out: list[str] = []
        section = None
        for line in m.lines:
            if line.section != section:
                section = line.section
                out.append(f"\n{headings[section]}\n")
            text = hmm.fill_line(line, values)
            t, _, i = line.name.removeprefix("delta_").partition("_")
            if line.name.startswith("delta_") and t != "0":
                text += rf", \qquad \psi_{{{t}}}({i}) = {psi[int(t)][int(i)]}"
            out.append(f"$${text}$$")
            if section == ("delta", T - 1) and line.name == f"delta_{T - 1}_{N - 1}":
                out.append(_delta_table(values, psi, params["obs"], N, T))
        out.append(rf"$$s^{{*}}_{{{T - 1}}} = \arg\max_i \delta_{{{T - 1}}}(i) = {path[-1]}$$")
        back = [
            rf"s^{{*}}_{{{t}}} = \psi_{{{t + 1}}}(s^{{*}}_{{{t + 1}}}) = "
            rf"\psi_{{{t + 1}}}({path[t + 1]}) = {path[t]}"
            for t in range(T - 2, -1, -1)
        ]
        if back:
            out.append(
                "\n**Backtrace** through the backpointers, from the last step to the first:\n"
            )
            out.append("$$" + r", \qquad ".join(back) + "$$")
        seq = ", ".join(str(s) for s in answers["path"])
        out.append(
            f"\n**Answer.** $s^{{*}} = ({seq})$, $P(s^{{*}}, o) = {fmt(answers['path_prob'])}$."
        )
        return "\n".join(out).strip()


def _delta_table(
    values: Mapping[str, float], psi: list[list[int]], obs: list[int], N: int, T: int
) -> str:
    rows = []
    for t in range(T):
        deltas = fmt_row([values[f"delta_{t}_{i}"] for i in range(N)])
        cells = [c for i in range(N) for c in (f"${deltas[i]}$", psi[t][i] if t else "—")]
        rows.append([t, obs[t], *cells])
    header = [c for i in range(N) for c in (rf"$\delta_t({i})$", rf"$\psi_t({i})$")]
    return hmm.markdown_table(["$t$", "$o_t$", *header], rows)


TEMPLATE = HmmViterbi()
