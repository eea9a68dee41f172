"""Keep the garbage collector's full passes short in a server process.

A full (generation 2) collection walks every object the process holds, and a process that
grades holds a great many: SymPy, and the models and variants it builds and caches. Measured
under the LTI load of `bench/lti_bench.py`, a full pass took 181 and 241 ms, and every request
in flight waited for it. So objects that survived a full pass are moved out of the collector's
sight (`gc.freeze`), as CPython's documentation suggests for long-lived servers, and the next
full pass walks only what was made since. Every `RESCAN`-th full pass the frozen objects are
given back first (`gc.unfreeze`), so that garbage cycles among them are still found, once in a
long while instead of on every full pass."""

from __future__ import annotations

import gc
from typing import Any

RESCAN = 25


class _FreezeAfterFullPasses:
    def __init__(self) -> None:
        self.passes = 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info.get("generation") != 2:
            return
        self.passes += 1
        if self.passes % RESCAN == 0:
            gc.unfreeze()  # the next full pass walks everything again
        else:
            gc.freeze()


def install() -> None:
    """Freeze what the process holds now (its imports) and after every full pass; once."""
    if any(isinstance(cb, _FreezeAfterFullPasses) for cb in gc.callbacks):
        return
    gc.collect()
    gc.freeze()
    gc.callbacks.append(_FreezeAfterFullPasses())
