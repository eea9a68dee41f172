"""Exporters look an answer kind up in one table, `common.BLANKS`."""

from __future__ import annotations

from grader import Tolerance
from grader.answers import NumericAnswer, kinds
from grader.symbolic_answer import SymbolicAnswer
from seqquiz.exports import common as C


def test_every_registered_kind_has_boxes_or_is_graded_by_seqquiz_alone() -> None:
    assert {"numeric", "vector", "choice", "multiselect", "int_sequence", "bits"} <= set(C.BLANKS)
    assert set(C.BLANKS) <= set(kinds())
    # A kind an LMS cannot grade exactly falls back to one text box marked as lenient.
    assert "symbolic" not in C.BLANKS
    (box,) = C.blanks_for("f", SymbolicAnswer("h1*w", ("h1", "w")), 2.0)
    assert box.kind is C.BlankKind.TEXT and not box.graded_exactly and box.weight == 2.0


def test_the_table_decides_the_boxes() -> None:
    spec = NumericAnswer(0.5, Tolerance.decimals(3))
    assert C.blanks_for("y", spec, 1.0) == C.BLANKS["numeric"]("y", spec, 1.0)
    assert C.prompt_for("y", spec) == spec.prompt("y")
