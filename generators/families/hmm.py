"""Hidden Markov models: the forward and Viterbi recursions derived in SymPy once per shape,
lambdified and cached; answers, misconception values and worked solutions all come from them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

import sympy as sp

from generators.core.draw import Draw
from generators.core.errors import ParamError
from generators.core.mistakes import Mistake, by_code
from generators.core.params import MAX_T, as_number, check_ask, check_keys, fixed_ask
from generators.core.symbolic import (
    Graph,
    Substitution,
    compile_straight_line,
    fmt,
    fmt_param,
    index_list,
    plus,
    times,
)
from generators.core.template import Template
from generators.core.worked import Line, dependencies
from grader.answers import Misconception, VectorAnswer
from grader.tolerance import Tolerance

# Bounds on params from outside: a larger model is no longer a question worked by hand, and the
# bounds keep the number of cached shapes (N, M, T) small.
MAX_STATES = 5
MAX_SYMBOLS = 6
# Float slack on "sums to 1": 0.1 + 0.2 + 0.7 is 1.0000000000000002 in binary.
SUM_SLACK = 1e-9

# The misconception codes of the family (issue 4), each a perturbation of the symbolic model.
MAX_INSTEAD_OF_SUM = "max-instead-of-sum"
UNNORMALIZED_FILTER = "unnormalized-filter"
TRANSPOSED_TRANSITION = "transposed-transition"
ONE_BASED_STATES = "one-based-states"


# -- misconceptions ----------------------------------------------------------------------------

MISTAKES = by_code(
    (
        Mistake(
            MAX_INSTEAD_OF_SUM,
            "max over previous states where the forward algorithm sums (Viterbi's step)",
            {
                "": (
                    "The forward algorithm sums over the previous states, alpha_t(i) = B[i][o_t] * "
                    "sum_j alpha_{t-1}(j) A[j][i]; taking the max instead (as Viterbi does) keeps only the best "
                    "path into each state, not the probability of all of them."
                )
            },
        ),
        Mistake(
            UNNORMALIZED_FILTER,
            "the joint probability alpha given where the normalized filter or prediction is asked",
            {
                "filter": (
                    "This is alpha_t, the joint probability P(o_0..o_t, s_t = i). The filtered distribution "
                    "divides it by its sum P(o_0..o_t), so that it sums to 1."
                ),
                "predict": (
                    "This is the joint probability P(o_0..o_{T-1}, s_T = i). Divide by the likelihood "
                    "P(o_0..o_{T-1}) (or start from the filtered distribution) to condition on the "
                    "observations; the result sums to 1."
                ),
                "next_obs": (
                    "This is the joint probability P(o_0..o_{T-1}, o_T = k). Divide by the likelihood "
                    "P(o_0..o_{T-1}) to condition on the observations; the result sums to 1."
                ),
            },
        ),
        Mistake(
            TRANSPOSED_TRANSITION,
            "A read as A transposed (rows taken as the next state)",
            {
                "forward": (
                    "This reads A transposed. A[i][j] is the probability of moving from state i to state j "
                    "(rows are the current state), so the step into state i sums down column i: "
                    "sum_j alpha_{t-1}(j) A[j][i]."
                ),
                "viterbi": (
                    "This reads A transposed. A[i][j] is the probability of moving from state i to state j "
                    "(rows are the current state), so the step into state i takes the max down column i: "
                    "max_j delta_{t-1}(j) A[j][i]."
                ),
            },
        ),
        # Said as a fact about the response: with no state N in it, the shifted path is also a
        # path that a student may have chosen for other reasons.
        Mistake(
            ONE_BASED_STATES,
            "the right path with the states numbered from 1 instead of 0",
            {
                "": (
                    "Each state in this path is one more than in the most likely path. The states are "
                    "numbered from 0, not from 1: state 0 is the first row of A and of B."
                ),
                # Said of a path with state N in it, which is no path: not graded.
                "outside": (
                    "This path names state {n}, but there are {n} states, numbered from 0 to {last}, "
                    "not from 1: state 0 is the first row of A and of B."
                ),
            },
        ),
    )
)


class OrderedMax(sp.Function):
    """max of its arguments, unevaluated and in the order given: sympy's Max sorts and simplifies
    its arguments, and the worked solution must list them as j = 0, 1, ..."""

    def _latex(self, printer: Any, exp: Any = None) -> str:
        inner = ", ".join(printer._print(a) for a in self.args)
        return rf"\max\left({inner}\right)"


MODULES: list[Any] = [{"OrderedMax": max}, "math"]


def span(t: int) -> str:
    """o_0, ..., o_t in LaTeX."""
    return "o_{0}" if t == 0 else f"o_{{0:{t}}}"


@dataclass(frozen=True)
class HmmModel:
    """One shape's lambdified recursion. `fn` takes the flat args and returns every value."""

    kind: str  # "forward" or "viterbi"
    N: int
    M: int
    T: int
    perturbation: str
    arg_names: tuple[str, ...]
    value_names: tuple[str, ...]
    fn: Callable[..., Any]
    lines: tuple[Line, ...]
    deps: Mapping[str, frozenset[str]]

    def args(self, params: Mapping[str, Any]) -> list[float]:
        """pi, A by rows, [B by rows,] then e_t(i) = B[i][o_t]: obs enters only as numbers."""
        pi, A, B, obs = params["pi"], params["A"], params["B"], params["obs"]
        out = list(pi)
        for row in A:
            out += row
        if self.kind == "forward":
            for row in B:
                out += row
        for o in obs:
            out += [B[i][o] for i in range(self.N)]
        return out

    def values(self, params: Mapping[str, Any]) -> dict[str, float]:
        args = self.args(params)
        return dict(zip(self.value_names, self.fn(*args), strict=True))

    def all_values(self, params: Mapping[str, Any]) -> dict[str, float]:
        """Inputs and values by name, as the solution's substitutions need them."""
        args = self.args(params)
        out = dict(zip(self.arg_names, args, strict=True))
        out.update(zip(self.value_names, self.fn(*args), strict=True))
        return out


