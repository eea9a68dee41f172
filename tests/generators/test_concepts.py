"""memory-capacity, context-window and rnn-binary-addition: the published quiz, the laws each
answer obeys, the samplers' variety and the validation messages."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import jobs
from generators import REGISTRY, ParamError, make_variant
from generators.families import concepts_numeric
from grader import Status

MEMORY = REGISTRY.get("memory-capacity")
CONTEXT = REGISTRY.get("context-window")
ADDITION = REGISTRY.get("rnn-binary-addition")

PUBLISHED_SETUPS = [
    {"id": "ff200", "arch": "feedforward", "input_ms": 200},
    {"id": "rnn200", "arch": "rnn", "input_ms": 200},
    {"id": "ff30", "arch": "feedforward", "input_ms": 30},
    {"id": "rnn30", "arch": "rnn", "input_ms": 30},
]
PUBLISHED_CONTEXT = {"context_ms": 100, "delay_ms": 100, "setups": PUBLISHED_SETUPS}


def solve(template: str, params: dict[str, Any]) -> dict[str, Any]:
    return jobs.solve({"template": template, "params": params})["answers"]


# -- the published quiz -------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "bits"), [("rnn", ">16"), ("hmm", "4")])
def test_published_memory_capacity(model: str, bits: str) -> None:
    assert solve("memory-capacity", {"units": 16, "model": model}) == {"bits": bits}
    v = make_variant(MEMORY, None, {"units": 16, "model": model})
    assert v.parts["bits"].options == ("2", "4", "16", ">16")


def test_published_context_window() -> None:
    answers = solve("context-window", PUBLISHED_CONTEXT)
    assert answers == {"setups": ["ff200", "rnn200", "rnn30"]}  # every setup but feedforward 30
    graded = jobs.grade(
        {
            "template": "context-window",
            "params": PUBLISHED_CONTEXT,
            "response": {"setups": ["rnn30", "ff200", "rnn200"]},
        }
    )
    assert graded["score"] == 1.0


# -- memory-capacity ----------------------------------------------------------------------------


@pytest.mark.parametrize("units", [4, 16, 256, 65536])
@pytest.mark.parametrize("model", ["rnn", "hmm"])
def test_memory_capacity_every_allowed_n(units: int, model: str) -> None:
    params = {"units": units, "model": model}
    v = make_variant(MEMORY, None, params)
    spec = v.parts["bits"]
    log2 = units.bit_length() - 1
    loglog = log2.bit_length() - 1
    assert spec.options == (str(loglog), str(log2), str(units), f">{units}")
    assert len(set(spec.options)) == 4
    assert v.answers == MEMORY.reference(v.params) == concepts_numeric.memory_capacity(params)
    assert v.answers["bits"] == (f">{units}" if model == "rnn" else str(log2))
    # Every option's explanation reaches the feedback, whether the option is right or wrong.
    why = dict(spec.explanations)
    assert set(why) == set(spec.options)
    for option in spec.options:
        result = spec.grade(option)
        assert why[option] in result.feedback
        assert result.correct is (option == v.answers["bits"])
    assert f"**Answer.** `{v.answers['bits']}`" in v.solution


def test_memory_capacity_sampler_covers_every_n_and_both_models() -> None:
    seen = {(v.params["units"], v.params["model"]) for v in map(_memory, range(80))}
    assert seen == {(n, m) for n in (4, 16, 256, 65536) for m in ("rnn", "hmm")}
    assert make_variant(MEMORY, 3, {"units": 256}).params["units"] == 256


def _memory(seed: int) -> Any:
    return make_variant(MEMORY, seed, render=False)


# -- context-window -----------------------------------------------------------------------------


def _ms(tenths: int) -> int | float:
    """A time given in tenths of a ms as a person writes it: 1000 -> 100, 1177 -> 117.7."""
    return tenths // 10 if tenths % 10 == 0 else tenths / 10


near_zero = st.one_of(st.just(0), st.integers(-30, 30), st.integers(-600, 600))
windows = st.one_of(
    st.integers(10, 40_000).map(lambda w: ("free", w)), near_zero.map(lambda o: ("need", o))
)


@given(
    context=st.integers(10, 20_000),
    offset=near_zero,
    picks=st.lists(
        st.tuples(st.sampled_from(["feedforward", "rnn"]), windows), min_size=1, max_size=8
    ),
)
def test_context_window_rule_matches_reference(
    context: int, offset: int, picks: list[tuple[str, tuple[str, int]]]
) -> None:
    # Times in tenths of a ms, often on the boundaries delay = context and window = delay +
    # context, where mistakes live; the expected verdict is exact integer arithmetic.
    delay = max(0, context + offset)
    setups, seen = [], set()
    for arch, (how, w) in picks:
        w = w if how == "free" else max(10, delay + context + w)
        if (arch, w) not in seen and w <= 100_000:
            seen.add((arch, w))
            setups.append({"id": f"s{len(setups)}", "arch": arch, "input_ms": _ms(w), "t": w})
    params = {
        "context_ms": _ms(context),
        "delay_ms": _ms(delay),
        "setups": [{k: v for k, v in s.items() if k != "t"} for s in setups],
    }
    answers = solve("context-window", params)
    assert answers == CONTEXT.reference(CONTEXT.validate(params))
    expected = sorted(
        s["id"]
        for s in setups
        if delay >= context and (s["arch"] == "rnn" or s["t"] >= delay + context)
    )
    assert answers["setups"] == expected


def test_context_window_compares_decimals_exactly() -> None:
    setups = [{"id": "A", "arch": "feedforward", "input_ms": 117.7}]
    params = {"context_ms": 37.4, "delay_ms": 80.3, "setups": setups}
    assert 80.3 + 37.4 != 117.7  # in floating point
    assert solve("context-window", params) == {"setups": ["A"]}


def test_context_window_sampler_gives_none_all_and_mixed() -> None:
    kinds = set()
    for seed in range(150):
        v = make_variant(CONTEXT, seed, render=False)
        ok, ids = v.answers["setups"], [s["id"] for s in v.params["setups"]]
        kinds.add("none" if not ok else "all" if len(ok) == len(ids) else "mixed")
        archs = {s["arch"] for s in v.params["setups"]}
        assert archs == {"feedforward", "rnn"}, f"seed {seed}"
        assert 3 <= len(ids) <= 5
    assert kinds == {"none", "all", "mixed"}


def test_context_window_solution_states_each_condition_with_numbers() -> None:
    v = make_variant(CONTEXT, None, PUBLISHED_CONTEXT)
    assert r"$w \geq d + c$: $30 \geq 100 + 100$, fails" in v.solution
    assert r"$d \geq c$: $100 \geq 100$, holds" in v.solution
    assert v.solution.count("**enough data**") == 3
    assert v.solution.count("**not enough data**") == 1
    # The feedback names why a wrongly picked setup lacks data.
    result = v.parts["setups"].grade(["ff200", "rnn200", "ff30", "rnn30"])
    assert result.score < 1 and "30 < 100 + 100" in result.feedback


def test_context_window_none_and_all_grade() -> None:
    none = {**PUBLISHED_CONTEXT, "delay_ms": 40}
    assert solve("context-window", none) == {"setups": []}
    spec = make_variant(CONTEXT, None, none).parts["setups"]
    assert spec.grade([]).status is Status.CORRECT
    assert spec.grade("").status is Status.INVALID
    assert spec.grade("rnn30").score < 1
    every = {**PUBLISHED_CONTEXT, "delay_ms": 150, "setups": PUBLISHED_SETUPS[:2]}
    every["setups"][0] = {"id": "ff250", "arch": "feedforward", "input_ms": 250}
    assert solve("context-window", every) == {"setups": ["ff250", "rnn200"]}


def test_context_window_fixed_params_are_honoured() -> None:
    for seed in range(20):
        v = make_variant(CONTEXT, seed, {"context_ms": 80, "delay_ms": 30}, render=False)
        assert (v.params["context_ms"], v.params["delay_ms"]) == (80, 30)
        assert v.answers == {"setups": []}
    v = make_variant(CONTEXT, 5, {"setups": PUBLISHED_SETUPS})
    assert v.params["setups"] == PUBLISHED_SETUPS


# -- rnn-binary-addition ------------------------------------------------------------------------

bit_strings = st.text(alphabet="01", min_size=1, max_size=16)


@given(a=bit_strings, b=bit_strings)
def test_binary_addition_is_integer_addition(a: str, b: str) -> None:
    answers = solve("rnn-binary-addition", {"a": a, "b": b})
    n = max(len(a), len(b))
    assert len(answers["sum"]) == n + 1  # the final carry is kept, 0 or 1
    assert int(answers["sum"], 2) == int(a, 2) + int(b, 2)
    assert answers == concepts_numeric.binary_addition({"a": a, "b": b})
    # The last carry is the sum's top bit.
    assert answers[f"carry_{n - 1}"] == answers["sum"][0]


def test_binary_addition_example_and_walk() -> None:
    v = make_variant(ADDITION, None, {"a": "1011", "b": "0110"})
    assert v.answers == {
        "sum": "10001",
        "carry_0": "0",
        "carry_1": "1",
        "carry_2": "1",
        "carry_3": "1",
    }
    # One row per column, least significant first: t, a_t, b_t, c_{t-1}, s_t, c_t.
    for row in ("| 0 | 1 | 0 | 0 | 1 | 0 |", "| 3 | 1 | 0 | 1 | 0 | 1 |"):
        assert row in v.solution
    assert v.parts["sum"].grade("10001").correct
    assert v.parts["sum"].grade("010001").correct  # leading zeros do not matter
    assert not v.parts["carry_2"].grade("0").correct


def test_binary_addition_sampler() -> None:
    for seed in range(150):
        v = make_variant(ADDITION, seed, render=False)
        a, b = v.params["a"], v.params["b"]
        assert len(a) == len(b) and 3 <= len(a) <= 8, f"seed {seed}"
        assert "1" in (a[0], b[0])
        assert "1" in (v.answers[f"carry_{t}"] for t in range(len(a)))
        assert v.params["ask"][0] == "sum"
    v = make_variant(ADDITION, 1, {"a": "1", "ask": ["carry_0"]})
    assert v.params["a"] == "1" and v.params["ask"] == ["carry_0"]
    assert len(make_variant(ADDITION, 1, {"ask": ["carry_9"]}).params["a"]) >= 10


# -- validation ---------------------------------------------------------------------------------

BAD = [
    (MEMORY, {"units": 8, "model": "rnn"}, "units"),
    (MEMORY, {"units": 2, "model": "hmm"}, "units"),
    (MEMORY, {"units": 12, "model": "hmm"}, "units"),
    (MEMORY, {"units": "16", "model": "hmm"}, "units"),
    (MEMORY, {"units": 16}, "model"),
    (MEMORY, {"units": 16, "model": "lstm"}, "model"),
    (MEMORY, {"units": 16, "model": "rnn", "bits": 3}, "bits"),
    (MEMORY, {"units": 16, "model": "rnn", "ask": ["capacity"]}, "ask"),
    (CONTEXT, {**PUBLISHED_CONTEXT, "context_ms": 0}, "context_ms"),
    (CONTEXT, {**PUBLISHED_CONTEXT, "delay_ms": -5}, "delay_ms"),
    (CONTEXT, {**PUBLISHED_CONTEXT, "delay_ms": "100"}, "delay_ms"),
    (CONTEXT, {"context_ms": 100, "setups": PUBLISHED_SETUPS}, "delay_ms"),
    (CONTEXT, {**PUBLISHED_CONTEXT, "setups": []}, "setups"),
    (
        CONTEXT,
        {**PUBLISHED_CONTEXT, "setups": [{"id": "a", "arch": "cnn", "input_ms": 9}]},
        "setups[0].arch",
    ),
    (
        CONTEXT,
        {**PUBLISHED_CONTEXT, "setups": [{"id": "a b", "arch": "rnn", "input_ms": 9}]},
        "setups[0].id",
    ),
    (
        CONTEXT,
        {**PUBLISHED_CONTEXT, "setups": [{"id": "a", "arch": "rnn", "input_ms": 0}]},
        "setups[0].input_ms",
    ),
    (
        CONTEXT,
        {**PUBLISHED_CONTEXT, "setups": [{"id": "a", "arch": "rnn", "input_ms": 9, "x": 1}]},
        "setups[0].x",
    ),
    (
        CONTEXT,
        {**PUBLISHED_CONTEXT, "setups": [*PUBLISHED_SETUPS, PUBLISHED_SETUPS[0]]},
        "setups[4]",
    ),
    (
        CONTEXT,
        {
            **PUBLISHED_CONTEXT,
            "setups": [*PUBLISHED_SETUPS[:1], {**PUBLISHED_SETUPS[0], "id": "z"}],
        },
        "setups[1]",
    ),
    (ADDITION, {"a": "1021", "b": "1"}, "a"),
    (ADDITION, {"a": "1", "b": ""}, "b"),
    (ADDITION, {"a": 101, "b": "1"}, "a"),
    (ADDITION, {"a": "1" * 17, "b": "1"}, "a"),
    (ADDITION, {"a": "1"}, "b"),
    (ADDITION, {"a": "11", "b": "1", "ask": ["carry_2"]}, "ask"),
]


@pytest.mark.parametrize(
    ("template", "params", "field"), BAD, ids=[f"{t.id}-{f}" for t, _, f in BAD]
)
def test_validation_names_the_field_and_value(
    template: Any, params: dict[str, Any], field: str
) -> None:
    with pytest.raises(ParamError) as err:
        make_variant(template, None, params)
    assert err.value.field == field
    assert f"params.{field}:" in str(err.value)


def test_fixed_ask_beyond_fixed_bits_is_a_param_error() -> None:
    with pytest.raises(ParamError, match=r"params\.ask"):
        make_variant(ADDITION, 0, {"a": "101", "ask": ["carry_5"]})
