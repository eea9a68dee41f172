"""Independent plain-Python answers of the conceptual templates, written from the course's
statements without SymPy; the tests hold each template's symbolic path to them."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any


def memory_capacity(p: Mapping[str, Any]) -> dict[str, Any]:
    """An HMM state is one of N values: log2 N bits. N real-valued units: more than N bits."""
    n = p["units"]
    bits = 0
    while (1 << bits) < n:
        bits += 1
    return {"bits": f">{n}" if p["model"] == "rnn" else str(bits)}


def context_window(p: Mapping[str, Any]) -> dict[str, Any]:
    """Context after the phoneme has arrived once the delay covers it; a feed-forward net must
    also still see the context before it, which begins delay + context ago; a recurrent net keeps
    the past in its hidden state. Times are compared as the decimals written, not as floats."""
    delay, context = Decimal(str(p["delay_ms"])), Decimal(str(p["context_ms"]))
    before_ok = delay - context >= 0
    ok = []
    for s in p["setups"]:
        sees_back = Decimal(str(s["input_ms"])) - (delay + context) >= 0
        if before_ok and (s["arch"] == "rnn" or sees_back):
            ok.append(s["id"])
    return {"setups": sorted(ok)}


def binary_addition(p: Mapping[str, Any]) -> dict[str, Any]:
    """Integer addition; the carry out of column t is what the low t+1 columns overflow."""
    a, b = p["a"], p["b"]
    n = max(len(a), len(b))
    x, y = int(a, 2), int(b, 2)
    out: dict[str, Any] = {"sum": format(x + y, f"0{n + 1}b")}
    for t in range(n):
        m = 1 << (t + 1)
        out[f"carry_{t}"] = "1" if (x % m) + (y % m) >= m else "0"
    return out