class _Builder:
    """The inputs of a shape: pi_i, A_i_j, B_i_k and the emission factors e_t_i."""

    def __init__(self, N: int, M: int, T: int, with_B: bool) -> None:
        g = self.g = Graph()
        self.pi = [g.input(f"pi_{i}", rf"\pi_{{{i}}}") for i in range(N)]
        self.A = [[g.input(f"A_{i}_{j}", f"A_{{{i},{j}}}") for j in range(N)] for i in range(N)]
        self.B = (
            [[g.input(f"B_{i}_{k}", f"B_{{{i},{k}}}") for k in range(M)] for i in range(N)]
            if with_B
            else []
        )
        self.e = [
            [g.input(f"e_{t}_{i}", f"B_{{{i},o_{{{t}}}}}") for i in range(N)] for t in range(T)
        ]
        self.lines: list[tuple[sp.Symbol, tuple[str, int], list[sp.Expr]]] = []

    def trans(self, j: int, i: int, transposed: bool) -> sp.Symbol:
        """P(s_{t+1} = i | s_t = j) as the model reads it; the misconception reads A^T."""
        return self.A[i][j] if transposed else self.A[j][i]

    def define(
        self,
        name: str,
        expr: sp.Expr,
        latex: str,
        section: tuple[str, int] | None = None,
        shown: Sequence[sp.Expr] = (),
    ) -> sp.Symbol:
        """A node; with a section, also a solution line showing `shown` (or the definition)."""
        s = self.g.define(name, expr, latex)
        if section is not None:
            self.lines.append((s, section, list(shown) or [expr]))
        return s


def _finish(
    b: _Builder, kind: str, N: int, M: int, T: int, perturbation: str, outputs: list[sp.Symbol]
) -> HmmModel:
    g = b.g
    fn = compile_straight_line(g.inputs, g.nodes, outputs, modules=MODULES)
    lines: list[Line] = []
    deps: dict[str, frozenset[str]] = {}
    if not perturbation:
        symbols = list(g.inputs) + [s for s, _ in g.nodes]
        names = g.latex_names
        for sym, section, shown in b.lines:
            general = sp.latex(shown[0], symbol_names=names, order="none")
            substs = tuple(Substitution(e, symbols) for e in shown)
            lines.append(Line(sym.name, names[sym], general, None, substs, section))
        deps = dependencies(g.nodes)
    return HmmModel(
        kind,
        N,
        M,
        T,
        perturbation,
        tuple(s.name for s in g.inputs),
        tuple(s.name for s in outputs),
        fn,
        tuple(lines),
        deps,
    )


