"""An independent numpy/itertools implementation of the HMM questions, written from the textbook
matrix form without SymPy; the tests hold the symbolic models to it (via Template.reference)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np

from generators.core.carry import Rounding, exact


def _r(x: np.ndarray, rnd: Rounding) -> np.ndarray:
    return np.vectorize(rnd, otypes=[float])(x) if rnd is not exact else x


def arrays(p: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    return (
        np.asarray(p["pi"], dtype=float),
        np.asarray(p["A"], dtype=float),
        np.asarray(p["B"], dtype=float),
        [int(o) for o in p["obs"]],
    )


def forward(
    pi: np.ndarray, A: np.ndarray, B: np.ndarray, obs: list[int], rnd: Rounding = exact
) -> np.ndarray:
    """alpha as a (T, N) array: alpha_0 = pi * B[:, o_0], alpha_t = (alpha_{t-1} @ A) * B[:, o_t]
    (`rnd`: each sum and product rounded as a student writes it down)."""
    alpha = np.empty((len(obs), len(pi)))
    alpha[0] = _r(pi * B[:, obs[0]], rnd)
    for t in range(1, len(obs)):
        alpha[t] = _r(_r(alpha[t - 1] @ A, rnd) * B[:, obs[t]], rnd)
    return alpha


def forward_answers(p: Mapping[str, Any], rnd: Rounding = exact) -> dict[str, Any]:
    pi, A, B, obs = arrays(p)
    alpha = forward(pi, A, B, obs, rnd)
    filt = _r(alpha / _r(alpha.sum(axis=1, keepdims=True), rnd), rnd)
    predict = _r(filt[-1] @ A, rnd)
    out: dict[str, Any] = {}
    for t in range(len(obs)):
        out[f"alpha_{t}"] = alpha[t].tolist()
    out["likelihood"] = rnd(float(alpha[-1].sum()))
    for t in range(len(obs)):
        out[f"filter_{t}"] = filt[t].tolist()
    out["predict"] = predict.tolist()
    out["next_obs"] = _r(predict @ B, rnd).tolist()
    return out


def path_probability(
    pi: np.ndarray,
    A: np.ndarray,
    B: np.ndarray,
    obs: list[int],
    path: tuple[int, ...],
    rnd: Rounding = exact,
) -> float:
    """P(s_{0:T-1} = path, o_{0:T-1} = obs), straight from the model's definition."""
    prob = rnd(float(pi[path[0]] * B[path[0], obs[0]]))
    for t in range(1, len(obs)):
        prob = rnd(prob * rnd(float(A[path[t - 1], path[t]] * B[path[t], obs[t]])))
    return float(prob)


def all_paths(p: Mapping[str, Any]) -> dict[tuple[int, ...], float]:
    """Every state path with its joint probability with the observations (N^T of them)."""
    pi, A, B, obs = arrays(p)
    return {
        path: path_probability(pi, A, B, obs, path)
        for path in itertools.product(range(len(pi)), repeat=len(obs))
    }


def viterbi_answers(p: Mapping[str, Any], rnd: Rounding = exact) -> dict[str, Any]:
    """The best path by exhaustive search (first in lexicographic order on an exact tie); with
    `rnd`, its probability as a student multiplies it out, rounding each product."""
    paths = all_paths(p)
    best = max(paths, key=lambda path: paths[path])
    if rnd is exact:
        return {"path": list(best), "path_prob": paths[best]}
    return {"path": list(best), "path_prob": path_probability(*arrays(p), best, rnd)}
