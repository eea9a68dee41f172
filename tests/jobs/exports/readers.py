"""What the export tests share: each exporter's output read back by an independent reader
(`READERS`), the answer boxes a variant's own specs define (`boxes_of`), each LMS's acceptance
rule (`RULES`), the variants every export test uses and the official schemas."""

from __future__ import annotations

import html as htmllib
import io
import json
import math
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lxml import etree
from lxml import html as lhtml

from generators import Variant
from grader import Status
from grader.answers import (
    BitStringAnswer,
    ChoiceAnswer,
    IntSequenceAnswer,
    MultiSelectAnswer,
    NumericAnswer,
    VectorAnswer,
)
from jobs import problem_set
from jobs.exports import FORMATS, common
from jobs.formats import SetInfo
from tests.jobs.kinds import every_kind, figure_variants

ROOT = Path(__file__).resolve().parents[3]

SCHEMAS = ROOT / "tests" / "data" / "schemas"

XML = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False, huge_tree=True)

INFO = SetInfo("Week 7 / test & <checks>", answer_key=True)

EXPORTS = ("moodle", "gift", "qti12", "qti21", "html", "latex")


@dataclass
class Box:
    """One answer box as the part's spec defines it (independent of the exporters' model)."""

    kind: str  # number | integer | choice | multi | text
    value: Any
    ranges: list[tuple[float, float]] = field(default_factory=list)
    options: tuple[str, ...] = ()
    correct: frozenset[str] = frozenset()
    accept: frozenset[str] = frozenset()
    points: float = 1.0
    spec: Any = None
    index: tuple[int, ...] = ()


def spec_boxes(pid: str, spec: Any, points: float) -> dict[str, Box]:
    if isinstance(spec, NumericAnswer):
        rs = [spec.tolerance.interval(r) for r in (spec.value, *spec.also)]
        return {pid: Box("number", spec.value, list(dict.fromkeys(rs)), points=points, spec=spec)}
    if isinstance(spec, VectorAnswer):
        value = spec.to_json()["value"]
        alts = [a for a in spec.to_json().get("also", [])]
        cells = (
            [((i, j), x) for i, row in enumerate(value) for j, x in enumerate(row)]
            if isinstance(value[0], list)
            else [((i,), x) for i, x in enumerate(value)]
        )
        out = {}
        for idx, x in cells:
            refs = [x] + [a[idx[0]][idx[1]] if len(idx) == 2 else a[idx[0]] for a in alts]
            rs = list(dict.fromkeys(spec.tolerance.interval(r) for r in refs))
            key = pid + "".join(f"_{i}" for i in idx)
            out[key] = Box("number", x, rs, points=points / len(cells), spec=spec, index=idx)
        return out
    if isinstance(spec, ChoiceAnswer):
        return {
            pid: Box(
                "choice",
                spec.value,
                options=spec.options,
                correct=frozenset([spec.value]),
                points=points,
                spec=spec,
            )
        }
    if isinstance(spec, MultiSelectAnswer):
        # Every multi-select offers "none of these", the empty answer's option (docs/lms.md).
        options = (*spec.options, "none of these")
        correct = frozenset(spec.value or ("none of these",))
        return {
            pid: Box(
                "multi", spec.value, options=options, correct=correct, points=points, spec=spec
            )
        }
    if isinstance(spec, IntSequenceAnswer):
        n = len(spec.value)
        return {
            f"{pid}_{i}": Box("integer", v, points=points / n, spec=spec, index=(i,))
            for i, v in enumerate(spec.value)
        }
    if isinstance(spec, BitStringAnswer):
        accept = frozenset({spec.value, spec.value.lstrip("0") or "0"})
        return {pid: Box("text", spec.value, accept=accept, points=points, spec=spec)}
    value = spec.to_json()["value"]
    return {pid: Box("text", value, accept=frozenset([value]), points=points, spec=spec)}


def boxes_of(v: Variant) -> dict[str, Box]:
    out: dict[str, Box] = {}
    for pid, spec in v.parts.items():
        out.update(spec_boxes(pid, spec, float(v.points.get(pid, 1.0))))
    return out


