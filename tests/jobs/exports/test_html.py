"""The HTML export: one standalone page with its figures and MathML."""

from __future__ import annotations

import re

from lxml import html as lhtml

from jobs.exports.figures import figure_names
from tests.jobs.exports.readers import (
    all_variants,
    export,
)


def test_html_is_standalone_with_figures_and_math() -> None:
    page = export("html").decode()
    assert "<script" not in page and "<link" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert page.count("<svg") == sum(1 for n in figure_names(all_variants()) if n)
    assert "<math" in page and "\\(" not in page
    doc = lhtml.fromstring(page.encode())
    assert len(doc.xpath("//section[@class='problem']")) == len(all_variants())
