"""The tasks' own logic, called directly, without Redis or a worker: how a grade_batch request is
planned (the same planner as the local `grade-batch` and the client), how a job's errors become
error results, each task's queue and limits, and what importing the tasks sets up."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import orjson
import pytest
from celery.exceptions import SoftTimeLimitExceeded

import jobs
from grader.errors import GraderError, SeqquizError, SpecError
from grader.result import passes_through
from worker import tasks
from worker.app import app, settings
from worker.client import plan_lines
from worker.config import ROUTES
from worker.store import line_field, submission_field
from worker.testing import REPO

SUB = {"template": "rnn-forward", "seed": 1, "response": {}}

#: One of each line a batch may hold: good, bad JSON, a repeated id, a refused id, no id, blank.
LINES = [
    orjson.dumps({**SUB, "submission_id": "a"}),
    b"{not json",
    orjson.dumps({**SUB, "submission_id": "a"}),
    orjson.dumps({**SUB, "submission_id": True}),
    orjson.dumps(SUB),
    orjson.dumps({**SUB, "submission_id": 7}),
    orjson.dumps({**SUB, "submission_id": "7"}),  # not the same id as 7
    orjson.dumps({**SUB, "submission_id": 7}),
]


def test_a_message_may_lower_its_limits():
    assert tasks.clamp_limits([1000, 999], 2.0, 1.0) == (2.0, 1.0)
    assert tasks.clamp_limits([0.5, 0.2], 2.0, 1.0) == (0.5, 0.2)
    assert tasks.clamp_limits([None, None], 2.0, 1.0) == (2.0, 1.0)
    for junk in (None, "x", [True, "9"], [1, 2, 3], [-5, 0]):
        assert tasks.clamp_limits(junk, 2.0, 1.0) == (2.0, 1.0)


# ---- planning a chunk ------------------------------------------------------------------------


def _known_errors(results: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {
        r["line"]: r
        for r in results
        if r.get("error", {}).get("code") in ("bad-json", "duplicate-submission")
    }


def test_the_three_doors_plan_a_batch_alike():
    """The local grade-batch, the task and the client mark the same lines as bad JSON or
    duplicates, with the same error results, and key the rest alike."""
    local = _known_errors(list(jobs.grade_lines(LINES)))
    _, items = tasks.plan({"submissions": [raw.decode() for raw in LINES]})
    queued = {it.line: it.result for it in items if it.result is not None}
    plan = plan_lines(LINES)
    client = {r["line"]: r for _, r in plan.known}
    assert set(local) == {2, 3, 8}
    assert local == queued == client
    assert [it.field for it in items] == plan.fields
    assert plan.fields == [
        submission_field("a"),
        line_field(2),
        line_field(3),
        line_field(4),
        line_field(5),
        submission_field(7),
        submission_field("7"),
        line_field(8),
    ]


def test_a_chunk_keeps_the_line_numbers_it_was_given():
    text = [raw.decode() for raw in LINES[:3]]
    _, items = tasks.plan({"submissions": text, "lines": [10, 11, 12], "batch_id": "b-1"})
    assert [it.line for it in items] == [10, 11, 12]
    assert items[2].result["error"]["message"].endswith("already graded on line 10")


def test_submissions_given_as_objects_are_not_parsed_again():
    _, items = tasks.plan({"submissions": [{**SUB, "submission_id": "x"}, "{"]})
    assert items[0].sub == {**SUB, "submission_id": "x"} and items[0].result is None
    assert items[1].result["error"]["code"] == "bad-json"


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        ([], "request must be a JSON object (got list)"),
        ({"submissions": "x"}, "submissions: must be a list (got str)"),
        ({"submissions": ["{}"], "lines": [1, 2]}, "lines: must be a list of 1 line numbers"),
        ({"submissions": ["{}"], "lines": [True]}, "lines: must be a list of 1 line numbers"),
        ({"submissions": [], "batch_id": "no spaces"}, "batch"),
    ],
)
def test_a_malformed_chunk_is_an_invalid_request(payload, named):
    with pytest.raises(tasks.RequestError, match=re.escape(named)) as caught:
        tasks.plan(payload)
    assert caught.value.code == "invalid-request"
    result = tasks.grade_batch.run(payload)
    assert result == {"error": {"code": "invalid-request", "message": str(caught.value)}}


# ---- a job's errors ------------------------------------------------------------------------


def _raises(exc: BaseException):
    def job(_: Any) -> Any:
        raise exc

    return job


@pytest.mark.parametrize(
    "exc",
    [
        jobs.SubmissionError("seed: is required"),
        SpecError("tolerance.h_1.decimals: must be an integer (got 'x')"),
        GraderError("the grader cannot grade this"),
        tasks.RequestError("submissions: must be a list (got str)"),
    ],
)
def test_every_project_error_reaches_the_result_with_its_own_code(exc: SeqquizError):
    assert tasks._run("t", _raises(exc), {}) == tasks.error(exc.code, str(exc))


def test_a_bad_tolerance_has_a_code():
    bad = {**SUB, "tolerance": {"*": {"decimals": "two"}}}
    result = tasks._run("t", jobs.grade, bad)
    assert result["error"]["code"] == "invalid-spec", result
    assert jobs.grade_submission(bad)["error"]["code"] == "invalid-spec"


def test_a_time_limit_and_a_bug_are_told_apart():
    assert tasks._run("t", _raises(SoftTimeLimitExceeded()), {})["error"]["code"] == "time-limit"
    bug = tasks._run("t", _raises(KeyError("x")), {})
    assert bug == tasks.error("internal-error", "KeyError: 'x'")


def test_the_worker_lets_celerys_soft_time_limit_through_the_grading_guard():
    assert SoftTimeLimitExceeded in passes_through()


# ---- declaration ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "queue"), sorted(ROUTES.items()))
def test_a_task_runs_with_the_limits_of_its_routed_queue(name, queue):
    soft, hard = settings.time_limits(queue)
    task = app.tasks[name]
    assert (task.soft_time_limit, task.time_limit) == (soft, hard)
    assert app.conf.task_routes[name]["queue"] == queue


def test_every_contract_task_is_routed():
    declared = {n for n in app.tasks if n.startswith("seqquiz.") and n != "seqquiz.deliver_webhook"}
    assert declared == set(ROUTES)


def test_importing_the_tasks_opens_no_redis_client():
    # A Redis client made at import would connect from a CLI that only prints help.
    code = (
        "import redis\n"
        "def refuse(*a, **k):\n"
        "    raise SystemExit('a Redis client was made at import')\n"
        "redis.Redis.__init__ = refuse\n"
        "import worker.tasks, worker.client\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