def seqquiz_accepts(box: Box, s: float) -> bool:
    """seqquiz's own verdict on a typed response s for this box."""
    if isinstance(box.spec, NumericAnswer):
        return box.spec.grade(repr(s)).status is Status.CORRECT
    value = box.spec.to_json()["value"]
    if len(box.index) == 2:
        value[box.index[0]][box.index[1]] = repr(s)
    else:
        value[box.index[0]] = repr(s)
    return box.spec.grade(value).score == 1.0


@dataclass
class Got:
    """One answer box as read back from an export."""

    kind: str
    value: Any = None
    ranges: list[Any] = field(default_factory=list)  # format-specific accepted ranges
    options: tuple[str, ...] = ()
    correct: frozenset[str] = frozenset()
    fractions: dict[str, float] = field(default_factory=dict)
    accept: frozenset[str] = frozenset()
    points: float | None = None


def moodle_rule(answer: str, tolerance: str) -> Callable[[float], bool]:
    """question/type/numerical/question.php: nominal tolerance widened by 1e-14 max(1, |c|),
    inclusive; Moodle keeps answer and tolerance as 14-significant-digit strings."""
    c = float(f"{float(answer):.14g}")
    t = abs(float(f"{float(tolerance):.14g}")) + 10.0**-14 * max(1.0, abs(c))
    lo, hi = c - t, c + t
    return lambda s: lo <= s <= hi


def canvas_rule(start: str, end: str) -> Callable[[float], bool]:
    """Canvas numerical range answers: BigDecimal(start.to_s) <= BigDecimal(response) <= ..."""
    lo, hi = Decimal(repr(float(start))), Decimal(repr(float(end)))
    return lambda s: lo <= Decimal(repr(s)) <= hi


def float_rule(lo: str, hi: str) -> Callable[[float], bool]:
    """QTI 2.1 gte/lte on a float response (inclusive), and the key's printed ranges."""
    a, b = float(lo), float(hi)
    return lambda s: a <= s <= b


def bounds_of(rule_args: tuple[str, str], fmt: str) -> tuple[float, float]:
    if fmt in ("moodle", "gift"):
        c = float(rule_args[0])
        t = abs(float(rule_args[1])) + 10.0**-14 * max(1.0, abs(c))
        return c - t, c + t
    return float(rule_args[0]), float(rule_args[1])


RULES = {
    "moodle": moodle_rule,
    "gift": moodle_rule,
    "qti12": canvas_rule,
    "qti21": float_rule,
    "html": float_rule,
    "latex": float_rule,
}


def _cloze_unescape(text: str) -> str:
    return htmllib.unescape(text.replace(r"\}", "}").replace(r"\#", "#")).replace(r"\*", "*")


_CLOZE = re.compile(
    r"\{(\d*):(NUMERICAL|MULTICHOICE_V|MULTIRESPONSE|SHORTANSWER_C):((?:\\.|[^\\}])*)\}"
)


def _cloze_alt(alt: str) -> tuple[str, str]:
    """'=x#fb' or '%50%x#fb' -> (fraction percent, answer)."""
    m = re.match(r"(=|%(-?[0-9]+(?:[.,][0-9]*)?)%)?(.*)", alt, re.S)
    assert m
    frac = "100" if m.group(1) == "=" else (m.group(2) or "0")
    answer = re.split(r"(?<!\\)#", m.group(3), maxsplit=1)[0]
    return frac, answer


def read_cloze(text: str) -> list[Got]:
    out = []
    for m in _CLOZE.finditer(text):
        weight, qtype, body = int(m.group(1)), m.group(2), m.group(3)
        alts = [_cloze_alt(a) for a in re.split(r"(?<!\\)~", body)]
        if qtype == "NUMERICAL":
            pairs = [a.split(":") for _, a in alts]
            if all(p[1] == "0" and re.fullmatch(r"-?\d+", p[0]) for p in pairs) and len(pairs) == 1:
                out.append(Got("integer", int(pairs[0][0]), points=weight))
            else:
                out.append(Got("number", ranges=[tuple(p) for p in pairs], points=weight))
        elif qtype == "MULTICHOICE_V":
            opts = tuple(_cloze_unescape(a) for _, a in alts)
            correct = frozenset(_cloze_unescape(a) for f, a in alts if f == "100")
            out.append(Got("choice", options=opts, correct=correct, points=weight))
        elif qtype == "MULTIRESPONSE":
            fr = {_cloze_unescape(a): float(f) / 100 for f, a in alts}
            total = sum(f for f in fr.values() if f > 0)  # Moodle rescales positives to sum 1
            fr = {o: (f / total if f > 0 else f) for o, f in fr.items()}
            out.append(
                Got(
                    "multi",
                    options=tuple(fr),
                    correct=frozenset(o for o, f in fr.items() if f > 0),
                    fractions=fr,
                    points=weight,
                )
            )
        else:
            out.append(
                Got("text", accept=frozenset(_cloze_unescape(a) for _, a in alts), points=weight)
            )
    return out


