"""Every registered template is held to the same bar: generation, determinism, JSON round trip,
reference agreement, and grading its own right answer, a near miss and garbage."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import orjson
import pytest

from generators import REGISTRY, Template, make_variant
from generators.core.variants import grade_response
from grader import Status
from tests.helpers import GARBAGE, all_finite, correct_response, near_miss

TEMPLATES = list(REGISTRY)
IDS = [t.id for t in TEMPLATES]
SEEDS = range(200)


def test_registry_is_not_empty() -> None:
    assert len(REGISTRY) >= 3


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_generates_200_seeds_with_finite_answers(template: Template) -> None:
    for seed in SEEDS:
        v = make_variant(template, seed)
        assert v.parts, f"seed {seed}: no part asked"
        assert set(v.answers) == set(template.answer_ids(v.params)), f"seed {seed}"
        assert set(v.parts) <= set(v.answers)
        assert all_finite(v.answers), f"seed {seed}: {v.answers}"
        assert v.stem and v.solution


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_symbolic_answers_agree_with_independent_reference(template: Template) -> None:
    for seed in range(50):
        v = make_variant(template, seed, render=False)
        ref = template.reference(v.params)
        assert set(ref) == set(v.answers), f"seed {seed}"
        for key, value in v.answers.items():
            if key.startswith("expr_"):
                # A formula answer: the reference gives its value at the variant's numbers,
                # which the template's own tests check by evaluating the formula.
                assert isinstance(value, str) and isinstance(ref[key], float), key
                continue
            assert_close(value, ref[key], f"{template.id} seed {seed} {key}")


def assert_close(a: object, b: object, where: str) -> None:
    if isinstance(a, float) or isinstance(b, float):
        assert math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12), f"{where}: {a} != {b}"
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple) and len(a) == len(b), f"{where}: {a} != {b}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_close(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_json_round_trip(template: Template) -> None:
    for seed in range(20):
        v = make_variant(template, seed)
        data = orjson.loads(orjson.dumps(v.to_json()))
        # The params alone (what an LMS stores) rebuild the same variant, answers and text.
        again = make_variant(template, None, data["params"])
        assert orjson.dumps(again.to_json() | {"seed": seed}) == orjson.dumps(v.to_json())
        student = orjson.loads(orjson.dumps(v.to_json(with_answers=False)))
        assert "answers" not in student and "solution" not in student
        assert all("answer" not in p for p in student["parts"])


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_grades_correct_near_miss_and_garbage(template: Template) -> None:
    for seed in range(40):
        v = make_variant(template, seed, render=False)
        right = {pid: correct_response(spec) for pid, spec in v.parts.items()}
        result = grade_response(template, seed, None, right)
        assert result.score == 1.0, f"seed {seed}: {result}"
        for pid, spec in v.parts.items():
            wrong = grade_response(template, seed, None, {**right, pid: near_miss(spec)})
            assert wrong.parts[pid].score < 1.0, f"seed {seed} {pid}: {wrong.parts[pid]}"
            assert wrong.score < 1.0
            for junk in GARBAGE:
                bad = grade_response(template, seed, None, {**right, pid: junk})
                assert bad.parts[pid].status is Status.INVALID, (
                    f"seed {seed} {pid} {junk!r}: {bad.parts[pid]}"
                )
                assert bad.parts[pid].feedback


DUMP = """
import sys, orjson
from generators import REGISTRY, make_variant
out = [make_variant(t, s).to_json() for t in REGISTRY for s in range(15)]
sys.stdout.buffer.write(orjson.dumps(out))
"""


def test_same_seed_gives_identical_json_across_processes_and_hash_seeds() -> None:
    outputs = []
    for hash_seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        proc = subprocess.run(
            [sys.executable, "-c", DUMP], capture_output=True, env=env, check=True
        )
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) > 1000
