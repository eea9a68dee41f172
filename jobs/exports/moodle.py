"""Moodle XML: numerical, multichoice and short-answer questions, cloze for multi-part variants,
one question category per template so a quiz can draw a random variant per student."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence

from lxml import etree

from generators import Variant
from jobs.exports import common
from jobs.exports.figures import svg_for
from jobs.exports.markup import HtmlRenderer
from jobs.formats import Format, SetInfo

LMS_HTML = HtmlRenderer("lms")


def _text(parent: etree._Element, tag: str, value: str, fmt: str | None = None) -> None:
    el = etree.SubElement(parent, tag)
    if fmt:
        el.set("format", fmt)
    t = etree.SubElement(el, "text")
    t.text = etree.CDATA(value) if fmt == "html" else value


def _simple(parent: etree._Element, tag: str, value: str) -> None:
    etree.SubElement(parent, tag).text = value


def category_path(info: SetInfo, template: str) -> str:
    # Moodle splits category paths on "/"; a literal slash in a name is written "//".
    title = common.title_line(info.title).replace("/", "//")
    return f"$course$/top/{title}/{template}"


def figure_html(v: Variant, name: str) -> tuple[str, str | None]:
    """An <img> pointing at the question's own file area, and the file's base64 content."""
    svg = svg_for(v)
    if svg is None:
        return "", None
    img = (
        f'<p><img src="@@PLUGINFILE@@/{name}" alt="Figure of the network" '
        'style="max-width:100%;height:auto"></p>'
    )
    return img, base64.b64encode(svg.encode()).decode()


# -- cloze (multianswer) ----------------------------------------------------------------------


def _cloze_escape(text: str) -> str:
    """An answer or feedback inside {...}: Moodle's parser ends them at an unescaped }, # or ~
    and unescapes only \\} and \\#; a ~ goes in as an HTML entity, decoded on import."""
    text = html.escape(text, quote=False)
    return text.replace("}", r"\}").replace("#", r"\#").replace("~", "&#126;")


def _short_escape(text: str) -> str:
    # In Moodle short answers * is a wildcard; \* is a literal star.
    return text.replace("*", r"\*")


def cloze_blank(b: common.Blank, weight: int) -> str:
    if b.kind is common.BlankKind.NUMBER:
        alts = "~".join("=" + ":".join(common.moodle_answer(r)) for r in b.ranges)
        return f"{{{weight}:NUMERICAL:{alts}}}"
    if b.kind is common.BlankKind.INTEGER:
        return f"{{{weight}:NUMERICAL:={b.value}:0}}"
    if b.kind is common.BlankKind.CHOICE:
        alts = []
        for o in b.options:
            mark = "=" if o == b.value else ""
            why = b.explanations.get(o, "")
            fb = f"#{_cloze_escape(why)}" if why else ""
            alts.append(f"{mark}{_cloze_escape(o)}{fb}")
        return f"{{{weight}:MULTICHOICE_V:{'~'.join(alts)}}}"
    if b.kind is common.BlankKind.MULTI:
        fr = common.multi_fractions(b.options, b.correct)
        alts = [f"%{common.moodle_fraction(fr[o])}%{_cloze_escape(o)}" for o in b.options]
        return f"{{{weight}:MULTIRESPONSE:{'~'.join(alts)}}}"
    alts = "~".join("=" + _cloze_escape(_short_escape(a)) for a in b.accept)
    return f"{{{weight}:SHORTANSWER_C:{alts}}}"


def _part_note(p: common.Part) -> str:
    if any(not b.graded_exactly for b in p.blanks):
        return (
            " <em>(marked by exact text against the canonical answer; an equivalent form needs "
            "a manual mark)</em>"
        )
    return ""


def cloze_text(parts: Sequence[common.Part]) -> tuple[str, int]:
    """The parts with their embedded answers, and the question's total mark (the sum of the
    integer cloze weights, in the same ratios as the parts' points)."""
    blanks = [b for p in parts for b in p.blanks]
    weights = dict(
        zip(
            (id(b) for b in blanks), common.integer_weights([b.weight for b in blanks]), strict=True
        )
    )
    out = []
    for p in parts:
        prompt = LMS_HTML.inline(p.prompt)
        head = f"({p.letter}) {prompt}{_part_note(p)}"
        if len(p.blanks) == 1 and not p.blanks[0].index:
            out.append(f"<p>{head}: {cloze_blank(p.blanks[0], weights[id(p.blanks[0])])}</p>")
            continue
        rows: dict[int, list[str]] = {}
        for b in p.blanks:
            row = b.index[0] if len(b.index) == 2 else 0
            rows.setdefault(row, []).append(f"<td>{b.suffix} {cloze_blank(b, weights[id(b)])}</td>")
        table = "".join(f"<tr>{''.join(cells)}</tr>" for cells in rows.values())
        out.append(f"<p>{head}:</p><table>{table}</table>")
    return "\n".join(out), sum(weights.values())


# -- single-answer questions ------------------------------------------------------------------


