"""hmm-forward and hmm-viterbi: the symbolic models against brute force over all state paths,
validation messages, the sampler's promises, and misconception feedback."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import sympy
from hypothesis import assume, given
from hypothesis import strategies as st

from generators import ParamError, get_template, make_variant
from generators.core import symbolic
from generators.core.variants import grade_response
from generators.families import hmm, hmm_numeric
from grader import Status

FORWARD = get_template("hmm-forward")
VITERBI = get_template("hmm-viterbi")

# -- strategies -------------------------------------------------------------------------------


@st.composite
def stochastic_row(draw: st.DrawFn, k: int) -> list[float]:
    """k two-decimal probabilities summing to 1, zeros allowed (cuts of 100 hundredths)."""
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=k - 1, max_size=k - 1)))
    bounds = [0, *cuts, 100]
    return [(bounds[i + 1] - bounds[i]) / 100 for i in range(k)]


@st.composite
def hmm_params(draw: st.DrawFn, max_states: int = 3, max_t: int = 4) -> dict[str, Any]:
    N = draw(st.integers(2, max_states))
    M = draw(st.integers(2, 3))
    T = draw(st.integers(1, max_t))
    p = {
        "pi": draw(stochastic_row(N)),
        "A": [draw(stochastic_row(N)) for _ in range(N)],
        "B": [draw(stochastic_row(M)) for _ in range(N)],
        "obs": draw(st.lists(st.integers(0, M - 1), min_size=T, max_size=T)),
    }
    assume(hmm.impossible_step(p) is None)
    return p


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15)


# -- the forward algorithm against brute force ------------------------------------------------


@given(hmm_params())
def test_forward_likelihood_and_alphas_are_sums_over_all_state_paths(p: dict[str, Any]) -> None:
    answers = FORWARD.solve(FORWARD.validate(p))
    paths = hmm_numeric.all_paths(p)
    T, N = len(p["obs"]), len(p["pi"])
    assert close(answers["likelihood"], sum(paths.values()))
    # alpha_{T-1}(i) = P(o, s_{T-1} = i): the paths that end in state i
    for i in range(N):
        ending = sum(v for path, v in paths.items() if path[-1] == i)
        assert close(answers[f"alpha_{T - 1}"][i], ending)


@given(hmm_params())
def test_forward_agrees_with_numpy_reference_and_distributions_sum_to_one(
    p: dict[str, Any],
) -> None:
    full = FORWARD.validate(p)
    answers, ref = FORWARD.solve(full), FORWARD.reference(full)
    assert set(answers) == set(ref) == set(FORWARD.answer_ids(full))
    for key, value in answers.items():
        np.testing.assert_allclose(value, ref[key], rtol=1e-9, atol=1e-15, err_msg=key)
    for t in range(len(p["obs"])):
        assert math.isclose(sum(answers[f"filter_{t}"]), 1.0, abs_tol=1e-12)
        assert all(0.0 <= x <= 1.0 + 1e-12 for x in answers[f"filter_{t}"])
    assert math.isclose(sum(answers["predict"]), 1.0, abs_tol=1e-12)
    assert math.isclose(sum(answers["next_obs"]), 1.0, abs_tol=1e-12)


# -- Viterbi against brute force --------------------------------------------------------------


@given(hmm_params())
def test_viterbi_path_is_the_argmax_over_all_state_paths(p: dict[str, Any]) -> None:
    answers = VITERBI.solve(VITERBI.validate(p))
    paths = hmm_numeric.all_paths(p)
    best = max(paths.values())
    assert close(answers["path_prob"], best)
    # On an exact tie any best path is right; the one returned must be one of them.
    assert close(paths[tuple(answers["path"])], best)
    assert all(isinstance(s, int) for s in answers["path"])


@given(hmm_params())
def test_two_best_paths_matches_brute_force(p: dict[str, Any]) -> None:
    assume(len(p["pi"]) ** len(p["obs"]) >= 2)
    ranked = sorted(hmm_numeric.all_paths(p).values(), reverse=True)
    best, second = hmm.two_best_paths(p)
    assert close(best, ranked[0]) and close(second, ranked[1])


def test_sampled_viterbi_variants_have_a_visible_margin() -> None:
    for seed in range(150):
        v = make_variant(VITERBI, seed, render=False)
        ranked = sorted(hmm_numeric.all_paths(v.params).values(), reverse=True)
        assert ranked[0] >= 1.1 * ranked[1], f"seed {seed}"
        assert hmm_numeric.all_paths(v.params)[tuple(v.answers["path"])] == ranked[0]


# -- the sampler --------------------------------------------------------------------------------


@pytest.mark.parametrize("template", [FORWARD, VITERBI], ids=["forward", "viterbi"])
def test_sampled_matrices_are_two_decimal_rows_summing_exactly_to_one(template: Any) -> None:
    for seed in range(100):
        p = make_variant(template, seed, render=False).params
        N, M, T = hmm.shape(p)
        assert 2 <= N <= 3 and 2 <= M <= 3 and 2 <= T <= 4
        rows = [p["pi"], *p["A"], *p["B"]]
        for row in rows:
            hundredths = [round(x * 100) for x in row]
            assert all(
                abs(h - 100 * x) < 1e-9 and h > 0 for h, x in zip(hundredths, row, strict=True)
            )
            assert sum(hundredths) == 100, f"seed {seed}: {row}"
        assert hmm.distinct_rows(p["A"]) and hmm.distinct_rows(p["B"])
        assert 1 <= len(p["ask"]) <= 3
        if template is FORWARD:
            assert not hmm.tiny(FORWARD.solve(p)["likelihood"], T)


def test_sampler_honours_fixed_params() -> None:
    fixed = {"A": [[0.9, 0.1], [0.2, 0.8]], "obs": [0, 2, 1, 1, 0], "ask": ["predict"]}
    for seed in range(20):
        v = make_variant(FORWARD, seed, fixed)
        assert v.params["A"] == fixed["A"] and v.params["obs"] == fixed["obs"]
        assert list(v.parts) == ["predict"]
        assert len(v.params["pi"]) == 2 and len(v.params["B"][0]) == 3
    v = make_variant(VITERBI, 0, {"pi": [0.3, 0.3, 0.4], "ask": ["path"]})
    assert v.params["pi"] == [0.3, 0.3, 0.4] and len(v.params["A"]) == 3
    assert list(v.parts) == ["path"]


def test_fully_fixed_params_are_taken_as_given_even_with_a_tie() -> None:
    tie = {"pi": [0.5, 0.5], "A": [[0.5, 0.5], [0.5, 0.5]], "B": [[0.5, 0.5], [0.5, 0.5]]}
    v = make_variant(VITERBI, 3, {**tie, "obs": [0, 1]})
    assert v.answers["path"] == [0, 0] and math.isclose(v.answers["path_prob"], 0.0625)


def test_largest_allowed_shape_solves_and_renders() -> None:
    N, M, T = hmm.MAX_STATES, hmm.MAX_SYMBOLS, 12
    row_n, row_m = [0.2] * N, [0.1, 0.1, 0.2, 0.2, 0.2, 0.2]
    p = {"pi": row_n, "A": [row_n] * N, "B": [row_m] * N, "obs": [t % M for t in range(T)]}
    v = make_variant(FORWARD, None, {**p, "ask": ["likelihood"]})
    assert math.isclose(v.answers["likelihood"], math.prod(row_m[o] for o in p["obs"]))


def test_no_sympy_work_per_variant_once_a_shape_is_warm(monkeypatch: pytest.MonkeyPatch) -> None:
    base = {"pi": [0.6, 0.4], "A": [[0.7, 0.3], [0.4, 0.6]], "B": [[0.9, 0.1], [0.2, 0.8]]}
    for template in (FORWARD, VITERBI):
        make_variant(template, None, {**base, "obs": [0, 1, 0]})

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("SymPy work on the per-variant path")

    monkeypatch.setattr(sympy, "lambdify", forbidden)
    monkeypatch.setattr(sympy, "latex", forbidden)
    monkeypatch.setattr(symbolic.Substitution, "__init__", forbidden)
    other = {"pi": [0.1, 0.9], "A": [[0.5, 0.5], [0.15, 0.85]], "B": [[0.35, 0.65], [0.8, 0.2]]}
    for template in (FORWARD, VITERBI):
        v = make_variant(template, None, {**other, "obs": [1, 1, 0]})
        assert v.solution


# -- validation ---------------------------------------------------------------------------------

GOOD = {
    "pi": [0.6, 0.4],
    "A": [[0.7, 0.3], [0.4, 0.6]],
    "B": [[0.9, 0.1], [0.2, 0.8]],
    "obs": [0, 1],
}


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"A": [[0.7, 0.3], [0.5, 0.47]]}, "A", "row 1 sums to 0.97, not 1"),
        ({"B": [[0.9, 0.15], [0.2, 0.8]]}, "B", "row 0 sums to 1.05, not 1"),
        ({"pi": [0.6, 0.3]}, "pi", "sums to 0.9, not 1"),
        ({"A": [[0.7, 0.3], [1.2, -0.2]]}, "A[1][0]", "must be a probability"),
        ({"A": [[0.7, 0.3, 0.0], [0.4, 0.6, 0.0]]}, "A[0]", "must have 2 entries"),
        ({"A": [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]}, "A", "must have 2 rows"),
        ({"B": [[0.9, 0.1], [0.2, 0.7, 0.1]]}, "B[1]", "must have 2 entries"),
        ({"B": [[0.5, 0.5]]}, "B", "must have 2 rows"),
        ({"pi": [1.0]}, "pi", "must have from 2 to"),
        ({"pi": "0.5 0.5"}, "pi", "must be a list"),
        ({"A": [[0.7, "x"], [0.4, 0.6]]}, "A[0][1]", "must be a number"),
        ({"pi": [math.nan, 0.4]}, "pi[0]", "must be finite"),
        ({"obs": [0, 2]}, "obs", "obs[1] = 2 is not a symbol 0 to 1"),
        ({"obs": [0, -1]}, "obs", "obs[1] = -1"),
        ({"obs": [0, 0.5]}, "obs[1]", "must be an integer"),
        ({"obs": [True, 0]}, "obs[0]", "must be an integer"),
        ({"obs": [0] * 13}, "obs", "from 1 to 12"),
        ({"obs": []}, "obs", "from 1 to 12"),
        ({"B": [[1.0, 0.0], [1.0, 0.0]], "obs": [0, 1]}, "obs", "probability 0"),
        ({"ask": ["alpha_5"]}, "ask", "not a part"),
        ({"temperature": 3}, "temperature", "unknown parameter"),
    ],
)
def test_validation_names_the_field_and_the_value(
    change: dict[str, Any], field: str, words: str
) -> None:
    for template in (FORWARD, VITERBI):
        if "ask" in change and template is VITERBI:
            continue
        with pytest.raises(ParamError) as err:
            template.validate({**GOOD, **change})
        assert err.value.field == field, str(err.value)
        assert words in str(err.value), str(err.value)


def test_missing_param_and_partial_validation() -> None:
    with pytest.raises(ParamError, match=r"params\.B: is required"):
        FORWARD.validate({k: v for k, v in GOOD.items() if k != "B"})
    # Fixed params of a sampler: only what is given is checked, and checked against each other.
    assert FORWARD.validate({"obs": [0, 5]}, partial=True) == {"obs": [0, 5]}
    with pytest.raises(ParamError, match="must have 2 rows"):
        FORWARD.validate({"pi": [0.5, 0.5], "A": [[1.0]]}, partial=True)
    with pytest.raises(ParamError, match="obs"):
        FORWARD.validate({"B": GOOD["B"], "obs": [3]}, partial=True)


def test_rows_of_thirds_sum_to_one_within_float_slack() -> None:
    third = 1 / 3
    p = {**GOOD, "A": [[third, third, third]] * 3, "pi": [0.2, 0.3, 0.5]}
    p["B"] = [[0.1, 0.2, 0.7], [0.3, 0.3, 0.4], [0.5, 0.25, 0.25]]
    assert FORWARD.validate(p)["A"][0] == [third] * 3


# -- misconceptions -----------------------------------------------------------------------------


def perturbed_forward(p: dict[str, Any], code: str) -> dict[str, Any]:
    """What a student making the mistake answers, computed with numpy, independently."""
    pi, A, B, obs = hmm_numeric.arrays(p)
    if code == hmm.TRANSPOSED_TRANSITION:
        return hmm_numeric.forward_answers({**p, "A": A.T.tolist()})
    alpha = hmm_numeric.forward(pi, A, B, obs)
    if code == hmm.UNNORMALIZED_FILTER:
        joint = alpha[-1] @ A
        out = {f"filter_{t}": alpha[t].tolist() for t in range(len(obs))}
        return out | {"predict": joint.tolist(), "next_obs": (joint @ B).tolist()}
    assert code == hmm.MAX_INSTEAD_OF_SUM
    a = pi * B[:, obs[0]]
    out = {"alpha_0": a.tolist()}
    for t in range(1, len(obs)):
        a = (a[:, None] * A).max(axis=0) * B[:, obs[t]]
        out[f"alpha_{t}"] = a.tolist()
    out["likelihood"] = float(a.sum())
    return out


def as_response(value: Any) -> Any:
    return repr(value) if isinstance(value, float) else value


@pytest.mark.parametrize(
    ("code", "parts"),
    [
        (hmm.MAX_INSTEAD_OF_SUM, ["alpha_2", "likelihood"]),
        (hmm.UNNORMALIZED_FILTER, ["filter_2", "predict", "next_obs"]),
        (hmm.TRANSPOSED_TRANSITION, ["alpha_2", "likelihood", "filter_2", "predict", "next_obs"]),
    ],
)
def test_forward_misconceptions_are_named(code: str, parts: list[str]) -> None:
    named = dict.fromkeys(parts, 0)
    for seed in range(40):
        fixed = {"obs": [0, 1, 1], "ask": parts}
        v = make_variant(FORWARD, seed, fixed, render=False)
        wrong = perturbed_forward(v.params, code)
        for pid in parts:
            spec = v.parts[pid]
            if spec.grade(as_response(wrong[pid])).status is Status.CORRECT:
                continue  # the mistake makes no difference here: never called a mistake
            result = grade_response(FORWARD, seed, fixed, {pid: as_response(wrong[pid])})
            assert result.parts[pid].misconception == code, (seed, pid, result.parts[pid])
            assert result.parts[pid].score == 0.0
            named[pid] += 1
    assert all(n >= 10 for n in named.values()), named


def test_viterbi_transposed_transition_is_named() -> None:
    found = 0
    for seed in range(60):
        v = make_variant(VITERBI, seed, {"ask": ["path", "path_prob"]}, render=False)
        p = v.params
        t_answers = hmm_numeric.viterbi_answers({**p, "A": np.asarray(p["A"]).T.tolist()})
        if t_answers["path"] == v.answers["path"]:
            continue
        found += 1
        response = {"path": t_answers["path"], "path_prob": repr(t_answers["path_prob"])}
        result = grade_response(VITERBI, seed, {"ask": ["path", "path_prob"]}, response)
        assert result.parts["path"].misconception == hmm.TRANSPOSED_TRANSITION
        if result.parts["path_prob"].status is not Status.CORRECT:  # may coincide
            assert result.parts["path_prob"].misconception == hmm.TRANSPOSED_TRANSITION
    assert found >= 10


def test_a_perturbation_that_changes_nothing_is_dropped() -> None:
    # A symmetric A: reading it transposed is no mistake, so no feedback may name it.
    p = {**GOOD, "A": [[0.7, 0.3], [0.3, 0.7]], "obs": [0, 1, 1]}
    parts = FORWARD.answer_ids(p)
    v = make_variant(FORWARD, None, {**p, "ask": parts})
    for spec in v.parts.values():
        assert all(m.code != hmm.TRANSPOSED_TRANSITION for m in spec.misconceptions)
    # T = 1: no recursion, so alpha_0 has no max to take (the likelihood still has a sum).
    v = make_variant(FORWARD, None, {**p, "obs": [1], "ask": ["alpha_0", "likelihood"]})
    assert v.parts["alpha_0"].misconceptions == ()
    assert [m.code for m in v.parts["likelihood"].misconceptions] == [hmm.MAX_INSTEAD_OF_SUM]


def test_right_answer_near_miss_and_garbage_for_a_vector_part() -> None:
    v = make_variant(FORWARD, 7, {"ask": ["filter_1"]})
    value = list(v.parts["filter_1"].value)
    assert grade_response(FORWARD, 7, {"ask": ["filter_1"]}, {"filter_1": value}).score == 1.0
    shifted = [value[0] + 0.0006, *value[1:]]
    result = grade_response(FORWARD, 7, {"ask": ["filter_1"]}, {"filter_1": shifted})
    assert 0.0 < result.score < 1.0
    bad = grade_response(FORWARD, 7, {"ask": ["filter_1"]}, {"filter_1": value[:-1]})
    assert bad.parts["filter_1"].status is Status.INVALID


# -- worked solutions -------------------------------------------------------------------------


def test_solutions_show_the_tables_step_by_step() -> None:
    p = {**GOOD, "obs": [0, 1, 1]}
    fwd = make_variant(FORWARD, None, {**p, "ask": ["likelihood"]}).solution
    assert r"\alpha_{2}(i) = B_{i,o_{2}} \sum_j \alpha_{1}(j) \, A_{j,i}" in fwd
    # alpha_1(0) = 0.1 (0.54 0.7 + 0.08 0.4): the general form, the numbers, the result
    assert (
        r"\alpha_{1}(0) = B_{0,o_{1}} \left(\alpha_{0}(0) A_{0,0} + \alpha_{0}(1) A_{1,0}\right)"
        in fwd
    )
    assert r"0.1 \cdot \left(0.54 \cdot 0.7 + 0.08 \cdot 0.4\right) = 0.041" in fwd
    assert "| $t$ | $o_t$ | $\\alpha_t(0)$ | $\\alpha_t(1)$ |" in fwd
    vit = make_variant(VITERBI, None, p).solution
    assert r"\max\left(\delta_{0}(0) A_{0,0}, \delta_{0}(1) A_{1,0}\right)" in vit
    assert r"\psi_{1}(0) = 0" in vit and "**Backtrace**" in vit
    assert "$\\psi_t(1)$" in vit
