"""The Kalman filter of a linear dynamical system: one symbolic model per shape (state, observation
and input dimensions, T), derived once, lambdified, cached; answers, misconceptions and worked
solutions all come from it.

The model, for t = 0..T-1:

    x_0 ~ N(mu0, V0)                              (the prior, before y_0)
    x_t = A x_{t-1} + B u_t + w_t,  w_t ~ N(0, Q)  (t >= 1; B u_t only with a driving input)
    y_t = C x_t + v_t,              v_t ~ N(0, R)

Shapes and their JSON forms (the same rule for params and answers): a 1x1 quantity is a number,
a column or row vector is a flat list, anything else is a list of rows. So a scalar state gives
numbers everywhere; a 2-d state gives lists for means (and for the gain when y_t is a scalar:
K_t = V_{t|t-1} C^T / S_t is a column), lists of rows for variances (and for the gain when y_t
is 2-d). Observations are scalar or, with a 2-d state only, 2-d. The driving input u_t is a
scalar (B a column) or, with a 2-d state, a 2-vector (B 2x2); `u` lists u_1..u_{T-1}, T-1
entries: u_0 would not act, the prior on x_0 is given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import sympy as sp
from sympy.printing.latex import LatexPrinter

from generators.core.errors import ParamError
from generators.core.params import MAX_T, as_number, check_keys
from generators.core.symbolic import (
    Substitution,
    compile_straight_line,
    fmt,
    fmt_param,
    plus,
    times,
)
from generators.core.worked import Line, closure

SKIPPED_PREDICT = "skipped-predict"
FORGOT_PROCESS_NOISE = "forgot-process-noise"
# The misconceptions, each a perturbation of the predict step. Where two give the same value
# (A = I makes skipping the predict step look like forgetting Q) the narrower one, first here,
# is named.
MISCONCEPTIONS: dict[str, str] = {
    FORGOT_PROCESS_NOISE: (
        "It looks as if the process noise was left out: the predicted variance is "
        "V_{t|t-1} = A V_{t-1|t-1} A^T + Q, not A V_{t-1|t-1} A^T."
    ),
    SKIPPED_PREDICT: (
        "It looks as if the update was applied to the previous posterior without the predict "
        "step: before using y_t, push the estimate through the dynamics, "
        "mu_{t|t-1} = A mu_{t-1|t-1} (+ B u_t) and V_{t|t-1} = A V_{t-1|t-1} A^T + Q."
    ),
}
QUANTITIES = ("pred_mean", "pred_var", "gain", "mean", "var")
MODEL_FIELDS = ("A", "C", "Q", "R", "mu0", "V0")
FIELDS = (*MODEL_FIELDS, "obs", "B", "u")
COVARIANCES = ("Q", "R", "V0")
# A covariance whose eigenvalues differ by more than this factor is numerically singular here.
MAX_CONDITION = 1e9
# Values this close to 0 are float error (every given number has at most six figures).
ZERO = 1e-12


@dataclass(frozen=True, slots=True)
class Shape:
    n: int  # state dimension
    m: int  # observation dimension
    k: int  # input dimension; 0 without a driving input
    T: int

    @property
    def scalar(self) -> bool:
        return self.n == 1 and self.m == 1


def form(rows: int, cols: int, flat: Sequence[float]) -> Any:
    """The JSON form of a rows x cols quantity: number, flat list (a vector) or list of rows."""
    if rows == 1 and cols == 1:
        return flat[0]
    if rows == 1 or cols == 1:
        return list(flat)
    return [list(flat[i * cols : (i + 1) * cols]) for i in range(rows)]


# -- parameters -----------------------------------------------------------------------------------


def _dims_of(value: Any) -> tuple[int, int] | None:
    """(rows, cols) of a raw value as written, a flat list counted as (len, 0); None if malformed."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (1, 1)
    if isinstance(value, list | tuple) and value:
        if all(isinstance(r, list | tuple) for r in value):
            return (len(value), len(value[0]))
        return (len(value), 0)
    return None


