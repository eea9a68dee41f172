"""Params of lds-kalman: their shapes, checks and canonical JSON forms.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from generators.core.errors import ParamError
from generators.core.params import MAX_T, as_number, check_keys

MODEL_FIELDS = ("A", "C", "Q", "R", "mu0", "V0")
FIELDS = (*MODEL_FIELDS, "obs", "B", "u")
COVARIANCES = ("Q", "R", "V0")
# A covariance whose eigenvalues differ by more than this factor is numerically singular here.
MAX_CONDITION = 1e9


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
