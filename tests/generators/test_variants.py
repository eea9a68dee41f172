"""`generators.core.variants`: one params object is one variant everywhere; a student's text never
crashes a grade; overrides keep the stem's rounded values and carried-forward credit; bad points
are named; answers are tidy."""

from __future__ import annotations

import orjson
import pytest

import jobs
from generators import FieldError, get_template, make_variant
from generators.core.variants import grade_response
from generators.families import rnn
from grader import SpecError

Q3 = rnn.PUBLISHED_FORWARD
Q4 = rnn.PUBLISHED_BPTT
BPTT = get_template("rnn-bptt")


@pytest.mark.parametrize("seed", [0, 5, 123])
def test_complete_params_give_the_same_numbers_with_or_without_a_seed(seed: int) -> None:
    bare = jobs.solve({"template": "rnn-bptt", "params": Q4})
    seeded = make_variant(BPTT, seed, Q4)
    assert seeded.params["h_init"] == 0.0 and seeded.params["activation"] == "logistic"
    assert seeded.answers["dEdz_1"] == bare["answers"]["dEdz_1"]
    assert round(seeded.answers["dEdz_1"], 5) == 0.01393


@pytest.mark.parametrize(
    ("template", "params", "response"),
    [
        ("rnn-bptt", {**Q4, "ask": ["h_2", "dEdz_1"]}, {"h_2": "1e200", "dEdz_1": "0.01"}),
        ("hmm-viterbi", None, {"path": "²²²"}),
        ("hmm-viterbi", None, {"path": ["٣", "1"]}),
    ],
)
def test_student_text_never_crashes_a_grade(
    template: str, params: dict | None, response: dict
) -> None:
    t = get_template(template)
    if params is None:
        v = make_variant(t, 1, render=False)
        params = {**v.params, "ask": ["path"]}
        response = {"path": response["path"]}
    result = grade_response(t, None, params, response)
    assert 0.0 <= result.score <= 1.0
    assert all(p.feedback for p in result.parts.values())


def test_a_tighter_override_keeps_the_stems_rounded_values() -> None:
    params = {**Q4, "ask": ["dEdz_1"]}
    tight = {"dEdz_1": {"decimals": 5}}
    assert grade_response(BPTT, None, params, {"dEdz_1": "0.01392"}, tight).score == 1.0
    assert grade_response(BPTT, None, params, {"dEdz_1": "0.01380"}, tight).score == 0.0


def test_an_override_keeps_carried_forward_credit() -> None:
    params = {**Q4, "ask": ["h_2", "dEdz_1"]}
    v = make_variant(BPTT, None, params)
    own = BPTT.model(v.params).values_from_h(v.params, [v.answers["h_0"], v.answers["h_1"], 0.9])[
        "dEdz_1"
    ]
    response = {"h_2": "0.9", "dEdz_1": f"{own:.6f}"}
    assert grade_response(BPTT, None, params, response).parts["dEdz_1"].score == 0.5
    restated = {"dEdz_1": {"decimals": 4}}
    assert grade_response(BPTT, None, params, response, restated).parts["dEdz_1"].score == 0.5


def test_params_without_ask_ask_every_part() -> None:
    result = grade_response(get_template("rnn-forward"), None, Q3, {"h_2": "0.08"})
    assert set(result.parts) == {f"{q}_{t}" for t in range(3) for q in "zhy"}
    assert result.parts["h_2"].correct and result.parts["z_0"].status.value == "missing"


@pytest.mark.parametrize(
    ("points", "needle"),
    [
        ({"h_2": "x"}, "points.h_2: must be a number >= 0"),
        ({"h_2": -1}, "points.h_2: must be a number >= 0"),
        ({"h_9": 1}, "points.h_9: is not a part of this variant"),
        ({"h_2": 0, "y_1": 0}, "gives every asked part 0 points"),
        ([1, 2], "points: must be an object"),
    ],
)
def test_bad_points_are_named(points: object, needle: str) -> None:
    params = {**Q3, "ask": ["h_2", "y_1"]}
    with pytest.raises(FieldError, match=needle.replace(".", r"\.")):
        grade_response(get_template("rnn-forward"), None, params, {"h_2": "0.08"}, points=points)
    line = {
        "submission_id": "p",
        "template": "rnn-forward",
        "params": params,
        "response": {},
        "points": points,
    }
    assert "error" in jobs.grade_submission(line)


def test_points_star_weights_the_rest() -> None:
    params = {**Q3, "ask": ["h_2", "y_1"]}
    result = grade_response(
        get_template("rnn-forward"), None, params, {"h_2": "0.08"}, points={"*": 1, "h_2": 3}
    )
    assert result.score == 0.75


def test_answers_are_tidy() -> None:
    for seed in range(40):
        for tid in ("lstm-cell", "rnn-forward", "hmm-forward"):
            v = make_variant(get_template(tid), seed, render=False)
            text = orjson.dumps(v.answers).decode()
            assert "-0.0," not in text and "-0.0]" not in text and "-0.0}" not in text
            assert "99999999" not in text and "00000000" not in text


def test_choice_ignores_spaces_inside() -> None:
    t = get_template("memory-capacity")
    params = {"units": 16, "model": "rnn", "ask": ["bits"]}
    assert grade_response(t, None, params, {"bits": "> 16"}).score == 1.0


def test_min_decimals_from_the_published_quiz_and_overridable() -> None:
    t = get_template("rnn-forward")
    params = {**Q3, "ask": ["h_1"]}  # h_1 = 0.5073
    assert grade_response(t, None, params, {"h_1": "0.51"}).score == 1.0
    # Within a looser tolerance "0.5" is the right value, but typed with one digit only.
    short = grade_response(t, None, params, {"h_1": "0.5"}, {"h_1": {"decimals": 1}})
    assert short.score == 0.0 and "at least 2 digits" in short.parts["h_1"].feedback
    relaxed = {"h_1": {"min_decimals": 0, "decimals": 1}}
    assert grade_response(t, None, params, {"h_1": "0.5"}, relaxed).score == 1.0
    with pytest.raises(SpecError, match="min_decimals must be an integer"):
        grade_response(t, None, params, {"h_1": "0.5"}, {"h_1": {"min_decimals": "two"}})