def _series_dim(value: Any) -> int | None:
    """The dimension of the first entry of a time series (obs, u), written flat or as rows."""
    if isinstance(value, list | tuple) and value:
        d = _dims_of(value[0])
        if d is not None:
            return d[0]
    return None


# For each dimension, the fields that reveal it, in order, and how.
def _n_from(name: str, d: tuple[int, int]) -> int | None:
    if name in ("mu0", "A", "Q", "V0", "B"):
        return d[0]
    if name == "C":
        return 1 if d == (1, 1) else (d[0] if d[1] == 0 else d[1])
    return None


def _m_from(name: str, d: tuple[int, int]) -> int | None:
    if name == "R":
        return d[0]
    if name == "C":
        return 1 if d[1] == 0 else d[0]
    return None


def infer_dims(params: Mapping[str, Any]) -> dict[str, tuple[int, str]]:
    """State, observation and input dimensions with the field each was read from, as far as the
    given fields tell; a field too malformed to tell is left to its own check."""
    out: dict[str, tuple[int, str]] = {}
    for name in ("mu0", "A", "V0", "Q", "C", "B"):
        d = _dims_of(params.get(name))
        if d is not None and (n := _n_from(name, d)) is not None:
            out["n"] = (n, name)
            break
    m_obs = _series_dim(params.get("obs"))
    if m_obs is not None:
        out["m"] = (m_obs, "obs")
    else:
        for name in ("R", "C"):
            d = _dims_of(params.get(name))
            if d is not None and (m := _m_from(name, d)) is not None:
                out["m"] = (m, name)
                break
    k_u = _series_dim(params.get("u"))
    if k_u is not None:
        out["k"] = (k_u, "u")
    else:
        d = _dims_of(params.get("B"))
        if d is not None:
            out["k"] = (1 if d[1] == 0 else d[1], "B")
    return out


def _describe(rows: int, cols: int) -> str:
    if rows == 1 and cols == 1:
        return "a number"
    if rows == 1 or cols == 1:
        return f"a list of {max(rows, cols)} numbers"
    return f"a {rows}x{cols} matrix (a list of {rows} rows of {cols} numbers)"


def as_matrix(field: str, value: Any, rows: int, cols: int, why: str) -> tuple[Any, list[float]]:
    """Check a rows x cols quantity and return its canonical JSON form and row-major entries.
    Accepted: the canonical form, or the full list of rows ([[x]] for a number)."""
    flat: list[float] | None = None
    if (
        isinstance(value, list | tuple)
        and value
        and all(isinstance(r, list | tuple) for r in value)
    ):
        if len(value) == rows and all(len(r) == cols for r in value):
            flat = [
                as_number(f"{field}[{i}][{j}]", x)
                for i, r in enumerate(value)
                for j, x in enumerate(r)
            ]
    elif isinstance(value, list | tuple):
        if (rows == 1 or cols == 1) and len(value) == rows * cols:
            flat = [as_number(f"{field}[{i}]", x) for i, x in enumerate(value)]
    elif rows == 1 and cols == 1:
        flat = [as_number(field, value)]
    if flat is None:
        raise ParamError(field, value, f"must be {_describe(rows, cols)}{why}")
    flat = [x + 0.0 for x in flat]  # -0.0 -> 0.0: one variant, one JSON text
    return form(rows, cols, flat), flat


def check_covariance(field: str, value: Any, flat: list[float], size: int) -> None:
    """A covariance must be symmetric positive definite, and not numerically singular."""
    if size == 1:
        if flat[0] <= 0:
            raise ParamError(field, value, "must be positive (it is a variance)")
        return
    a, b, c, d = flat
    if b != c:
        raise ParamError(field, value, "must be symmetric (it is a covariance matrix)")
    lo, hi = eig_sym2(a, b, d)
    if lo <= 0 or lo * MAX_CONDITION < hi:
        raise ParamError(
            field,
            value,
            f"must be positive definite (it is a covariance matrix); its eigenvalues are "
            f"{lo:.4g} and {hi:.4g}",
        )


