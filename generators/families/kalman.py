"""The Kalman filter of a linear dynamical system: one symbolic model per shape (state, observation
and input dimensions, T), derived once, lambdified, cached; answers, misconceptions and worked
solutions all come from it. Params are checked in `kalman_params`, the worked solution's LaTeX is
printed by `kalman_latex` and put together by `kalman_render`.

The model, for t = 0..T-1:

    x_0 ~ N(mu0, V0)                              (the prior, before y_0)
    x_t = A x_{t-1} + B u_t + w_t,  w_t ~ N(0, Q)  (t >= 1; B u_t only with a driving input)
    y_t = C x_t + v_t,              v_t ~ N(0, R)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import sympy as sp

from generators.core.mistakes import Mistake, by_code
from generators.core.symbolic import (
    compile_straight_line,
    plus,
    times,
)
from generators.core.worked import Line, closure
from generators.families.kalman_latex import SlotPrinter, slot_substitution
from generators.families.kalman_params import Shape, args_of, form

SKIPPED_PREDICT = "skipped-predict"
FORGOT_PROCESS_NOISE = "forgot-process-noise"
# The misconceptions, each a perturbation of the predict step. Where two give the same value
# (A = I makes skipping the predict step look like forgetting Q) the narrower one, first here,
# is named.
MISCONCEPTIONS = by_code(
    (
        Mistake(
            FORGOT_PROCESS_NOISE,
            "Q left out of the predicted variance: A V A^T instead of A V A^T + Q",
            {
                "": (
                    "It looks as if the process noise was left out: the predicted variance is "
                    "V_{t|t-1} = A V_{t-1|t-1} A^T + Q, not A V_{t-1|t-1} A^T."
                )
            },
        ),
        Mistake(
            SKIPPED_PREDICT,
            "the update applied to the previous posterior, without the predict step",
            {
                "": (
                    "It looks as if the update was applied to the previous posterior without the predict "
                    "step: before using y_t, push the estimate through the dynamics, "
                    "mu_{t|t-1} = A mu_{t-1|t-1} (+ B u_t) and V_{t|t-1} = A V_{t-1|t-1} A^T + Q."
                )
            },
        ),
    )
)
QUANTITIES = ("pred_mean", "pred_var", "gain", "mean", "var")


# -- the symbolic model ---------------------------------------------------------------------------

Generic = sp.Symbol | sp.MatrixSymbol


class Builder:
    """Generic symbols (a Symbol for a scalar model, else a MatrixSymbol) with their explicit
    entries, and the straight-line assignments that define the entries of derived quantities."""

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self.explicit: dict[Any, Any] = {}
        self.names: dict[Any, str] = {}
        self.args: list[sp.Symbol] = []
        self.assignments: list[tuple[sp.Symbol, sp.Expr]] = []
        self.dims: dict[str, tuple[int, int]] = {}
        self.par: dict[str, Generic] = {}
        self.y: list[Generic] = []
        self.u: list[Generic | None] = []

    def symbol(self, name: str, rows: int, cols: int, latex: str, arg: bool = False) -> Generic:
        g: Generic
        if self.shape.scalar and rows == cols == 1:
            g = sp.Symbol(name, real=True)
            self.explicit[g] = g
            entries = [g]
        else:
            g = sp.MatrixSymbol(name, rows, cols)
            mat = sp.ImmutableMatrix(
                rows, cols, lambda i, j: sp.Symbol(f"{name}__{i}{j}", real=True)
            )
            self.explicit[g] = mat
            entries = list(mat)
        self.names[g] = latex
        self.dims[name] = (rows, cols)
        if arg:
            self.args += entries
        return g

    def define(self, name: str, rows: int, cols: int, latex: str, expr: Any) -> Generic:
        g = self.symbol(name, rows, cols, latex)
        value = self.evaluate(expr)
        if isinstance(g, sp.Symbol):
            self.assignments.append((g, value))
        else:
            for s, e in zip(self.explicit[g], value, strict=True):
                self.assignments.append((s, e))
        return g

    def evaluate(self, e: Any) -> Any:
        """The explicit value of a generic expression, entry by entry."""
        if e in self.explicit:
            return self.explicit[e]
        if isinstance(e, sp.Identity):
            return sp.ImmutableMatrix(sp.eye(e.rows))
        if isinstance(e, sp.Transpose):
            return self.evaluate(e.arg).T
        if isinstance(e, sp.Inverse):
            return _inverse(self.evaluate(e.arg))
        if isinstance(e, sp.MatAdd):
            terms = [self.evaluate(a) for a in e.args]
            total = terms[0]
            for t in terms[1:]:
                total = total + t
            return total
        if isinstance(e, sp.MatMul):
            out: Any = sp.Integer(1)
            for a in e.args:
                out = out * self.evaluate(a)
            return out
        return e  # a scalar expression in scalar symbols, already explicit


def _inverse(M: sp.ImmutableMatrix) -> sp.ImmutableMatrix:
    if M.shape == (1, 1):
        return sp.ImmutableMatrix([[1 / M[0, 0]]])
    a, b, c, d = M
    det = a * d - b * c
    return sp.ImmutableMatrix([[d / det, -b / det], [-c / det, a / det]])


def _neg(x: Any) -> Any:
    return times(sp.Integer(-1), *(x.args if isinstance(x, sp.MatMul | sp.Mul) else (x,)))


def _lat_t(t: int | str, off: int = 0) -> str:
    """The LaTeX of time index t + off, for a number or the letter t."""
    if isinstance(t, int):
        return str(t + off)
    return t if off == 0 else f"{t}{off:+d}"


@dataclass
class _Step:
    """The generic symbols of one step."""

    pred_mean: Generic
    pred_var: Generic
    S: Generic
    Sinv: Generic | None
    gain: Generic
    mean: Generic
    var: Generic


def _step(
    b: Builder,
    t: int,
    prefix: str,
    prev: tuple[Generic, Generic] | None,
    variant: str = "",
    lines: list[tuple[str, int, Generic, Any]] | None = None,
    tname: int | str | None = None,
) -> _Step:
    """Define step t's predict and update under `variant` ('' is the filter; otherwise a
    misconception's perturbation of the predict step). `prev` is the previous posterior (None at
    t = 0, where the prediction is the prior). Lines of the worked solution go to `lines`."""
    sh = b.shape
    n, m = sh.n, sh.m
    A, C, Q, R = b.par["A"], b.par["C"], b.par["Q"], b.par["R"]
    tt = t if tname is None else tname
    now, before = _lat_t(tt), _lat_t(tt, -1)

    def define(kind: str, rows: int, cols: int, latex: str, expr: Any) -> Generic:
        g = b.define(f"{prefix}{kind}_{t}", rows, cols, latex, expr)
        if lines is not None:
            lines.append((kind, t, g, expr))
        return g

    if prev is None:
        pm, pv = b.par["mu0"], b.par["V0"]
    else:
        mp, vp = prev
        if variant == SKIPPED_PREDICT:
            pm_e, pv_e = mp, vp
        else:
            pm_e = times(A, mp)
            if sh.k:
                pm_e = plus(pm_e, times(b.par["B"], b.u[t]))
            # A V A^T; for a scalar state the A^2 V that people write.
            AVA = times(sp.Pow(A, 2, evaluate=False), vp) if sh.scalar else times(A, vp, A.T)
            pv_e = AVA if variant == FORGOT_PROCESS_NOISE else plus(AVA, Q)
        pm = define("pred_mean", n, 1, rf"\mu_{{{now}\mid {before}}}", pm_e)
        pv = define("pred_var", n, n, rf"V_{{{now}\mid {before}}}", pv_e)
    if sh.scalar:
        S_e = plus(times(sp.Pow(C, 2, evaluate=False), pv), R)
    else:
        S_e = plus(times(C, pv, C.T), R)
    S = define("S", m, m, rf"S_{{{now}}}", S_e)
    Sinv = None
    if sh.scalar:
        K_e = times(pv, C, sp.Pow(S, -1, evaluate=False))
    elif m == 1:
        K_e = times(pv, C.T, sp.Inverse(S))
    else:
        Sinv = define("Sinv", m, m, rf"S_{{{now}}}^{{-1}}", sp.Inverse(S))
        K_e = times(pv, C.T, Sinv)
    K = define("gain", n, m, rf"K_{{{now}}}", K_e)
    innovation = plus(b.y[t], _neg(times(C, pm)))
    mean = define("mean", n, 1, rf"\mu_{{{now}\mid {now}}}", plus(pm, times(K, innovation)))
    eye = sp.Integer(1) if sh.scalar else sp.Identity(n)
    var = define("var", n, n, rf"V_{{{now}\mid {now}}}", times(plus(eye, _neg(times(K, C))), pv))
    return _Step(pm, pv, S, Sinv, K, mean, var)


# -- the compiled model ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """Where an answer's entries are in the model's output, and its shape."""

    id: str
    rows: int
    cols: int
    index: tuple[int, ...]


@dataclass(frozen=True, eq=False)  # hashed by identity: one model per shape, cached
class Model:
    shape: Shape
    arg_names: tuple[str, ...]
    fn: Callable[..., tuple[float, ...]]  # args -> the filter's values, then the perturbed runs'
    value_names: tuple[str, ...]
    n_right: int  # the first n_right values are the filter's own
    answers: tuple[Answer, ...]
    # answer id -> misconception code -> where the perturbed values are (the mistake made at
    # every step, then at this step only from the right previous posterior)
    wrong: Mapping[str, Mapping[str, tuple[tuple[int, ...], ...]]]
    lines: tuple[Line, ...]
    deps: Mapping[str, frozenset[str]]  # each line's transitive dependencies among the lines
    method: tuple[tuple[str, str], ...]  # the generic predict and update equations, (lhs, rhs)

    def evaluate(self, params: Mapping[str, Any]) -> tuple[float, ...]:
        """Every value, then the arguments (indices past the values point at the prior)."""
        return _evaluate(self, args_of(params, self.shape))

    def solve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        v = self.evaluate(params)
        return {a.id: form(a.rows, a.cols, [v[i] for i in a.index]) for a in self.answers}

    def misconceptions(
        self, params: Mapping[str, Any], parts: Sequence[str]
    ) -> dict[str, list[tuple[str, Any]]]:
        """part id -> [(code, perturbed value)] for the given parts: every perturbation,
        duplicates included (none at t = 0, where there is no predict step to get wrong)."""
        v = self.evaluate(params)
        out: dict[str, list[tuple[str, Any]]] = {}
        for pid in parts:
            codes = self.wrong.get(pid)
            if codes is None:
                continue
            a = self.answer[pid]
            out[pid] = [
                (code, form(a.rows, a.cols, [v[i] for i in idx]))
                for code, runs in codes.items()
                for idx in runs
            ]
        return out

    @property
    def answer(self) -> Mapping[str, Answer]:
        return _answer_map(self)

    def values(self, params: Mapping[str, Any]) -> dict[str, float]:
        """The filter's values and the arguments by entry name (to fill the worked solution)."""
        args = args_of(params, self.shape)
        out = dict(zip(self.value_names[: self.n_right], _evaluate(self, args), strict=False))
        out.update(zip(self.arg_names, args, strict=True))
        return out


