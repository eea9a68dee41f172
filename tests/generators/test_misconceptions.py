"""Every declared misconception code comes back when a student makes that mistake, and every
code a part can return is declared (the README's table lists them all)."""

from __future__ import annotations

import pytest

from generators import REGISTRY, Template, make_variant
from generators.core.variants import grade_response
from generators.families import rnn
from grader.answers import IntSequenceAnswer, NumericAnswer, VectorAnswer

TEMPLATES = [t for t in REGISTRY if t.misconception_codes]
SEEDS = range(120)


def typed(spec: object, value: object) -> object:
    """The response a student who made the mistake would type."""
    if isinstance(spec, NumericAnswer):
        return repr(float(value))
    if isinstance(spec, VectorAnswer | IntSequenceAnswer):
        return [list(v) if isinstance(v, tuple) else v for v in value]
    return value


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.id for t in TEMPLATES])
def test_each_declared_code_is_recognised(template: Template) -> None:
    seen: set[str] = set()
    for seed in SEEDS:
        v = make_variant(template, seed, render=False)
        # Ask every part, so that every misconception the variant knows is on offer.
        params = {**v.params, "ask": template.answer_ids(v.params)}
        every = make_variant(template, None, params, render=False)
        for pid, spec in every.parts.items():
            for m in getattr(spec, "recognised", getattr(spec, "misconceptions", ())):
                assert m.code in template.misconception_codes, f"{pid}: undeclared {m.code}"
                result = grade_response(template, None, params, {pid: typed(spec, m.value)})
                part = result.parts[pid]
                assert part.score < 1, (seed, pid, m.code)
                # Two mistakes can give the same number; the part then names the first.
                assert part.misconception is not None, (seed, pid, m.code, part)
                seen.add(part.misconception)
        if seen >= set(template.misconception_codes):
            break
    assert seen == set(template.misconception_codes)


def test_the_published_bptt_local_term_is_missing_future_terms() -> None:
    params = {**rnn.PUBLISHED_BPTT, "ask": ["dEdz_1"]}
    result = grade_response(REGISTRY.get("rnn-bptt"), None, params, {"dEdz_1": "0.012"})
    assert result.parts["dEdz_1"].misconception == "missing-future-terms"
    assert "local term" in result.parts["dEdz_1"].feedback


def test_rnn_perturbations_match_independent_computations() -> None:
    """Spot checks built without the model: sign-error negates the gradient, no-recurrence is the
    forward pass with w_hh = 0, missing-activation-derivative drops f'."""
    from generators.families import rnn_numeric

    bptt = REGISTRY.get("rnn-bptt")
    forward = REGISTRY.get("rnn-forward")
    p = bptt.validate(
        {
            "x": [1, -2, 3],
            "w_xh": 0.4,
            "w_hh": -0.7,
            "w_hy": 0.9,
            "b_h": 0.2,
            "b_y": 0.1,
            "targets": [0.3, -0.2, 0.5],
            "ask": ["dEdw_xh", "dEdz_0"],
        }
    )
    wrong = bptt.misconceptions(p, ["dEdw_xh", "dEdz_0"])
    by_code = {m.code: m.value for m in wrong["dEdw_xh"]}
    exact = rnn_numeric.bptt_answers(p)
    assert by_code["sign-error"] == pytest.approx(-exact["dEdw_xh"])
    f = rnn_numeric.forward(p)
    dEdy = f["y"] - p["targets"]
    no_fprime = rnn_numeric.backward(p, {**f, "d": f["d"] * 0 + 1}, dEdy)
    assert by_code["missing-activation-derivative"] == pytest.approx(no_fprime["dEdw_xh"])
    fp = forward.validate({k: v for k, v in p.items() if k != "targets"} | {"ask": ["h_2"]})
    flat = rnn_numeric.forward_answers({**fp, "w_hh": 0.0})
    codes = {m.code: m.value for m in forward.misconceptions(fp, ["h_2"])["h_2"]}
    assert codes["no-recurrence"] == pytest.approx(flat["h_2"])


def test_carried_forward_credit_for_derivatives_from_own_hidden_values() -> None:
    bptt = REGISTRY.get("rnn-bptt")
    params = {**rnn.PUBLISHED_BPTT, "ask": ["h_2", "dEdz_1"]}
    v = make_variant(bptt, None, params)
    assert "hidden values of about" not in v.stem  # the question asks h_2 itself
    m = bptt.model(v.params)
    wrong_h2 = 0.7
    h = [v.answers["h_0"], v.answers["h_1"], wrong_h2]
    own = m.values_from_h(v.params, h)["dEdz_1"]
    result = grade_response(bptt, None, params, {"h_2": str(wrong_h2), "dEdz_1": f"{own:.6f}"})
    assert result.parts["h_2"].score == 0
    assert (
        result.parts["dEdz_1"].score == 0.5 and "carried forward" in result.parts["dEdz_1"].feedback
    )
    assert result.score == 0.25
    # Right h_2 and a wrong derivative: no carried-forward credit.
    right = grade_response(
        bptt, None, params, {"h_2": str(v.answers["h_2"]), "dEdz_1": f"{own:.6f}"}
    )
    assert right.parts["dEdz_1"].score == 0


def test_every_declared_code_is_in_the_readme_table() -> None:
    """The README's misconception table names each code with every template that declares it."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and cells[0].endswith("`"):
            rows[cells[0].strip("`")] = {t.strip() for t in cells[1].split(",")}
    for template in REGISTRY:
        for code in template.misconception_codes:
            assert code in rows, f"README's misconception table lacks {code}"
            assert template.id in rows[code], f"README: {code} does not list {template.id}"