def eig_sym2(a: float, b: float, d: float) -> tuple[float, float]:
    """Eigenvalues (low, high) of the symmetric matrix [[a, b], [b, d]]."""
    mid = 0.5 * (a + d)
    rad = math.hypot(0.5 * (a - d), b)
    return mid - rad, mid + rad


def validate(params: Mapping[str, Any], partial: bool) -> dict[str, Any]:
    """Check the params of lds-kalman and return them in canonical form (`ask` kept as given)."""
    check_keys(params, (*FIELDS, "ask"))
    given = {k: v for k, v in params.items() if v is not None or k == "ask"}
    if not partial:
        for name in (*MODEL_FIELDS, "obs"):
            if name not in given:
                raise ParamError(name, None, "is required")
        if ("B" in given) != ("u" in given):
            have, miss = ("B", "u") if "B" in given else ("u", "B")
            raise ParamError(miss, None, f"is required when {have} is given (the driving input)")
    dims = infer_dims(given)
    n, n_src = dims.get("n", (None, ""))
    m, m_src = dims.get("m", (None, ""))
    k, k_src = dims.get("k", (None, ""))
    if n is not None and n not in (1, 2):
        raise ParamError(n_src, given[n_src], "the state must have 1 or 2 dimensions")
    if m is not None and m not in (1, 2):
        raise ParamError(m_src, given[m_src], "observations must have 1 or 2 dimensions")
    if n is not None and m is not None and m > n:
        raise ParamError(
            m_src, given[m_src], "observations may be 2-dimensional only when the state is"
        )
    if k is not None and (k < 1 or (n is not None and k > n)):
        raise ParamError(
            k_src,
            given[k_src],
            "the driving input must have at most as many dimensions as the state",
        )

    known = {"n": ("the state", n, n_src), "m": ("an observation", m, m_src)}
    known["k"] = ("an input", k, k_src)

    def why(field: str, *dims: str) -> str:
        """Where the expected shape comes from: the other fields that fixed its dimensions."""
        said = [
            f"{what} has {d} dimension{'s' if d != 1 else ''} (from {src})"
            for what, d, src in (known[x] for x in dims)
            if src and src != field
        ]
        return f", as {' and '.join(said)}" if said else ""

    out: dict[str, Any] = {}
    shapes = {
        "A": (n, n, ("n",)),
        "C": (m, n, ("m", "n")),
        "Q": (n, n, ("n",)),
        "R": (m, m, ("m",)),
        "mu0": (n, 1, ("n",)),
        "V0": (n, n, ("n",)),
        "B": (n, k, ("n", "k")),
    }
    for name in (*MODEL_FIELDS, "B"):
        if name not in given:
            continue
        rows, cols, dims_of_field = shapes[name]
        if rows is None or cols is None:  # a well-formed field would have given its own shape
            raise ParamError(
                name, given[name], "must be a number, a list of numbers or a list of rows"
            )
        canon, flat = as_matrix(name, given[name], rows, cols, why(name, *dims_of_field))
        if name in COVARIANCES:
            check_covariance(name, canon, flat, rows)
        out[name] = canon
    T = None
    if "obs" in given:
        obs = given["obs"]
        if not isinstance(obs, list | tuple):
            raise ParamError("obs", obs, "must be a list of observations y_0, y_1, ...")
        if not 1 <= len(obs) <= MAX_T:
            raise ParamError(
                "obs",
                obs,
                f"must have from 1 to {MAX_T} entries, one per time step (it has {len(obs)})",
            )
        T = len(obs)
        if m is not None:
            out["obs"] = [
                as_matrix(f"obs[{t}]", y, m, 1, why("obs", "m"))[0] for t, y in enumerate(obs)
            ]
    if "u" in given:
        u = given["u"]
        if not isinstance(u, list | tuple):
            raise ParamError("u", u, "must be a list of inputs u_1, ..., u_{T-1}")
        if T is not None and len(u) != T - 1:
            raise ParamError(
                "u",
                u,
                f"must have T-1 = {T - 1} entries, the inputs u_1..u_{T - 1} into steps 1..{T - 1} "
                f"(u_0 would not act: the prior on x_0 is given) (it has {len(u)})",
            )
        if len(u) > MAX_T - 1:
            raise ParamError("u", u, f"must have at most {MAX_T - 1} entries")
        if k is not None:
            out["u"] = [as_matrix(f"u[{i}]", v, k, 1, why("u", "k"))[0] for i, v in enumerate(u)]
    if "ask" in given:
        out["ask"] = given["ask"]
    elif not partial:
        out["ask"] = None
    return out


