"""The stated tolerance is the applied one: for every template, every place that states what is
accepted (the stem's words, the Markdown, HTML and LaTeX keys, each LMS export) is read back as
a person or a platform reads it, and the grader's verdict just inside and just outside each end
of that interval must agree with it."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

import pytest
from lxml import html as lhtml

from generators import REGISTRY, Template, Variant, make_variant
from grader.answers import NumericAnswer, VectorAnswer
from jobs.exports import FORMATS, common
from jobs.formats import SetInfo
from tests.jobs.exports.readers import READERS, RULES, bounds_of, boxes_of, seqquiz_accepts

TEMPLATES = list(REGISTRY)
IDS = [t.id for t in TEMPLATES]
SEEDS = range(12)
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?"


@cache
def variants(template: Template) -> tuple[Variant, ...]:
    return tuple(make_variant(template, seed) for seed in SEEDS)


def numeric_parts(v: Variant) -> Iterable[tuple[str, Any]]:
    return ((pid, s) for pid, s in v.parts.items() if isinstance(s, NumericAnswer | VectorAnswer))


def entries(spec: Any) -> list[tuple[tuple[int, ...], float]]:
    """(index, reference) of every number a part asks for."""
    if isinstance(spec, NumericAnswer):
        return [((), spec.value)]
    value = spec.to_json()["value"]
    if isinstance(value[0], list):
        return [((i, j), x) for i, row in enumerate(value) for j, x in enumerate(row)]
    return [((i,), x) for i, x in enumerate(value)]


def grades_correct(spec: Any, index: tuple[int, ...], s: float) -> bool:
    """The grader's verdict on s typed for one entry (the other entries typed exactly)."""
    typed = f"{s:.17f}"
    if isinstance(spec, NumericAnswer):
        return spec.grade(typed).score == 1.0
    value = spec.to_json()["value"]
    if len(index) == 2:
        value[index[0]][index[1]] = typed
    else:
        value[index[0]] = typed
    return spec.grade(value).score == 1.0


def hair(lo: float, hi: float) -> float:
    """Small against the interval, large against float error and the keys' printed digits."""
    return 1e-3 * (hi - lo) / 2 + 1e-11 * max(1.0, abs(lo), abs(hi))


def check_interval(
    where: str,
    spec: Any,
    index: tuple[int, ...],
    stated: list[tuple[float, float]],
    also_ok: Callable[[float], bool] = lambda s: False,
) -> int:
    """Probe both ends of each stated interval a hair inside and a hair outside; the grader must
    accept exactly what the statement accepts (`also_ok`: accepted for a reason stated elsewhere)."""
    probes = 0
    for lo, hi in stated:
        if hi <= lo:
            continue
        h = hair(lo, hi)
        for s in (lo + h, hi - h, lo - h, hi + h):
            says = any(a <= s <= b for a, b in stated) or also_ok(s)
            assert grades_correct(spec, index, s) == says, (where, index, (lo, hi), s, says)
            probes += 1
    return probes


# -- the stem's words ------------------------------------------------------------------------------


def half_width_from_words(words: str, r: float) -> float:
    """What a student reads the tolerance words of a part to allow around the answer r."""
    if m := re.search(rf"to \d+ decimal places? \(±({NUMBER})\)", words):
        return float(m[1])
    if m := re.search(r"to (\d+) significant figures?", words):
        return 0.0 if r == 0 else 0.5 * 10.0 ** (math.floor(math.log10(abs(r))) - int(m[1]) + 1)
    if m := re.search(rf"within ±\(({NUMBER}) \+ ({NUMBER})% of the correct value's size\)", words):
        return float(m[1]) + float(m[2]) / 100 * abs(r)
    if m := re.search(rf"within ±({NUMBER})% of the correct value", words):
        return float(m[1]) / 100 * abs(r)
    if m := re.search(rf"within ({NUMBER})% or ±({NUMBER})", words):
        # How "1% or ±0.01" reads: whichever allows more.
        return max(float(m[1]) / 100 * abs(r), float(m[2]))
    if m := re.search(rf"within ±({NUMBER})", words):
        return float(m[1])
    raise AssertionError(f"cannot read a tolerance from {words!r}")


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_the_stems_words_state_the_interval_the_grader_applies(template: Template) -> None:
    for v in variants(template):
        for pid, spec in numeric_parts(v):
            (line,) = [ln for ln in v.stem.splitlines() if f"`[{pid}]`" in ln]
            for index, r in entries(spec):
                w = half_width_from_words(line, r)
                # The stated rounded values of the stem are accepted too (SPEC.md).
                alts = [spec.tolerance.interval(a) for a in alt_refs(spec, index)]
                check_interval(
                    f"{v.template} seed {v.seed} {pid}: {line}",
                    spec,
                    index,
                    [(r - w, r + w)],
                    lambda s, alts=alts: any(a <= s <= b for a, b in alts),
                )


def alt_refs(spec: Any, index: tuple[int, ...]) -> list[float]:
    if isinstance(spec, NumericAnswer):
        return list(spec.also)
    out = []
    for a in spec.to_json().get("also", []):
        out.append(a[index[0]][index[1]] if len(index) == 2 else a[index[0]])
    return out


