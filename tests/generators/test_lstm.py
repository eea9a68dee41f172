"""The LSTM templates: symbolic models against the plain-Python cells and finite differences,
validation errors that name the field, samplers, misconceptions and worked solutions."""

from __future__ import annotations

import math
from typing import Any

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from generators import ParamError, get_template, make_variant
from generators.core.variants import grade_response
from generators.families import lstm, lstm_numeric
from grader import NumericAnswer, Status
from grader.expr import Grammar

CELL = get_template("lstm-cell")
STEP = get_template("lstm-step")

finite = st.floats(-3.0, 3.0, allow_nan=False)
gate = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def cell_params(draw: Any, max_T: int = 8) -> dict[str, Any]:
    T = draw(st.integers(1, max_T))
    seq = {
        "inputs": draw(st.lists(finite, min_size=T, max_size=T)),
        **{n: draw(st.lists(gate, min_size=T, max_size=T)) for n in ("keep", "write", "read")},
    }
    return CELL.validate({**seq, "c_init": draw(finite)})


@st.composite
def step_params(draw: Any, max_T: int = 6) -> dict[str, Any]:
    T = draw(st.integers(1, max_T))
    w = {g: draw(st.lists(finite, min_size=3, max_size=3)) for g in lstm.GATES}
    return STEP.validate(
        {
            "x": draw(st.lists(finite, min_size=T, max_size=T)),
            "h_init": draw(st.floats(-1.0, 1.0)),
            "c_init": draw(finite),
            "w": w,
        }
    )


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


# -- symbolic == numeric == finite differences ----------------------------------------------------


@given(step_params())
def test_lstm_step_symbolic_matches_plain_python_cell(p: dict[str, Any]) -> None:
    got, ref = STEP.solve(p), STEP.reference(p)
    assert set(got) == set(ref) == set(STEP.answer_ids(p))
    for k in ref:
        assert close(got[k], ref[k]), f"{k}: {got[k]} != {ref[k]}"


@given(cell_params())
def test_lstm_cell_symbolic_matches_plain_python_cell(p: dict[str, Any]) -> None:
    got, ref = CELL.solve(p), CELL.reference(p)
    assert set(got) == set(ref) == set(CELL.answer_ids(p))
    grammar = Grammar(tuple(f"keep{t}" for t in range(len(p["keep"]))))
    for k in ref:
        if k.startswith("expr_"):
            # The formula, read back by the students' parser, evaluated at this variant's gates.
            expr = grammar.parse(got[k]).value
            value = float(
                expr.evalf(30, subs={s: p["keep"][int(s.name[4:])] for s in expr.free_symbols})
            )
            assert close(value, ref[k]), f"{k}: {got[k]} = {value} != {ref[k]}"
        else:
            assert close(got[k], ref[k]), f"{k}: {got[k]} != {ref[k]}"


@given(cell_params())
def test_dcdc_is_the_product_of_later_keep_gates_and_a_finite_difference(p: dict[str, Any]) -> None:
    answers = CELL.solve(p)
    cells = lstm_numeric.cell_run(p)
    T = len(cells)
    eps = 1e-4
    for t in range(T):
        product = math.prod(p["keep"][t + 1 :])
        assert close(answers[f"dcdc_{t}"], product)
        # Central difference of c_{T-1} in c_t: run the cell on from a nudged c_t.
        up = lstm_numeric.cell_run(p, t + 1, cells[t] + eps)
        down = lstm_numeric.cell_run(p, t + 1, cells[t] - eps)
        fd = (up[-1] - down[-1]) / (2 * eps) if t < T - 1 else 1.0
        assert math.isclose(answers[f"dcdc_{t}"], fd, rel_tol=1e-6, abs_tol=1e-8)


@pytest.mark.parametrize("T", [1, 2, 5, 12])
def test_cell_model_derives_the_product_of_keep_gates_symbolically(T: int) -> None:
    m = lstm.cell_model(T)
    keep = [sp.Symbol(f"keep_{t}", real=True) for t in range(T)]
    for t in range(T):
        assert sp.simplify(m.closed[f"dcdc_c_{t}"] - sp.Mul(*keep[t + 1 :])) == 0
    assert m.local_factor == r"\mathrm{keep}_t"
    # The perturbed model (keep treated as 1) passes every gradient through unchanged.
    wrong = lstm.cell_model(T, lstm.FORGOT_KEEP)
    assert all(wrong.closed[f"dcdc_c_{t}"] == 1 for t in range(T))