@cache
def forward_model(N: int, M: int, T: int, perturbation: str = "") -> HmmModel:
    """alpha_0(i) = pi_i e_0(i), alpha_t(i) = e_t(i) sum_j alpha_{t-1}(j) A_ji, the likelihood,
    the filtered, predicted and next-symbol distributions. A perturbation (a misconception code)
    replaces the sum by a max or A by its transpose; the unperturbed model also keeps the
    joints P(o_{0:T-1}, s_T) and P(o_{0:T-1}, o_T) that an unnormalizing student reports."""
    b = _Builder(N, M, T, with_B=True)
    use_max = perturbation == MAX_INSTEAD_OF_SUM
    tr = perturbation == TRANSPOSED_TRANSITION
    alpha = [
        [
            b.define(f"alpha_0_{i}", times(b.pi[i], b.e[0][i]), rf"\alpha_{{0}}({i})", ("alpha", 0))
            for i in range(N)
        ]
    ]
    for t in range(1, T):
        row = []
        for i in range(N):
            terms = [times(alpha[-1][j], b.trans(j, i, tr)) for j in range(N)]
            combined = OrderedMax(*terms) if use_max else plus(*terms)
            row.append(
                b.define(
                    f"alpha_{t}_{i}",
                    times(b.e[t][i], combined),
                    rf"\alpha_{{{t}}}({i})",
                    ("alpha", t),
                )
            )
        alpha.append(row)
    # P(o_{0:t}) normalizes alpha_t (at the last step it is the likelihood itself); each
    # normalizer is defined next to its filter so that the solution shows them together.
    filt = []
    for t in range(T):
        last = t == T - 1
        norm = b.define(
            "likelihood" if last else f"c_{t}",
            plus(*alpha[t]),
            f"P({span(t)})",
            ("likelihood" if last else "filter", t),
        )
        filt.append(
            [
                b.define(
                    f"filter_{t}_{i}",
                    alpha[t][i] / norm,
                    rf"\hat{{\alpha}}_{{{t}}}({i})",
                    ("filter", t),
                )
                for i in range(N)
            ]
        )
    predict = [
        b.define(
            f"predict_{i}",
            plus(*(times(filt[-1][j], b.trans(j, i, tr)) for j in range(N))),
            rf"P(s_{{{T}}}={i} \mid {span(T - 1)})",
            ("predict", T),
        )
        for i in range(N)
    ]
    for k in range(M):
        b.define(
            f"next_{k}",
            plus(*(times(predict[i], b.B[i][k]) for i in range(N))),
            rf"P(o_{{{T}}}={k} \mid {span(T - 1)})",
            ("next", T),
        )
    outputs = [s for s, _ in b.g.nodes]
    if use_max:  # max at the end too: the Viterbi path probability offered as the likelihood
        outputs.append(b.define("likelihood_max", OrderedMax(*alpha[-1]), "L_{max}"))
    elif not perturbation:
        joint = [
            b.define(
                f"joint_{i}",
                plus(*(times(alpha[-1][j], b.A[j][i]) for j in range(N))),
                f"P({span(T - 1)}, s_{{{T}}}={i})",
            )
            for i in range(N)
        ]
        outputs += joint
        outputs += [
            b.define(
                f"joint_next_{k}",
                plus(*(times(joint[i], b.B[i][k]) for i in range(N))),
                f"P({span(T - 1)}, o_{{{T}}}={k})",
            )
            for k in range(M)
        ]
    return _finish(b, "forward", N, M, T, perturbation, outputs)


