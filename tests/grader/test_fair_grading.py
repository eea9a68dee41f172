"""Issue 9's cases through the real templates: what a fair instructor signs off on."""

from __future__ import annotations

import orjson
import pytest

from generators import get_template, make_variant
from generators.core.variants import grade_response
from grader import Status
from jobs import grade_lines

FORWARD = {
    "x": [2, -1],
    "w_xh": 0.1,
    "w_hh": -1.5,
    "w_hy": 0.15,
    "b_h": 0,
    "b_y": 0,
    "h_init": 0,
    "activation": "linear",
    "ask": ["h_1", "y_1"],
}
NOTHING_QUALIFIES = {
    "context_ms": 50,
    "delay_ms": 20,
    "setups": [
        {"id": "A", "arch": "rnn", "input_ms": 50},
        {"id": "B", "arch": "feedforward", "input_ms": 50},
        {"id": "C", "arch": "feedforward", "input_ms": 60},
        {"id": "D", "arch": "feedforward", "input_ms": 120},
        {"id": "E", "arch": "rnn", "input_ms": 30},
    ],
    "ask": ["setups"],
}
# Two of four setups qualify (B and D): the published quiz's shape.
TWO_QUALIFY = {
    "context_ms": 100,
    "delay_ms": 100,
    "setups": [
        {"id": "A", "arch": "feedforward", "input_ms": 30},
        {"id": "B", "arch": "feedforward", "input_ms": 200},
        {"id": "C", "arch": "feedforward", "input_ms": 150},
        {"id": "D", "arch": "rnn", "input_ms": 200},
    ],
    "ask": ["setups"],
}


@pytest.mark.parametrize("typed", ["-0.4", "-2/5", "-.4", "-0.40", "-4e-1", -0.4])
def test_the_exact_value_is_right_however_few_digits(typed: object) -> None:
    t = get_template("rnn-forward")
    part = grade_response(t, None, FORWARD, {"h_1": typed}).parts["h_1"]
    assert part.status is Status.CORRECT and part.score == 1.0, part


def test_a_short_rounding_is_a_format_to_fix_not_a_wrong_answer() -> None:
    t = get_template("rnn-forward")
    params = {**FORWARD, "ask": ["y_1"]}  # y_1 = 0.15 * -0.4 = -0.06: typed "-0.1" is 1 digit
    loose = {"y_1": {"decimals": 0, "min_decimals": 2}}
    short = grade_response(t, None, params, {"y_1": "-0.1"}, loose).parts["y_1"]
    assert short.status is Status.INVALID and "at least 2 digits" in short.feedback
    assert grade_response(t, None, params, {"y_1": "-0.06"}, loose).score == 1.0


def test_a_matrix_typed_as_text_is_read_like_a_vector() -> None:
    t = get_template("lds-kalman")
    params = {**make_variant(t, 10, render=False).params, "ask": ["gain_0"]}
    v = make_variant(t, None, params, render=False)
    (a, b), (c, d) = (tuple(round(x, 3) for x in row) for row in v.answers["gain_0"])
    forms = [
        f"[[{a}, {b}], [{c}, {d}]]",
        f"[[{a} {b}]\n [{c} {d}]]",
        f"[{a} {b}; {c} {d}]",
        f"{a}, {b}\n{c}, {d}",
        [f"{a} {b}", f"{c} {d}"],
    ]
    for typed in forms:
        result = grade_response(t, None, params, {"gain_0": typed})
        assert result.score == 1.0, (typed, result.parts["gain_0"])
    off = grade_response(t, None, params, {"gain_0": f"[[{a}, {b}], [{c}, {d + 1}]]"})
    assert off.score == 0.75 and "[1][1]" in off.parts["gain_0"].feedback


@pytest.mark.parametrize("typed", ["vanishing", "Vanishing", "VANISHING", " vanishing "])
def test_a_choice_is_read_whatever_its_case(typed: str) -> None:
    t = get_template("rnn-gradient-flow")
    params = {**FORWARD, "w_hh": 0.5, "target": 1, "ask": ["regime"]}
    assert make_variant(t, None, params, render=False).answers["regime"] == "vanishing"
    assert grade_response(t, None, params, {"regime": typed}).score == 1.0


@pytest.mark.parametrize("typed", ["B,D", "b,d", "b, d", "{B, D}", "[b d]", ["B", "D"], ["d", "b"]])
def test_a_multi_select_is_read_in_every_listed_form(typed: object) -> None:
    t = get_template("context-window")
    assert grade_response(t, None, TWO_QUALIFY, {"setups": typed}).score == 1.0


def test_a_wrong_pick_when_nothing_qualifies_earns_no_more_than_half_right() -> None:
    t = get_template("context-window")
    assert make_variant(t, None, NOTHING_QUALIFIES, render=False).answers["setups"] == []
    half_right = grade_response(t, None, TWO_QUALIFY, {"setups": "B"}).score
    assert half_right == 0.5
    for picks in ("A", "A, B", "A, B, C, D, E"):
        wrong = grade_response(t, None, NOTHING_QUALIFIES, {"setups": picks})
        assert wrong.score == 0.0 <= half_right, picks
        assert wrong.parts["setups"].status is Status.INCORRECT
    for none in ("none", "None", "[]", "{}", []):
        assert grade_response(t, None, NOTHING_QUALIFIES, {"setups": none}).score == 1.0


def test_the_stem_says_how_to_answer_none_and_what_a_wrong_pick_scores() -> None:
    v = make_variant(get_template("context-window"), None, NOTHING_QUALIFIES)
    label = v.labels["setups"]
    assert "write none" in label and "any letter scores 0" in label


@pytest.mark.parametrize("typed", [10**400, 2**64, "10**400", "1e400", "-1e400", "1e308*10^10"])
def test_a_number_too_large_is_one_clear_invalid_part(typed: object) -> None:
    t = get_template("rnn-forward")
    result = grade_response(t, None, FORWARD, {"h_1": typed, "y_1": "-0.06"})
    part = result.parts["h_1"]
    assert part.status is Status.INVALID and part.feedback.startswith("number too large"), part
    assert result.parts["y_1"].status is Status.CORRECT


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1" + "0" * 400, "18446744073709551616"])
def test_a_json_number_too_large_costs_its_part_not_the_line(number: str) -> None:
    line = orjson.dumps(
        {"submission_id": "s", "template": "rnn-forward", "params": FORWARD, "response": {}}
    ).replace(b'"response":{}', b'"response":{"h_1":' + number.encode() + b',"y_1":"-0.06"}')
    (result,) = grade_lines([line])
    assert "error" not in result, result
    assert result["parts"]["h_1"]["status"] == "invalid"
    assert result["parts"]["h_1"]["feedback"].startswith("number too large")
    assert result["parts"]["y_1"]["status"] == "correct"
