"""The QTI 2.1 export: items, test and manifest validate against the official schemas."""

from __future__ import annotations

from lxml import etree

from tests.jobs.exports.readers import (
    XML,
    _valid,
    _zip,
    all_variants,
    export,
    schema,
)


def test_qti21_items_test_and_manifest_validate() -> None:
    z = _zip(export("qti21"))
    qti = schema("qti21/imsqti_v2p1.xsd")
    cp = schema("imscp/imscp_v1p1.xsd")
    names = [n for n in z.namelist() if n.endswith(".xml")]
    assert len([n for n in names if n.startswith("items/")]) == len(all_variants())
    for name in names:
        doc = etree.fromstring(z.read(name), XML)
        assert _valid(cp if name == "imsmanifest.xml" else qti, doc), name
    # the check bites: an item with an unknown element fails
    first_item = next(n for n in names if n.startswith("items/"))
    broken = etree.fromstring(z.read(first_item), XML)
    etree.SubElement(broken, "{http://www.imsglobal.org/xsd/imsqti_v2p1}bogus")
    assert not qti.validate(broken)


def test_qti21_manifest_lists_every_file() -> None:
    z = _zip(export("qti21"))
    m = etree.fromstring(z.read("imsmanifest.xml"), XML)
    ns = {"m": "http://www.imsglobal.org/xsd/imscp_v1p1"}
    listed = set(m.xpath("//m:file/@href", namespaces=ns))
    assert listed == set(z.namelist()) - {"imsmanifest.xml"}
    test = etree.fromstring(z.read("assessment.xml"), XML)
    tns = {"q": "http://www.imsglobal.org/xsd/imsqti_v2p1"}
    sections = test.xpath("//q:assessmentSection", namespaces=tns)
    assert {s.get("title") for s in sections} == {v.group or v.template for v in all_variants()}
    assert all(s.find("q:selection", tns).get("select") == "1" for s in sections)
