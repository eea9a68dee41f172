"""The rnn templates: the published quiz, an autograd reference, and the law that the symbolic
derivatives, the numpy BPTT recursion and central finite differences agree."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest
import sympy as sp
from autograd import grad
from hypothesis import given
from hypothesis import strategies as st

import jobs
from generators import get_template, make_variant
from generators.core.variants import grade_response
from generators.families import rnn, rnn_numeric

FORWARD = get_template("rnn-forward")
BPTT = get_template("rnn-bptt")
FLOW = get_template("rnn-gradient-flow")
ACTS = ("logistic", "tanh", "linear")

Q3 = rnn.PUBLISHED_FORWARD
Q4 = rnn.PUBLISHED_BPTT


def test_published_forward_question() -> None:
    out = jobs.solve({"template": "rnn-forward", "params": Q3})
    assert round(out["answers"]["h_2"], 4) == 0.0753
    assert round(out["answers"]["y_1"], 4) == -0.3551
    assert out["params"]["activation"] == "logistic" and out["params"]["h_init"] == 0.0


def test_published_bptt_question_accepts_exact_and_stem_rounded_values() -> None:
    out = jobs.solve({"template": "rnn-bptt", "params": Q4})
    assert round(out["answers"]["dEdz_1"], 5) == 0.01393
    params = {**Q4, "ask": ["dEdz_1"]}
    for typed in ("0.01393", "0.01392", "0.0139"):
        result = grade_response(BPTT, None, params, {"dEdz_1": typed})
        assert result.score == 1.0, typed
    assert grade_response(BPTT, None, params, {"dEdz_1": "0.012"}).score == 0.0


def test_bptt_alternate_comes_from_rounded_hidden_values() -> None:
    v = make_variant(BPTT, None, {**Q4, "ask": ["dEdz_1", "dEdw_xh"]})
    h = [0.2, 0.4, 0.8]
    p = {**v.params}
    f = {"x": np.array(p["x"]), "h": np.array(h), "d": np.array([a * (1 - a) for a in h])}
    dEdy = p["w_hy"] * np.array(h) + p["b_y"] - np.array(p["targets"])
    by_hand = rnn_numeric.backward(p, f, dEdy)
    assert by_hand["dEdz"][1] == pytest.approx(0.01392)
    spec = v.parts["dEdw_xh"]
    assert any(a == pytest.approx(by_hand["dEdw_xh"]) for a in (spec.value, *spec.also))


# -- an autograd reference --------------------------------------------------------------------


def _act(name: str, z: object) -> object:
    if name == "logistic":
        return 1.0 / (1.0 + anp.exp(-z))
    if name == "tanh":
        return anp.tanh(z)
    return z


def _loss(theta: object, p: dict, eps_z: object, eps_h: object, kind: str) -> object:
    """E with perturbations added to every z_t and h_t, so that dE/deps = total dE/dz, dE/dh."""
    w_xh, w_hh, w_hy, b_h, b_y, h_init = (theta[i] for i in range(6))
    h = h_init
    E = 0.0
    T = len(p["x"])
    for t in range(T):
        z = w_xh * p["x"][t] + w_hh * h + b_h + eps_z[t]
        h = _act(p["activation"], z) + eps_h[t]
        y = w_hy * h + b_y
        if kind == "bptt":
            E = E + 0.5 * (p["targets"][t] - y) ** 2
        elif kind == "flow" and t == T - 1:
            E = E + 0.5 * (p["target"] - y) ** 2
        elif kind == "gain" and t == T - 1:
            E = h
    return E


def autograd_answers(p: dict, kind: str) -> dict[str, float]:
    theta = anp.array([p[k] for k in ("w_xh", "w_hh", "w_hy", "b_h", "b_y", "h_init")], dtype=float)
    T = len(p["x"])
    zero = anp.zeros(T)
    g_theta = grad(_loss, 0)(theta, p, zero, zero, "bptt" if kind == "bptt" else "flow")
    names = ("dEdw_xh", "dEdw_hh", "dEdw_hy", "dEdb_h", "dEdb_y", "dEdh_init")
    out = dict(zip(names, map(float, g_theta), strict=True))
    if kind == "bptt":
        gz = grad(_loss, 2)(theta, p, zero, zero, "bptt")
        gh = grad(_loss, 3)(theta, p, zero, zero, "bptt")
        for t in range(T):
            out[f"dEdz_{t}"] = float(gz[t])
            out[f"dEdh_{t}"] = float(gh[t])
    else:
        out["gain"] = float(grad(_loss, 3)(theta, p, zero, zero, "gain")[0])
    return out


weights = st.floats(-1.5, 1.5).map(lambda v: round(v, 2))
inputs = st.floats(-3, 3).map(lambda v: round(v, 1))


@st.composite
def rnn_params(draw: st.DrawFn, kind: str) -> dict:
    T = draw(st.integers(1, 8))
    p = {
        "x": draw(st.lists(inputs, min_size=T, max_size=T)),
        "w_xh": draw(weights),
        "w_hh": draw(weights),
        "w_hy": draw(weights),
        "b_h": draw(weights),
        "b_y": draw(weights),
        "h_init": draw(weights),
        "activation": draw(st.sampled_from(ACTS)),
    }
    if kind == "bptt":
        p["targets"] = draw(st.lists(weights, min_size=T, max_size=T))
    else:
        p["target"] = draw(weights)
    return p


def close(a: float, b: float, rel: float, abs_: float) -> bool:
    return abs(a - b) <= abs_ + rel * max(abs(a), abs(b))


@given(rnn_params("bptt"))
def test_bptt_matches_autograd_to_1e6(p: dict) -> None:
    full = BPTT.validate(p)
    ours = BPTT.solve(full)
    ref = autograd_answers(full, "bptt")
    for key, value in ref.items():
        assert close(ours[key], value, 1e-6, 1e-12), (key, ours[key], value)


@given(rnn_params("flow"))
def test_gradient_flow_matches_autograd_to_1e6(p: dict) -> None:
    full = FLOW.validate(p)
    ours = FLOW.solve(full)
    ref = autograd_answers(full, "flow")
    assert close(ours["dEdw_xh"], ref["dEdw_xh"], 1e-6, 1e-12)
    assert close(ours["gain"], ref["gain"], 1e-6, 1e-12)


# -- symbolic == numpy recursion == central finite differences --------------------------------
# Finite differences with step 1e-5 on float64 carry a truncation error of about 1e-10 |E'''| and
# a rounding error of about 1e-16 |E| / 1e-5 = 1e-11 |E|: 1e-6 relative plus 1e-8 absolute covers
# both with margin, while any missing chain-rule term (usually >= 1e-3 here) still fails.
FD_STEP = 1e-5
FD_REL, FD_ABS = 1e-6, 1e-8


def _central(f: object, x0: float) -> float:
    return (f(x0 + FD_STEP) - f(x0 - FD_STEP)) / (2 * FD_STEP)


def _numeric_E(p: dict) -> float:
    return rnn_numeric.bptt_answers(p)["E"]


@given(rnn_params("bptt"))
def test_symbolic_recursion_and_finite_differences_agree(p: dict) -> None:
    full = BPTT.validate(p)
    sym = BPTT.solve(full)
    rec = rnn_numeric.bptt_answers(full)
    for key in rec:
        if not key.startswith("expr_"):  # formulas: test_formula_answers_evaluate_...
            assert close(sym[key], rec[key], 1e-9, 1e-12), (key, sym[key], rec[key])
    for name in ("w_xh", "w_hh", "w_hy", "b_h", "b_y", "h_init"):
        fd = _central(lambda v, name=name: _numeric_E({**full, name: v}), full[name])
        assert close(
            sym[f"dEd{name}"] if name[0] != "h" else sym["dEdh_init"], fd, FD_REL, FD_ABS
        ), name


def test_graph_derivatives_match_sympy_diff_of_the_fully_unrolled_error() -> None:
    """For small T, differentiate E written out as one expression, independently of the graph."""
    for act in ACTS:
        T = 3
        x = sp.symbols("x0:3")
        w_xh, w_hh, w_hy, b_h, b_y, h0 = sp.symbols("w_xh w_hh w_hy b_h b_y h_init")
        tg = sp.symbols("t0:3")
        f = {"logistic": lambda z: 1 / (1 + sp.exp(-z)), "tanh": sp.tanh, "linear": lambda z: z}[
            act
        ]
        h, E = h0, 0
        for t in range(T):
            h = f(w_xh * x[t] + w_hh * h + b_h)
            E += sp.Rational(1, 2) * (tg[t] - (w_hy * h + b_y)) ** 2
        p = {**Q4, "activation": act, "h_init": 0.1}
        full = BPTT.validate(p)
        subs = {
            **dict(zip(x, full["x"], strict=True)),
            **dict(zip(tg, full["targets"], strict=True)),
            w_xh: full["w_xh"],
            w_hh: full["w_hh"],
            w_hy: full["w_hy"],
            b_h: full["b_h"],
            b_y: full["b_y"],
            h0: full["h_init"],
        }
        ours = BPTT.solve(full)
        for sym, key in (
            (w_xh, "dEdw_xh"),
            (w_hh, "dEdw_hh"),
            (w_hy, "dEdw_hy"),
            (b_h, "dEdb_h"),
            (h0, "dEdh_init"),
        ):
            exact = float(sp.diff(E, sym).evalf(30, subs=subs))
            assert close(ours[key], exact, 1e-12, 1e-15), (act, key)


@pytest.mark.parametrize("act", ACTS)
def test_gradient_flow_sampler_is_unambiguous_and_balanced(act: str) -> None:
    regimes = []
    for seed in range(60):
        v = make_variant(FLOW, seed, {"activation": act}, render=False)
        gain = v.answers["gain"]
        assert abs(np.log10(abs(gain))) >= 0.5, (seed, gain)
        regimes.append(v.answers["regime"])
    share = regimes.count("exploding") / len(regimes)
    assert 0.3 <= share <= 0.7, share


@pytest.mark.parametrize("template", [FORWARD, BPTT])
def test_samplers_avoid_saturation_and_tiny_answers(template: object) -> None:
    for seed in range(100):
        v = make_variant(template, seed, render=False)
        limit = {"logistic": 4.0, "tanh": 2.5, "linear": 25.0}[v.params["activation"]]
        T = len(v.params["x"])
        assert 2 <= T <= 4
        assert all(abs(v.answers[f"z_{t}"]) <= limit for t in range(T))
        for spec in v.parts.values():
            if isinstance(spec.value, float):
                assert abs(spec.value) >= 10 * spec.tolerance.half_width(0.0)


@given(rnn_params("bptt"))
def test_formula_answers_evaluate_to_the_numeric_reference(p: dict) -> None:
    """expr_dEdz_t, read back by the students' parser and evaluated at the forward values of the
    variant, equals the numpy recursion's dE/dz_t; likewise expr_gain."""
    from grader.expr import Grammar

    full = BPTT.validate(p)
    ours = BPTT.solve(full)
    ref = rnn_numeric.bptt_answers(full)
    T = len(full["x"])
    values = {
        **{f"h{t}": ours[f"h_{t}"] for t in range(T)},
        **{f"y{t}": ours[f"y_{t}"] for t in range(T)},
        **{f"t{t}": v for t, v in enumerate(full["targets"])},
        **{k: full[k] for k in ("w_xh", "w_hh", "w_hy", "b_h", "b_y")},
    }
    grammar = Grammar(BPTT.model(full).formula_names)
    for t in range(T):
        expr = grammar.parse(ours[f"expr_dEdz_{t}"]).value
        got = float(expr.evalf(30, subs={s: values[s.name] for s in expr.free_symbols}))
        assert close(got, ref[f"dEdz_{t}"], 1e-9, 1e-12), t
    flow = FLOW.validate(
        {k: v for k, v in full.items() if k not in ("targets", "ask")} | {"target": 0.3}
    )
    fo = FLOW.solve(flow)
    gexpr = Grammar(FLOW.model(flow).formula_names).parse(fo["expr_gain"]).value
    hv = {
        **{f"h{t}": v for t, v in enumerate(rnn_numeric.forward(flow)["h"])},
        "w_hh": flow["w_hh"],
    }
    got = float(gexpr.evalf(30, subs={s: hv[s.name] for s in gexpr.free_symbols}))
    assert close(got, fo["gain"], 1e-9, 1e-12)


def test_formula_parts_accept_equivalent_forms_and_reject_wrong_ones() -> None:
    params = {**Q4, "ask": ["expr_dEdz_1"]}
    v = make_variant(BPTT, None, params)
    spec = v.parts["expr_dEdz_1"]
    assert "`h1`" in v.stem and "`sigma`" in v.stem
    forms = [
        spec.value,
        # y written out, and sigma(z) for h: the same quantity.
        "h1*(1-h1)*(w_hy*(w_hy*h1 + b_y - t1) + w_hh*h2*(1-h2)*w_hy*(y2 - t2))",
        "sigma(z1)*(1-sigma(z1))*(w_hy*(y1-t1) + w_hh*w_hy*(y2-t2)*h2*(1-h2))",
    ]
    for typed in forms:
        assert grade_response(BPTT, None, params, {"expr_dEdz_1": typed}).score == 1, typed
    local_only = "h1*(1-h1)*w_hy*(y1-t1)"
    result = grade_response(BPTT, None, params, {"expr_dEdz_1": local_only})
    assert result.score == 0 and result.parts["expr_dEdz_1"].status.value == "incorrect"