def read_moodle(data: bytes, variants: Sequence[Variant]) -> dict[tuple[str, str], Got]:
    root = etree.fromstring(data, XML)
    out: dict[tuple[str, str], Got] = {}
    by_id = {common.variant_id(v, i): v for i, v in enumerate(variants)}
    category = None
    categories: dict[str, str] = {}
    for q in root.iter("question"):
        qtype = q.get("type")
        if qtype == "category":
            category = q.findtext("category/text")
            continue
        vid = q.findtext("idnumber")
        v = by_id[vid]
        categories[vid] = category
        keys = list(boxes_of(v))
        text = q.findtext("questiontext/text")
        if q.find("questiontext/file") is not None:
            assert "@@PLUGINFILE@@/" in text
        mark = float(q.findtext("defaultgrade"))
        if qtype == "cloze":
            got = read_cloze(text)
            assert len(got) == len(keys), vid
            total = sum(g.points for g in got)
            for k, g in zip(keys, got, strict=True):
                g.points = g.points / total  # share of the question's mark
                out[(vid, k)] = g
            continue
        (key,) = keys
        answers = q.findall("answer")
        if qtype == "numerical":
            pairs = [(a.findtext("text"), a.findtext("tolerance")) for a in answers]
            if boxes_of(v)[key].kind == "integer":
                out[(vid, key)] = Got("integer", int(pairs[0][0]), points=mark)
            else:
                out[(vid, key)] = Got("number", ranges=pairs, points=mark)
        elif qtype == "multichoice":
            fr = {
                htmllib.unescape(a.findtext("text")): float(a.get("fraction")) / 100
                for a in answers
            }
            single = q.findtext("single") == "true"
            out[(vid, key)] = Got(
                "choice" if single else "multi",
                options=tuple(fr),
                correct=frozenset(o for o, f in fr.items() if f > 0),
                fractions=fr,
                points=mark,
            )
        elif qtype == "shortanswer":
            out[(vid, key)] = Got(
                "text",
                accept=frozenset(a.findtext("text").replace(r"\*", "*") for a in answers),
                points=mark,
            )
        else:  # pragma: no cover - a question type the writer does not make
            raise AssertionError(qtype)
    for vid, cat in categories.items():
        # One category per problem of the set (its group), else per template.
        v = by_id[vid]
        assert cat.endswith("/" + (v.group or v.template)), (vid, cat)
    return out


_GIFT_ESC = {":": ":", "#": "#", "=": "=", "{": "{", "}": "}", "~": "~", "n": "\n", "\\": "\\"}


def gift_unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _GIFT_ESC.get(m.group(1), "\\" + m.group(1)), text)


def _unescaped(text: str, ch: str) -> list[int]:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == ch:
            out.append(i)
        i += 1
    return out


def _split_unescaped(text: str, ch: str) -> list[str]:
    cuts = _unescaped(text, ch)
    pieces, start = [], 0
    for c in cuts:
        pieces.append(text[start:c])
        start = c + 1
    pieces.append(text[start:])
    return pieces


