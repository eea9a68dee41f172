"""An independent numpy/itertools implementation of the HMM questions, written from the textbook
matrix form without SymPy; the tests hold the symbolic models to it (via Template.reference)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np


def arrays(p: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    return (
        np.asarray(p["pi"], dtype=float),
        np.asarray(p["A"], dtype=float),
        np.asarray(p["B"], dtype=float),
        [int(o) for o in p["obs"]],
    )


def forward(pi: np.ndarray, A: np.ndarray, B: np.ndarray, obs: list[int]) -> np.ndarray:
    """alpha as a (T, N) array: alpha_0 = pi * B[:, o_0], alpha_t = (alpha_{t-1} @ A) * B[:, o_t]."""
    alpha = np.empty((len(obs), len(pi)))
    alpha[0] = pi * B[:, obs[0]]
    for t in range(1, len(obs)):
        alpha[t] = (alpha[t - 1] @ A) * B[:, obs[t]]
    return alpha


def forward_answers(p: Mapping[str, Any]) -> dict[str, Any]:
    pi, A, B, obs = arrays(p)
    alpha = forward(pi, A, B, obs)
    filt = alpha / alpha.sum(axis=1, keepdims=True)
    predict = filt[-1] @ A
    out: dict[str, Any] = {}
    for t in range(len(obs)):
        out[f"alpha_{t}"] = alpha[t].tolist()
    out["likelihood"] = float(alpha[-1].sum())
    for t in range(len(obs)):
        out[f"filter_{t}"] = filt[t].tolist()
    out["predict"] = predict.tolist()
    out["next_obs"] = (predict @ B).tolist()
    return out


def path_probability(
    pi: np.ndarray, A: np.ndarray, B: np.ndarray, obs: list[int], path: tuple[int, ...]
) -> float:
    """P(s_{0:T-1} = path, o_{0:T-1} = obs), straight from the model's definition."""
    prob = pi[path[0]] * B[path[0], obs[0]]
    for t in range(1, len(obs)):
        prob *= A[path[t - 1], path[t]] * B[path[t], obs[t]]
    return float(prob)


def all_paths(p: Mapping[str, Any]) -> dict[tuple[int, ...], float]:
    """Every state path with its joint probability with the observations (N^T of them)."""
    pi, A, B, obs = arrays(p)
    return {
        path: path_probability(pi, A, B, obs, path)
        for path in itertools.product(range(len(pi)), repeat=len(obs))
    }


def viterbi_answers(p: Mapping[str, Any]) -> dict[str, Any]:
    """The best path by exhaustive search (first in lexicographic order on an exact tie)."""
    paths = all_paths(p)
    best = max(paths, key=lambda path: paths[path])
    return {"path": list(best), "path_prob": paths[best]}
