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


def test_a_multiselect_export_says_once_how_to_tick_and_always_offers_none() -> None:
    """The label says how to type the answer ("write none"); an export ticks boxes instead, and
    says so once. "none of these" is offered whatever the answer: offered only when nothing
    qualifies, it would give the answer away."""
    from generators import get_template, make_variant

    t = get_template("context-window")
    none = {"context_ms": 50, "delay_ms": 20, "setups": [
        {"id": "A", "arch": "rnn", "input_ms": 50},
        {"id": "B", "arch": "feedforward", "input_ms": 50},
    ]}  # fmt: skip
    some = {"context_ms": 100, "delay_ms": 100, "setups": [
        {"id": "A", "arch": "feedforward", "input_ms": 30},
        {"id": "B", "arch": "feedforward", "input_ms": 200},
    ]}  # fmt: skip
    shown = {}
    for name, params in (("none", none), ("some", some)):
        [part] = common.parts_of(make_variant(t, None, params, render=False))
        assert "write none" in part.label  # the typed form keeps its instructions
        assert "write none" not in part.prompt and "select all that apply" not in part.prompt
        assert part.prompt.count("possibly all") == 1
        assert "“none of these” when none does" in part.prompt
        shown[name] = part.blanks[0].options
    assert shown["none"] == shown["some"] == ("A", "B", "none of these")