def read_gift(data: bytes, variants: Sequence[Variant]) -> dict[tuple[str, str], Got]:
    text = data.decode()
    questions = [q for q in re.split(r"\n\s*\n", text) if q.strip()]
    order = [(common.variant_id(v, i), k) for i, v in enumerate(variants) for k in boxes_of(v)]
    names = []
    got_list = []
    category = None
    for qtext in questions:
        lines = [ln for ln in qtext.splitlines() if not ln.strip().startswith("//")]
        q = "\n".join(lines).strip()
        if not q:
            continue
        if q.startswith("$CATEGORY:"):
            category = q[len("$CATEGORY:") :].strip()
            continue
        assert q.startswith("::")
        name_end = q.index("::", 2)
        names.append((gift_unescape(q[2:name_end]), category))
        rest = q[name_end + 2 :]
        start = _unescaped(rest, "{")[0]
        end = _unescaped(rest, "}")[0]
        assert len(_unescaped(rest, "{")) == 1 and len(_unescaped(rest, "}")) == 1, "stray brace"
        assert rest.startswith("[html]")
        answer = rest[start + 1 : end]
        answer = answer[: answer.rindex("####")] if "####" in answer else answer
        answer = answer.strip()
        if answer.startswith("#"):
            alts = [a.strip() for a in _split_unescaped(answer[1:], "=") if a.strip()]
            pairs = [tuple(a.split(":")) for a in alts]
            if len(pairs) == 1 and pairs[0][1] == "0" and re.fullmatch(r"-?\d+", pairs[0][0]):
                got_list.append(Got("integer", int(pairs[0][0])))
            else:
                got_list.append(Got("number", ranges=pairs))
        elif _unescaped(answer, "~"):
            single = bool(_unescaped(answer, "="))
            marked = answer.replace("=", "~=") if single else answer
            fr = {}
            for alt in [a.strip() for a in _split_unescaped(marked, "~") if a.strip()]:
                if alt.startswith("="):
                    weight, alt = 1.0, alt[1:]
                else:
                    m = re.match(r"^%(-*[0-9]{1,2}\.?[0-9]*)%", alt)
                    weight = float(m.group(1)) / 100 if m else 0.0
                    alt = alt[m.end() :] if m else alt
                    # Moodle matches imported weights to its list of grades (within 1e-5)
                    if abs(abs(weight) - 1) < 1e-5:
                        weight = math.copysign(1.0, weight)
                option = gift_unescape(_split_unescaped(alt, "#")[0].strip())
                fr[option] = weight
            got_list.append(
                Got(
                    "choice" if single else "multi",
                    options=tuple(fr),
                    correct=frozenset(o for o, f in fr.items() if f > 0),
                    fractions=fr,
                )
            )
        else:
            alts = [a.strip() for a in _split_unescaped(answer, "=") if a.strip()]
            got_list.append(
                Got("text", accept=frozenset(gift_unescape(a).replace(r"\*", "*") for a in alts))
            )
    by_name = {}
    for i, v in enumerate(variants):
        boxes = boxes_of(v)
        letters = {pid: chr(ord("a") + n) for n, pid in enumerate(v.parts)}
        for key, box in boxes.items():
            pid = next(p for p in v.parts if key == p or (key.startswith(p + "_") and box.index))
            where = (
                f" {letters[pid]}{''.join(f'[{j}]' for j in box.index)}" if len(boxes) > 1 else ""
            )
            by_name[common.variant_name(v, i) + where] = (
                common.variant_id(v, i),
                key,
                v.group or v.template,
            )
    assert len(got_list) == len(order) == len(names), (len(got_list), len(order))
    out = {}
    for (name, cat), g in zip(names, got_list, strict=True):
        vid, key, template = by_name[name]
        assert cat.endswith("/" + template), (name, cat)
        out[(vid, key)] = g
    return out


def _zip(data: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(data))


