"""IMS QTI 2.1 package: one assessmentItem per variant (every part an interaction, response
processing that adds each part's points when its accepted range or option matches), an
assessmentTest drawing one variant per template section, and an IMS CP manifest."""

from __future__ import annotations

import re
from collections.abc import Sequence

from lxml import etree

from generators import Variant
from jobs.exports import common
from jobs.exports.figures import svg_for
from jobs.exports.markup import HtmlRenderer
from jobs.formats import Format, SetInfo

QTI = "http://www.imsglobal.org/xsd/imsqti_v2p1"
CP = "http://www.imsglobal.org/xsd/imscp_v1p1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
QTI_LOCATION = f"{QTI} http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd"
CP_LOCATION = f"{CP} http://www.imsglobal.org/xsd/imscp_v1p1.xsd"
MATHML = HtmlRenderer("mathml")
_PARSER = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)


def q(tag: str) -> str:
    return f"{{{QTI}}}{tag}"


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    e = etree.SubElement(parent, q(tag), {k.rstrip("_"): v for k, v in attrs.items()})
    if text is not None:
        e.text = text
    return e


def ident(text: str) -> str:
    """A QTI identifier (an NCName)."""
    out = re.sub(r"[^A-Za-z0-9_.-]", "_", text)
    return out if re.match(r"[A-Za-z_]", out) else "_" + out


def response_id(b: common.Blank) -> str:
    return ident("RESPONSE_" + b.key)


def choice_ids(options: Sequence[str]) -> dict[str, str]:
    # Option ids such as ">16" are no identifiers; the interaction shows the id as its text.
    return {o: f"C{i}" for i, o in enumerate(options)}


def html_nodes(fragment: str) -> list[etree._Element | str]:
    """XHTML (with MathML) in the QTI namespace, as children to append, plus leading text."""
    root = etree.fromstring(f'<div xmlns="{QTI}">{fragment}</div>', _PARSER)
    out: list[etree._Element | str] = [root.text or ""]
    out.extend(root)
    return out


def _append_html(parent: etree._Element, fragment: str) -> None:
    nodes = html_nodes(fragment)
    lead = nodes[0]
    if lead:
        if len(parent):
            parent[-1].tail = (parent[-1].tail or "") + lead
        else:
            parent.text = (parent.text or "") + lead
    for n in nodes[1:]:
        parent.append(n)


def _var(parent: etree._Element, rid: str) -> None:
    _el(parent, "variable", identifier=rid)


def _float(parent: etree._Element, x: float) -> None:
    _el(parent, "baseValue", common.num(x), baseType="float")


def _add_points(parent: etree._Element, points: float | None, map_rid: str = "") -> None:
    """SCORE := SCORE + points (or + points x mapResponse(map_rid))."""
    s = _el(parent, "setOutcomeValue", identifier="SCORE")
    total = _el(s, "sum")
    _var(total, "SCORE")
    if map_rid:
        prod = _el(total, "product")
        _float(prod, points or 0.0)
        _el(prod, "mapResponse", identifier=map_rid)
    else:
        _float(total, points or 0.0)


def declare(item: etree._Element, b: common.Blank) -> None:
    rid = response_id(b)
    kind = b.kind
    if kind is common.BlankKind.NUMBER:
        d = _el(item, "responseDeclaration", identifier=rid, cardinality="single", baseType="float")
        _el(_el(d, "correctResponse"), "value", common.num(b.value))
    elif kind is common.BlankKind.INTEGER:
        d = _el(
            item, "responseDeclaration", identifier=rid, cardinality="single", baseType="integer"
        )
        _el(_el(d, "correctResponse"), "value", str(b.value))
    elif kind in (common.BlankKind.CHOICE, common.BlankKind.MULTI):
        ids = choice_ids(b.options)
        card = "single" if kind is common.BlankKind.CHOICE else "multiple"
        d = _el(
            item, "responseDeclaration", identifier=rid, cardinality=card, baseType="identifier"
        )
        cr = _el(d, "correctResponse")
        for o in b.correct:
            _el(cr, "value", ids[o])
        if kind is common.BlankKind.MULTI:
            fr = common.multi_fractions(b.options, b.correct)
            m = _el(d, "mapping", lowerBound="0", upperBound="1", defaultValue="0")
            for o in b.options:
                _el(m, "mapEntry", mapKey=ids[o], mappedValue=common.num(fr[o]))
    else:
        d = _el(
            item, "responseDeclaration", identifier=rid, cardinality="single", baseType="string"
        )
        _el(_el(d, "correctResponse"), "value", b.value)


