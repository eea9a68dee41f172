"""The LaTeX export: a balanced source."""

from __future__ import annotations

import re

from jobs.exports.figures import figure_names
from tests.jobs.exports.readers import (
    all_variants,
    export,
)


def test_latex_source_is_balanced() -> None:
    tex = export("latex").decode()
    assert tex.startswith("\\documentclass") and tex.rstrip().endswith("\\end{document}")
    body = re.sub(r"\\[{}$%#&_]|%.*", "", tex)
    assert body.count("{") == body.count("}")
    begins = re.findall(r"\\begin\{(\w+\*?)\}", tex)
    ends = re.findall(r"\\end\{(\w+\*?)\}", tex)
    assert sorted(begins) == sorted(ends)
    assert tex.count("\\begin{tikzpicture}") == sum(1 for n in figure_names(all_variants()) if n)