@cache
def _answer_map(model: Model) -> Mapping[str, Answer]:
    return {a.id: a for a in model.answers}


@lru_cache(maxsize=4096)
def _evaluate(model: Model, args: tuple[float, ...]) -> tuple[float, ...]:
    # Sampler, solve, specs and render of one variant evaluate the same numbers once.
    return (*model.fn(*args), *args)


def _entry_names(b: Builder, g: Generic) -> list[str]:
    e = b.explicit[g]
    return [e.name] if isinstance(e, sp.Symbol) else [s.name for s in e]


@cache
def model(shape: Shape) -> Model:
    """Derive the filter of `shape` symbolically, with both misconceptions' perturbed runs."""
    n, m, k, T = shape.n, shape.m, shape.k, shape.T
    b = Builder(shape)
    par = b.par
    par["A"] = b.symbol("A", n, n, "A", arg=True)
    par["C"] = b.symbol("C", m, n, "C", arg=True)
    par["Q"] = b.symbol("Q", n, n, "Q", arg=True)
    par["R"] = b.symbol("R", m, m, "R", arg=True)
    par["mu0"] = b.symbol("pred_mean_0", n, 1, r"\mu_{0\mid -1}", arg=True)
    par["V0"] = b.symbol("pred_var_0", n, n, r"V_{0\mid -1}", arg=True)
    if k:
        par["B"] = b.symbol("B", n, k, "B", arg=True)
    b.y = [b.symbol(f"y_{t}", m, 1, f"y_{{{t}}}", arg=True) for t in range(T)]
    if k:
        b.u = [None] + [b.symbol(f"u_{t}", k, 1, f"u_{{{t}}}", arg=True) for t in range(1, T)]

    raw_lines: list[tuple[str, int, Generic, Any]] = []
    steps: list[_Step] = []
    prev = None
    for t in range(T):
        st = _step(b, t, "", prev, lines=raw_lines)
        steps.append(st)
        prev = (st.mean, st.var)
    n_right = len(b.assignments)

    # Misconceptions: the mistake made at every step (a perturbed filter from t = 1 on), and made
    # at one step only, from the right previous posterior (the same as the first at t = 1).
    runs: dict[str, dict[int, list[_Step]]] = {}
    for code in MISCONCEPTIONS:
        slug = code.replace("-", "_")
        per_t: dict[int, list[_Step]] = {t: [] for t in range(1, T)}
        prev = (steps[0].mean, steps[0].var)
        for t in range(1, T):
            st = _step(b, t, f"{slug}__all__", prev, code)
            per_t[t].append(st)
            prev = (st.mean, st.var)
        for t in range(2, T):
            per_t[t].append(
                _step(b, t, f"{slug}__one__", (steps[t - 1].mean, steps[t - 1].var), code)
            )
        runs[code] = per_t

    value_syms = [s for s, _ in b.assignments]
    fn = compile_straight_line(b.args, b.assignments, value_syms)
    arg_names = tuple(s.name for s in b.args)
    value_names = tuple(s.name for s in value_syms)
    where = {name: i for i, name in enumerate(value_names)}
    # pred_mean_0 and pred_var_0 are the prior: arguments, which follow the values.
    where.update({name: len(value_names) + i for i, name in enumerate(arg_names)})

    def index(g: Generic) -> tuple[int, ...]:
        return tuple(where[nm] for nm in _entry_names(b, g))

    answers: list[Answer] = []
    wrong: dict[str, dict[str, tuple[tuple[int, ...], ...]]] = {}
    for t, st in enumerate(steps):
        for q in QUANTITIES:
            g = getattr(st, q)
            r, c = b.dims[g.name]
            answers.append(Answer(f"{q}_{t}", r, c, index(g)))
            if t >= 1:
                wrong[f"{q}_{t}"] = {
                    code: tuple(index(getattr(s, q)) for s in runs[code][t])
                    for code in MISCONCEPTIONS
                }

    return Model(
        shape,
        arg_names,
        fn,
        value_names,
        n_right,
        tuple(answers),
        wrong,
        *_lines(b, raw_lines, frozenset(arg_names)),
        _method(shape),
    )


