"""Feedback that diagnoses (issue 9): mistakes in how an answer is written get their own code,
worked solutions say what their numbers show, and a question is asked once."""

from __future__ import annotations

import re

import pytest

from generators import REGISTRY, make_variant
from generators.core.variants import grade_response

VITERBI = REGISTRY.get("hmm-viterbi")
ADDITION = REGISTRY.get("rnn-binary-addition")
CELL = REGISTRY.get("lstm-cell")


# -- hmm-viterbi: states are numbered from 0 ---------------------------------------------------


def test_a_one_based_viterbi_path_is_diagnosed() -> None:
    graded = 0
    for seed in range(40):
        v = make_variant(VITERBI, seed, render=False)
        if "path" not in v.parts:
            continue
        shifted = [s + 1 for s in v.answers["path"]]
        part = grade_response(VITERBI, None, v.params, {"path": shifted}).parts["path"]
        assert part.misconception == "one-based-states", (seed, part)
        assert part.score == 0 and "numbered from 0" in part.feedback
        assert "positions are wrong" not in part.feedback
        graded += 1
    assert graded >= 20


def test_the_issue_viterbi_example_with_two_states() -> None:
    """States 0 and 1, best path (1, 2, 1) written for (0, 1, 0)."""
    params = {
        "pi": [0.8, 0.2],
        "A": [[0.1, 0.9], [0.9, 0.1]],
        "B": [[0.9, 0.1], [0.1, 0.9]],
        "obs": [0, 1, 0],
        "ask": ["path"],
    }
    v = make_variant(VITERBI, None, params, render=False)
    assert v.answers["path"] == [0, 1, 0]
    part = grade_response(VITERBI, None, params, {"path": "[1, 2, 1]"}).parts["path"]
    assert part.misconception == "one-based-states"
    right = grade_response(VITERBI, None, params, {"path": "0 1 0"}).parts["path"]
    assert right.score == 1 and right.misconception is None


def test_a_path_outside_the_states_is_refused_and_one_numbered_from_1_says_so() -> None:
    """States 0 and 1, best path (0, 1, 0): a path with state 2 in it is no path, so no count of
    wrong positions; written within 1..2 it is the numbering from 1, whatever its positions."""
    params = {
        "pi": [0.8, 0.2],
        "A": [[0.1, 0.9], [0.9, 0.1]],
        "B": [[0.9, 0.1], [0.1, 0.9]],
        "obs": [0, 1, 0],
        "ask": ["path"],
    }
    # The issue's own example, [2, 3, 2] for two states, reads as a 1-based habit too.
    for typed in ("2 2 2", "[2, 1, 1]", "1 2 2", "[2, 3, 2]"):
        part = grade_response(VITERBI, None, params, {"path": typed}).parts["path"]
        assert (part.status.value, part.misconception) == ("invalid", "one-based-states"), typed
        assert "numbered from 0 to 1" in part.feedback and "state 2" in part.feedback
        assert "positions are wrong" not in part.feedback
    for typed, first in (("[0, 3, 0]", "entry 1: 3"), ("0 -1 0", "entry 1: -1")):
        part = grade_response(VITERBI, None, params, {"path": typed}).parts["path"]
        assert part.status.value == "invalid" and part.misconception is None, typed
        assert part.feedback.startswith(first) and "numbered from 0 to 1" in part.feedback
    # In range, a wrong path is still graded position by position.
    part = grade_response(VITERBI, None, params, {"path": "1 1 0"}).parts["path"]
    assert part.status.value == "partial" and "1 of 3 positions are wrong" in part.feedback


def test_a_three_state_path_numbered_from_1_is_diagnosed_on_any_seed() -> None:
    graded = 0
    for seed in range(40):
        v = make_variant(VITERBI, seed, render=False)
        n = len(v.params["pi"])
        if "path" not in v.parts or n - 1 in v.answers["path"] or len(v.answers["path"]) < 2:
            continue
        # Numbered from 1 and one position off: state n appears, so it is no path.
        typed = [n, *(s + 1 for s in v.answers["path"][1:])]
        part = grade_response(VITERBI, None, v.params, {"path": typed}).parts["path"]
        assert part.misconception == "one-based-states", (seed, typed, part)
        assert part.status.value == "invalid" and "numbered from 0" in part.feedback
        graded += 1
    assert graded >= 5


