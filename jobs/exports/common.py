"""What every exporter shares: a variant's answer boxes ("blanks") with their exact accepted
intervals, the stem without its parts list, number formatting and deterministic zips."""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any

from generators import Variant
from grader import AnswerSpec
from grader.answers import (
    NONE_OF_THESE,
    BitStringAnswer,
    ChoiceAnswer,
    IntSequenceAnswer,
    MultiSelectAnswer,
    NumericAnswer,
    VectorAnswer,
)
from grader.tolerance import Tolerance

# Moodle widens every numerical tolerance by 10^-precision x max(1, |answer|), with PHP's
# default precision of 14 (question/type/numerical/question.php, get_tolerance_interval).
MOODLE_SLACK = 1e-14
# Moodle stores answers and tolerances as PHP floats turned into strings, which keeps 14
# significant digits; numbers written with more would be rounded on import.
MOODLE_DIGITS = 14
# Moodle accepts only these grade fractions on import (question_bank::fraction_options_full),
# matched within 1e-5; a multiple-answer fraction outside the list fails the import.
MOODLE_FRACTIONS = (
    1.0,
    0.9,
    0.8333333,
    0.8,
    0.75,
    0.7,
    0.6666667,
    0.6,
    0.5,
    0.4,
    0.3333333,
    0.3,
    0.25,
    0.2,
    0.1666667,
    0.1428571,
    0.125,
    0.1111111,
    0.1,
    0.05,
    0.0,
)
# A fixed timestamp makes zips byte-identical from run to run (the zip epoch).
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class BlankKind(StrEnum):
    """How an LMS asks for one answer box."""

    NUMBER = "number"  # a real number with accepted intervals
    INTEGER = "integer"  # an exact integer (a position of a state path)
    CHOICE = "choice"  # one option
    MULTI = "multi"  # a set of options, partial credit
    TEXT = "text"  # a string matched exactly (bits; kinds an LMS cannot grade)


@dataclass(frozen=True, slots=True)
class Range:
    """A closed accepted interval, kept as reference and half-width so that `lo`/`hi` are the
    very floats `Tolerance.interval` computes."""

    center: float
    half: float

    @property
    def lo(self) -> float:
        return self.center - self.half

    @property
    def hi(self) -> float:
        return self.center + self.half


@dataclass(frozen=True, slots=True)
class Blank:
    """One answer box of a part: a whole scalar part, or one entry of a vector or path."""

    part: str
    index: tuple[int, ...]
    kind: BlankKind
    weight: float  # the points this box carries
    value: Any  # the reference: float, int, option id, tuple of option ids, or text
    ranges: tuple[Range, ...] = ()
    options: tuple[str, ...] = ()
    explanations: Mapping[str, str] = field(default_factory=dict)
    accept: tuple[str, ...] = ()  # TEXT: the strings that score
    graded_exactly: bool = True  # False: seqquiz grades more leniently than exact text

    @property
    def key(self) -> str:
        """An identifier unique within the variant: `h_2`, `alpha_1_0`, `A_0_1`."""
        return self.part + "".join(f"_{i}" for i in self.index)

    @property
    def suffix(self) -> str:
        """How a person names the entry: `[0]`, `[0][1]`, or nothing."""
        return "".join(f"[{i}]" for i in self.index)

    @property
    def correct(self) -> tuple[str, ...]:
        """The options that score (CHOICE: one; MULTI: all correct ones)."""
        if self.kind is BlankKind.CHOICE:
            return (self.value,)
        if self.kind is BlankKind.MULTI:
            return tuple(self.value)
        return ()


@dataclass(frozen=True, slots=True)
class Part:
    """An asked part as the exporters show it: letter, label, prompt and its blanks."""

    id: str
    letter: str
    label: str
    kind: str
    points: float
    prompt: str  # Markdown with LaTeX, without the `[id]` tag
    blanks: tuple[Blank, ...]
    spec: AnswerSpec


# A printed bound is off the grader's by at most this fraction of the interval's half-width, so
# a reader who trusts the key is never more than a hair from the grader's verdict.
KEY_BOUND_ERROR = 1e-4


def bound_text(x: float, half: float) -> str:
    """A bound of an accepted interval as printed in a key: enough decimals that it is within
    KEY_BOUND_ERROR x half of the exact bound (rounding to the answer's own precision would print
    the 6 significant digits of 0.6410 +- 0.0114 as a narrower or wider interval than the grader's)."""
    if half <= 0:
        return plain(float(x))
    digits = max(0, math.ceil(-math.log10(2 * KEY_BOUND_ERROR * half)))
    text = f"{x:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def interval_text(r: Range) -> str:
    """`[lo, hi]` as the keys print an accepted interval."""
    return f"[{bound_text(r.lo, r.half)}, {bound_text(r.hi, r.half)}]"


def ranges_for(tol: Tolerance, refs: Iterable[float]) -> tuple[Range, ...]:
    out: list[Range] = []
    for r in refs:
        rng = Range(float(r), tol.half_width(float(r)))
        if rng not in out:
            out.append(rng)
    return tuple(out)


