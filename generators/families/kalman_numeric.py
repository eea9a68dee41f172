"""An independent numpy implementation of the Kalman filter, written from the textbook recursion
without SymPy; the tests hold the symbolic path to it. It also runs the two misconceptions'
mistaken filters, so that tests can build a mistaken answer without the symbolic model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from generators.core.carry import Rounding, exact


def _mat(value: Any, rows: int, cols: int) -> np.ndarray:
    return np.asarray(value, dtype=float).reshape(rows, cols)


def arrays(p: Mapping[str, Any]) -> dict[str, Any]:
    """The params as 2-d arrays (vectors as columns), with the dimensions n, m, k and T."""
    mu0 = np.atleast_1d(np.asarray(p["mu0"], dtype=float))
    n = mu0.size
    obs = [np.atleast_1d(np.asarray(y, dtype=float)) for y in p["obs"]]
    m = obs[0].size
    out: dict[str, Any] = {
        "n": n,
        "m": m,
        "T": len(obs),
        "A": _mat(p["A"], n, n),
        "C": _mat(p["C"], m, n),
        "Q": _mat(p["Q"], n, n),
        "R": _mat(p["R"], m, m),
        "mu0": mu0.reshape(n, 1),
        "V0": _mat(p["V0"], n, n),
        "obs": [y.reshape(m, 1) for y in obs],
        "k": 0,
    }
    if p.get("B") is not None:
        u = [np.atleast_1d(np.asarray(v, dtype=float)) for v in p["u"]]
        k = u[0].size if u else np.asarray(p["B"], dtype=float).size // n
        out["k"] = k
        out["B"] = _mat(p["B"], n, k)
        out["u"] = [None] + [v.reshape(k, 1) for v in u]
    return out


def _json(x: np.ndarray) -> Any:
    """A number, a flat list (vector) or a list of rows, as the template's answers are shaped."""
    rows, cols = x.shape
    if rows == 1 and cols == 1:
        return float(x[0, 0])
    if rows == 1 or cols == 1:
        return [float(v) for v in x.ravel()]
    return [[float(v) for v in row] for row in x]


def run(
    p: Mapping[str, Any],
    mistake: str | None = None,
    only_at: int | None = None,
    rnd: Rounding = exact,
) -> dict[str, list[np.ndarray]]:
    """The filter's predicted and filtered moments and gains at every step. With `mistake`
    ('skipped-predict' or 'forgot-process-noise') the predict step is done wrong from t = 1 on,
    or with `only_at` at that step only (later steps are then done right from its results)."""
    a = arrays(p)
    n = a["n"]
    out: dict[str, list[np.ndarray]] = {
        q: [] for q in ("pred_mean", "pred_var", "gain", "mean", "var")
    }
    mean, var = a["mu0"], a["V0"]

    def r(x: np.ndarray) -> np.ndarray:
        # Each matrix a student writes down, entry by entry at the precision they carry.
        return np.vectorize(rnd, otypes=[float])(x) if rnd is not exact else x

    for t in range(a["T"]):
        wrong = mistake if only_at is None or only_at == t else None
        if t > 0:
            if wrong == "skipped-predict":
                pass  # the previous posterior goes straight into the update
            else:
                prior = a["A"] @ mean
                if a["k"]:
                    prior = prior + a["B"] @ a["u"][t]
                cov = r(a["A"] @ var @ a["A"].T)
                if wrong != "forgot-process-noise":
                    cov = cov + a["Q"]
                mean, var = r(prior), r(cov)
        out["pred_mean"].append(mean)
        out["pred_var"].append(var)
        C, R = a["C"], a["R"]
        S = r(C @ var @ C.T + R)
        K = r(np.linalg.solve(S.T, (var @ C.T).T).T)  # K S = V C^T
        mean = r(mean + K @ r(a["obs"][t] - C @ mean))
        var = r(r(np.eye(n) - K @ C) @ var)
        out["gain"].append(K)
        out["mean"].append(mean)
        out["var"].append(var)
    return out


def answers(
    p: Mapping[str, Any],
    mistake: str | None = None,
    only_at: int | None = None,
    rnd: Rounding = exact,
) -> dict[str, Any]:
    """Every answer id of lds-kalman, shaped as JSON (with a mistake: see `run`; `rnd`: worked
    by hand, every matrix rounded as it is written down)."""
    r = run(p, mistake, only_at, rnd)
    return {f"{q}_{t}": _json(r[q][t]) for t in range(len(r["mean"])) for q in r}
