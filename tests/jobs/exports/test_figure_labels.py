"""Figures name quantities as the stems do."""

from __future__ import annotations

from generators import REGISTRY, make_variant
from jobs.exports.figures import figure_for


def _texts(fig: object) -> list[str]:
    return [getattr(s, "label", "") or getattr(s, "text", "") for s in fig.shapes]  # type: ignore[attr-defined]


def test_the_memory_cell_figure_names_the_input_x_t() -> None:
    v = make_variant(REGISTRY.get("lstm-cell"), 3)
    assert "$x_t$" in v.stem  # the stem's name of the input
    fig = figure_for("lstm-cell", v.params)
    assert fig is not None
    texts = _texts(fig)
    T = len(v.params["inputs"])
    assert all(f"x_{{{t}}}" in texts for t in range(T))
    assert not any("in}" in t for t in texts)