def _flat(value: Any) -> list[tuple[tuple[int, ...], Any]]:
    if value and isinstance(value[0], list | tuple):
        return [((i, j), x) for i, row in enumerate(value) for j, x in enumerate(row)]
    return [((i,), x) for i, x in enumerate(value)]


def _numeric_blanks(pid: str, spec: NumericAnswer, points: float) -> tuple[Blank, ...]:
    rng = ranges_for(spec.tolerance, (spec.value, *spec.also))
    return (Blank(pid, (), BlankKind.NUMBER, points, spec.value, rng),)


def _vector_blanks(pid: str, spec: VectorAnswer, points: float) -> tuple[Blank, ...]:
    entries = _flat(spec.value)
    alts = [dict(_flat(a)) for a in spec.also]
    w = points / len(entries)
    return tuple(
        Blank(
            pid,
            idx,
            BlankKind.NUMBER,
            w,
            float(x),
            ranges_for(spec.tolerance, (x, *(a[idx] for a in alts))),
        )
        for idx, x in entries
    )


def _choice_blanks(pid: str, spec: ChoiceAnswer, points: float) -> tuple[Blank, ...]:
    return (
        Blank(
            pid,
            (),
            BlankKind.CHOICE,
            points,
            spec.value,
            options=spec.options,
            explanations=dict(spec.explanations),
        ),
    )


def _multi_blanks(pid: str, spec: MultiSelectAnswer, points: float) -> tuple[Blank, ...]:
    # "none of these" on every multi-select: an LMS needs an option worth 100 % for the empty
    # answer, and offered only then it would tell the answer.
    value, options = tuple(spec.value) or (NONE_OF_THESE,), (*spec.options, NONE_OF_THESE)
    return (
        Blank(
            pid,
            (),
            BlankKind.MULTI,
            points,
            value,
            options=options,
            explanations=dict(spec.explanations),
        ),
    )


def _sequence_blanks(pid: str, spec: IntSequenceAnswer, points: float) -> tuple[Blank, ...]:
    w = points / len(spec.value)
    return tuple(Blank(pid, (i,), BlankKind.INTEGER, w, int(v)) for i, v in enumerate(spec.value))


def _bits_blanks(pid: str, spec: BitStringAnswer, points: float) -> tuple[Blank, ...]:
    # seqquiz ignores leading zeros: accept the bits as given and without them.
    stripped = spec.value.lstrip("0") or "0"
    accept = tuple(dict.fromkeys((spec.value, stripped)))
    return (Blank(pid, (), BlankKind.TEXT, points, spec.value, accept=accept),)


def _text_blanks(pid: str, spec: AnswerSpec, points: float) -> tuple[Blank, ...]:
    canonical = canonical_text(spec)
    return (
        Blank(
            pid,
            (),
            BlankKind.TEXT,
            points,
            canonical,
            accept=(canonical,),
            graded_exactly=False,
        ),
    )


# The one table exporters look a kind up in: `spec.kind` -> its answer boxes. A kind missing here
# (e.g. a symbolic expression) becomes one exact-text box with its canonical answer, marked as
# graded more leniently by seqquiz itself.
BLANKS: dict[str, Callable[[str, Any, float], tuple[Blank, ...]]] = {
    "numeric": _numeric_blanks,
    "vector": _vector_blanks,
    "choice": _choice_blanks,
    "multiselect": _multi_blanks,
    "int_sequence": _sequence_blanks,
    "bits": _bits_blanks,
}


def blanks_for(pid: str, spec: AnswerSpec, points: float) -> tuple[Blank, ...]:
    """The answer boxes of one part, looked up by its kind in `BLANKS`."""
    return BLANKS.get(spec.kind, _text_blanks)(pid, spec, points)


def canonical_text(spec: AnswerSpec) -> str:
    """The reference answer of any kind as one line of text."""
    try:
        value = spec.to_json().get("value")
    except NotImplementedError:  # pragma: no cover - every kind implements to_json
        value = getattr(spec, "value", "")
    return plain(value)


def plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(plain(v) for v in value) + "]"
    return str(value)


def letter(i: int) -> str:
    return chr(ord("a") + i) if i < 26 else str(i + 1)


def prompt_for(label: str, spec: AnswerSpec) -> str:
    """The words of one part in Markdown, without the `[id]` tag: the kind's own prompt."""
    return spec.prompt(label)


def parts_of(v: Variant) -> tuple[Part, ...]:
    out = []
    for i, (pid, spec) in enumerate(v.parts.items()):
        pts = float(v.points.get(pid, 1.0))
        label = v.labels.get(pid, pid)
        out.append(
            Part(
                pid,
                letter(i),
                label,
                spec.kind,
                pts,
                prompt_for(label, spec),
                blanks_for(pid, spec, pts),
                spec,
            )
        )
    return tuple(out)


def stem_body(v: Variant) -> str:
    """The stem without the list of parts `make_variant` appends (exporters lay out their own
    parts, each with its answer box); a variant made by hand with a stem only is all body."""
    return v.body or v.stem


