"""Formula answers graded with the spec `seqquiz grade` builds (definitions of z_t, h_t, y_t
included): issue 9's 200 formulas, and the limits that hold for any formula, whatever happens to
the sandbox that checks it (issue 10)."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

import grader.equivalence as equivalence
import grader.result
import jobs
from bench.formula_set import PARAMS, PART, formula_set
from generators import REGISTRY
from generators.core.variants import grading_specs
from grader import SymbolicAnswer
from grader.equivalence import (
    TOO_LARGE_REASON,
    EquivalenceRequest,
    EquivalenceSettings,
    Verdict,
    _rebuild_is_bounded,
    decide,
    default_sandbox,
)
from grader.errors import GraderError
from grader.result import PartResult, Status, grade_parts
from grader.sandbox import Sandbox
from grader.symbolic_answer import clear_cache
from tests.grader.sandbox_jobs import sleeper

RIGHT, WRONG = formula_set()


@pytest.fixture(scope="module")
def spec() -> SymbolicAnswer:
    built = grading_specs(REGISTRY.get("rnn-bptt"), None, PARAMS, None)[PART]
    assert isinstance(built, SymbolicAnswer) and built.definitions
    return built


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()


def test_issue_9s_formulas_all_get_the_right_verdict(spec: SymbolicAnswer) -> None:
    assert len(set(RIGHT)) == len(set(WRONG)) == 100
    wrong = [t for t in RIGHT if spec.grade(t).status is not Status.CORRECT]
    wrong += [t for t in WRONG if spec.grade(t).status is not Status.INCORRECT]
    assert wrong == []


def test_the_longest_forms_are_not_too_long(spec: SymbolicAnswer) -> None:
    longest = max(RIGHT, key=len)
    assert len(longest) > 500  # refused as "too long (at most 500)" before
    assert spec.grade(longest).status is Status.CORRECT
    assert spec.grade(longest + " + w_hh").status is Status.INCORRECT


def test_a_denominator_that_is_always_zero_reads_as_a_division_by_zero(
    spec: SymbolicAnswer,
) -> None:
    # h1 is defined (sigma(z1)), so the zero comes from computed values, not from the text.
    result = spec.grade("h1/(h1-h1)")
    assert result.status is Status.INVALID
    assert "division by zero" in result.feedback
    assert "memory" not in result.feedback and "could not check" not in result.feedback


def test_a_power_tower_is_refused_before_any_rebuild(spec: SymbolicAnswer) -> None:
    tower = "(h1-h1+9)^(h1-h1+9)^(h1-h1+9)"
    assert not _rebuild_is_bounded(spec.grammar.parse(tower).value)  # type: ignore[union-attr]
    request = EquivalenceRequest(
        spec.value, tower, spec.grammar, spec.domains, spec.settings, spec.definitions
    )
    outcome = decide(request)  # in this process: no sandbox kill to hide a slow rebuild
    assert outcome.verdict is Verdict.UNDECIDED and outcome.reason == TOO_LARGE_REASON


def test_all_formula_parts_of_a_submission_share_one_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each check would simplify until killed (its own budget is 30 s); the submission's budget
    # is spent by the first, and the eleven others are refused without running.
    monkeypatch.setattr(grader.result, "SUBMISSION_CHECK_SECONDS", 1.0)
    slow = SymbolicAnswer(
        "h1*(1-h1)*w_xh*x0",
        ("x0", "h1", "w_xh"),
        settings=EquivalenceSettings(symbolic_seconds=60, budget_seconds=30),
    )
    box = default_sandbox()
    box.warm()
    restarts = box.restarts
    specs = {f"p{k}": slow for k in range(12)}
    response = {f"p{k}": f"sqrt(-1-x0^2)*(x0+h1+w_xh+{k + 1})^100" for k in range(12)}
    result = grade_parts(specs, response)
    assert box.restarts == restarts + 1
    for part in result.parts.values():
        assert part.status is Status.INVALID and "too long" in part.feedback


def test_a_stalled_check_is_not_remembered_as_the_formulas_grade() -> None:
    spec = SymbolicAnswer(
        "h1*(1-h1)*w_xh*x0",
        ("x0", "h1", "w_xh"),
        settings=EquivalenceSettings(budget_seconds=0.5),
    )
    box = default_sandbox()
    box.warm()
    assert box.pid is not None
    os.kill(box.pid, signal.SIGSTOP)  # the worker stalls: this check times out
    stalled = spec.grade("h1*(1-h1)*w_xh*x0")
    assert stalled.status is Status.INVALID and "too long" in stalled.feedback
    assert spec.grade("h1*(1-h1)*w_xh*x0").status is Status.CORRECT


class _Interrupted(Exception):
    """What a signal handler raises in these tests, as Celery's soft time limit does."""


def _interrupt(signum: int, frame: Any) -> None:
    raise _Interrupted


