"""Figures of the exports: one per family, and drawn per shape as if per variant."""

from __future__ import annotations

from jobs.exports.figures import figure_for, figure_names, svg_for, tikz_for, to_svg, to_tikz
from jobs.exports.markup import _convert, mathml, parse
from tests.jobs.exports.readers import (
    all_variants,
)


def test_figures_by_family() -> None:
    names = figure_names(all_variants())
    week = dict(zip((v.template for v in all_variants()), names, strict=True))
    assert week["rnn-forward"] == week["rnn-bptt"] == week["rnn-gradient-flow"] == "rnn"
    assert week["test-every-kind"] == "hmm-trellis"
    assert week["test-cell"] == "memory-cell" and week["test-lstm"] == "lstm"


def test_per_shape_drawing_equals_drawing_each_variant() -> None:
    """Figures laid out once per shape and formulas converted once per skeleton, with the
    numbers filled in, are exactly what drawing or converting each one afresh gives."""
    for v in all_variants():
        fig = figure_for(v.template, v.params)
        if fig is not None:
            assert svg_for(v) == to_svg(fig) and tikz_for(v) == to_tikz(fig), v.template
    seen = 0
    for v in all_variants():
        for block in parse(v.stem + "\n\n" + v.solution):
            for span in block.spans:
                if span.kind in ("math", "display"):
                    plain = span.text.replace(r"\left(", "(").replace(r"\right)", ")")
                    display = span.kind == "display"
                    assert mathml(span.text, display) == _convert(plain, display), span.text
                    seen += 1
    assert seen > 100