def shape_of(params: Mapping[str, Any]) -> Shape:
    """The shape of complete, validated params."""
    n = 1 if isinstance(params["mu0"], float) else len(params["mu0"])
    y0 = params["obs"][0]
    m = 1 if isinstance(y0, float) else len(y0)
    k = 0
    if params.get("B") is not None:
        u = params["u"]
        if u:
            k = 1 if isinstance(u[0], float) else len(u[0])
        else:
            B = params["B"]
            k = 2 if n == 2 and isinstance(B[0], list) else 1
    return Shape(n, m, k, len(params["obs"]))


def flat_entries(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    if value and isinstance(value[0], list):
        return [x for row in value for x in row]
    return list(value)


def args_of(params: Mapping[str, Any], shape: Shape) -> tuple[float, ...]:
    """The model's arguments in the order of `Model.arg_names`."""
    out: list[float] = []
    for name in (*MODEL_FIELDS, *(("B",) if shape.k else ())):
        out += flat_entries(params[name])
    for y in params["obs"]:
        out += flat_entries(y)
    if shape.k:
        for u in params["u"]:
            out += flat_entries(u)
    return tuple(out)


# -- the symbolic model ---------------------------------------------------------------------------

Generic = sp.Symbol | sp.MatrixSymbol


class _Builder:
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
    b: _Builder,
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


# -- worked-solution LaTeX with number slots ------------------------------------------------------

# Slot markers: \x01i\x02 a number that needs parentheses when negative, \x03i\x04 one that
# stands bare (a matrix entry), \x05i\x06 a bare entry shown negated (the adjugate's off-diagonal).
_MARK = re.compile("\x01(\\d+)\x02|\x03(\\d+)\x04|\x05(\\d+)\x06")
_OPENERS = ("\\left(", "{", "= ")


def slot_substitution(text: str, names: Sequence[str], given: frozenset[str]) -> Substitution:
    """The printer's marked text as a `Substitution`. A slot inside a matrix, or one that opens a
    group, shows a negative number bare; elsewhere in parentheses."""
    pieces = _MARK.split(text)
    # split gives text, then the three groups of a slot (one set), text, ...
    parts = [pieces[0]]
    slots: list[tuple[str, bool, float, Callable[[float], str] | None]] = []
    for i in range(1, len(pieces), 4):
        loose, tight, negated = pieces[i : i + 3]
        name = names[int(next(g for g in (loose, tight, negated) if g is not None))]
        after = pieces[i + 3]
        before = parts[-1]
        bare = loose is None or (
            (not before.strip() or before.endswith(_OPENERS)) and not after.startswith("^")
        )
        # Given numbers as the stem states them; computed ones to four figures.
        f = fmt_given if name in given else fmt
        slots.append((name, bare, -1.0 if negated is not None else 1.0, f))
        parts.append(after)
    return Substitution.from_slots(parts, slots, snap=ZERO)


@lru_cache(maxsize=8192)
def fmt_given(v: float) -> str:
    # Given numbers repeat (they are set to one or two decimals): format each once.
    return fmt_param(v)


class _Printer(LatexPrinter):
    """LaTeX of the generic formulas: with names (`general`), or with every quantity written out
    as its entries' slots (`slots`)."""

    def __init__(self, b: _Builder, slots: list[str] | None, names: Mapping[Any, str]) -> None:
        super().__init__({"order": "none", "mul_symbol": "dot" if slots is not None else None})
        self.b = b
        self.slots = slots
        self.nm = names

    def _slot(self, s: sp.Symbol, tight: bool, negated: bool = False) -> str:
        assert self.slots is not None
        self.slots.append(s.name)
        i = len(self.slots) - 1
        if negated:
            return f"\x05{i}\x06"
        return f"\x03{i}\x04" if tight else f"\x01{i}\x02"

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        if self.slots is not None and expr in self.b.explicit:
            return self._slot(expr, tight=False)
        return self.nm.get(expr) or super()._print_Symbol(expr)

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol) -> str:
        if self.slots is None:
            return self.nm[expr]
        mat = self.b.explicit[expr]
        if mat.shape == (1, 1):
            return self._slot(mat[0, 0], tight=False)
        return _pmatrix(mat.rows, mat.cols, [self._slot(s, tight=True) for s in mat])

    def _print_Identity(self, expr: sp.Identity) -> str:
        if self.slots is None:
            return "I"
        return _pmatrix(
            expr.rows,
            expr.rows,
            ["1" if i % (expr.rows + 1) == 0 else "0" for i in range(expr.rows**2)],
        )

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        return f"{self._print(expr.arg)}^{{\\top}}"

    def _print_Inverse(self, expr: sp.Inverse) -> str:
        if self.slots is None or expr.arg.shape == (1, 1):
            return f"{self._print(expr.arg)}^{{-1}}"
        # The 2x2 inverse written out: adjugate over determinant.
        entries = list(self.b.explicit[expr.arg])
        a, b, c, d = (self._slot(s, tight=False) for s in entries)
        adj = _pmatrix(
            2,
            2,
            [
                self._slot(entries[3], tight=True),
                self._slot(entries[1], tight=True, negated=True),
                self._slot(entries[2], tight=True, negated=True),
                self._slot(entries[0], tight=True),
            ],
        )
        return rf"\frac{{1}}{{{a} \cdot {d} - {b} \cdot {c}}} {adj}"

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        args = list(expr.args)
        last = args[-1]
        if isinstance(last, sp.Inverse) and last.arg.shape == (1, 1):
            # y_t is a scalar: K_t = V C^T / S_t, as people write it.
            num = self._print(sp.MatMul(*args[:-1], evaluate=False))
            return rf"\frac{{{num}}}{{{self._print(last.arg)}}}"
        return super()._print_MatMul(expr)


