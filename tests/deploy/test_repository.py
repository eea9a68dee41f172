"""The suite reads nothing outside the repository: the XML Schemas the QTI export tests validate
against are committed (tests/data/schemas) and import only each other."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "tests" / "data" / "schemas"
XS = {"xs": "http://www.w3.org/2001/XMLSchema"}
PARSER = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)


def test_the_export_tests_read_their_schemas_from_the_repository() -> None:
    from tests.jobs.exports import readers

    assert readers.SCHEMAS.resolve() == SCHEMAS.resolve()
    for entry in ("qti21/imsqti_v2p1.xsd", "imscp/imscp_v1p1.xsd", "qti12/ims_qtiasiv1p2.xsd"):
        assert (SCHEMAS / entry).is_file(), entry


def test_every_schema_import_resolves_inside_the_folder() -> None:
    files = sorted(SCHEMAS.rglob("*.xsd"))
    assert len(files) >= 3
    imports = 0
    for xsd in files:
        doc = etree.parse(str(xsd), PARSER)
        for ref in doc.xpath("//xs:import | //xs:include | //xs:redefine", namespaces=XS):
            location = ref.get("schemaLocation")
            if location is None:  # a namespace-only import loads nothing (another file does)
                continue
            target = (xsd.parent / location).resolve()
            assert target.is_relative_to(SCHEMAS.resolve()) and target.is_file(), (
                f"{xsd.relative_to(ROOT)} imports {location}, not a file in {SCHEMAS}"
            )
            imports += 1
    assert imports > 0
