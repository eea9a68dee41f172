"""An independent plain-Python implementation of both LSTM cells, written from the course's
equations without SymPy. The tests hold the symbolic models to it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def cell_run(p: Mapping[str, Any], start: int = 0, c_prev: float | None = None) -> list[float]:
    """The memory cell's values c_start..c_{T-1}, from c_{start-1} = c_prev (c_init by default)."""
    c = p["c_init"] if c_prev is None else c_prev
    cells = []
    for t in range(start, len(p["inputs"])):
        c = p["keep"][t] * c + p["write"][t] * p["inputs"][t]
        cells.append(c)
    return cells


def cell_answers(p: Mapping[str, Any]) -> dict[str, float]:
    cells = cell_run(p)
    T = len(cells)
    out: dict[str, float] = {}
    for t, c in enumerate(cells):
        out[f"cell_{t}"] = c
        out[f"out_{t}"] = p["read"][t] * c
    for t in range(T):
        # The cell is linear in its old value with slope keep: dc_{T-1}/dc_t is their product.
        out[f"dcdc_{t}"] = float(math.prod(p["keep"][t + 1 :]))
        out[f"expr_dcdc_{t}"] = out[f"dcdc_{t}"]  # a formula's value at the variant's gates
    return out


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def step_answers(p: Mapping[str, Any]) -> dict[str, float]:
    """A standard LSTM with scalar input and hidden state, one step at a time."""
    h, c = p["h_init"], p["c_init"]
    w = p["w"]
    out: dict[str, float] = {}
    for t, x in enumerate(p["x"]):

        def pre(gate: str, x: float = x, h: float = h) -> float:
            wx, wh, b = w[gate]
            return wx * x + wh * h + b

        i = _sigmoid(pre("i"))
        f = _sigmoid(pre("f"))
        g = math.tanh(pre("g"))
        o = _sigmoid(pre("o"))
        c = f * c + i * g
        h = o * math.tanh(c)
        out |= {f"i_{t}": i, f"f_{t}": f, f"g_{t}": g, f"o_{t}": o, f"c_{t}": c, f"h_{t}": h}
    return out