def test_models_are_derived_once_per_shape_not_per_variant() -> None:
    for s in range(50):
        make_variant(CELL, s)
        make_variant(STEP, s)
    before = (lstm.cell_model.cache_info().misses, lstm.step_model.cache_info().misses)
    for s in range(50, 250):
        make_variant(CELL, s)
        make_variant(STEP, s)
    after = (lstm.cell_model.cache_info().misses, lstm.step_model.cache_info().misses)
    assert after == before


def test_longest_sequence_is_solved_and_rendered() -> None:
    x = [0.1 * (k % 5 - 2) for k in range(12)]
    w = {g: [0.3, -0.4, 0.1] for g in lstm.GATES}
    v = make_variant(STEP, None, {"x": x, "w": w, "ask": ["h_11"]})
    assert close(v.answers["h_11"], lstm_numeric.step_answers(v.params)["h_11"])
    assert "h_{11}" in v.solution
    v = make_variant(
        CELL, None, {"inputs": x, "keep": [1.0] * 12, "write": [0.5] * 12, "read": [1.0] * 12}
    )
    assert v.answers["dcdc_0"] == 1.0


# -- the published behaviour of each template -----------------------------------------------------


def test_lstm_cell_worked_example() -> None:
    p = {
        "inputs": [1.0, 2.0, 3.0, 4.0],
        "keep": [1.0, 0.5, 1.0, 0.3],
        "write": [1.0, 1.0, 0.0, 1.0],
        "read": [1.0, 0.5, 1.0, 0.0],
        "ask": ["cell_3", "out_1", "dcdc_0", "dcdc_1"],
    }
    v = make_variant(CELL, None, p)
    assert v.answers["cell_1"] == pytest.approx(2.5)
    assert v.answers["out_1"] == pytest.approx(1.25)
    assert v.answers["cell_3"] == pytest.approx(0.3 * 2.5 + 4.0)
    assert v.answers["dcdc_0"] == pytest.approx(0.15)
    assert v.answers["dcdc_1"] == pytest.approx(0.3)
    assert v.answers["dcdc_3"] == 1.0
    sol = v.solution
    # 0.15: the keep gates below 1 shrink it, and the heading must not say it survives.
    assert "What shrinks the gradient" in sol and "does not vanish" not in sol
    assert r"\partial c_t / \partial c_{t-1} = \mathrm{keep}_t" in sol
    # The closed form comes from the model: the product of the later keep gates, then numbers.
    assert (
        r"\mathrm{keep}_{1} \mathrm{keep}_{2} \mathrm{keep}_{3} = 0.5 \cdot 1 \cdot 0.3 = 0.15"
        in sol
    )


def test_lstm_step_worked_solution_folds_each_gate_into_one_line() -> None:
    w = {"i": [0.5, -0.5, 0.0], "f": [1.0, 1.0, 1.0], "g": [1.0, 0.0, 0.0], "o": [0.0, 0.0, 0.0]}
    v = make_variant(STEP, None, {"x": [1.0, -1.0], "w": w, "ask": ["h_1"]})
    assert v.answers["o_0"] == 0.5
    assert v.answers["g_0"] == pytest.approx(math.tanh(1.0))
    sol = v.solution
    assert r"i_{1} = \sigma\left(w_{ix} x_{1} + w_{ih} h_{0} + b_{i}\right)" in sol
    assert r"h_{1} = o_{1} \tanh\left(c_{1}\right)" in sol
    assert "Step $t = 1$." in sol


# -- validation -----------------------------------------------------------------------------------