def total_points(parts: Sequence[Part]) -> float:
    return sum(p.points for p in parts)


# Characters XML 1.0 cannot hold at all (lxml refuses them): C0 controls but tab, LF and CR,
# lone surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def title_line(title: str) -> str:
    """A set's title for a one-line slot (an XML attribute or comment, a GIFT comment or
    category line): characters XML forbids dropped, line breaks and runs of space made one space.
    Problem-set files refuse such titles up front; this keeps other callers' titles harmless."""
    return " ".join(_NOT_XML.sub("", title).split())


def xml_comment(text: str) -> str:
    """Text an XML comment can hold: no `--` inside and no `-` at the end."""
    return re.sub("-(?=-)", "- ", title_line(text)).removesuffix("-")


def variant_name(v: Variant, index: int) -> str:
    """A short name, unique within the set (two entries may share a template and a seed):
    position, template, seed; used for question names."""
    seed = f" seed {v.seed}" if v.seed is not None else ""
    return f"Q{index + 1:02d} {v.template}{seed}"


def variant_id(v: Variant, index: int) -> str:
    """An XML NCName unique within an export: `q0007_rnn-forward_s12`."""
    seed = "p" if v.seed is None else f"s{v.seed}"
    return f"q{index + 1:04d}_{re.sub(r'[^A-Za-z0-9_.-]', '_', v.template)}_{seed}"


def by_template(variants: Sequence[Variant]) -> dict[str, list[tuple[int, Variant]]]:
    """Variants grouped by problem (a problem-set entry, else their template) in order of first
    appearance, each with its set position: a random draw from a group is one problem's variant."""
    groups: dict[str, list[tuple[int, Variant]]] = {}
    for i, v in enumerate(variants):
        groups.setdefault(v.group or v.template, []).append((i, v))
    return groups


# -- numbers ----------------------------------------------------------------------------------


def num(x: float) -> str:
    """A float as the shortest text that reads back as the same float (for ranges)."""
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


def num14(x: float) -> str:
    """A float with at most 14 significant digits: what Moodle keeps of it."""
    text = f"{x:.{MOODLE_DIGITS}g}"
    return "0" if text in ("-0", "0") else text


def moodle_answer(r: Range) -> tuple[str, str]:
    """Moodle numerical answer and tolerance whose accepted interval is `r`: the answer is the
    reference at Moodle's 14 digits, and the tolerance is the half-width less Moodle's own
    1e-14 x max(1, |answer|) widening, so that Moodle's inclusive interval is seqquiz's."""
    c = float(num14(r.center))
    tol = r.half - MOODLE_SLACK * max(1.0, abs(c))
    return num14(c), num14(max(tol, 0.0))


def moodle_interval(answer: str, tolerance: str) -> tuple[float, float]:
    """The interval Moodle accepts for a numerical answer (question.php, nominal tolerance)."""
    c = float(answer)
    t = abs(float(tolerance)) + MOODLE_SLACK * max(1.0, abs(c))
    return (c - t, c + t)


def moodle_fraction(f: float) -> str:
    """A grade fraction as a Moodle percentage, on Moodle's list of allowed grades."""
    sign = -1.0 if f < 0 else 1.0
    best = min(MOODLE_FRACTIONS, key=lambda g: abs(g - abs(f)))
    pct = sign * best * 100
    text = f"{pct:.5f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def multi_fractions(options: Sequence[str], correct: Sequence[str]) -> dict[str, float]:
    """Per-option fractions that make an LMS's "sum of picked fractions, clamped to [0, 1]" equal
    seqquiz's multi-select score max(0, hits/|correct| - false picks/|wrong|)."""
    right = set(correct)
    wrong = [o for o in options if o not in right and o != NONE_OF_THESE]
    # When nothing qualifies seqquiz scores any pick 0, so one wrong option cancels "none";
    # "none" picked with options is refused by seqquiz, so it cancels them all.
    penalty = 1.0 if right == {NONE_OF_THESE} or not wrong else 1.0 / len(wrong)
    out = {}
    for o in options:
        if o in right:
            out[o] = 1.0 / len(right)
        elif o == NONE_OF_THESE:
            out[o] = -1.0
        else:
            out[o] = -penalty
    return out


def integer_weights(weights: Sequence[float]) -> list[int]:
    """Positive integers in the same ratios as `weights` (Moodle cloze marks are integers)."""
    fracs = [Fraction(w).limit_denominator(1000) for w in weights]
    scale = math.lcm(*(f.denominator for f in fracs))
    ints = [max(1, int(f * scale)) for f in fracs]
    g = math.gcd(*ints)
    return [n // g for n in ints]


# -- files ------------------------------------------------------------------------------------


def write_zip(files: Mapping[str, bytes]) -> bytes:
    """A zip that is byte-identical for identical content: sorted names, one fixed timestamp,
    fixed permissions and creator system."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            zf.writestr(info, files[name], compresslevel=6)
    return buf.getvalue()
