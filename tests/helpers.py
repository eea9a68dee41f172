"""Responses the registry walk needs for any answer kind: the right one, a near miss, garbage."""

from __future__ import annotations

import math
from typing import Any

from grader.examples import correct_response, near_miss

__all__ = ["GARBAGE", "all_finite", "correct_response", "near_miss"]

GARBAGE = ("banana", "", "1.2.3", "]]", "\x00", "∞")


def all_finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list | tuple):
        return all(all_finite(v) for v in value)
    if isinstance(value, dict):
        return all(all_finite(v) for v in value.values())
    return True