GOOD_CELL = {"inputs": [1.0, 2.0], "keep": [1.0, 0.5], "write": [1.0, 1.0], "read": [0.5, 1.0]}
GOOD_W = {g: [0.1, 0.2, 0.3] for g in lstm.GATES}
GOOD_STEP = {"x": [1.0, -1.0], "w": GOOD_W}
NAN = float("nan")


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({**GOOD_CELL, "keep": [1.0, 1.2]}, "keep[1]", "from 0 to 1"),
        ({**GOOD_CELL, "read": [-0.1, 1.0]}, "read[0]", "from 0 to 1"),
        ({**GOOD_CELL, "write": [1.0, 1.0, 1.0]}, "write", "2 entries"),
        ({**GOOD_CELL, "inputs": [1.0, NAN]}, "inputs[1]", "finite"),
        ({**GOOD_CELL, "keep": [1.0, math.inf]}, "keep[1]", "finite"),
        ({**GOOD_CELL, "c_init": "zero"}, "c_init", "number"),
        ({k: [0.5] * 13 for k in lstm.CELL_LISTS}, "inputs", "from 1 to 12"),
        ({**GOOD_CELL, "forget": [1.0, 1.0]}, "forget", "unknown parameter"),
        ({**GOOD_CELL, "ask": ["cell_5"]}, "ask", "not a part"),
        ({k: v for k, v in GOOD_CELL.items() if k != "read"}, "read", "required"),
    ],
)
def test_lstm_cell_validation_names_the_field(params: dict, field: str, words: str) -> None:
    with pytest.raises(ParamError) as err:
        CELL.validate(params)
    assert err.value.field == field
    assert f"params.{field}:" in str(err.value) and words in str(err.value)


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({**GOOD_STEP, "w": {g: GOOD_W[g] for g in "ifg"}}, "w", "missing gate 'o'"),
        ({**GOOD_STEP, "w": {**GOOD_W, "z": [1, 2, 3]}}, "w", "unknown gate 'z'"),
        ({**GOOD_STEP, "w": {**GOOD_W, "f": [0.1, 0.2]}}, "w.f", "3 numbers"),
        ({**GOOD_STEP, "w": {**GOOD_W, "g": 0.5}}, "w.g", "3 numbers"),
        ({**GOOD_STEP, "w": {**GOOD_W, "g": [0.1, 0.2, NAN]}}, "w.g[2]", "finite"),
        ({**GOOD_STEP, "w": [1, 2, 3]}, "w", "must be an object"),
        ({**GOOD_STEP, "x": [1.0, math.inf]}, "x[1]", "finite"),
        ({**GOOD_STEP, "x": [0.1] * 13}, "x", "from 1 to 12"),
        ({**GOOD_STEP, "h_init": NAN}, "h_init", "finite"),
        ({**GOOD_STEP, "ask": ["h_2"]}, "ask", "not a part"),
        ({"w": GOOD_W}, "x", "required"),
    ],
)
def test_lstm_step_validation_names_the_field(params: dict, field: str, words: str) -> None:
    with pytest.raises(ParamError) as err:
        STEP.validate(params)
    assert err.value.field == field
    assert f"params.{field}:" in str(err.value) and words in str(err.value)


def test_fixed_params_are_validated_before_sampling() -> None:
    with pytest.raises(ParamError, match=r"params\.keep\[0\]"):
        make_variant(CELL, 3, {"keep": [2.0, 1.0]})
    with pytest.raises(ParamError, match=r"params\.ask"):
        make_variant(CELL, 3, {"ask": ["cell_x"]})
    with pytest.raises(ParamError, match=r"params\.ask"):
        make_variant(STEP, 3, {"x": [1.0, 2.0], "ask": ["c_2"]})
    with pytest.raises(ParamError, match=r"params\.w\.f"):
        make_variant(STEP, 3, {"w": {"f": [1.0]}})


# -- samplers -------------------------------------------------------------------------------------


def _one_decimal(v: float) -> bool:
    return abs(v * 10 - round(v * 10)) < 1e-9


def test_lstm_cell_sampler_sets_numbers_a_person_would() -> None:
    for seed in range(300):
        v = make_variant(CELL, seed, render=False)
        p = v.params
        T = len(p["inputs"])
        assert 2 <= T <= 5
        for name in lstm.CELL_LISTS:
            assert len(p[name]) == T and all(_one_decimal(x) for x in p[name])
        assert all(x != 0 for x in p["inputs"])
        assert any(w != 0 for w in p["write"][1:])
        assert 1 <= len(p["ask"]) <= 3
        for pid, spec in v.parts.items():
            if pid.startswith("expr_"):
                assert pid[5:] in v.parts  # a formula part comes with its value
                continue
            assert isinstance(spec, NumericAnswer)
            assert spec.value != 0
            assert abs(spec.value) >= 10 * spec.tolerance.half_width(spec.value), (seed, pid)
            assert pid != f"dcdc_{T - 1}"  # trivially 1