@cache
def viterbi_model(N: int, T: int, perturbation: str = "") -> HmmModel:
    """delta_0(i) = pi_i e_0(i), delta_t(i) = e_t(i) max_j delta_{t-1}(j) A_ji, with the
    candidates m_t(j, i) = delta_{t-1}(j) A_ji as nodes so that backpointers are their argmax."""
    b = _Builder(N, 0, T, with_B=False)
    tr = perturbation == TRANSPOSED_TRANSITION
    delta = [
        [
            b.define(f"delta_0_{i}", times(b.pi[i], b.e[0][i]), rf"\delta_{{0}}({i})", ("delta", 0))
            for i in range(N)
        ]
    ]
    for t in range(1, T):
        row = []
        for i in range(N):
            cands = [times(delta[-1][j], b.trans(j, i, tr)) for j in range(N)]
            m = [b.define(f"m_{t}_{j}_{i}", c, rf"m_{{{t}}}({j},{i})") for j, c in enumerate(cands)]
            row.append(
                b.define(
                    f"delta_{t}_{i}",
                    times(b.e[t][i], OrderedMax(*m)),
                    rf"\delta_{{{t}}}({i})",
                    ("delta", t),
                    # written out with the candidates' definitions, then with their values
                    shown=[times(b.e[t][i], OrderedMax(*cands)), times(b.e[t][i], OrderedMax(*m))],
                )
            )
        delta.append(row)
    b.define("path_prob", OrderedMax(*delta[-1]), r"P(s^{*}, o)", ("path_prob", T - 1))
    outputs = [s for s, _ in b.g.nodes]
    return _finish(b, "viterbi", N, 0, T, perturbation, outputs)


def shape(params: Mapping[str, Any]) -> tuple[int, int, int]:
    return len(params["pi"]), len(params["B"][0]), len(params["obs"])


def decode(values: Mapping[str, float], N: int, T: int) -> tuple[list[int], list[list[int]]]:
    """The best path and the backpointers psi_t(i) = argmax_j m_t(j, i) (first index on ties)."""
    psi: list[list[int]] = [[0] * N]
    for t in range(1, T):
        row = []
        for i in range(N):
            cands = [values[f"m_{t}_{j}_{i}"] for j in range(N)]
            row.append(cands.index(max(cands)))
        psi.append(row)
    last = [values[f"delta_{T - 1}_{i}"] for i in range(N)]
    path = [last.index(max(last))]
    for t in range(T - 1, 0, -1):
        path.append(psi[t][path[-1]])
    path.reverse()
    return path, psi


def forward_answers(values: Mapping[str, float], N: int, M: int, T: int) -> dict[str, Any]:
    """Answer ids from the forward model's values (of the model or of a perturbation of it)."""
    out: dict[str, Any] = {}
    for t in range(T):
        out[f"alpha_{t}"] = [values[f"alpha_{t}_{i}"] for i in range(N)]
    out["likelihood"] = values["likelihood"]
    for t in range(T):
        out[f"filter_{t}"] = [values[f"filter_{t}_{i}"] for i in range(N)]
    out["predict"] = [values[f"predict_{i}"] for i in range(N)]
    out["next_obs"] = [values[f"next_{k}"] for k in range(M)]
    return out


# -- params -------------------------------------------------------------------------------------


def _probabilities(field: str, value: Any, length: int | None, what: str) -> list[float]:
    if not isinstance(value, list | tuple):
        raise ParamError(field, value, f"must be a list of probabilities ({what})")
    if length is not None and len(value) != length:
        raise ParamError(field, value, f"must have {length} entries ({what}); it has {len(value)}")
    out = []
    for i, v in enumerate(value):
        x = as_number(f"{field}[{i}]", v)
        if not 0.0 <= x <= 1.0:
            raise ParamError(f"{field}[{i}]", v, "must be a probability, from 0 to 1")
        out.append(x)
    return out


def _sums_to_one(field: str, value: Any, probs: list[float], where: str) -> None:
    s = sum(probs)
    if abs(s - 1.0) > SUM_SLACK:
        raise ParamError(field, value, f"{where}sums to {s:.6g}, not 1")


