"""Jobs for the sandbox tests: well-behaved, slow inside one C call, memory-hungry, dying."""

from __future__ import annotations

import os
import signal
from typing import Any

import sympy as sp  # imported by the zygote, so a job does not pay for it


def job(payload: dict[str, Any]) -> dict[str, Any]:
    what = payload["do"]
    if what == "echo":
        return {"echo": payload.get("value"), "pid": os.getpid()}
    if what == "huge-float":
        # The example: one C call that ignores an in-process alarm for ~26 s.
        return {"value": str(sp.Float("1e999999"))}
    if what == "big-power":
        return {"bits": (7 ** (10**9)).bit_length()}
    if what == "allocate":
        return {"size": len(bytearray(8 * 1024**3))}
    if what == "exit":
        os._exit(3)
    if what == "raise":
        raise RuntimeError("the job failed")
    raise ValueError(what)


def sleeper(payload: dict[str, Any]) -> dict[str, Any]:
    """Echoes its payload's value; first, when asked, interrupts the caller with SIGUSR1 (as a
    time limit interrupts a grading process while it waits for this reply)."""
    if "signal" in payload:
        os.kill(payload["signal"], signal.SIGUSR1)
    return {"echo": payload.get("value")}