def _pmatrix(rows: int, cols: int, entries: Sequence[str]) -> str:
    body = r" \\ ".join(" & ".join(entries[i * cols : (i + 1) * cols]) for i in range(rows))
    return rf"\begin{{pmatrix}} {body} \end{{pmatrix}}"


def fmt_value(v: float) -> str:
    """A computed value as a worked solution shows it; float dust (0.25 + 0.5 - 0.75) is 0."""
    return fmt(0.0 if -ZERO < v < ZERO else v)


def show(rows: int, cols: int, flat: Sequence[float], f: Callable[[float], str] = fmt_value) -> str:
    """A value in LaTeX: a number, or a matrix (a vector as a column or row)."""
    if rows == 1 and cols == 1:
        return f(flat[0])
    return _pmatrix(rows, cols, [f(v) for v in flat])


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


def _entry_names(b: _Builder, g: Generic) -> list[str]:
    e = b.explicit[g]
    return [e.name] if isinstance(e, sp.Symbol) else [s.name for s in e]


@cache
def model(shape: Shape) -> Model:
    """Derive the filter of `shape` symbolically, with both misconceptions' perturbed runs."""
    n, m, k, T = shape.n, shape.m, shape.k, shape.T
    b = _Builder(shape)
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
    b: _Builder, raw: list[tuple[str, int, Generic, Any]], given: frozenset[str]
) -> tuple[tuple[Line, ...], dict[str, frozenset[str]]]:
    general = _Printer(b, None, b.names)
    out = []
    direct = []
    defined = {g.name for _, _, g, _ in raw}
    for _kind, t, g, expr in raw:
        slots: list[str] = []
        text = _Printer(b, slots, b.names).doprint(expr)
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
    b = _Builder(Shape(shape.n, shape.m, shape.k, 2))
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
    general = _Printer(b, None, b.names)
    # S_t^{-1} is no formula of its own here; its line in a solution writes the inverse out.
    return tuple((b.names[g], general.doprint(expr)) for kind, _, g, expr in raw if kind != "Sinv")