def _count(field: str, value: Any, lo: int, hi: int, what: str) -> int:
    if not isinstance(value, list | tuple):
        raise ParamError(field, value, f"must be a list ({what})")
    if not lo <= len(value) <= hi:
        raise ParamError(field, value, f"must have from {lo} to {hi} {what}; it has {len(value)}")
    return len(value)


def _stochastic_matrix(
    field: str, value: Any, n_rows: int, n_cols: int | None, cols: str, hi: int
) -> list[list[float]]:
    """Rows of probabilities, one per state, each summing to 1; `n_cols` None: from row 0."""
    if not isinstance(value, list | tuple) or len(value) != n_rows:
        got = len(value) if isinstance(value, list | tuple) else type(value).__name__
        raise ParamError(field, value, f"must have {n_rows} rows, one per state (got {got})")
    if n_cols is None:
        n_cols = _count(f"{field}[0]", value[0], 2, hi, cols)
    rows = []
    for i, row in enumerate(value):
        probs = _probabilities(f"{field}[{i}]", row, n_cols, f"one per {cols[:-1]}")
        _sums_to_one(field, row, probs, f"row {i} ")
        rows.append(probs)
    return rows


def _observations(value: Any, M: int | None) -> list[int]:
    _count("obs", value, 1, MAX_T, "observations")
    hi = (M or MAX_SYMBOLS) - 1
    out = []
    for t, o in enumerate(value):
        if isinstance(o, float) and o.is_integer():
            o = int(o)
        if isinstance(o, bool) or not isinstance(o, int):
            raise ParamError(f"obs[{t}]", o, "must be an integer symbol")
        if not 0 <= o <= hi:
            why = f"B has {M} columns" if M else f"at most {MAX_SYMBOLS} symbols"
            raise ParamError("obs", value, f"obs[{t}] = {o} is not a symbol 0 to {hi} ({why})")
        out.append(o)
    return out


def validate(params: Mapping[str, Any], partial: bool) -> dict[str, Any]:
    """Shapes, probabilities in [0, 1], rows and pi summing to 1, obs in range, T <= 12; with
    `partial` only the given fields (and their agreement with each other) are checked."""
    check_keys(params, ("pi", "A", "B", "obs", "ask"))
    out: dict[str, Any] = {}
    N: int | None = None
    if "pi" in params or not partial:
        if params.get("pi") is None:
            raise ParamError("pi", None, "is required")
        N = _count("pi", params["pi"], 2, MAX_STATES, "entries (one per state)")
        out["pi"] = _probabilities("pi", params["pi"], N, "one per state")
        _sums_to_one("pi", params["pi"], out["pi"], "")
    if "A" in params or not partial:
        A = params.get("A")
        if A is None:
            raise ParamError("A", None, "is required")
        if N is None:
            N = _count("A", A, 2, MAX_STATES, "rows (one per state)")
        out["A"] = _stochastic_matrix("A", A, N, N, "states", MAX_STATES)
    M: int | None = None
    if "B" in params or not partial:
        B = params.get("B")
        if B is None:
            raise ParamError("B", None, "is required")
        if N is None:
            N = _count("B", B, 2, MAX_STATES, "rows (one per state)")
        out["B"] = _stochastic_matrix("B", B, N, None, "symbols", MAX_SYMBOLS)
        M = len(out["B"][0])
    if "obs" in params or not partial:
        if params.get("obs") is None:
            raise ParamError("obs", None, "is required")
        out["obs"] = _observations(params["obs"], M)
    if not partial:
        _check_possible(out)
    if "ask" in params:
        out["ask"] = params["ask"]
    elif not partial:
        out["ask"] = None
    return out


def _check_possible(p: Mapping[str, Any]) -> None:
    t = impossible_step(p)
    if t is not None:
        raise ParamError(
            "obs",
            p["obs"],
            f"has probability 0 under the model: o_{t} = {p['obs'][t]} cannot occur",
        )


