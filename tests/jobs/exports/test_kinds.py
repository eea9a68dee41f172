"""Exporters look an answer kind up in one table, `common.BLANKS`."""

from __future__ import annotations

from grader import Tolerance
from grader.answers import NumericAnswer, kinds
from grader.symbolic_answer import SymbolicAnswer
from jobs.exports import common


def test_every_registered_kind_has_boxes_or_is_graded_by_seqquiz_alone() -> None:
    assert {"numeric", "vector", "choice", "multiselect", "int_sequence", "bits"} <= set(
        common.BLANKS
    )
    assert set(common.BLANKS) <= set(kinds())
    # A kind an LMS cannot grade exactly falls back to one text box marked as lenient.
    assert "symbolic" not in common.BLANKS
    (box,) = common.blanks_for("f", SymbolicAnswer("h1*w", ("h1", "w")), 2.0)
    assert box.kind is common.BlankKind.TEXT and not box.graded_exactly and box.weight == 2.0


def test_the_table_decides_the_boxes() -> None:
    spec = NumericAnswer(0.5, Tolerance.decimals(3))
    assert common.blanks_for("y", spec, 1.0) == common.BLANKS["numeric"]("y", spec, 1.0)
    assert common.prompt_for("y", spec) == spec.prompt("y")