def condition(parent: etree._Element, b: common.Blank) -> None:
    """responseIf(the box is right) -> add its points; a multi-select adds points x its map."""
    rid = response_id(b)
    if b.kind is common.BlankKind.MULTI:
        rc = _el(parent, "responseCondition")
        ri = _el(rc, "responseIf")
        _el(_el(ri, "not"), "isNull").append(etree.Element(q("variable"), identifier=rid))
        _add_points(ri, b.weight, rid)
        return
    rc = _el(parent, "responseCondition")
    ri = _el(rc, "responseIf")
    if b.kind is common.BlankKind.NUMBER:
        anyof = _el(ri, "or")
        for r in b.ranges:
            both = _el(anyof, "and")
            ge = _el(both, "gte")
            _var(ge, rid)
            _float(ge, r.lo)
            le = _el(both, "lte")
            _var(le, rid)
            _float(le, r.hi)
    elif b.kind in (common.BlankKind.CHOICE, common.BlankKind.INTEGER):
        m = _el(ri, "match")
        _var(m, rid)
        _el(m, "correct", identifier=rid)
    else:
        anyof = _el(ri, "or")
        for text in b.accept:
            sm = _el(anyof, "stringMatch", caseSensitive="true", substring="false")
            _var(sm, rid)
            _el(sm, "baseValue", text, baseType="string")
    _add_points(ri, b.weight)


def _interaction(parent: etree._Element, b: common.Blank, prompt: str) -> None:
    rid = response_id(b)
    if b.kind in (common.BlankKind.CHOICE, common.BlankKind.MULTI):
        ids = choice_ids(b.options)
        ci = _el(
            parent,
            "choiceInteraction",
            responseIdentifier=rid,
            shuffle="false",
            maxChoices="1" if b.kind is common.BlankKind.CHOICE else "0",
        )
        _append_html(_el(ci, "prompt"), prompt)
        for o in b.options:
            _el(ci, "simpleChoice", o, identifier=ids[o])
        return
    p = _el(parent, "p")
    _append_html(p, prompt + (f" {b.suffix} " if b.index else " "))
    length = "24" if b.kind is common.BlankKind.TEXT else "12"
    _el(p, "textEntryInteraction", responseIdentifier=rid, expectedLength=length)


def item(v: Variant, index: int, image: str | None) -> etree._Element:
    parts = common.parts_of(v)
    blanks = [b for p in parts for b in p.blanks]
    it = etree.Element(
        q("assessmentItem"),
        {
            f"{{{XSI}}}schemaLocation": QTI_LOCATION,
            "identifier": common.variant_id(v, index),
            "title": common.variant_name(v, index),
            "adaptive": "false",
            "timeDependent": "false",
        },
        nsmap={None: QTI, "xsi": XSI},
    )
    for b in blanks:
        declare(it, b)
    sc = _el(it, "outcomeDeclaration", identifier="SCORE", cardinality="single", baseType="float")
    _el(_el(sc, "defaultValue"), "value", "0")
    mx = _el(
        it, "outcomeDeclaration", identifier="MAXSCORE", cardinality="single", baseType="float"
    )
    _el(_el(mx, "defaultValue"), "value", common.num(common.total_points(parts)))
    body = _el(it, "itemBody")
    stem = _el(body, "div", class_="stem")
    if image:
        _el(_el(stem, "p"), "img", src=image, alt="Figure of the network")
    _append_html(stem, MATHML.render(common.stem_body(v)))
    for p in parts:
        note = "" if all(b.graded_exactly for b in p.blanks) else " (exact text)"
        head = f"({p.letter}) {MATHML.inline(p.prompt)}{note}"
        for i, b in enumerate(p.blanks):
            _interaction(body, b, head if i == 0 else f"({p.letter})")
    rp = _el(it, "responseProcessing")
    for b in blanks:
        condition(rp, b)
    return it