def impossible_step(p: Mapping[str, Any]) -> int | None:
    """The first t with P(o_{0:t}) = 0, or None: the filtered distributions divide by it."""
    pi, A, B, obs = p["pi"], p["A"], p["B"], p["obs"]
    N = len(pi)
    alpha = [pi[i] * B[i][obs[0]] for i in range(N)]
    for t in range(len(obs)):
        if t:
            alpha = [B[i][obs[t]] * sum(alpha[j] * A[j][i] for j in range(N)) for i in range(N)]
        if sum(alpha) <= 0.0:
            return t
    return None


# -- sampling -------------------------------------------------------------------------------------

# Entries are multiples of 0.05 (at least 0.05), as a person sets them; a row is a composition of
# 20 twentieths, so it sums to exactly 1 in hundredths.
UNITS = 20
# Rows closer than this (largest entry difference) make states a student cannot tell apart.
MIN_ROW_GAP = 0.1
# Probabilities of the whole sequence below this per step (P(o_{0:T-1}) < 0.12^T, about 2e-4
# at T = 4) make numbers a person cannot compute by hand without slips; per step, so that a
# fixed long obs still has variants.
STEP_FLOOR = 0.12


def tiny(prob: float, T: int) -> bool:
    return prob < STEP_FLOOR**T


