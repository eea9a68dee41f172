"""Every export format read back: each question, correct answer and accepted interval is there
and equals what `jobs.solve` and the part's own spec give; each format's own acceptance rule
agrees with seqquiz's grading on both sides of every bound; builds are byte-identical."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest

import jobs
from grader.answers import (
    NumericAnswer,
)
from jobs import problem_set
from jobs.exports import FORMATS, common
from jobs.formats import SetInfo
from tests.jobs.exports.readers import (
    EXPORTS,
    ROOT,
    RULES,
    _zip,
    bounds_of,
    expected,
    export,
    read,
    seqquiz_accepts,
    week7,
)


def test_every_format_is_registered() -> None:
    for name in EXPORTS:
        assert name in FORMATS, name
    assert FORMATS["qti12"].binary and FORMATS["qti21"].binary


def test_the_published_answers_come_from_solve() -> None:
    """The week-7 example's answers are the template's own, as `seqquiz solve` prints them,
    and the published numbers come out."""
    for v in week7()[1]:
        solved = jobs.solve({"template": v.template, "params": v.params})["answers"]
        for pid, spec in v.parts.items():
            assert spec.to_json()["value"] == solved[pid], (v.template, v.seed, pid)
    first, second = week7()[1][:2]
    assert round(first.answers["h_2"], 4) == 0.0753 and round(first.answers["y_1"], 4) == -0.3551
    assert round(second.answers["dEdz_1"], 5) == 0.01393


@pytest.mark.parametrize("fmt", EXPORTS)
def test_round_trip_has_every_question_and_answer(fmt: str) -> None:
    got = read(fmt)
    want = expected()
    assert set(got) == set(want), (
        f"{fmt}: missing {set(want) - set(got)}, extra {set(got) - set(want)}"
    )
    solved = {}
    for i, v in enumerate(week7()[1]):
        solved[common.variant_id(v, i)] = jobs.solve({"template": v.template, "params": v.params})[
            "answers"
        ]
    for (vid, key), box in want.items():
        g = got[(vid, key)]
        where = f"{fmt} {vid} {key}"
        assert g.kind == box.kind, where
        if vid in solved and box.kind in ("number", "choice"):
            # The spec's reference is solve's answer (an entry of it, for a vector's box).
            pid = key[: len(key) - sum(len(f"_{i}") for i in box.index)]
            ref = solved[vid][pid]
            for i in box.index:
                ref = ref[i]
            assert box.value == ref, where
        if box.kind == "number":
            assert len(g.ranges) == len(box.ranges), where
            if g.value is not None:
                assert g.value == box.value, where
            for (lo, hi), args in zip(
                sorted(box.ranges), sorted(g.ranges, key=lambda a: bounds_of(a, fmt)), strict=True
            ):
                a, b = bounds_of(args, fmt)
                tol = 2e-13 * max(1.0, abs(lo), abs(hi)) if fmt in ("moodle", "gift") else 0.0
                assert abs(a - lo) <= tol and abs(b - hi) <= tol, (where, (a, b), (lo, hi))
        elif box.kind == "integer":
            assert g.value == box.value, where
        elif box.kind in ("choice", "multi"):
            assert g.correct == box.correct, where
            if g.options:
                assert g.options == box.options, where
        else:
            if g.accept:
                assert g.accept == box.accept, where
            if g.value is not None:
                assert g.value == box.value, where
        if g.points is not None and fmt != "moodle":
            # the HTML and LaTeX keys print points to 6 significant digits
            assert math.isclose(g.points, box.points, rel_tol=1e-5), (where, g.points, box.points)


@pytest.mark.parametrize("fmt", EXPORTS)
def test_numerical_intervals_match_seqquiz_grading_on_both_sides_of_each_bound(fmt: str) -> None:
    """Responses just inside and just outside every bound the format accepts get the same
    verdict from the format's own rule and from seqquiz. Exact formats are probed at the bound
    and one float step outside it; Moodle (14 stored digits, its own slack) 1e-13 away."""
    got = read(fmt)
    rule = RULES[fmt]
    probes = 0
    for (vid, key), box in expected().items():
        if box.kind != "number":
            continue
        ranges = got[(vid, key)].ranges
        accepts = [rule(*args) for args in ranges]

        def fmt_accepts(s: float, accepts: list[Any] = accepts) -> bool:
            return any(a(s) for a in accepts)

        for args in ranges:
            for b, out in zip(bounds_of(args, fmt), (-math.inf, math.inf), strict=True):
                if fmt in ("moodle", "gift"):
                    d = 1e-13 * max(1.0, abs(b))
                    inside, outside = b - math.copysign(d, out), b + math.copysign(d, out)
                elif box.index:  # a vector entry: seqquiz compares |s - r| <= w, not s <= r + w
                    inside = outside = b
                    for _ in range(4):
                        inside, outside = math.nextafter(inside, -out), math.nextafter(outside, out)
                else:
                    inside, outside = b, math.nextafter(b, out)
                for s in (inside, outside):
                    assert fmt_accepts(s) == seqquiz_accepts(box, s), (fmt, vid, key, s, args)
                    probes += 1
                assert fmt_accepts(inside), (fmt, vid, key, inside)
    assert probes > 40


@pytest.mark.parametrize("fmt", ["moodle", "gift", "qti21"])
def test_multiselect_fractions_give_seqquiz_partial_credit(fmt: str) -> None:
    """Sum of the picked options' fractions, clamped to [0, 1] (Moodle; QTI mapResponse with
    bounds 0 and 1) equals MultiSelectAnswer's score for every possible selection."""
    got = read(fmt)
    checked = 0
    for (vid, key), box in expected().items():
        if box.kind != "multi":
            continue
        fr = got[(vid, key)].fractions
        for k in range(len(box.options) + 1):
            for picked in itertools.combinations(box.options, k):
                lms = min(1.0, max(0.0, sum(fr[o] for o in picked)))
                ours = box.spec.grade([o for o in picked if o in box.spec.options]).score
                if box.spec.value and "none of these" in picked:
                    # seqquiz refuses "none" with options and scores "none" alone 0.
                    assert lms == 0.0, (fmt, picked)
                    continue
                if not box.spec.value and "none of these" not in picked:
                    # The documented difference: an empty answer is given by picking "none of
                    # these"; without it a selection scores nothing in the LMS.
                    assert lms == 0.0
                    continue
                assert abs(lms - ours) < 1e-6, (fmt, picked, lms, ours)
                checked += 1
    assert checked


def test_student_versions_carry_no_answers() -> None:
    page = export("html", answer_key=False).decode()
    assert "data-value" not in page and 'class="key"' not in page
    assert "Worked solution" not in page
    tex = export("latex", answer_key=False).decode()
    assert "seqquiz-key" not in tex and "Worked solution" not in tex
    for v in week7()[1]:
        for spec in v.parts.values():
            # Short numbers (0.5) also stand in stems and figures as given values; an answer
            # with 4 or more significant digits would only be there if it leaked.
            if isinstance(spec, NumericAnswer) and len(common.num(spec.value).strip("-0.")) >= 4:
                assert common.num(spec.value) not in page and common.num(spec.value) not in tex


@pytest.mark.parametrize("fmt", EXPORTS)
def test_exports_are_byte_identical(fmt: str) -> None:
    title, variants = week7()
    info = SetInfo(title, True)
    first = FORMATS[fmt].write(variants, info)
    ps = problem_set.load(ROOT / "examples" / "week7.toml")
    again = FORMATS[fmt].write(problem_set.build(ps), info)
    assert first == again
    if FORMATS[fmt].binary:
        z = _zip(first)
        assert z.namelist() == sorted(z.namelist())
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
