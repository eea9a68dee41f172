"""The QTI 1.2 export (Canvas): the assessment validates and has the shape Canvas imports."""

from __future__ import annotations

from lxml import etree

from tests.jobs.exports.readers import (
    XML,
    _valid,
    _zip,
    export,
    schema,
)


def test_qti12_assessment_validates_and_has_canvas_shape() -> None:
    z = _zip(export("qti12"))
    manifest = z.read("imsmanifest.xml").decode()
    assert "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1" in manifest
    assert "<schema>IMS Content</schema>" in manifest and "imsqti_xmlv1p2" in manifest
    assert "QTIv2" not in manifest and "imsqti_v2p1" not in manifest
    qti = schema("qti12/ims_qtiasiv1p2.xsd")
    xmls = [n for n in z.namelist() if n.endswith(".xml") and n != "imsmanifest.xml"]
    assert len(xmls) == 1
    doc = etree.fromstring(z.read(xmls[0]), XML)
    assert _valid(qti, doc)
    ns = {"q": "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"}
    assert doc.xpath("//q:assessment/q:section/@ident", namespaces=ns) == ["root_section"]
    for item in doc.iterfind(".//q:item", ns):
        assert item.find("q:resprocessing/q:outcomes/q:decvar", ns).get("varname") == "SCORE"
    etree.SubElement(
        doc.find(".//q:item", ns), "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}bogus"
    )
    assert not qti.validate(doc)
