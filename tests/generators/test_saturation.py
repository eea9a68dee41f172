"""Samplers avoid saturated units, as the README says: every pre-activation a sampled rnn-forward
or rnn-bptt variant computes stays within the family's bound, where the unit's slope is at least
SATURATION_SLOPE; the published quiz's fixed params are taken as given."""

from __future__ import annotations

import math

import pytest

from generators import REGISTRY, make_variant
from generators.families import rnn
from generators.families.rnn_numeric import forward

SEEDS = range(300)


def slope(act: str, z: float) -> float:
    if act == "logistic":
        s = 1 / (1 + math.exp(-z))
        return s * (1 - s)
    if act == "tanh":
        return 1 - math.tanh(z) ** 2
    return 1.0


@pytest.mark.parametrize("tid", ["rnn-forward", "rnn-bptt"])
def test_sampled_pre_activations_keep_the_units_slope(tid: str) -> None:
    template = REGISTRY.get(tid)
    for seed in SEEDS:
        p = make_variant(template, seed, render=False).params
        act = p["activation"]
        for t, z in enumerate(forward(p)["z"]):
            assert abs(z) <= rnn.SATURATION[act], (tid, seed, t, act, z)
            assert slope(act, float(z)) >= rnn.SATURATION_SLOPE, (tid, seed, t, act, z)


def test_the_published_quiz_params_are_taken_as_given() -> None:
    # z_0 = 3.5: beyond the sampler's bound, but these are the published quiz's numbers.
    v = make_variant(REGISTRY.get("rnn-forward"), 0, {**rnn.PUBLISHED_FORWARD, "ask": ["h_2"]})
    assert round(v.answers["h_2"], 4) == 0.0753
