"""QTI 1.2 package for Canvas (Classic Quizzes): numerical questions as accepted ranges
(vargte/varlte), multiple choice, multiple answers and short answers; one item per answer box,
since Canvas has no multi-part numerical question; a question group per template."""

from __future__ import annotations

import re
from collections.abc import Sequence

from lxml import etree

from generators import Variant
from jobs.exports import common
from jobs.exports.figures import svg_for
from jobs.exports.markup import HtmlRenderer
from jobs.formats import Format, SetInfo

QTI = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
CC = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
QTI_LOCATION = f"{QTI} http://www.imsglobal.org/xsd/ims_qtiasiv1p2p1.xsd"
CC_LOCATION = f"{CC} http://www.imsglobal.org/xsd/imscp_v1p1.xsd"
LMS_HTML = HtmlRenderer("lms")
# Canvas's own exports point at package files through this prefix.
FILEBASE = "$IMS-CC-FILEBASE$"
FIG_DIR = "web_resources/seqquiz"

QUESTION_TYPE = {
    common.BlankKind.NUMBER: "numerical_question",
    common.BlankKind.INTEGER: "numerical_question",
    common.BlankKind.CHOICE: "multiple_choice_question",
    common.BlankKind.MULTI: "multiple_answers_question",
    common.BlankKind.TEXT: "short_answer_question",
}


def q(tag: str) -> str:
    return f"{{{QTI}}}{tag}"


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    e = etree.SubElement(parent, q(tag), attrs)
    if text is not None:
        e.text = text
    return e


def _meta(parent: etree._Element, fields: Sequence[tuple[str, str]]) -> None:
    md = _el(parent, "qtimetadata")
    for label, entry in fields:
        f = _el(md, "qtimetadatafield")
        _el(f, "fieldlabel", label)
        _el(f, "fieldentry", entry)


def _material(parent: etree._Element, html_text: str) -> None:
    _el(_el(parent, "material"), "mattext", html_text, texttype="text/html")


def _points(x: float) -> str:
    return f"{x:.1f}" if float(x).is_integer() else common.num(x)


def choice_idents(options: Sequence[str], base: int) -> dict[str, str]:
    return {o: str(base + i) for i, o in enumerate(options)}


def _score(rc: etree._Element) -> None:
    _el(rc, "setvar", "100", action="Set", varname="SCORE")


def item(
    v: Variant, index: int, part: common.Part, b: common.Blank, n_blanks: int, image: str
) -> etree._Element:
    base_id = common.variant_id(v, index)
    iid = f"{base_id}_{b.key}" if n_blanks > 1 else base_id
    title = common.variant_name(v, index) + (f" ({part.letter}){b.suffix}" if n_blanks > 1 else "")
    it = etree.Element(q("item"), ident=iid, title=title)
    _meta(
        _el(it, "itemmetadata"),
        [
            ("question_type", QUESTION_TYPE[b.kind]),
            ("points_possible", _points(b.weight)),
            ("assessment_question_identifierref", f"{iid}_aq"),
        ],
    )
    pres = _el(it, "presentation")
    entry = f", entry {b.suffix}" if b.index else ""
    note = "" if b.graded_exactly else " <em>(marked by exact text)</em>"
    prompt = f"<p>({part.letter}) {LMS_HTML.inline(part.prompt)}{entry}{note}</p>"
    _material(pres, f"<div>{image}{LMS_HTML.render(common.stem_body(v))}\n{prompt}</div>")
    ids: dict[str, str] = {}
    if b.kind in (common.BlankKind.CHOICE, common.BlankKind.MULTI):
        ids = choice_idents(b.options, 1000 * (index + 1))
        lid = _el(
            pres,
            "response_lid",
            ident="response1",
            rcardinality="Single" if b.kind is common.BlankKind.CHOICE else "Multiple",
        )
        rch = _el(lid, "render_choice")
        for o in b.options:
            lab = _el(rch, "response_label", ident=ids[o])
            _el(_el(lab, "material"), "mattext", o, texttype="text/plain")
    else:
        rs = _el(pres, "response_str", ident="response1", rcardinality="Single")
        fib = (
            {"fibtype": "Decimal"}
            if b.kind in (common.BlankKind.NUMBER, common.BlankKind.INTEGER)
            else {}
        )
        _el(_el(rs, "render_fib", **fib), "response_label", ident="answer1")
    proc = _el(it, "resprocessing")
    _el(
        _el(proc, "outcomes"),
        "decvar",
        maxvalue="100",
        minvalue="0",
        varname="SCORE",
        vartype="Decimal",
    )
    if b.kind in (common.BlankKind.NUMBER, common.BlankKind.INTEGER):
        ranges = b.ranges or (common.Range(float(b.value), 0.0),)
        # One respcondition per accepted range: Canvas imports each as a "range" answer.
        for r in ranges:
            rc = _el(proc, "respcondition", **{"continue": "No"})
            cv = _el(rc, "conditionvar")
            _el(cv, "vargte", common.num(r.lo), respident="response1")
            _el(cv, "varlte", common.num(r.hi), respident="response1")
            _score(rc)
    elif b.kind is common.BlankKind.CHOICE:
        rc = _el(proc, "respcondition", **{"continue": "No"})
        _el(_el(rc, "conditionvar"), "varequal", ids[b.value], respident="response1")
        _score(rc)
    elif b.kind is common.BlankKind.MULTI:
        rc = _el(proc, "respcondition", **{"continue": "No"})
        both = _el(_el(rc, "conditionvar"), "and")
        for o in b.options:
            target = both if o in b.correct else _el(both, "not")
            _el(target, "varequal", ids[o], respident="response1")
        _score(rc)
    else:
        rc = _el(proc, "respcondition", **{"continue": "No"})
        cv = _el(rc, "conditionvar")
        anyof = _el(cv, "or") if len(b.accept) > 1 else cv
        for text in b.accept:
            _el(anyof, "varequal", text, respident="response1")
        _score(rc)
    if v.solution:
        fb = _el(it, "itemfeedback", ident="general_fb")
        _material(_el(fb, "flow_mat"), LMS_HTML.render(v.solution))
    return it


