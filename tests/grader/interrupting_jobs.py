"""A sandbox handler whose module, the first time a zygote imports it, interrupts the process that
starts the sandbox (SIGUSR1 to SEQQUIZ_TEST_INTERRUPT_PID): a time limit firing while the
sandbox starts. A marker file (SEQQUIZ_TEST_INTERRUPT_MARKER) makes later starts quiet."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

_marker = Path(os.environ["SEQQUIZ_TEST_INTERRUPT_MARKER"])
if not _marker.exists():
    _marker.touch()
    os.kill(int(os.environ["SEQQUIZ_TEST_INTERRUPT_PID"]), signal.SIGUSR1)


def echo(payload: dict[str, Any]) -> dict[str, Any]:
    return {"echo": payload.get("value")}
