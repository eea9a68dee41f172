"""An independent numpy implementation of the scalar RNN: forward pass and the BPTT recursion,
written from the course's equations without SymPy. The tests hold the symbolic path to it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def _act(name: str, z: float) -> tuple[float, float]:
    """Activation value and its derivative at z."""
    if name == "logistic":
        h = 1.0 / (1.0 + np.exp(-z)) if z >= 0 else np.exp(z) / (1.0 + np.exp(z))
        return float(h), float(h * (1.0 - h))
    if name == "tanh":
        h = np.tanh(z)
        return float(h), float(1.0 - h * h)
    return float(z), 1.0


def forward(p: Mapping[str, Any]) -> dict[str, np.ndarray]:
    x = np.asarray(p["x"], dtype=float)
    T = len(x)
    z, h, d, y = (np.zeros(T) for _ in range(4))
    prev = p["h_init"]
    for t in range(T):
        z[t] = p["w_xh"] * x[t] + p["w_hh"] * prev + p["b_h"]
        h[t], d[t] = _act(p["activation"], z[t])
        y[t] = p["w_hy"] * h[t] + p["b_y"]
        prev = h[t]
    return {"x": x, "z": z, "h": h, "d": d, "y": y}


def backward(p: Mapping[str, Any], f: Mapping[str, np.ndarray], dEdy: np.ndarray) -> dict[str, Any]:
    """BPTT: dE/dh_t = w_hy dE/dy_t + w_hh dE/dz_{t+1}; dE/dz_t = f'(z_t) dE/dh_t."""
    T = len(f["x"])
    dEdh, dEdz = np.zeros(T), np.zeros(T)
    later = 0.0
    for t in reversed(range(T)):
        dEdh[t] = p["w_hy"] * dEdy[t] + p["w_hh"] * later
        dEdz[t] = f["d"][t] * dEdh[t]
        later = dEdz[t]
    h_prev = np.concatenate([[p["h_init"]], f["h"][:-1]])
    return {
        "dEdh": dEdh,
        "dEdz": dEdz,
        "dEdw_xh": float(dEdz @ f["x"]),
        "dEdw_hh": float(dEdz @ h_prev),
        "dEdw_hy": float(dEdy @ f["h"]),
        "dEdb_h": float(dEdz.sum()),
        "dEdb_y": float(dEdy.sum()),
        "dEdh_init": float(p["w_hh"] * dEdz[0]),
    }


def forward_answers(p: Mapping[str, Any]) -> dict[str, float]:
    f = forward(p)
    out: dict[str, float] = {}
    for t in range(len(f["x"])):
        out[f"z_{t}"] = float(f["z"][t])
        out[f"h_{t}"] = float(f["h"][t])
        out[f"y_{t}"] = float(f["y"][t])
    return out


def bptt_answers(p: Mapping[str, Any]) -> dict[str, float]:
    f = forward(p)
    targets = np.asarray(p["targets"], dtype=float)
    dEdy = f["y"] - targets
    b = backward(p, f, dEdy)
    out = forward_answers(p)
    out["E"] = float(0.5 * np.sum((targets - f["y"]) ** 2))
    for t in range(len(f["x"])):
        out[f"dEdy_{t}"] = float(dEdy[t])
        out[f"dEdh_{t}"] = float(b["dEdh"][t])
        out[f"dEdz_{t}"] = float(b["dEdz"][t])
    for k in ("dEdw_xh", "dEdw_hh", "dEdw_hy", "dEdb_h", "dEdb_y", "dEdh_init"):
        out[k] = b[k]
    for t in range(len(f["x"])):
        out[f"expr_dEdz_{t}"] = out[f"dEdz_{t}"]  # a formula's value at the variant's numbers
    return out


def flow_answers(p: Mapping[str, Any]) -> dict[str, Any]:
    f = forward(p)
    T = len(f["x"])
    dEdy = np.zeros(T)
    dEdy[-1] = f["y"][-1] - p["target"]
    b = backward(p, f, dEdy)
    gain = float(np.prod([p["w_hh"] * f["d"][t] for t in range(1, T)])) if T > 1 else 1.0
    return {
        "dEdw_xh": b["dEdw_xh"],
        "gain": gain,
        "regime": "vanishing" if abs(gain) < 1 else "exploding",
        "expr_gain": gain,  # a formula's value at the variant's numbers
    }
