"""The tasks of the queue contract: thin shells around `seqquiz.jobs` that add idempotency by
submission id, durable results and the redelivery bound.

=====================  ==================================================  ===========================
task (queue)           argument (one JSON object)                          result
=====================  ==================================================  ===========================
seqquiz.solve          ``{"template", "seed"?, "params"?}``                `seqquiz solve` output
(interactive)
seqquiz.grade          ``{"template", "seed" | "params", "response",       `seqquiz grade` output
(interactive)          "tolerance"?, "points"?, "submission_id"?}``        ``{"score", "parts"}``
seqquiz.grade_batch    ``{"submissions": [submission, ...],                list: one grade-batch
(batch)                "batch_id"?, "lines"?: [int, ...]}``; a             result line per submission
                       submission is an object or the JSON text of one
                       (a JSONL line)
seqquiz.generate_set   ``{"template", "seed"?, "count"?, "params"?,        `seqquiz generate` JSON:
(batch)                "tolerance"?, "answers"?}``                         ``{"title", "variants"}``
=====================  ==================================================  ===========================

A request that cannot be processed at all (not an object, an unknown template, a malformed
field, a job that killed its worker too often) gives ``{"error": {"code", "message"}}`` as the
result, never an exception; grade_batch reports per-submission problems in the lines themselves,
exactly as the local `seqquiz grade-batch`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import orjson
from celery import Task
from celery.exceptions import Reject, SoftTimeLimitExceeded

from generators import REGISTRY, TemplateError
from grader import GraderError
from seqquiz import jobs
from worker.app import app, settings, store
from worker.config import BATCH, INTERACTIVE
from worker.store import BatchIdError, check_batch_id, line_field, submission_field

log = logging.getLogger(__name__)

CRASH_EXIT_CODE = 70


def error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _limits(queue: str) -> dict[str, float]:
    soft, hard = settings.time_limits(queue)
    return {"soft_time_limit": soft, "time_limit": hard}


def _redelivered(task: Task) -> bool:
    return bool((task.request.delivery_info or {}).get("redelivered"))


def _over_bound(task: Task) -> dict[str, Any] | None:
    """Count a redelivery; past the bound, the error result that replaces running the job again.
    First deliveries are not counted (no Redis round trip on the hot path)."""
    if not _redelivered(task):
        return None
    n = store.count_redelivery(task.request.id)
    if n <= settings.max_redeliveries:
        log.warning("%s[%s]: redelivery %d", task.name, task.request.id, n)
        return None
    log.error("%s[%s]: killed its worker %d times; giving up", task.name, task.request.id, n)
    return error(
        "worker-crashed",
        f"this job was delivered {n + 1} times and its worker process died every time; "
        f"not retried after {settings.max_redeliveries} redeliveries",
    )


def _run(name: str, job: Callable[[Any], Any], payload: Any) -> Any:
    """A job's result, or a structured error: user mistakes by their code, anything else as
    `internal-error` (logged with its traceback)."""
    try:
        return job(payload)
    except (TemplateError, GraderError) as exc:
        return error(getattr(exc, "code", "invalid-request"), str(exc))
    except SoftTimeLimitExceeded:
        return error("time-limit", f"{name}: exceeded its soft time limit")
    except Exception as exc:
        log.exception("%s failed", name)
        return error("internal-error", f"{type(exc).__name__}: {exc}")


def _maybe_crash(sid: Any) -> None:
    """Test-only hook (`SEQQUIZ_TEST_CRASH_ON`): die like a segfaulting extension would."""
    if (
        settings.test_crash_on is not None
        and sid is not None
        and str(sid) == settings.test_crash_on
    ):
        log.warning("test hook: exiting the pool process on submission %s", sid)
        os._exit(CRASH_EXIT_CODE)


# ---- interactive ---------------------------------------------------------------------------


@app.task(name="seqquiz.solve", bind=True, **_limits(INTERACTIVE))
def solve(self: Task, payload: Any) -> Any:
    return _over_bound(self) or _run(self.name, jobs.solve, payload)


@app.task(name="seqquiz.grade", bind=True, **_limits(INTERACTIVE))
def grade(self: Task, payload: Any) -> Any:
    """With a `submission_id`, the first grade stored for that id is the answer to every later
    request with the same id (a retrying client, a redelivered message)."""
    sid = payload.get("submission_id") if isinstance(payload, Mapping) else None
    field = submission_field(sid)
    if field is not None and _redelivered(self):
        stored = store.get_grade(field)
        if stored is not None:
            return orjson.loads(stored)
    over = _over_bound(self)
    if over is not None:
        return over
    _maybe_crash(sid)
    result = _run(self.name, jobs.grade, payload)
    if field is not None and "error" not in result:
        earlier = store.save_grade(field, orjson.dumps(result))
        if earlier is not None:
            return orjson.loads(earlier)
    return result


# ---- batch ---------------------------------------------------------------------------------


@app.task(name="seqquiz.generate_set", bind=True, **_limits(BATCH))
def generate_set(self: Task, payload: Any) -> Any:
    def job(p: Any) -> dict[str, Any]:
        variants = jobs.generate(p)
        t = REGISTRY.get(p["template"])
        return {"title": f"{t.title} ({t.id})", "variants": variants}

    return _over_bound(self) or _run(self.name, job, payload)


class Item(NamedTuple):
    """One submission of a chunk: where its result lives and, for bad JSON or an in-chunk
    duplicate, the error that is its result. (A tuple: a chunk makes a thousand of them.)"""

    field: str
    sub: Any
    line: int
    sid: Any
    result: dict[str, Any] | None = None


class RequestError(ValueError):
    """Raised when a grade_batch request is not `{"submissions": [...], ...}`."""


def plan(payload: Any) -> tuple[str | None, list[Item]]:
    """The batch id and the items of a grade_batch request, with bad JSON (a submission given
    as text) and duplicates marked as `seqquiz.jobs.grade_lines` marks them."""
    if not isinstance(payload, Mapping):
        raise RequestError(f"request must be a JSON object (got {type(payload).__name__})")
    subs = payload.get("submissions")
    if not isinstance(subs, list):
        raise RequestError(f"submissions: must be a list (got {type(subs).__name__})")
    lines = payload.get("lines")
    if lines is None:
        lines = list(range(1, len(subs) + 1))
    elif (
        not isinstance(lines, list)
        or len(lines) != len(subs)
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in lines)
    ):
        raise RequestError(f"lines: must be a list of {len(subs)} line numbers")
    batch_id = payload.get("batch_id")
    if batch_id is not None:
        try:
            check_batch_id(batch_id)
        except BatchIdError as exc:
            raise RequestError(str(exc)) from None
    items: list[Item] = []
    seen: dict[Any, int] = {}
    for text, line in zip(subs, lines, strict=True):
        sub = text
        if isinstance(text, str):  # a JSONL line: parsed here, as the local path parses it
            sub, err = jobs.parse_line(text, line)
            if err is not None:
                items.append(Item(line_field(line), None, line, None, err))
                continue
        sid = sub.get("submission_id") if isinstance(sub, dict) else None
        field = submission_field(sid)
        if field is None:
            items.append(Item(line_field(line), sub, line, sid))
        elif sid in seen:
            dup = jobs.error_result(
                sid,
                "duplicate-submission",
                f"submission_id {sid!r} was already graded on line {seen[sid]}",
                line,
            )
            items.append(Item(line_field(line), sub, line, sid, dup))
        else:
            seen[sid] = line
            items.append(Item(field, sub, line, sid))
    return batch_id, items


def _grade_item(item: Item) -> dict[str, Any]:
    if item.result is not None:
        return item.result
    _maybe_crash(item.sid)
    if settings.test_grade_delay:
        time.sleep(settings.test_grade_delay)
    result = jobs.grade_submission(item.sub, item.line)
    err = result.get("error")
    if err is not None and err["message"].startswith(SoftTimeLimitExceeded.__name__):
        result = jobs.error_result(
            item.sid, "time-limit", "grading exceeded the chunk's soft time limit", item.line
        )
    return result


# A chunk killed by its hard time limit is requeued like one whose process died (the default,
# for the other tasks, is to fail it): the redelivery grades it one submission at a time and
# charges the submission that hangs, which ends as an error result after the bounded retries.
@app.task(name="seqquiz.grade_batch", bind=True, acks_on_timeout=False, **_limits(BATCH))
def grade_batch(self: Task, payload: Any) -> Any:
    """Grade a chunk of submissions. Results are stored in the batch's hash (the request's
    `batch_id`, else one named after this task) before the task returns, first write wins, so a
    redelivered chunk or a resent one answers with the results stored the first time."""
    try:
        batch_id, items = plan(payload)
    except RequestError as exc:
        return error("invalid-request", str(exc))
    batch = batch_id or f"task-{self.request.id}"
    try:
        if _redelivered(self):
            results = _grade_carefully(self, batch, items)
        else:
            results = [_grade_item(item) for item in items]
            kept = store.save(
                batch,
                [
                    (it.field, orjson.dumps(r), "error" in r)
                    for it, r in zip(items, results, strict=True)
                ],
            )
            for i, raw in kept.items():
                results[i] = orjson.loads(raw)
    except SoftTimeLimitExceeded:
        # Out of time between submissions (a slow Redis): what is stored stays stored, and the
        # requeued message carries on from there as a counted redelivery.
        raise Reject("soft time limit exceeded; requeued", requeue=True) from None
    # The CLI client reads results from the store; it asks Celery not to keep a second copy.
    return None if self.request.ignore_result else results


def _grade_carefully(task: Task, batch: str, items: list[Item]) -> list[dict[str, Any]]:
    """A redelivered chunk: an earlier delivery died, maybe because of one of these submissions.
    Skip what is stored; grade the rest one at a time, counting a start per submission and
    storing each result at once, so the next death is charged to the submission in flight. A
    submission charged more than the bound becomes `worker-crashed`; the others are graded."""
    n = store.count_redelivery(task.request.id)
    bound = settings.max_redeliveries
    log.warning("%s[%s]: redelivery %d; grading one by one", task.name, task.request.id, n)
    stored = store.existing(batch, [it.field for it in items])
    # Safety net for deaths outside any submission (each submission absorbs at most `bound`).
    hopeless = n > bound * (len(items) + 1)
    results: list[dict[str, Any]] = []
    for item, raw in zip(items, stored, strict=True):
        if raw is not None:
            results.append(orjson.loads(raw))
            continue
        attempts = store.bump_attempt(batch, item.field) if item.result is None else 0
        if attempts > bound or hopeless:
            result = jobs.error_result(
                item.sid,
                "worker-crashed",
                f"the worker process died while grading this submission on {attempts - 1} "
                f"redeliveries after a first delivery that died too; given up after {bound} "
                "redeliveries"
                if not hopeless
                else f"this chunk killed its worker process {n + 1} times; given up",
                item.line,
            )
        else:
            result = _grade_item(item)
        kept = store.save(batch, [(item.field, orjson.dumps(result), "error" in result)])
        results.append(orjson.loads(kept[0]) if kept else result)
    return results


def warm_up(seeds: int) -> None:
    """Grade seeds 0..seeds-1 of every template once in the worker's main process, before the
    pool forks: the per-shape SymPy models are derived and compiled once and inherited by every
    pool process (and by the replacement of a killed one) instead of on their first requests."""
    start = time.monotonic()
    for template in REGISTRY:
        for seed in range(seeds):
            _run("warm-up", jobs.grade, {"template": template.id, "seed": seed, "response": {}})
    log.info("warmed up %d seeds per template in %.2f s", seeds, time.monotonic() - start)