# -- the keys as printed ---------------------------------------------------------------------------

INTERVAL = re.compile(rf"\[({NUMBER}), ({NUMBER})\]")


def intervals(text: str) -> list[tuple[float, float]]:
    return [(float(a), float(b)) for a, b in INTERVAL.findall(text)]


def key_markdown(v: Variant) -> dict[tuple[str, tuple[int, ...]], list[tuple[float, float]]]:
    text = FORMATS["markdown"].write([v], SetInfo("t", answer_key=True)).decode()
    out = {}
    for pid, spec in numeric_parts(v):
        (line,) = [ln for ln in text.splitlines() if ln.startswith(f"- `{pid}` = ")]
        _, _, accepted = line.partition("; accepted ")
        for index, _ in entries(spec):
            if index:
                suffix = re.escape("".join(f"[{i}]" for i in index))
                m = re.search(rf"(?:^|, ){suffix} ((?:\[[^\]]*\](?: or )?)+)", accepted)
                assert m, (pid, index, line)
                out[(pid, index)] = intervals(m[1])
            else:
                out[(pid, index)] = intervals(accepted)
    return out


def key_html(v: Variant) -> dict[tuple[str, tuple[int, ...]], list[tuple[float, float]]]:
    doc = lhtml.fromstring(FORMATS["html"].write([v], SetInfo("t", answer_key=True)))
    out = {}
    for row in doc.xpath("//div[@class='key']//tr[@data-part]"):
        index = tuple(int(i) for i in re.findall(r"\[(\d+)\]", row.get("data-entry")))
        # What a reader sees in the "Accepted" column, not the data attributes.
        out[(row.get("data-part"), index)] = intervals(row.xpath("./td")[2].text_content())
    return out


def key_latex(v: Variant) -> dict[tuple[str, tuple[int, ...]], list[tuple[float, float]]]:
    text = FORMATS["latex"].write([v], SetInfo("t", answer_key=True)).decode()
    out = {}
    for pid, spec in numeric_parts(v):
        for index, _ in entries(spec):
            letter = re.escape(f"{v_letter(v, pid)}")
            suffix = re.escape("".join(f"[{i}]" for i in index))
            (row,) = re.findall(rf"^\({letter}\){suffix} & [^&]* & ([^&]*) & ", text, re.M)
            out[(pid, index)] = intervals(row)
    return out


def v_letter(v: Variant, pid: str) -> str:
    return common.letter(list(v.parts).index(pid))


KEYS = {"markdown": key_markdown, "html": key_html, "latex": key_latex}


@pytest.mark.parametrize("key", sorted(KEYS))
@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_printed_keys_list_exactly_the_accepted_intervals(template: Template, key: str) -> None:
    probes = 0
    for v in variants(template):
        printed = KEYS[key](v)
        for pid, spec in numeric_parts(v):
            for index, r in entries(spec):
                stated = printed[(pid, index)]
                assert stated, (key, v.seed, pid, index)
                # Every accepted answer is listed, the exact one first.
                assert len(stated) == len({r, *alt_refs(spec, index)}), (key, pid, stated)
                probes += check_interval(
                    f"{key} {v.template} seed {v.seed} {pid}", spec, index, stated
                )
    if any(True for v in variants(template) for _ in numeric_parts(v)):
        assert probes > 0


# -- the LMS exports, under each platform's own acceptance rule ------------------------------------

LMS = ("moodle", "gift", "qti12", "qti21")


@pytest.mark.parametrize("fmt", LMS)
def test_lms_exports_accept_the_graders_interval_for_every_template(fmt: str) -> None:
    vs = [v for t in TEMPLATES for v in variants(t)[:4]]
    got = READERS[fmt](FORMATS[fmt].write(vs, SetInfo("t", answer_key=True)), vs)
    probes = 0
    for i, v in enumerate(vs):
        vid = common.variant_id(v, i)
        for key, box in boxes_of(v).items():
            if box.kind != "number":
                continue
            accepts = [RULES[fmt](*args) for args in got[(vid, key)].ranges]
            assert len(accepts) == len(box.ranges), (fmt, vid, key)
            for args in got[(vid, key)].ranges:
                lo, hi = bounds_of(args, fmt)
                h = hair(lo, hi)
                for s in (lo + h, hi - h, lo - h, hi + h):
                    assert any(a(s) for a in accepts) == seqquiz_accepts(box, s), (fmt, vid, key, s)
                    probes += 1
    assert probes > 100


def test_the_issues_kalman_example_reads_as_it_is_graded() -> None:
    """lds-kalman's means: -0.3455 for -0.3335 is right by |s - r| <= 0.01 + 1% |r| (SPEC.md),
    and the words now say so; "within 1% or ±0.01" read it as wrong."""
    from grader import NumericAnswer, Tolerance

    spec = NumericAnswer(-0.3335, Tolerance.relabs(rtol=0.01, atol=0.01))
    w = half_width_from_words(spec.tolerance.describe(), -0.3335)
    assert math.isclose(w, 0.013335)
    assert spec.grade("-0.3455").score == 1.0
    assert spec.grade(f"{-0.3335 - w - 1e-6:.7f}").score == 0.0