@pytest.fixture
def sleepy() -> Iterator[Sandbox]:
    box = Sandbox(sleeper, memory_mb=256)
    box.warm()
    previous = signal.signal(signal.SIGUSR1, _interrupt)
    try:
        yield box
    finally:
        signal.signal(signal.SIGUSR1, previous)
        box.close()


def test_an_interrupted_call_leaves_no_reply_for_the_next(sleepy: Sandbox) -> None:
    # The job interrupts this process's wait (as a soft time limit would) and then replies.
    with pytest.raises(_Interrupted):
        sleepy.call({"signal": os.getpid(), "value": "first"}, timeout=30)
    assert sleepy.call({"value": "second"}, timeout=30) == {"echo": "second"}
    assert sleepy.call({"value": "third"}, timeout=30) == {"echo": "third"}


def test_an_interrupted_start_leaves_no_greeting_for_the_next_fork(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("SEQQUIZ_TEST_INTERRUPT_PID", str(os.getpid()))
    monkeypatch.setenv("SEQQUIZ_TEST_INTERRUPT_MARKER", str(tmp_path / "interrupted"))
    previous = signal.signal(signal.SIGUSR1, _interrupt)
    box = Sandbox("tests.grader.interrupting_jobs:echo", start_timeout=60)
    try:
        with pytest.raises(_Interrupted):
            box.call({"value": "first"}, timeout=30)
        assert box.call({"value": "second"}, timeout=30) == {"echo": "second"}
    finally:
        signal.signal(signal.SIGUSR1, previous)
        box.close()


def test_a_reply_to_another_request_is_dropped(sleepy: Sandbox) -> None:
    conn = sleepy._conn
    assert conn is not None
    conn.send_bytes(json.dumps({"tag": -1, "job": {"value": "stale"}}).encode())
    assert sleepy.call({"value": "mine"}, timeout=30) == {"echo": "mine"}


def test_a_sandbox_that_cannot_start_is_an_error_of_the_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = Sandbox("tests.grader.no_such_module:job", start_timeout=20)
    monkeypatch.setattr(equivalence, "_SANDBOX", broken)
    sub = {"submission_id": "s1", "template": "rnn-bptt", "params": PARAMS}
    result = jobs.grade_submission({**sub, "response": {PART: "h1"}})
    broken.close()
    assert result["error"]["code"] == "grader-unavailable", result


class _HostTimeLimit(Exception):
    """A host's time limit that is an ordinary exception, as Celery's SoftTimeLimitExceeded is."""


class _Stopped:
    """An answer kind whose grading is cut off by the host's time limit."""

    def grade(self, raw: Any) -> PartResult:
        raise _HostTimeLimit


def test_the_hosts_time_limit_passes_through_the_grading_guard(monkeypatch) -> None:
    monkeypatch.setattr(grader.result, "_NOT_THE_ANSWERS", grader.result.passes_through())
    grader.result.pass_through(_HostTimeLimit)
    with pytest.raises(_HostTimeLimit):
        grade_parts({"a": _Stopped()}, {"a": "1"})  # type: ignore[dict-item]


def test_an_unregistered_exception_is_the_answers_invalid_part(monkeypatch) -> None:
    monkeypatch.setattr(grader.result, "_NOT_THE_ANSWERS", (GraderError,))
    got = grade_parts({"a": _Stopped()}, {"a": "1"})  # type: ignore[dict-item]
    assert got.parts["a"].status is Status.INVALID


@pytest.mark.parametrize(
    ("formula", "code"),
    [
        ("h1*(1-h1)*w_hy*(y1-t1)", "missing-future-terms"),
        ("(h1-h1^2)*(w_hy*(t1-y1) + w_hh*h2*(1-h2)*w_hy*(t2-y2))", "sign-error"),
        ("z1*(1-z1)*(w_hy*(y1-t1) + w_hh*z2*(1-z2)*w_hy*(y2-t2))", "wrong-activation-derivative"),
        ("h2*(1-h2)*w_hy*(y2-t2)", "off-by-one-time"),
        ("w_hh", None),
    ],
)
def test_a_wrong_formula_names_the_mistake_the_graph_perturbation_knows(
    spec: SymbolicAnswer, formula: str, code: str | None
) -> None:
    result = spec.grade(formula)
    assert result.status is Status.INCORRECT and result.misconception == code
    if code is None:
        assert "not equivalent" in result.feedback
    else:
        assert "not equivalent" not in result.feedback


def test_a_formula_part_of_the_memory_cell_names_the_forgotten_keep_gate() -> None:
    params = {
        "inputs": [1, 2, 3],
        "keep": [0.5, 0.8, 0.9],
        "write": [1, 1, 1],
        "read": [1, 1, 1],
        "ask": ["expr_dcdc_0"],
    }
    part = grading_specs(REGISTRY.get("lstm-cell"), None, params, None)["expr_dcdc_0"]
    assert part.grade("keep1*keep2").status is Status.CORRECT
    assert part.grade("1").misconception == "forgot-keep-gate"
    assert part.grade("keep0*keep1*keep2").misconception is None