# -- rendering ------------------------------------------------------------------------------------

LABELS = {
    "pred_mean": r"\mu_{{{t}\mid {p}}}",
    "pred_var": r"V_{{{t}\mid {p}}}",
    "gain": r"K_{{{t}}}",
    "mean": r"\mu_{{{t}\mid {t}}}",
    "var": r"V_{{{t}\mid {t}}}",
}


def label(part_id: str) -> str:
    """LaTeX of an answer id: `pred_var_2` -> V_{2|1}, `gain_1` -> K_{1}, `mean_0` -> mu_{0|0}."""
    q, _, t = part_id.rpartition("_")
    if q not in LABELS or not t.isdigit():
        return part_id
    return LABELS[q].format(t=t, p=int(t) - 1)


def solution(
    m: Model, params: Mapping[str, Any], answers: Mapping[str, Any], wanted: list[str]
) -> str:
    """The worked solution for the `wanted` answers: the general predict and update equations, then
    each needed line with its formula, the numbers substituted, and the result."""
    sh = m.shape
    need = set(wanted)
    for w in wanted:
        need |= m.deps.get(w, frozenset())
    values = m.values(params)
    out = [
        "The filter alternates a predict step (before $y_t$) and an update step (with $y_t$):",
        "",
    ]
    out.append("$$" + r",\qquad ".join(f"{lhs} = {rhs}" for lhs, rhs in m.method) + "$$")
    last = max((int(w.rpartition("_")[2]) for w in wanted), default=0)
    by_step: dict[int, list[Line]] = {}
    for line in m.lines:
        if line.name in need:
            by_step.setdefault(line.section, []).append(line)
    for t in range(last + 1):
        lines = by_step.get(t, [])
        if t == 0:
            out.append(
                f"\n**Step 0.** The prediction is the prior: ${label('pred_mean_0')} = "
                f"{show(sh.n, 1, flat_entries(params['mu0']), fmt_given)}$, ${label('pred_var_0')} = "
                f"{show(sh.n, sh.n, flat_entries(params['V0']), fmt_given)}$."
            )
        elif lines:
            inp = (
                f", $u_{{{t}}} = {show(sh.k, 1, flat_entries(params['u'][t - 1]), fmt_given)}$"
                if sh.k
                else ""
            )
            out.append(f"\n**Step {t}.** Predict{inp}:")
        if not lines:
            continue
        updating = False
        for line in lines:
            if not updating and not line.name.startswith("pred_"):
                y = show(sh.m, 1, flat_entries(params["obs"][t]), fmt_given)
                out.append(f"\nUpdate with $y_{{{t}}} = {y}$:")
                updating = True
            result = show(*line.shape, [values[n] for n in _names_of(line, m)])
            filled = line.substs[0].fill(values)
            parts = [line.lhs]
            for part in (line.general, filled, result):
                if part != parts[-1]:
                    parts.append(part)
            out.append("$$" + " = ".join(parts) + "$$")
    shown = ", ".join(
        f"${label(w)} = {show(*_dims(answers[w]), flat_entries(answers[w]))}$" for w in wanted
    )
    out.append(f"\n**Answer.** {shown}.")
    return "\n".join(out).strip()


def _names_of(line: Line, m: Model) -> list[str]:
    rows, cols = line.shape
    if rows == 1 and cols == 1 and m.shape.scalar:
        return [line.name]
    return [f"{line.name}__{i}{j}" for i in range(rows) for j in range(cols)]


def _dims(value: Any) -> tuple[int, int]:
    if isinstance(value, float):
        return (1, 1)
    if isinstance(value[0], list):
        return (len(value), len(value[0]))
    return (len(value), 1)