def _numerical(q: etree._Element, b: common.Blank) -> None:
    ranges = b.ranges or (common.Range(float(b.value), 0.0),)
    for r in ranges:
        value, tol = (
            common.moodle_answer(r) if b.kind is common.BlankKind.NUMBER else (str(b.value), "0")
        )
        a = etree.SubElement(q, "answer", fraction="100", format="moodle_auto_format")
        _simple(a, "text", value)
        _simple(a, "tolerance", tol)
        _text(a, "feedback", "Correct.", "html")
    for tag, val in (("unitgradingtype", "0"), ("unitpenalty", "0.1"), ("showunits", "3")):
        _simple(q, tag, val)
    _simple(q, "unitsleft", "0")


def _multichoice(q: etree._Element, b: common.Blank) -> None:
    single = b.kind is common.BlankKind.CHOICE
    _simple(q, "single", "true" if single else "false")
    _simple(q, "shuffleanswers", "false")
    _simple(q, "answernumbering", "abc")
    fr = (
        {o: (1.0 if o == b.value else 0.0) for o in b.options}
        if single
        else common.multi_fractions(b.options, b.correct)
    )
    for o in b.options:
        a = etree.SubElement(q, "answer", fraction=common.moodle_fraction(fr[o]), format="html")
        a_text = etree.SubElement(a, "text")
        a_text.text = etree.CDATA(html.escape(o, quote=False))
        _text(a, "feedback", html.escape(b.explanations.get(o, ""), quote=False), "html")
    _text(q, "correctfeedback", "Correct.", "html")
    _text(q, "partiallycorrectfeedback", "Partly correct.", "html")
    _text(q, "incorrectfeedback", "Incorrect.", "html")


def _shortanswer(q: etree._Element, b: common.Blank) -> None:
    _simple(q, "usecase", "1")
    for alt in b.accept:
        a = etree.SubElement(q, "answer", fraction="100", format="moodle_auto_format")
        _simple(a, "text", _short_escape(alt))
        _text(a, "feedback", "Correct.", "html")


SINGLE_TYPES = {
    common.BlankKind.NUMBER: ("numerical", _numerical),
    common.BlankKind.INTEGER: ("numerical", _numerical),
    common.BlankKind.CHOICE: ("multichoice", _multichoice),
    common.BlankKind.MULTI: ("multichoice", _multichoice),
    common.BlankKind.TEXT: ("shortanswer", _shortanswer),
}


def question(v: Variant, index: int) -> etree._Element:
    parts = common.parts_of(v)
    qid = common.variant_id(v, index)
    fig_name = f"{qid}.svg"
    img, b64 = figure_html(v, fig_name)
    body = LMS_HTML.render(common.stem_body(v))
    blanks = [b for p in parts for b in p.blanks]
    single = len(blanks) == 1 and not blanks[0].index
    if single:
        qtype, fill = SINGLE_TYPES[blanks[0].kind]
        p = parts[0]
        text = f"{img}{body}\n<p>({p.letter}) {LMS_HTML.inline(p.prompt)}{_part_note(p)}</p>"
        mark = common.total_points(parts)
    else:
        qtype, fill = "cloze", None
        # The cloze weights keep the parts' ratios; the question's mark is the set's points.
        cloze, _ = cloze_text(parts)
        mark = common.total_points(parts)
        text = f"{img}{body}\n{cloze}"
    q = etree.Element("question", type=qtype)
    _text(q, "name", common.variant_name(v, index))
    qt = etree.SubElement(q, "questiontext", format="html")
    etree.SubElement(qt, "text").text = etree.CDATA(text)
    if b64 is not None:
        f = etree.SubElement(qt, "file", name=fig_name, path="/", encoding="base64")
        f.text = b64
    _text(q, "generalfeedback", LMS_HTML.render(v.solution), "html")
    _simple(q, "defaultgrade", common.num(mark))
    _simple(q, "penalty", "0")
    _simple(q, "hidden", "0")
    _simple(q, "idnumber", qid)
    if fill is not None:
        fill(q, blanks[0])
    return q


def write(variants: Sequence[Variant], info: SetInfo) -> bytes:
    quiz = etree.Element("quiz")
    quiz.append(etree.Comment(f" {common.xml_comment(info.title)}: generated by seqquiz "))
    for template, members in common.by_template(variants).items():
        cat = etree.SubElement(quiz, "question", type="category")
        _text(cat, "category", category_path(info, template))
        _text(
            cat,
            "info",
            f"{members[0][1].title or template}: {len(members)} "
            f"variant{'s' if len(members) != 1 else ''} of {members[0][1].template}. "
            "Add a random question from this category to give each student one of them.",
            "html",
        )
        for index, v in members:
            quiz.append(question(v, index))
    return etree.tostring(quiz, xml_declaration=True, encoding="UTF-8", pretty_print=True)


FORMAT = Format(
    "moodle",
    "Moodle XML: numerical, multichoice, cloze; one category per template",
    write,
    extension=".xml",
)