def test_lstm_step_sampler_sets_numbers_a_person_would() -> None:
    for seed in range(300):
        v = make_variant(STEP, seed, render=False)
        p = v.params
        T = len(p["x"])
        assert 2 <= T <= 5
        assert all(_one_decimal(x) for x in p["x"])
        assert all(_one_decimal(x) for row in p["w"].values() for x in row)
        assert 1 <= len(p["ask"]) <= 3
        values = lstm.step_model(T).values(lstm.step_args(p))
        for t in range(T):  # no saturated unit: every gate still responds to its input
            for g in "ifo":
                assert abs(values[f"z{g}_{t}"]) <= 4.0
            assert abs(values[f"zg_{t}"]) <= 2.5
        for pid, spec in v.parts.items():
            assert abs(spec.value) >= 10 * spec.tolerance.half_width(spec.value), (seed, pid)


def test_samplers_honour_fixed_params() -> None:
    keep = [1.0, 1.0, 1.0, 1.0]
    for seed in range(30):
        v = make_variant(CELL, seed, {"keep": keep, "ask": ["dcdc_0"]})
        assert v.params["keep"] == keep and len(v.params["inputs"]) == 4
        assert v.params["ask"] == ["dcdc_0"] and v.answers["dcdc_0"] == 1.0
        w = make_variant(STEP, seed, {"w": {"f": [0.0, 0.0, 2.0]}, "c_init": 0.5})
        assert w.params["w"]["f"] == [0.0, 0.0, 2.0] and w.params["c_init"] == 0.5
        assert list(w.params["w"]) == list(lstm.GATES)
    # A fixed ask naming a late step makes the sampler draw a long enough sequence.
    v = make_variant(STEP, 5, {"ask": ["h_4"]})
    assert len(v.params["x"]) == 5


# -- misconceptions -------------------------------------------------------------------------------


def _codes_come_back(template: Any, code: str, seeds: range) -> int:
    """Grade each asked part's perturbed answer (from the perturbed model); count the hits."""
    hits = 0
    for seed in seeds:
        v = make_variant(template, seed, render=False)
        wrong = template.wrong_answers(v.params, code)
        for pid, spec in v.parts.items():
            if pid.startswith("expr_"):
                continue  # a formula part: graded by equivalence, not by a perturbed value
            if not any(m.code == code for m in spec.recognised):
                assert spec.tolerance.accepts(wrong[pid], spec.value) or wrong[pid] == spec.value
                continue
            result = grade_response(template, seed, None, {pid: repr(wrong[pid])}).parts[pid]
            assert result.status is Status.INCORRECT and result.misconception == code, result
            hits += 1
    return hits


@pytest.mark.parametrize(
    ("template", "code"),
    [(CELL, "forgot-keep-gate"), (STEP, "forgot-keep-gate"), (STEP, "missing-output-tanh")],
    ids=["cell-forgot-keep-gate", "step-forgot-keep-gate", "step-missing-output-tanh"],
)
def test_each_misconception_code_comes_back_from_its_perturbed_model(
    template: Any, code: str
) -> None:
    assert _codes_come_back(template, code, range(80)) >= 20


def test_forgot_keep_gate_on_a_known_cell() -> None:
    p = {
        "inputs": [1.0, 1.0, 1.0],
        "keep": [0.5, 0.5, 0.5],
        "write": [1.0, 1.0, 1.0],
        "read": [1.0, 1.0, 1.0],
        "ask": ["cell_2", "dcdc_0"],
    }
    # c = 1, 1.5, 1.75 with the keep gate; 1, 2, 3 without it. dc_2/dc_0 = 0.25, not 1.
    result = grade_response(CELL, None, p, {"cell_2": "3", "dcdc_0": "1"})
    for pid in ("cell_2", "dcdc_0"):
        assert result.parts[pid].misconception == "forgot-keep-gate"
        assert "keep" in result.parts[pid].feedback
    right = grade_response(CELL, None, p, {"cell_2": "1.75", "dcdc_0": "0.25"})
    assert right.score == 1.0
    other = grade_response(CELL, None, p, {"cell_2": "2.5", "dcdc_0": "0.5"})
    assert all(r.misconception is None and r.score == 0 for r in other.parts.values())


def test_a_misconception_equal_to_the_right_answer_is_dropped() -> None:
    # With every keep gate 1 the mistake changes nothing: it must never be called one.
    p = {**GOOD_CELL, "keep": [1.0, 1.0], "ask": ["cell_1", "dcdc_0"]}
    v = make_variant(CELL, None, p)
    assert all(not spec.recognised for spec in v.parts.values())
    result = grade_response(CELL, None, p, {"cell_1": "3", "dcdc_0": "1"})
    assert result.score == 1.0