def read_qti12(data: bytes, variants: Sequence[Variant]) -> dict[tuple[str, str], Got]:
    z = _zip(data)
    ns = {"q": "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"}
    manifest = etree.fromstring(z.read("imsmanifest.xml"), XML)
    mns = {"m": "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"}
    (res,) = manifest.xpath("//m:resource[@type='imsqti_xmlv1p2']", namespaces=mns)
    href = res.find("m:file", mns).get("href")
    root = etree.fromstring(z.read(href), XML)
    for path in manifest.xpath("//m:resource[@type='webcontent']/@href", namespaces=mns):
        assert path in z.namelist()
    out: dict[tuple[str, str], Got] = {}
    for i, v in enumerate(variants):
        vid = common.variant_id(v, i)
        boxes = boxes_of(v)
        for key, box in boxes.items():
            iid = vid if len(boxes) == 1 else f"{vid}_{key}"
            (it,) = root.xpath(f"//q:item[@ident='{iid}']", namespaces=ns)
            meta = {
                f.findtext("q:fieldlabel", namespaces=ns): f.findtext("q:fieldentry", namespaces=ns)
                for f in it.iterfind(".//q:qtimetadatafield", ns)
            }
            points = float(meta["points_possible"])
            qtype = meta["question_type"]
            conds = it.findall(".//q:respcondition", ns)
            if qtype == "numerical_question":
                ranges = [
                    (
                        c.findtext(".//q:vargte", namespaces=ns),
                        c.findtext(".//q:varlte", namespaces=ns),
                    )
                    for c in conds
                ]
                if box.kind == "integer":
                    assert ranges == [(str(box.value), str(box.value))]
                    out[(vid, key)] = Got("integer", int(ranges[0][0]), points=points)
                else:
                    out[(vid, key)] = Got("number", ranges=ranges, points=points)
            elif qtype in ("multiple_choice_question", "multiple_answers_question"):
                labels = {
                    lab.get("ident"): lab.findtext(".//q:mattext", namespaces=ns)
                    for lab in it.iterfind(".//q:response_label", ns)
                }
                (cond,) = conds
                picked = {
                    labels[e.text]
                    for e in cond.iterfind(".//q:varequal", ns)
                    if e.getparent().tag != f"{{{ns['q']}}}not"
                }
                out[(vid, key)] = Got(
                    "choice" if qtype == "multiple_choice_question" else "multi",
                    options=tuple(labels.values()),
                    correct=frozenset(picked),
                    points=points,
                )
            else:
                assert qtype == "short_answer_question"
                texts = frozenset(e.text for e in it.iterfind(".//q:varequal", ns))
                out[(vid, key)] = Got("text", accept=texts, points=points)
    return out


def read_qti21(data: bytes, variants: Sequence[Variant]) -> dict[tuple[str, str], Got]:
    z = _zip(data)
    ns = {"q": "http://www.imsglobal.org/xsd/imsqti_v2p1"}
    out: dict[tuple[str, str], Got] = {}
    for i, v in enumerate(variants):
        vid = common.variant_id(v, i)
        it = etree.fromstring(z.read(f"items/{vid}.xml"), XML)
        assert it.get("identifier") == vid
        for img in it.iterfind(".//q:img", ns):
            assert "items/" + img.get("src") in z.namelist()
        rp = it.find("q:responseProcessing", ns)
        for key, box in boxes_of(v).items():
            rid = "RESPONSE_" + key
            decl = it.find(f"q:responseDeclaration[@identifier='{rid}']", ns)
            assert decl is not None, (vid, rid)
            conds = [
                rc
                for rc in rp.iterfind("q:responseCondition", ns)
                if any(var.get("identifier") == rid for var in rc.iterfind(".//q:variable", ns))
                or any(m.get("identifier") == rid for m in rc.iterfind(".//q:mapResponse", ns))
            ]
            assert len(conds) == 1
            add = conds[0].find(".//q:setOutcomeValue/q:sum/q:baseValue", ns)
            prod = conds[0].find(".//q:setOutcomeValue/q:sum/q:product/q:baseValue", ns)
            points = float((add if add is not None else prod).text)
            correct = [e.text for e in decl.iterfind("q:correctResponse/q:value", ns)]
            if box.kind == "number":
                ranges = [
                    (a.find("q:gte/q:baseValue", ns).text, a.find("q:lte/q:baseValue", ns).text)
                    for a in conds[0].iterfind(".//q:or/q:and", ns)
                ]
                out[(vid, key)] = Got("number", float(correct[0]), ranges=ranges, points=points)
            elif box.kind == "integer":
                out[(vid, key)] = Got("integer", int(correct[0]), points=points)
            elif box.kind in ("choice", "multi"):
                inter = it.find(f".//q:choiceInteraction[@responseIdentifier='{rid}']", ns)
                labels = {c.get("identifier"): c.text for c in inter.iterfind("q:simpleChoice", ns)}
                fr = {
                    labels[e.get("mapKey")]: float(e.get("mappedValue"))
                    for e in decl.iterfind("q:mapping/q:mapEntry", ns)
                }
                out[(vid, key)] = Got(
                    box.kind,
                    options=tuple(labels.values()),
                    correct=frozenset(labels[c] for c in correct),
                    fractions=fr,
                    points=points,
                )
            else:
                texts = frozenset(
                    e.text for e in conds[0].iterfind(".//q:stringMatch/q:baseValue", ns)
                )
                out[(vid, key)] = Got("text", correct[0], accept=texts, points=points)
    return out