def _lines(
    b: Builder, raw: list[tuple[str, int, Generic, Any]], given: frozenset[str]
) -> tuple[tuple[Line, ...], dict[str, frozenset[str]]]:
    general = SlotPrinter(b, None, b.names)
    out = []
    direct = []
    defined = {g.name for _, _, g, _ in raw}
    for _kind, t, g, expr in raw:
        slots: list[str] = []
        text = SlotPrinter(b, slots, b.names).doprint(expr)
        direct.append((g.name, _free_names(expr) & defined))
        out.append(
            Line(
                g.name,
                b.names[g],
                general.doprint(expr),
                None,
                (slot_substitution(text, slots, given),),
                t,
                b.dims[g.name],
            )
        )
    return tuple(out), closure(direct)


def _free_names(expr: Any) -> set[str]:
    names = {s.name for s in expr.atoms(sp.Symbol)}
    names |= {s.name for s in expr.atoms(sp.MatrixSymbol)}
    return names


@cache
def _method(shape: Shape) -> tuple[tuple[str, str], ...]:
    """The predict and update equations for a general step t, printed from the same formulas."""
    b = Builder(Shape(shape.n, shape.m, shape.k, 2))
    b.par = {
        "A": b.symbol("A", shape.n, shape.n, "A"),
        "C": b.symbol("C", shape.m, shape.n, "C"),
        "Q": b.symbol("Q", shape.n, shape.n, "Q"),
        "R": b.symbol("R", shape.m, shape.m, "R"),
        "mu0": b.symbol("mu0", shape.n, 1, r"\mu_{0\mid -1}"),
        "V0": b.symbol("V0", shape.n, shape.n, r"V_{0\mid -1}"),
    }
    if shape.k:
        b.par["B"] = b.symbol("B", shape.n, shape.k, "B")
    b.y = [b.symbol("y_0", shape.m, 1, "y_{0}"), b.symbol("y_t", shape.m, 1, "y_{t}")]
    if shape.k:
        b.u = [None, b.symbol("u_t", shape.k, 1, "u_{t}")]
    mp = b.symbol("mp", shape.n, 1, r"\mu_{t-1\mid t-1}")
    vp = b.symbol("vp", shape.n, shape.n, r"V_{t-1\mid t-1}")
    raw: list[tuple[str, int, Generic, Any]] = []
    _step(b, 1, "", (mp, vp), lines=raw, tname="t")
    general = SlotPrinter(b, None, b.names)
    # S_t^{-1} is no formula of its own here; its line in a solution writes the inverse out.
    return tuple((b.names[g], general.doprint(expr)) for kind, _, g, expr in raw if kind != "Sinv")
