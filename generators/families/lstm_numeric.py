"""An independent plain-Python implementation of both LSTM cells, written from the course's
equations without SymPy. The tests hold the symbolic models to it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from generators.core.carry import Rounding, exact


def cell_run(
    p: Mapping[str, Any], start: int = 0, c_prev: float | None = None, rnd: Rounding = exact
) -> list[float]:
    """The memory cell's values c_start..c_{T-1}, from c_{start-1} = c_prev (c_init by default)."""
    c = p["c_init"] if c_prev is None else c_prev
    cells = []
    for t in range(start, len(p["inputs"])):
        c = rnd(p["keep"][t] * c + p["write"][t] * p["inputs"][t])
        cells.append(c)
    return cells


def cell_answers(p: Mapping[str, Any], rnd: Rounding = exact) -> dict[str, float]:
    cells = cell_run(p, rnd=rnd)
    T = len(cells)
    out: dict[str, float] = {}
    for t, c in enumerate(cells):
        out[f"cell_{t}"] = c
        out[f"out_{t}"] = rnd(p["read"][t] * c)
    for t in range(T):
        # The cell is linear in its old value with slope keep: dc_{T-1}/dc_t is their product.
        dcdc = 1.0
        for keep in p["keep"][t + 1 :]:
            dcdc = rnd(dcdc * keep)
        out[f"dcdc_{t}"] = float(dcdc)
        out[f"expr_dcdc_{t}"] = out[f"dcdc_{t}"]  # a formula's value at the variant's gates
    return out


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def step_answers(p: Mapping[str, Any], rnd: Rounding = exact) -> dict[str, float]:
    """A standard LSTM with scalar input and hidden state, one step at a time (`rnd` rounds
    each pre-activation, gate, cell and output as a student writes it down)."""
    h, c = p["h_init"], p["c_init"]
    w = p["w"]
    out: dict[str, float] = {}
    for t, x in enumerate(p["x"]):

        def pre(gate: str, x: float = x, h: float = h) -> float:
            wx, wh, b = w[gate]
            return rnd(wx * x + wh * h + b)

        i = rnd(_sigmoid(pre("i")))
        f = rnd(_sigmoid(pre("f")))
        g = rnd(math.tanh(pre("g")))
        o = rnd(_sigmoid(pre("o")))
        c = rnd(rnd(f * c) + rnd(i * g))
        h = rnd(o * rnd(math.tanh(c)))
        out |= {f"i_{t}": i, f"f_{t}": f, f"g_{t}": g, f"o_{t}": o, f"c_{t}": c, f"h_{t}": h}
    return out
