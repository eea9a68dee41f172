"""An independent numpy implementation of the scalar RNN: forward pass and the BPTT recursion,
written from the course's equations without SymPy. The tests hold the symbolic path to it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from generators.core.carry import Rounding, exact


def _act(name: str, z: float, rnd: Rounding = exact) -> tuple[float, float]:
    """Activation value and its derivative at z (the derivative from the value as written)."""
    if name == "logistic":
        h = rnd(float(1.0 / (1.0 + np.exp(-z)) if z >= 0 else np.exp(z) / (1.0 + np.exp(z))))
        return h, rnd(h * (1.0 - h))
    if name == "tanh":
        h = rnd(float(np.tanh(z)))
        return h, rnd(1.0 - h * h)
    return float(z), 1.0


def forward(p: Mapping[str, Any], rnd: Rounding = exact) -> dict[str, np.ndarray]:
    """The forward pass; `rnd` rounds each value as a student writes it down."""
    x = np.asarray(p["x"], dtype=float)
    T = len(x)
    z, h, d, y = (np.zeros(T) for _ in range(4))
    prev = p["h_init"]
    for t in range(T):
        z[t] = rnd(p["w_xh"] * x[t] + p["w_hh"] * prev + p["b_h"])
        h[t], d[t] = _act(p["activation"], z[t], rnd)
        y[t] = rnd(p["w_hy"] * h[t] + p["b_y"])
        prev = h[t]
    return {"x": x, "z": z, "h": h, "d": d, "y": y}


def backward(
    p: Mapping[str, Any], f: Mapping[str, np.ndarray], dEdy: np.ndarray, rnd: Rounding = exact
) -> dict[str, Any]:
    """BPTT: dE/dh_t = w_hy dE/dy_t + w_hh dE/dz_{t+1}; dE/dz_t = f'(z_t) dE/dh_t."""
    T = len(f["x"])
    dEdh, dEdz = np.zeros(T), np.zeros(T)
    later = 0.0
    for t in reversed(range(T)):
        dEdh[t] = rnd(p["w_hy"] * dEdy[t] + p["w_hh"] * later)
        dEdz[t] = rnd(f["d"][t] * dEdh[t])
        later = dEdz[t]
    h_prev = np.concatenate([[p["h_init"]], f["h"][:-1]])

    def dot(a: np.ndarray, b: np.ndarray) -> float:
        return rnd(sum(rnd(float(u * v)) for u, v in zip(a, b, strict=True)))

    return {
        "dEdh": dEdh,
        "dEdz": dEdz,
        "dEdw_xh": dot(dEdz, f["x"]),
        "dEdw_hh": dot(dEdz, h_prev),
        "dEdw_hy": dot(dEdy, f["h"]),
        "dEdb_h": rnd(float(dEdz.sum())),
        "dEdb_y": rnd(float(dEdy.sum())),
        "dEdh_init": rnd(float(p["w_hh"] * dEdz[0])),
    }


def forward_answers(p: Mapping[str, Any], rnd: Rounding = exact) -> dict[str, float]:
    f = forward(p, rnd)
    out: dict[str, float] = {}
    for t in range(len(f["x"])):
        out[f"z_{t}"] = float(f["z"][t])
        out[f"h_{t}"] = float(f["h"][t])
        out[f"y_{t}"] = float(f["y"][t])
    return out


def bptt_answers(p: Mapping[str, Any], rnd: Rounding = exact) -> dict[str, float]:
    f = forward(p, rnd)
    targets = np.asarray(p["targets"], dtype=float)
    dEdy = np.array([rnd(float(v)) for v in f["y"] - targets])
    b = backward(p, f, dEdy, rnd)
    out = forward_answers(p, rnd)
    out["E"] = rnd(sum(rnd(float(0.5 * e * e)) for e in targets - f["y"]))
    for t in range(len(f["x"])):
        out[f"dEdy_{t}"] = float(dEdy[t])
        out[f"dEdh_{t}"] = float(b["dEdh"][t])
        out[f"dEdz_{t}"] = float(b["dEdz"][t])
    for k in ("dEdw_xh", "dEdw_hh", "dEdw_hy", "dEdb_h", "dEdb_y", "dEdh_init"):
        out[k] = b[k]
    for t in range(len(f["x"])):
        out[f"expr_dEdz_{t}"] = out[f"dEdz_{t}"]  # a formula's value at the variant's numbers
    return out


def flow_answers(p: Mapping[str, Any], rnd: Rounding = exact) -> dict[str, Any]:
    f = forward(p, rnd)
    T = len(f["x"])
    dEdy = np.zeros(T)
    dEdy[-1] = rnd(float(f["y"][-1] - p["target"]))
    b = backward(p, f, dEdy, rnd)
    gain = 1.0
    for t in range(1, T):
        gain = rnd(gain * rnd(p["w_hh"] * f["d"][t]))
    return {
        "dEdw_xh": b["dEdw_xh"],
        "gain": gain,
        "regime": "vanishing" if abs(gain) < 1 else "exploding",
        "expr_gain": gain,  # a formula's value at the variant's numbers
    }