# -- rnn-binary-addition: the order of the bits and the final carry ----------------------------


def _sum_grade(a: str, b: str, typed: str) -> tuple[float, str | None, str]:
    params = {"a": a, "b": b, "ask": ["sum"]}
    part = grade_response(ADDITION, None, params, {"sum": typed}).parts["sum"]
    return part.score, part.misconception, part.feedback


def test_a_sum_written_lsb_first_is_diagnosed() -> None:
    # 1011 + 0111 = 10010; the net outputs 0, 1, 0, 0 and then the carry 1.
    score, code, feedback = _sum_grade("1011", "0111", "01001")
    assert (score, code) == (0, "sum-lsb-first")
    assert "least significant bit first" in feedback
    # The outputs alone, in the order they came: the order is named first.
    assert _sum_grade("1011", "0111", "0100")[1] == "sum-lsb-first"


def test_a_sum_missing_the_final_carry_is_diagnosed() -> None:
    score, code, feedback = _sum_grade("1011", "0111", "0010")
    assert (score, code) == (0, "missing-final-carry")
    assert "final carry" in feedback and "5 bits" in feedback


def test_a_right_sum_is_never_called_a_mistake() -> None:
    # 111 + 010 = 1001 reads the same both ways: written backwards it is still right.
    assert _sum_grade("111", "010", "1001")[:2] == (1.0, None)
    spec = make_variant(ADDITION, None, {"a": "111", "b": "010", "ask": ["sum"]}).parts["sum"]
    assert all(m.value.lstrip("0") != "1001" for m in spec.misconceptions)
    # No final carry: the n-bit sum is the whole sum, not a missing carry.
    assert _sum_grade("001", "001", "010")[:2] == (1.0, None)
    codes = {
        m.code
        for m in make_variant(ADDITION, None, {"a": "001", "b": "001", "ask": ["sum"]})
        .parts["sum"]
        .misconceptions
    }
    assert "missing-final-carry" not in codes


def test_each_sum_mistake_is_recognised_over_many_seeds() -> None:
    seen: set[str] = set()
    for seed in range(60):
        v = make_variant(ADDITION, seed, render=False)
        total = v.answers["sum"]
        params = {**v.params, "ask": ["sum"]}
        backwards = total[::-1]
        if backwards.lstrip("0") != total.lstrip("0"):
            part = grade_response(ADDITION, None, params, {"sum": backwards}).parts["sum"]
            assert part.misconception == "sum-lsb-first", (seed, total)
            seen.add("sum-lsb-first")
        if total[0] == "1" and total[1:][::-1] != total[1:]:
            part = grade_response(ADDITION, None, params, {"sum": total[1:]}).parts["sum"]
            assert part.misconception == "missing-final-carry", (seed, total)
            seen.add("missing-final-carry")
    assert seen == {"sum-lsb-first", "missing-final-carry"}


# -- lstm-cell: the heading says what the numbers show ------------------------------------------


def test_seed_136_does_not_claim_the_gradient_survives() -> None:
    v = make_variant(CELL, 136)
    assert v.answers["dcdc_0"] == pytest.approx(0.028)
    assert "Why the gradient does not vanish" not in v.solution
    assert "What shrinks the gradient" in v.solution


def test_the_no_vanishing_heading_only_when_the_gradient_arrives_whole() -> None:
    both = set()
    for seed in range(200):
        v = make_variant(CELL, seed)
        asked = [int(p.rpartition("_")[2]) for p in v.parts if p.startswith("dcdc_")]
        if not asked:
            assert "gradient does not vanish" not in v.solution
            continue
        whole = v.answers[f"dcdc_{min(asked)}"] == 1
        assert ("Why the gradient does not vanish" in v.solution) == whole, seed
        both.add(whole)
    assert both == {True, False}


def test_a_shut_keep_gate_stops_the_gradient() -> None:
    params = {
        "inputs": [1.0, 2.0, 3.0],
        "keep": [1.0, 0.0, 1.0],
        "write": [1.0, 1.0, 1.0],
        "read": [1.0, 1.0, 1.0],
        "ask": ["dcdc_0"],
    }
    v = make_variant(CELL, None, params)
    assert v.answers["dcdc_0"] == 0
    assert "What stops the gradient" in v.solution and "does not vanish" not in v.solution
    whole = make_variant(CELL, None, {**params, "keep": [0.5, 1.0, 1.0]})
    assert whole.answers["dcdc_0"] == 1
    assert "Why the gradient does not vanish" in whole.solution


