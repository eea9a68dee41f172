"""The Moodle XML export: marks keep the points; the tolerance written cancels Moodle's own slack."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from jobs.exports import common
from tests.jobs.exports.readers import (
    all_variants,
    bounds_of,
    boxes_of,
    read,
)


def test_moodle_marks_keep_the_points() -> None:
    got = read("moodle")
    for i, v in enumerate(all_variants()):
        vid = common.variant_id(v, i)
        boxes = boxes_of(v)
        total = sum(b.points for b in boxes.values())
        for key, box in boxes.items():
            g = got[(vid, key)]
            share = g.points if len(boxes) > 1 else g.points / total
            assert math.isclose(share, box.points / total, rel_tol=1e-9), (vid, key)


@pytest.mark.parametrize(
    ("r", "tol"),
    [
        (0.0753, {"decimals": 2}),
        (-0.3551, {"decimals": 4}),
        (12.5, {"rtol": 0.02}),
        (-3.25, {"sigfigs": 3}),
        (1234.5, {"decimals": 1}),
        (0.01393, {"decimals": 5}),
    ],
)
def test_moodle_tolerance_cancels_moodles_own_slack(r: float, tol: dict[str, Any]) -> None:
    """For a reference Moodle stores exactly, Moodle's interval is seqquiz's to a few float
    steps; without taking off the 1e-14 x max(1, |c|) it would be hundreds of steps wider."""
    from grader import Tolerance

    t = Tolerance.from_json(tol)
    lo, hi = t.interval(r)
    answer, tolerance = common.moodle_answer(common.Range(r, t.half_width(r)))
    assert len(re.sub(r"[^0-9]", "", answer.split("e")[0]).lstrip("0")) <= 14
    a, b = bounds_of((answer, tolerance), "moodle")
    ulp = math.ulp(max(abs(lo), abs(hi)))
    assert abs(a - lo) <= 4 * ulp and abs(b - hi) <= 4 * ulp
    naive = bounds_of((repr(r), repr(t.half_width(r))), "moodle")
    assert naive[1] - hi > 50 * ulp