def manifest(set_id: str, items: list[tuple[str, str, list[str]]]) -> etree._Element:
    m = etree.Element(
        f"{{{CP}}}manifest",
        {f"{{{XSI}}}schemaLocation": CP_LOCATION, "identifier": f"MANIFEST_{set_id}"},
        nsmap={None: CP, "xsi": XSI},
    )
    meta = etree.SubElement(m, f"{{{CP}}}metadata")
    etree.SubElement(meta, f"{{{CP}}}schema").text = "QTIv2.1 Package"
    etree.SubElement(meta, f"{{{CP}}}schemaversion").text = "1.0.0"
    etree.SubElement(m, f"{{{CP}}}organizations")
    res = etree.SubElement(m, f"{{{CP}}}resources")
    test = etree.SubElement(
        res,
        f"{{{CP}}}resource",
        identifier=f"TEST_{set_id}",
        type="imsqti_test_xmlv2p1",
        href="assessment.xml",
    )
    etree.SubElement(test, f"{{{CP}}}file", href="assessment.xml")
    for rid, _href, _files in items:
        etree.SubElement(test, f"{{{CP}}}dependency", identifierref=f"RES_{rid}")
    for rid, href, files in items:
        r = etree.SubElement(
            res, f"{{{CP}}}resource", identifier=f"RES_{rid}", type="imsqti_item_xmlv2p1", href=href
        )
        for f in files:
            etree.SubElement(r, f"{{{CP}}}file", href=f)
    return m


def assessment_test(
    set_id: str, info: SetInfo, groups: dict[str, list[tuple[str, str]]]
) -> etree._Element:
    t = etree.Element(
        q("assessmentTest"),
        {
            f"{{{XSI}}}schemaLocation": QTI_LOCATION,
            "identifier": set_id,
            "title": common.title_line(info.title),
        },
        nsmap={None: QTI, "xsi": XSI},
    )
    _el(t, "outcomeDeclaration", identifier="SCORE", cardinality="single", baseType="float")
    part = _el(
        t,
        "testPart",
        identifier="part1",
        navigationMode="nonlinear",
        submissionMode="simultaneous",
    )
    for template, refs in groups.items():
        sec = _el(
            part,
            "assessmentSection",
            identifier=ident("S_" + template),
            title=template,
            visible="true",
        )
        # One variant per candidate from each template: the random draw an LMS quiz makes.
        _el(sec, "selection", select="1")
        for rid, href in refs:
            _el(sec, "assessmentItemRef", identifier=rid, href=href)
    op = _el(t, "outcomeProcessing")
    s = _el(op, "setOutcomeValue", identifier="SCORE")
    _el(_el(s, "sum"), "testVariables", variableIdentifier="SCORE")
    return t


def _xml(el: etree._Element) -> bytes:
    return etree.tostring(el, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def set_identifier(info: SetInfo) -> str:
    return ident("SET_" + re.sub(r"\W+", "_", info.title).strip("_")[:40])


def write(variants: Sequence[Variant], info: SetInfo) -> bytes:
    set_id = set_identifier(info)
    files: dict[str, bytes] = {}
    items: list[tuple[str, str, list[str]]] = []
    groups: dict[str, list[tuple[str, str]]] = {}
    for template, members in common.by_template(variants).items():
        for index, v in members:
            rid = common.variant_id(v, index)
            href = f"items/{rid}.xml"
            own = [href]
            svg = svg_for(v)
            image = None
            if svg is not None:
                image = f"img/{rid}.svg"
                files[f"items/{image}"] = svg.encode()
                own.append(f"items/{image}")
            files[href] = _xml(item(v, index, image))
            items.append((rid, href, own))
            groups.setdefault(template, []).append((rid, href))
    files["assessment.xml"] = _xml(assessment_test(set_id, info, groups))
    files["imsmanifest.xml"] = _xml(manifest(set_id, items))
    return common.write_zip(files)


FORMAT = Format(
    "qti21",
    "IMS QTI 2.1 package (zip): items with range response processing, a test, a manifest",
    write,
    binary=True,
    extension=".zip",
)