def assessment(
    variants: Sequence[Variant], info: SetInfo, set_id: str
) -> tuple[etree._Element, dict[str, bytes]]:
    files: dict[str, bytes] = {}
    root = etree.Element(
        q("questestinterop"),
        {f"{{{XSI}}}schemaLocation": QTI_LOCATION},
        nsmap={None: QTI, "xsi": XSI},
    )
    a = _el(root, "assessment", ident=set_id, title=common.title_line(info.title))
    _meta(a, [("cc_maxattempts", "1")])
    top = _el(a, "section", ident="root_section")
    for template, members in common.by_template(variants).items():
        per_variant = [
            (index, v, [(p, b) for p in common.parts_of(v) for b in p.blanks])
            for index, v in members
        ]
        # A Canvas question group that picks one item gives each student one variant, which
        # only works when every variant is one item (one answer box).
        single = all(len(bs) == 1 for _, _, bs in per_variant)
        group = _el(
            top, "section", ident=f"g_{re.sub(r'[^A-Za-z0-9_-]', '_', template)}", title=template
        )
        if single and len(per_variant) > 1:
            sel = _el(_el(group, "selection_ordering"), "selection")
            _el(sel, "selection_number", "1")
            ext = _el(sel, "selection_extension")
            _el(ext, "points_per_item", _points(per_variant[0][2][0][1].weight))
        for index, v, bs in per_variant:
            svg = svg_for(v)
            image = ""
            if svg is not None:
                name = f"{common.variant_id(v, index)}.svg"
                files[f"{FIG_DIR}/{name}"] = svg.encode()
                image = f'<p><img src="{FILEBASE}/seqquiz/{name}" alt="Figure of the network"></p>'
            for p, b in bs:
                group.append(item(v, index, p, b, len(bs), image))
    return root, files


def manifest(set_id: str, figures: Sequence[str]) -> etree._Element:
    m = etree.Element(
        f"{{{CC}}}manifest",
        {f"{{{XSI}}}schemaLocation": CC_LOCATION, "identifier": f"{set_id}_manifest"},
        nsmap={None: CC, "xsi": XSI},
    )
    meta = etree.SubElement(m, f"{{{CC}}}metadata")
    etree.SubElement(meta, f"{{{CC}}}schema").text = "IMS Content"
    etree.SubElement(meta, f"{{{CC}}}schemaversion").text = "1.1.3"
    etree.SubElement(m, f"{{{CC}}}organizations")
    res = etree.SubElement(m, f"{{{CC}}}resources")
    r = etree.SubElement(res, f"{{{CC}}}resource", identifier=set_id, type="imsqti_xmlv1p2")
    etree.SubElement(r, f"{{{CC}}}file", href=f"{set_id}/{set_id}.xml")
    for i, path in enumerate(figures):
        fr = etree.SubElement(
            res,
            f"{{{CC}}}resource",
            identifier=f"{set_id}_fig{i + 1}",
            type="webcontent",
            href=path,
        )
        etree.SubElement(fr, f"{{{CC}}}file", href=path)
    return m


def set_identifier(info: SetInfo) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", info.title).strip("_")[:40] or "set"
    return f"seqquiz_{slug}"


def _xml(el: etree._Element) -> bytes:
    return etree.tostring(el, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write(variants: Sequence[Variant], info: SetInfo) -> bytes:
    set_id = set_identifier(info)
    root, files = assessment(variants, info, set_id)
    files[f"{set_id}/{set_id}.xml"] = _xml(root)
    files["imsmanifest.xml"] = _xml(
        manifest(set_id, sorted(p for p in files if p.startswith(FIG_DIR)))
    )
    return common.write_zip(files)


FORMAT = Format(
    "qti12",
    "QTI 1.2 package for Canvas (zip): numerical ranges, multiple choice/answers",
    write,
    binary=True,
    extension=".zip",
)