def test_a_formula_part_is_not_answered_with_a_number() -> None:
    v = make_variant(CELL, 136)  # asks dc_3/dc_0, dc_3/dc_1 and dc_3/dc_0 as a formula
    answer = v.solution.split("**Answer.**")[1].split("\n")[0]
    assert r"\text{as a formula}" not in answer
    assert answer.count(r"\partial c_{0}") == 1


# -- memory-capacity and context-window ask their question once --------------------------------


@pytest.mark.parametrize("tid", ["memory-capacity", "context-window"])
def test_the_stem_does_not_ask_the_parts_question_again(tid: str) -> None:
    template = REGISTRY.get(tid)
    for seed in range(30):
        v = make_variant(template, seed)
        body, _ = template.render(v.params, v.answers, list(v.parts))
        assert "?" not in body, (seed, body)  # the question is the part's, listed after it
        assert v.stem.count("?") == len(v.parts) == 1


def test_the_memory_capacity_stem_still_lists_the_options() -> None:
    v = make_variant(REGISTRY.get("memory-capacity"), None, {"units": 16, "model": "hmm"})
    assert "`2`, `4`, `16` and `>16`" in v.stem


# -- cosmetics of worked solutions ---------------------------------------------------------------


def test_a_linear_unit_is_not_shown_in_parentheses() -> None:
    params = {
        "x": [1.0, -4.0],
        "w_xh": 0.5,
        "w_hh": 0.5,
        "w_hy": 1.0,
        "b_h": -2.4,
        "activation": "linear",
        "ask": ["h_1"],
    }
    v = make_variant(REGISTRY.get("rnn-forward"), None, params)
    assert "$$h_{0} = z_{0} = -1.9$$" in v.solution
    assert r"\left(-1.9\right) = -1.9" not in v.solution
    # A negative value inside a larger expression keeps its parentheses.
    assert r"0.5 \cdot \left(-1.9\right)" in v.solution


def test_each_viterbi_table_row_uses_one_notation() -> None:
    mixed_rows = 0
    for seed in range(120):
        v = make_variant(VITERBI, seed)
        for row in re.findall(r"^\| \d+ \| \d+ \|.*$", v.solution, flags=re.M):
            cells = [c for c in re.findall(r"\$([^$]*)\$", row) if c != "0"]
            powers = [r"\times 10^" in c for c in cells]
            assert all(powers) or not any(powers), (seed, row)
            mixed_rows += all(powers)
    assert mixed_rows > 0  # rows that need powers of ten were seen


def test_fmt_row_shares_the_notation() -> None:
    from generators.core.symbolic import fmt_row

    assert fmt_row([0.0004, 0.00945]) == [r"4.000 \times 10^{-4}", r"9.450 \times 10^{-3}"]
    assert fmt_row([0.35, 0.00945, 0.0]) == ["0.35", "0.00945", "0"]


@pytest.mark.parametrize(
    ("last", "text"),
    [(0, "0"), (1, "0, 1"), (2, "0, 1, 2"), (3, r"0, \ldots, 3"), (11, r"0, \ldots, 11")],
)
def test_short_index_ranges_are_written_out(last: int, text: str) -> None:
    from generators.core.symbolic import index_list

    assert index_list("", last) == text


@pytest.mark.parametrize(
    "tid", ["rnn-forward", "rnn-bptt", "rnn-gradient-flow", "lstm-cell", "hmm-forward"]
)
def test_no_stem_writes_an_ellipsis_for_two_or_three_steps(tid: str) -> None:
    template = REGISTRY.get(tid)
    short = 0
    for seed in range(60):
        v = make_variant(template, seed)
        T = len(next(v.params[k] for k in ("x", "inputs", "obs") if k in v.params))
        if T <= 3:
            short += 1
            # "t = 0, \ldots, 2$" or "(o_0, \ldots, o_{1})"
            assert not re.search(r"\\ldots, (?:o_)?\{?[0-2]\}?[)$]", v.stem), (seed, v.stem)
    assert short > 0