def stochastic_row(draw: Draw, k: int) -> list[float]:
    cuts = sorted(draw.sample(range(1, UNITS), k - 1))
    bounds = [0, *cuts, UNITS]
    return [(bounds[i + 1] - bounds[i]) * (100 // UNITS) / 100 for i in range(k)]


def distinct_rows(rows: Sequence[Sequence[float]]) -> bool:
    return all(
        max(abs(x - y) for x, y in zip(rows[a], rows[b], strict=True)) >= MIN_ROW_GAP - 1e-9
        for a in range(len(rows))
        for b in range(a)
    )


MODEL_FIELDS = ("pi", "A", "B", "obs")


def draw_model(
    draw: Draw, fixed: Mapping[str, Any], t_lo: int = 2, t_hi: int = 4
) -> dict[str, Any] | None:
    """pi, A, B, obs honouring the fixed ones; None when a drawn matrix is degenerate."""
    if "pi" in fixed:
        N = len(fixed["pi"])
    elif "A" in fixed:
        N = len(fixed["A"])
    elif "B" in fixed:
        N = len(fixed["B"])
    else:
        N = draw.integer(2, 3)
    if "B" in fixed:
        M = len(fixed["B"][0])
    else:
        m_lo = max(2, max(fixed["obs"]) + 1) if "obs" in fixed else 2
        M = draw.integer(m_lo, max(3, m_lo))
    T = len(fixed["obs"]) if "obs" in fixed else draw.integer(t_lo, t_hi)
    p = {
        "pi": fixed["pi"] if "pi" in fixed else stochastic_row(draw, N),
        "A": fixed["A"] if "A" in fixed else [stochastic_row(draw, N) for _ in range(N)],
        "B": fixed["B"] if "B" in fixed else [stochastic_row(draw, M) for _ in range(N)],
        "obs": fixed["obs"] if "obs" in fixed else draw.integers(0, M - 1, T),
    }
    if ("A" not in fixed and not distinct_rows(p["A"])) or (
        "B" not in fixed and not distinct_rows(p["B"])
    ):
        return None
    return p


def two_best_paths(p: Mapping[str, Any]) -> tuple[float, float]:
    """The joint probabilities of the best and the second-best state paths: Viterbi keeping the
    two best partial paths into each state (the runner-up's prefix is among them), so that a
    long fixed obs costs T N^2 steps, not N^T."""
    pi, A, B, obs = p["pi"], p["A"], p["B"], p["obs"]
    N = len(pi)
    top = [[pi[i] * B[i][obs[0]]] for i in range(N)]
    for o in obs[1:]:
        nxt = []
        for i in range(N):
            cands = sorted((v * A[j][i] for j in range(N) for v in top[j]), reverse=True)
            nxt.append([v * B[i][o] for v in cands[:2]])
        top = nxt
    ranked = sorted((v for vs in top for v in vs), reverse=True)
    return ranked[0], ranked[1]


def all_fixed(fixed: Mapping[str, Any]) -> bool:
    return all(k in fixed for k in MODEL_FIELDS)


def pick_ask(draw: Draw, fixed: Mapping[str, Any], candidates: list[str], k: int) -> list[str]:
    if "ask" in fixed:
        return fixed_ask(fixed)
    return draw.sample(candidates, k)


# -- rendering -------------------------------------------------------------------------------------


def matrix_latex(rows: Sequence[Sequence[float]]) -> str:
    body = r" \\ ".join(" & ".join(fmt_param(v) for v in row) for row in rows)
    return rf"\begin{{pmatrix}} {body} \end{{pmatrix}}"


def vector_latex(values: Sequence[float], f: Callable[[float], str] = fmt) -> str:
    return r"\left(" + ", ".join(f(v) for v in values) + r"\right)"


def _listing(n: int) -> str:
    return ", ".join(f"${k}$" for k in range(n - 1)) + f" and ${n - 1}$"


def describe_model(params: Mapping[str, Any]) -> str:
    N, M, T = shape(params)
    obs = ", ".join(str(o) for o in params["obs"])
    return (
        f"A hidden Markov model has {N} hidden states {_listing(N)} and {M} observable "
        f"symbols {_listing(M)}. It starts in state $i$ with probability $\\pi_i$, moves "
        "from state $i$ to state $j$ with probability $A_{i,j} = P(s_{t+1} = j \\mid s_t = i)$, "
        "and in state $i$ emits symbol $k$ with probability "
        "$B_{i,k} = P(o_t = k \\mid s_t = i)$ (rows: the current state; columns of $B$: the "
        "symbols):\n\n"
        f"$$\\pi = {vector_latex(params['pi'], fmt_param)}, \\qquad A = {matrix_latex(params['A'])},"
        f" \\qquad B = {matrix_latex(params['B'])}.$$\n\n"
        f"The observed sequence is $o = ({index_list('o', T - 1)}) = ({obs})$."
    )


def fill_line(line: Line, values: Mapping[str, float]) -> str:
    parts = [line.lhs, line.general]
    for sub in line.substs:
        filled = sub.fill(values)
        if filled != parts[-1]:
            parts.append(filled)
    parts.append(fmt(values[line.name]))
    return " = ".join(parts)


def vector_answer(
    value: Sequence[float],
    tol: Tolerance,
    wrong: Iterable[tuple[str, Sequence[float] | None, str]],
) -> VectorAnswer:
    """A vector spec with the misconceptions whose values differ from the correct answer beyond
    the tolerance somewhere (a perturbation that changes nothing is no mistake)."""
    kept = []
    seen: list[Sequence[float]] = []
    for code, v, message in wrong:
        if v is None or len(v) != len(value):
            continue
        if all(tol.accepts(s, r) for s, r in zip(v, value, strict=True)):
            continue
        if any(all(tol.accepts(s, r) for s, r in zip(v, w, strict=True)) for w in seen):
            continue  # two mistakes that give the same numbers: the first names it
        seen.append(v)
        kept.append(Misconception(code, tuple(v), message))
    return VectorAnswer(tuple(value), tol, (), tuple(kept))


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table set off by blank lines (the alpha and delta tables of a solution)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n" + "\n".join(lines) + "\n"


def init_heading(var: str, o0: int) -> str:
    """The heading of step 0 of the forward (`alpha`) or Viterbi (`delta`) recursion."""
    return (
        f"**Initialization**, $t = 0$ ($o_0 = {o0}$): " + rf"$\{var}_0(i) = \pi_i \, B_{{i,o_0}}$."
    )


def step_heading(t: int, o_t: int, recursion: str) -> str:
    """The heading of step t >= 1: the observation, then the step's general recursion."""
    return f"**Step $t = {t}$** ($o_{{{t}}} = {o_t}$): {recursion}"


# -- the family's template base ---------------------------------------------------------------------


class HmmTemplate(Template):
    """What hmm-forward and hmm-viterbi share: params, validation, the model draw."""

    family: ClassVar[str] = "hmm"

    def validate(self, params: Mapping[str, Any], partial: bool = False) -> dict[str, Any]:
        out = validate(params, partial)
        if not partial:
            out["ask"] = check_ask(out, self.answer_ids(out))
        return out