def _key_of(part: str, entry: str) -> str:
    return part + "".join(f"_{i}" for i in re.findall(r"\[(\d+)\]", entry))


def read_html(data: bytes, variants: Sequence[Variant]) -> dict[tuple[str, str], Got]:
    doc = lhtml.fromstring(data)
    out: dict[tuple[str, str], Got] = {}
    for i, v in enumerate(variants):
        vid = common.variant_id(v, i)
        (sec,) = doc.xpath(f"//section[@id='{vid}']")
        for row in sec.xpath(".//div[@class='key']//tr[@data-part]"):
            key = _key_of(row.get("data-part"), row.get("data-entry"))
            box = boxes_of(v)[key]
            value = row.xpath(".//*[@data-value]")[0].get("data-value")
            points = float(row.xpath("./td")[-1].text_content())
            if box.kind == "number":
                ranges = [(r.get("data-lo"), r.get("data-hi")) for r in row.xpath(".//*[@data-lo]")]
                out[(vid, key)] = Got("number", float(value), ranges=ranges, points=points)
            elif box.kind == "integer":
                out[(vid, key)] = Got("integer", int(value), points=points)
            elif box.kind in ("choice", "multi"):
                out[(vid, key)] = Got(box.kind, correct=frozenset(json.loads(value)), points=points)
            else:
                accepted = frozenset(c.text_content() for c in row.xpath("./td[3]/code"))
                out[(vid, key)] = Got("text", value, accept=accepted, points=points)
    return out


def read_latex(data: bytes, variants: Sequence[Variant]) -> dict[tuple[str, str], Got]:
    text = data.decode()
    out: dict[tuple[str, str], Got] = {}
    for line in re.findall(r"^% seqquiz-key (.*)$", text, re.M):
        vid, key, *fields = line.split(" ")
        kv: dict[str, list[str]] = {}
        for f in fields:
            name, _, value = f.partition("=")
            kv.setdefault(name, []).append(value)
        kind = kv["kind"][0]
        if kind == "number":
            ranges = [tuple(r.split(",")) for r in kv["range"]]
            out[(vid, key)] = Got("number", float(kv["value"][0]), ranges=ranges)
        elif kind == "integer":
            out[(vid, key)] = Got("integer", json.loads(unquote(kv["value"][0])))
        elif kind in ("choice", "multi"):
            out[(vid, key)] = Got(kind, correct=frozenset(json.loads(unquote(kv["value"][0]))))
        else:
            out[(vid, key)] = Got("text", json.loads(unquote(kv["value"][0])))
    return out


READERS = {
    "moodle": read_moodle,
    "gift": read_gift,
    "qti12": read_qti12,
    "qti21": read_qti21,
    "html": read_html,
    "latex": read_latex,
}


@cache
def week7() -> tuple[str, list[Variant]]:
    ps = problem_set.load(ROOT / "examples" / "week7.toml")
    return ps.title, problem_set.build(ps)


@cache
def all_variants() -> list[Variant]:
    return [*week7()[1], every_kind(), *figure_variants()]


@cache
def export(fmt: str, answer_key: bool = True) -> bytes:
    return FORMATS[fmt].write(all_variants(), SetInfo(INFO.title, answer_key))


@cache
def read(fmt: str) -> dict[tuple[str, str], Got]:
    return READERS[fmt](export(fmt), all_variants())


def expected() -> dict[tuple[str, str], Box]:
    return {
        (common.variant_id(v, i), k): b
        for i, v in enumerate(all_variants())
        for k, b in boxes_of(v).items()
    }


@cache
def schema(path: str) -> etree.XMLSchema:
    full = SCHEMAS / path
    assert full.is_file(), (
        f"{full} is missing: the QTI tests validate against the official schemas "
        f"committed in tests/data/schemas ({SCHEMAS})"
    )
    return etree.XMLSchema(etree.parse(str(full), XML))


def _valid(s: etree.XMLSchema, doc: etree._Element) -> bool:
    ok = s.validate(doc)
    if not ok:
        print(s.error_log)
    return ok
