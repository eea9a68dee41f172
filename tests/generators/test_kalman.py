"""lds-kalman: the filter equals Gaussian conditioning, covariances stay SPD, params are validated
with named errors, misconceptions come back from the grader, and SymPy stays off the hot path."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from generators import ParamError, get_template, make_variant
from generators.core.variants import grade_response
from generators.families import kalman, kalman_numeric
from generators.families.kalman_params import COVARIANCES, form, shape_of
from generators.lds_kalman import TOLERANCES, tolerance
from grader import NumericAnswer, Status, VectorAnswer

TEMPLATE = get_template("lds-kalman")
SEEDS = range(150)

HAND = {"A": 1, "C": 1, "Q": 1, "R": 1, "mu0": 0, "V0": 1, "obs": [1, 2]}


def close(a: Any, b: Any, rtol: float = 1e-7, atol: float = 1e-9) -> bool:
    return bool(np.allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=atol))


# -- a hand-worked example ------------------------------------------------------------------------


def test_scalar_filter_by_hand() -> None:
    # t = 0: S = 1 + 1, K = 1/2, mu = 0 + (1 - 0)/2, V = 1/2.
    # t = 1: V_pred = 1/2 + 1 = 3/2, S = 5/2, K = 3/5, mu = 1/2 + 3/5 (2 - 1/2) = 1.4, V = 3/5.
    answers = TEMPLATE.solve(TEMPLATE.validate(HAND))
    expected = {
        "pred_mean_0": 0.0,
        "pred_var_0": 1.0,
        "gain_0": 0.5,
        "mean_0": 0.5,
        "var_0": 0.5,
        "pred_mean_1": 0.5,
        "pred_var_1": 1.5,
        "gain_1": 0.6,
        "mean_1": 1.4,
        "var_1": 0.6,
    }
    assert answers.keys() == expected.keys()
    for key, value in expected.items():
        assert math.isclose(answers[key], value, rel_tol=1e-12), key


def test_worked_solution_shows_formula_numbers_and_result() -> None:
    v = make_variant(TEMPLATE, None, {**HAND, "ask": ["gain_1", "mean_1"]})
    sol = v.solution
    assert r"K_{1} = \frac{V_{1\mid 0} C}{S_{1}} = \frac{1.5 \cdot 1}{2.5} = 0.6" in sol
    assert r"V_{1\mid 0} = A^{2} V_{0\mid 0} + Q = 1^{2} \cdot 0.5 + 1 = 1.5" in sol
    assert r"\mu_{1\mid 1} = \mu_{1\mid 0} + K_{1} \left(y_{1} - C \mu_{1\mid 0}\right)" in sol
    assert "**Answer.**" in sol and r"\mu_{1\mid 1} = 1.4" in sol
    # Steps that the asked parts do not need are left out: no mean at step 0 for K_1 alone.
    only_gain = make_variant(TEMPLATE, None, {**HAND, "ask": ["gain_1"]}).solution
    assert r"\mu_{0\mid 0} =" not in only_gain and r"V_{0\mid 0} =" in only_gain


def test_two_dimensional_solution_writes_out_the_inverse() -> None:
    params = {
        "A": [[1, 1], [0, 1]],
        "C": [[1, 0], [0, 1]],
        "Q": [[0.2, 0.1], [0.1, 0.3]],
        "R": [[1, 0.2], [0.2, 2]],
        "mu0": [0, 1],
        "V0": [[2, 0], [0, 1]],
        "obs": [[0.5, 1.2], [1.5, -0.3]],
        "ask": ["gain_1"],
    }
    sol = make_variant(TEMPLATE, None, params).solution
    assert (
        r"S_{0}^{-1} = \frac{1}{3 \cdot 3 - 0.2 \cdot 0.2} \begin{pmatrix} 3 & -0.2 \\ -0.2 & 3"
        in sol
    )
    assert (
        r"V_{1\mid 0} = A V_{0\mid 0} A^{\top} + Q = \begin{pmatrix} 1 & 1 \\ 0 & 1 \end{pmatrix}"
        in sol
    )


# -- the filter is Gaussian conditioning ----------------------------------------------------------


def joint_posteriors(p: dict[str, Any]) -> dict[str, list[np.ndarray]]:
    """Moments of x_t given y_0..y_{t-1} and given y_0..y_t, and the gain, by conditioning the
    joint Gaussian of (x_0..x_{T-1}, y_0..y_{T-1}) built in one piece: no recursion."""
    a = kalman_numeric.arrays(p)
    n, m, T = a["n"], a["m"], a["T"]
    A, C = a["A"], a["C"]
    # x = mean_x + G e, with e = (x_0 - mu0, w_1, ..., w_{T-1}) ~ N(0, blockdiag(V0, Q, ...)).
    G = np.zeros((T * n, T * n))
    mean_x = np.zeros((T * n, 1))
    for t in range(T):
        for s in range(t + 1):
            G[t * n : (t + 1) * n, s * n : (s + 1) * n] = np.linalg.matrix_power(A, t - s)
        if t == 0:
            mean_x[:n] = a["mu0"]
        else:
            drift = A @ mean_x[(t - 1) * n : t * n]
            if a["k"]:
                drift = drift + a["B"] @ a["u"][t]
            mean_x[t * n : (t + 1) * n] = drift
    E = np.zeros((T * n, T * n))
    E[:n, :n] = a["V0"]
    for t in range(1, T):
        E[t * n : (t + 1) * n, t * n : (t + 1) * n] = a["Q"]
    Sxx = G @ E @ G.T
    H = np.kron(np.eye(T), C)
    Rbig = np.kron(np.eye(T), a["R"])
    Sxy = Sxx @ H.T
    Syy = H @ Sxx @ H.T + Rbig
    y = np.vstack(a["obs"])
    mean_y = H @ mean_x

    def condition(t: int, upto: int) -> tuple[np.ndarray, np.ndarray]:
        xs = slice(t * n, (t + 1) * n)
        if upto == 0:
            return mean_x[xs], Sxx[xs, xs]
        ys = slice(0, upto * m)
        gain = np.linalg.solve(Syy[ys, ys], Sxy[xs, ys].T).T
        return (
            mean_x[xs] + gain @ (y[ys] - mean_y[ys]),
            Sxx[xs, xs] - gain @ Sxy[xs, ys].T,
        )

    out: dict[str, list[np.ndarray]] = {q: [] for q in kalman.QUANTITIES}
    for t in range(T):
        pm, pv = condition(t, t)
        mu, V = condition(t, t + 1)
        # The gain maps the surprise in y_t to the change of the mean: Cov(x_t, y_t | y_<t)
        # Var(y_t | y_<t)^-1, read off the joint of (x_t, y_t) given the earlier observations.
        cov_xy = pv @ C.T
        var_y = C @ pv @ C.T + a["R"]
        out["pred_mean"].append(pm)
        out["pred_var"].append(pv)
        out["gain"].append(np.linalg.solve(var_y.T, cov_xy.T).T)
        out["mean"].append(mu)
        out["var"].append(V)
    return out


def spd(n: int, draw: st.DrawFn, lo: float = 0.2) -> Any:
    """A symmetric positive definite n x n matrix in canonical JSON form (exactly symmetric)."""
    if n == 1:
        return draw(st.floats(lo, 3.0))
    l11 = draw(st.floats(0.5, 1.5))
    l21 = draw(st.floats(-1.0, 1.0))
    l22 = draw(st.floats(0.5, 1.5))
    off = l11 * l21
    return [[l11 * l11, off], [off, l21 * l21 + l22 * l22]]


def entries(draw: st.DrawFn, rows: int, cols: int, lo: float, hi: float) -> Any:
    flat = [draw(st.floats(lo, hi)) for _ in range(rows * cols)]
    return form(rows, cols, flat)


@st.composite
def kalman_params(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.sampled_from((1, 2)))
    m = draw(st.integers(1, n))
    k = draw(st.sampled_from((0, 1) if n == 1 else (0, 1, 2)))
    T = draw(st.integers(1, 4))
    p: dict[str, Any] = {
        "A": entries(draw, n, n, -1.2, 1.2),
        "C": entries(draw, m, n, -2.0, 2.0),
        "Q": spd(n, draw),
        "R": spd(m, draw),
        "mu0": entries(draw, n, 1, -3.0, 3.0),
        "V0": spd(n, draw),
        "obs": [entries(draw, m, 1, -5.0, 5.0) for _ in range(T)],
    }
    if k:
        p["B"] = entries(draw, n, k, -2.0, 2.0)
        p["u"] = [entries(draw, k, 1, -2.0, 2.0) for _ in range(T - 1)]
    return p


@given(kalman_params())
def test_filter_equals_conditioning_of_the_joint_gaussian(params: dict[str, Any]) -> None:
    full = TEMPLATE.validate(params)
    answers = TEMPLATE.solve(full)
    reference = TEMPLATE.reference(full)
    joint = joint_posteriors(full)
    for t in range(len(full["obs"])):
        for q in kalman.QUANTITIES:
            pid = f"{q}_{t}"
            want = joint[q][t]
            assert close(answers[pid], np.asarray(want).reshape(np.shape(answers[pid]))), pid
            assert close(reference[pid], answers[pid], rtol=1e-9, atol=1e-12), pid


@given(kalman_params())
def test_filtered_covariances_are_symmetric_positive_definite(params: dict[str, Any]) -> None:
    full = TEMPLATE.validate(params)
    answers = TEMPLATE.solve(full)
    for t in range(len(full["obs"])):
        for q in ("pred_var", "var"):
            assert_spd(answers[f"{q}_{t}"], f"{q}_{t}")


def assert_spd(value: Any, where: str) -> None:
    M = np.atleast_2d(np.asarray(value, dtype=float))
    assert np.allclose(M, M.T, rtol=1e-9, atol=1e-12), f"{where}: not symmetric: {value}"
    assert np.linalg.eigvalsh((M + M.T) / 2).min() > 0, f"{where}: not positive definite: {value}"


# -- the sampler --------------------------------------------------------------------------------


def test_sampled_variants_are_well_posed() -> None:
    shapes = set()
    for seed in SEEDS:
        v = make_variant(TEMPLATE, seed, render=False)
        p = v.params
        sh = shape_of(p)
        shapes.add((sh.n, sh.m, sh.k > 0))
        assert 2 <= sh.T <= 4, seed
        assert 1 <= len(p["ask"]) <= 3, seed
        assert not {"pred_mean_0", "pred_var_0"} & set(p["ask"]), seed
        assert any(int(pid.rpartition("_")[2]) >= 1 for pid in p["ask"]), seed
        for name in ("A", "C", "Q", "R", "mu0", "V0", "obs", *(("B", "u") if sh.k else ())):
            for x in np.ravel(np.asarray(p[name], dtype=float)):
                assert round(x, 2) == x, (
                    f"seed {seed}: {name} = {p[name]} is not as a person sets it"
                )
        for name in COVARIANCES:
            assert_spd(p[name], f"seed {seed} {name}")
            eig = np.linalg.eigvalsh(np.atleast_2d(np.asarray(p[name], dtype=float)))
            assert eig.max() <= 20 * eig.min(), f"seed {seed}: {name} ill-conditioned"
        for t in range(sh.T):
            assert_spd(v.answers[f"pred_var_{t}"], f"seed {seed} pred_var_{t}")
            assert_spd(v.answers[f"var_{t}"], f"seed {seed} var_{t}")
        for pid, spec in v.parts.items():
            # Not swallowed by the tolerance: the biggest entry is well away from 0.
            biggest = max(abs(x) for x in np.ravel(np.asarray(v.answers[pid], dtype=float)))
            assert biggest >= 10 * tolerance(pid).half_width(0.0), f"seed {seed} {pid}"
            assert isinstance(spec, NumericAnswer if sh.n == 1 else VectorAnswer)
    # Every shape the template offers comes up.
    assert shapes == {
        (1, 1, False),
        (1, 1, True),
        (2, 1, False),
        (2, 1, True),
        (2, 2, False),
        (2, 2, True),
    }


def test_answer_json_shapes() -> None:
    base2 = {
        "A": [[1, 0.5], [0, 1]],
        "Q": [[0.2, 0], [0, 0.2]],
        "mu0": [0, 0],
        "V0": [[1, 0], [0, 1]],
    }
    one = {**base2, "C": [1, 0], "R": 1, "obs": [0.5, 1.0]}
    a = TEMPLATE.solve(TEMPLATE.validate(one))
    assert all(isinstance(x, float) for x in a["mean_1"]) and len(a["mean_1"]) == 2
    assert len(a["gain_1"]) == 2 and all(isinstance(x, float) for x in a["gain_1"])  # a column
    assert [len(r) for r in a["var_1"]] == [2, 2]
    two = {**base2, "C": [[1, 0], [0, 1]], "R": [[1, 0], [0, 1]], "obs": [[0.5, 1], [1, 0]]}
    a = TEMPLATE.solve(TEMPLATE.validate(two))
    assert [len(r) for r in a["gain_0"]] == [2, 2]
    scalar = TEMPLATE.solve(TEMPLATE.validate(HAND))
    assert all(isinstance(x, float) for x in scalar.values())


def test_sampler_honours_fixed_params() -> None:
    fixed = {"A": [[1.0, 1.0], [0.0, 1.0]], "C": [1.0, 0.0], "u": [1.0, -1.0]}
    for seed in range(10):
        v = make_variant(TEMPLATE, seed, fixed)
        assert v.params["A"] == fixed["A"] and v.params["C"] == fixed["C"]
        assert v.params["u"] == fixed["u"] and len(v.params["obs"]) == 3 and "B" in v.params
    scalar = {"A": 0.9, "Q": 0.5, "obs": [1.0, 2.0, 1.5], "ask": ["var_2"]}
    for seed in range(10):
        v = make_variant(TEMPLATE, seed, scalar)
        assert {k: v.params[k] for k in scalar} == scalar
        assert list(v.parts) == ["var_2"]
    assert make_variant(TEMPLATE, 3, fixed).to_json() == make_variant(TEMPLATE, 3, fixed).to_json()
    # Fixed 2-d observations or inputs call for a 2-d state; one fixed observation for T = 1.
    for two_d in ({"obs": [[1.0, 2.0], [0.5, 0.5]]}, {"u": [[1.0, 0.0]]}):
        for seed in range(5):
            v = make_variant(TEMPLATE, seed, two_d)
            assert shape_of(v.params).n == 2
            assert {k: v.params[k] for k in two_d} == two_d
    for seed in range(5):
        v = make_variant(TEMPLATE, seed, {"obs": [0.4]})
        assert v.params["obs"] == [0.4] and set(v.parts) <= {"gain_0", "mean_0", "var_0"}


def test_tolerances_cover_every_quantity() -> None:
    assert set(TOLERANCES) == set(kalman.QUANTITIES)


# -- validation -----------------------------------------------------------------------------------

GOOD = {
    "A": [[1.0, 0.5], [0.0, 1.0]],
    "C": [1.0, 0.0],
    "Q": [[0.2, 0.0], [0.0, 0.3]],
    "R": 1.0,
    "mu0": [0.0, 1.0],
    "V0": [[1.0, 0.0], [0.0, 1.0]],
    "obs": [0.5, 1.0, 1.5],
}
BAD = [
    ({"A": None}, "A", "is required"),
    ({"obs": None}, "obs", "is required"),
    ({"Q": [[1.0, 0.5], [0.4, 1.0]]}, "Q", "symmetric"),
    ({"Q": [[1.0, 2.0], [2.0, 1.0]]}, "Q", "positive definite"),
    ({"V0": [[1.0, 1.0], [1.0, 1.0]]}, "V0", "positive definite"),
    ({"R": -1.0}, "R", "positive"),
    ({"R": 0.0}, "R", "positive"),
    ({"A": 1.0}, "A", "2x2 matrix"),
    ({"A": [[1.0, 0.5, 0.0], [0.0, 1.0, 0.0]]}, "A", "2x2 matrix"),
    ({"A": "identity"}, "A", "must be"),
    ({"A": [[1.0, float("nan")], [0.0, 1.0]]}, "A[0][1]", "finite"),
    ({"mu0": [0.0, float("inf")]}, "mu0[1]", "finite"),
    ({"mu0": [0.0, 1.0, 2.0]}, "mu0", "1 or 2 dimensions"),
    (
        {"C": [[1.0, 0.0], [0.0, 1.0]]},
        "C",
        "a list of 2 numbers, as an observation has 1 dimension (from obs)",
    ),
    ({"obs": [[0.5, 1.0], [1.0, 1.0]]}, "C", "a 2x2 matrix"),
    ({"obs": [0.5] * 13}, "obs", "from 1 to 12"),
    ({"obs": []}, "obs", "from 1 to 12"),
    ({"obs": "0.5 1.0"}, "obs", "must be a list"),
    ({"obs": [0.5, True]}, "obs[1]", "number"),
    ({"obs": [0.5, 1e9]}, "obs[1]", "at most 1e6"),
    ({"B": [0.5, 1.0]}, "u", "required when B is given"),
    ({"u": [1.0, 2.0]}, "B", "required when u is given"),
    ({"B": [0.5, 1.0], "u": [1.0]}, "u", "T-1 = 2"),
    ({"B": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], "u": [[1.0, 0.0, 0.0]] * 2}, "u", "at most as many"),
    ({"velocity": 1.0}, "velocity", "unknown parameter"),
    ({"ask": ["gain_7"]}, "ask", "not a part"),
]


@pytest.mark.parametrize(("change", "field", "words"), BAD, ids=[f"{b[1]}:{b[2]}" for b in BAD])
def test_bad_params_raise_param_error_naming_field_and_value(
    change: dict[str, Any], field: str, words: str
) -> None:
    params = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    with pytest.raises(ParamError) as info:
        TEMPLATE.validate(params)
    assert info.value.field == field
    assert words in str(info.value)
    assert str(info.value).startswith(f"params.{field}:")
    assert "(got " in str(info.value)


def test_scalar_state_rejects_two_dimensional_observations() -> None:
    with pytest.raises(ParamError, match="only when the state is"):
        TEMPLATE.validate({**HAND, "obs": [[1, 2], [2, 3]]})


def test_partial_validation_checks_fixed_params_alone() -> None:
    with pytest.raises(ParamError) as info:
        TEMPLATE.validate({"Q": [[1.0, 2.0], [2.0, 1.0]]}, partial=True)
    assert info.value.field == "Q"
    assert TEMPLATE.validate({"Q": 0.5, "obs": [1, 2]}, partial=True) == {
        "Q": 0.5,
        "obs": [1.0, 2.0],
    }
    with pytest.raises(ParamError):
        make_variant(TEMPLATE, 0, {"R": [[1.0, 0.0], [0.0, -1.0]]})


def test_full_matrix_forms_normalize_to_the_canonical_json() -> None:
    wordy = {
        "A": [[1]],
        "C": [[1]],
        "Q": [[0.5]],
        "R": [[1]],
        "mu0": [0],
        "V0": [[1]],
        "obs": [[1], [2]],
        "B": [[2]],
        "u": [[1]],
    }
    canon = TEMPLATE.validate(wordy)
    assert canon["A"] == 1.0 and canon["obs"] == [1.0, 2.0] and canon["u"] == [1.0]
    assert TEMPLATE.validate(canon) == canon
    column = TEMPLATE.validate({**GOOD, "mu0": [[0], [1]], "C": [[1, 0]]})
    assert column["mu0"] == [0.0, 1.0] and column["C"] == [1.0, 0.0]


# -- misconceptions -------------------------------------------------------------------------------


@pytest.mark.parametrize("code", list(kalman.MISCONCEPTIONS))
def test_misconception_from_the_perturbed_model_comes_back(code: str) -> None:
    """The numpy filter with the mistake, made at every step or at the asked step only, gives a
    wrong answer; the grader names the mistake unless that value is right within tolerance (or
    the other mistake gives the same value)."""
    hits = 0
    for seed in range(60):
        v = make_variant(TEMPLATE, seed, render=False)
        everywhere = kalman_numeric.answers(v.params, code)
        for pid, spec in v.parts.items():
            t = int(pid.rpartition("_")[2])
            if t == 0:  # no predict step to get wrong
                continue
            for w in (everywhere[pid], kalman_numeric.answers(v.params, code, only_at=t)[pid]):
                result = grade_response(TEMPLATE, seed, None, {pid: w}).parts[pid]
                if within(spec, w):
                    assert result.correct and result.misconception is None
                    continue
                others = [c for c in kalman.MISCONCEPTIONS if c != code]
                assert result.misconception == code or any(
                    close(w, kalman_numeric.answers(v.params, c, only_at=at)[pid], 0.02, 0.02)
                    for c in others
                    for at in (None, t)
                ), f"seed {seed} {pid}: {result}"
                hits += result.misconception == code
    assert hits >= 20


def within(spec: Any, w: Any) -> bool:
    right = np.ravel(np.asarray(spec.to_json()["value"], dtype=float))
    return all(spec.tolerance.accepts(s, r) for s, r in zip(np.ravel(w), right, strict=True))


def test_forgot_process_noise_on_a_scalar_prediction() -> None:
    params = {**HAND, "ask": ["pred_var_1", "mean_1"]}
    # V_{1|0} = A^2 V_{0|0} + Q = 1.5; without Q it is 0.5. (With A = 1, skipping the predict
    # step gives 0.5 too; the narrower mistake is named.)
    result = grade_response(TEMPLATE, None, params, {"pred_var_1": "0.5", "mean_1": "1.4"})
    part = result.parts["pred_var_1"]
    assert part.status is Status.INCORRECT and part.misconception == "forgot-process-noise"
    assert "process noise" in part.feedback
    assert result.parts["mean_1"].correct and result.parts["mean_1"].misconception is None


def test_skipped_predict_on_a_two_dimensional_update() -> None:
    params = {**GOOD, "ask": ["var_1"]}
    wrong = kalman_numeric.answers(params, "skipped-predict")["var_1"]
    part = grade_response(TEMPLATE, None, params, {"var_1": wrong}).parts["var_1"]
    assert part.misconception == "skipped-predict" and "predict step" in part.feedback


def test_a_right_answer_is_never_called_a_mistake() -> None:
    for seed in range(40):
        v = make_variant(TEMPLATE, seed, render=False)
        right = {pid: spec.to_json()["value"] for pid, spec in v.parts.items()}
        result = grade_response(TEMPLATE, seed, None, right)
        assert result.score == 1.0
        assert all(p.misconception is None for p in result.parts.values())


# -- SymPy stays off the hot path --------------------------------------------------------------------


def test_no_sympy_per_variant(monkeypatch: pytest.MonkeyPatch) -> None:
    import sympy
    from sympy.printing.latex import LatexPrinter

    seeds = range(200, 230)
    for seed in seeds:
        make_variant(TEMPLATE, seed)  # derives each shape once

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("SymPy was used for one variant")

    monkeypatch.setattr(sympy, "lambdify", forbidden)
    monkeypatch.setattr(LatexPrinter, "doprint", forbidden)
    monkeypatch.setattr(sympy.Basic, "xreplace", forbidden)
    kalman._evaluate.cache_clear()
    for seed in seeds:
        make_variant(TEMPLATE, seed)
