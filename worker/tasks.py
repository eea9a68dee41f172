"""The tasks of the queue contract: thin shells around `jobs` that add idempotency by
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

import functools
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import orjson
from celery import Task
from celery.exceptions import Reject, SoftTimeLimitExceeded
from celery.worker.request import Request
from celery.worker.strategy import default as default_strategy

import jobs
from generators import REGISTRY
from grader.errors import SeqquizError
from grader.result import pass_through
from worker.app import app, settings, store
from worker.config import ROUTES
from worker.store import BatchIdError, check_batch_id, line_field, submission_field

log = logging.getLogger(__name__)

CRASH_EXIT_CODE = 70

# Celery's soft time limit is an ordinary Exception: the grading guard must let it through to the
# job (a `time-limit` result, or a requeued chunk), not mark the part being graded `invalid`.
pass_through(SoftTimeLimitExceeded)


def error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _limits(queue: str) -> dict[str, float]:
    soft, hard = settings.time_limits(queue)
    return {"soft_time_limit": soft, "time_limit": hard}


def queue_task(name: str, **options: Any) -> Callable[[Callable[..., Any]], Task]:
    """Declare a task of the contract: its queue, and so its time limits, are the one
    `config.ROUTES` gives it (a task missing there is refused here, at import)."""
    return app.task(name=name, **COMMON, **_limits(ROUTES[name]), **options)


def clamp_limits(asked: Any, hard: float, soft: float) -> tuple[float, float]:
    """(hard, soft) of a message: what the client asked for (`timelimit` header), but never
    above the task's own limits. A client may ask for less; asking for more would let a task
    outlive the visibility timeout that the start-up check relies on, and run twice."""

    def pick(value: Any, own: float) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
        return min(float(value), own) if ok else own

    pair = asked if isinstance(asked, list | tuple) and len(asked) == 2 else (None, None)
    return pick(pair[0], hard), pick(pair[1], soft)


class ClampedRequest(Request):
    """A task request whose time limits are clamped to the task's own (see `clamp_limits`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        asked = self._request_dict.get("timelimit")
        limits = clamp_limits(asked, self.task.time_limit, self.task.soft_time_limit)
        if isinstance(asked, list | tuple) and any(
            a is not None and a != b for a, b in zip(asked, limits, strict=False)
        ):
            log.warning("%s[%s]: time limits %r clamped to %r", self.name, self.id, asked, limits)
        self.time_limits = limits
        self._request_dict["timelimit"] = list(limits)


def forwarding_strategy(task: Task, app: Any, consumer: Any, **kwargs: Any) -> Any:
    """Celery's strategy, except that a message that arrived on another queue than the task's
    own (a client that called `send_task` without `queue=` reaches Celery's default queue) is
    moved to the task's own queue, unchanged and under the same task id, before it is acked: it
    then waits and runs with the priority, prefetch and limits of that queue. Done here, in the
    consumer, so that forwarding never holds a pool process."""
    handle = default_strategy(task, app, consumer, **kwargs)
    own = ROUTES.get(task.name)

    def on_message(message: Any, body: Any, ack: Any, reject: Any, callbacks: Any) -> Any:
        came_from = (message.delivery_info or {}).get("routing_key")
        if own is None or came_from == own:
            return handle(message, body, ack, reject, callbacks)
        props = message.properties
        with app.producer_or_acquire() as producer:
            producer.publish(
                message.body,
                exchange=own,
                routing_key=own,
                headers=message.headers,
                content_type=message.content_type,
                content_encoding=message.content_encoding,
                priority=props.get("priority"),
                correlation_id=props.get("correlation_id"),
                reply_to=props.get("reply_to"),
                delivery_mode=props.get("delivery_mode", 2),
                retry=True,
            )
        # Published before acked: a crash in between costs a duplicate, which the tasks'
        # idempotency absorbs, never a lost message.
        log.info("%s[%s]: moved from queue %r to %r", task.name, message.headers.get("id"),
                 came_from, own)  # fmt: skip
        ack(log, consumer.connection_errors)
        return None

    return on_message


def one_payload(fn: Callable[[Task, Any], Any]) -> Callable[..., Any]:
    """Accept the task's one JSON object, positionally or as `payload=`; any other call is
    answered with an `invalid-request` error result (Celery would fail the task with a
    TypeError traceback)."""

    @functools.wraps(fn)
    def task(self: Task, *args: Any, **kwargs: Any) -> Any:
        if "payload" in kwargs and not args:
            args = (kwargs.pop("payload"),)
        if len(args) != 1 or kwargs:
            got = f"{len(args)} positional argument{'s' * (len(args) != 1)}"
            if kwargs:
                got += " and keyword " + ", ".join(sorted(map(str, kwargs)))
            return error(
                "invalid-request",
                f"{self.name}: takes one argument, a JSON object (as args=[{{...}}]); got {got}",
            )
        return fn(self, args[0])

    return task


#: What every task shares: the bound request, clamped time limits, the default-queue forwarding.
COMMON: dict[str, Any] = {
    "bind": True,
    "Request": ClampedRequest,
    "Strategy": "worker.tasks:forwarding_strategy",  # a function attribute would bind
    "typing": False,
}


def _redelivered(task: Task) -> bool:
    return bool((task.request.delivery_info or {}).get("redelivered"))


def _over_bound(task: Task) -> dict[str, Any] | None:
    """Count a redelivery; past the bound, the error result that replaces running the job again.
    First deliveries are not counted (no Redis round trip on the hot path)."""
    if not _redelivered(task):
        return None
    n = store().count_redelivery(task.request.id)
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
    except SeqquizError as exc:
        return error(exc.code, str(exc))
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


def _maybe_hold(sid: Any) -> None:
    """Test-only hook (`SEQQUIZ_TEST_HOLD_ON`, `SEQQUIZ_TEST_HOLD_DIR`): the first pool process
    to reach this submission writes its pid to `DIR/held` and waits, mid-chunk and before
    storing anything, until `DIR/release` exists. A test then knows a chunk is in flight and in
    which process, instead of guessing from elapsed time."""
    if settings.test_hold_on is None or sid is None or str(sid) != settings.test_hold_on:
        return
    folder = Path(settings.test_hold_dir)
    tmp = folder / f"held.{os.getpid()}"
    tmp.write_text(str(os.getpid()))
    try:
        os.link(tmp, folder / "held")  # atomic and exclusive: one process holds, once
    except FileExistsError:
        return
    finally:
        tmp.unlink()
    log.warning("test hook: pool process %d holds submission %s", os.getpid(), sid)
    while not (folder / "release").exists():
        time.sleep(0.01)


# ---- interactive ---------------------------------------------------------------------------


@queue_task("seqquiz.solve")
@one_payload
def solve(self: Task, payload: Any) -> Any:
    return _over_bound(self) or _run(self.name, jobs.solve, payload)


@queue_task("seqquiz.grade")
@one_payload
def grade(self: Task, payload: Any) -> Any:
    """With a `submission_id`, the first grade stored for that id is the answer to every later
    request with the same id (a retrying client, a redelivered message)."""
    sid, refused = jobs.submission_id_of(dict(payload) if isinstance(payload, Mapping) else None)
    if refused is not None:
        return {"error": refused}
    field = submission_field(sid)
    if field is not None and _redelivered(self):
        stored = store().get_grade(field)
        if stored is not None:
            return orjson.loads(stored)
    over = _over_bound(self)
    if over is not None:
        return over
    _maybe_crash(sid)

    def job(p: Any) -> dict[str, Any]:
        _maybe_hold(sid)  # inside `_run`: a time limit that fires while held is a `time-limit`
        return jobs.grade(p)

    result = _run(self.name, job, payload)
    if field is not None and "error" not in result:
        earlier = store().save_grade(field, orjson.dumps(result))
        if earlier is not None:
            return orjson.loads(earlier)
    return result


# ---- batch ---------------------------------------------------------------------------------


@queue_task("seqquiz.generate_set")
@one_payload
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


class RequestError(SeqquizError, ValueError):
    """Raised when a grade_batch request is not `{"submissions": [...], ...}`."""

    code: ClassVar[str] = "invalid-request"


def plan(payload: Any) -> tuple[str | None, list[Item]]:
    """The batch id and the items of a grade_batch request, with bad JSON (a submission given
    as text) and duplicates marked by `jobs.plan_submissions`, as the local path marks them."""
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
    items = [
        Item(
            line_field(p.line)
            if p.result is not None
            else submission_field(p.sid) or line_field(p.line),
            p.sub,
            p.line,
            p.sid,
            p.result,
        )
        for p in jobs.plan_submissions(zip(subs, lines, strict=True))
    ]
    return batch_id, items


def _grade_item(item: Item) -> dict[str, Any]:
    if item.result is not None:
        return item.result
    _maybe_crash(item.sid)
    _maybe_hold(item.sid)
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
@queue_task("seqquiz.grade_batch", acks_on_timeout=False)
@one_payload
def grade_batch(self: Task, payload: Any) -> Any:
    """Grade a chunk of submissions. Results are stored in the batch's hash (the request's
    `batch_id`, else one named after this task) before the task returns, first write wins, so a
    redelivered chunk or a resent one answers with the results stored the first time."""
    try:
        batch_id, items = plan(payload)
    except RequestError as exc:
        return error(exc.code, str(exc))
    batch = batch_id or f"task-{self.request.id}"
    try:
        if _redelivered(self):
            results = _grade_carefully(self, batch, items)
        else:
            results = [_grade_item(item) for item in items]
            kept = store().save(
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
    n = store().count_redelivery(task.request.id)
    bound = settings.max_redeliveries
    log.warning("%s[%s]: redelivery %d; grading one by one", task.name, task.request.id, n)
    stored = store().existing(batch, [it.field for it in items])
    # Safety net for deaths outside any submission (each submission absorbs at most `bound`).
    hopeless = n > bound * (len(items) + 1)
    results: list[dict[str, Any]] = []
    for item, raw in zip(items, stored, strict=True):
        if raw is not None:
            results.append(orjson.loads(raw))
            continue
        attempts = store().bump_attempt(batch, item.field) if item.result is None else 0
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
        kept = store().save(batch, [(item.field, orjson.dumps(result), "error" in result)])
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
