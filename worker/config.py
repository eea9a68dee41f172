"""Worker and client settings, read once from `SEQQUIZ_*` environment variables, and the one place
where every reliability setting of the queue is chosen and explained.

Reliability settings
====================

========================================  ==========================  ==================================
Setting (environment variable)            Default                     Why
========================================  ==========================  ==================================
``task_acks_late``                        on                          A message is acknowledged after its
                                                                      task ran, not when it was received:
                                                                      a worker that dies mid-task leaves
                                                                      the message in Redis to be
                                                                      delivered again.
``task_reject_on_worker_lost``            on                          A pool process killed mid-task
                                                                      (SIGKILL, OOM) requeues its message
                                                                      at once instead of failing it.
``task_acks_on_failure``                  on                          A task that *raised* is not retried
                                                                      by redelivery (grading is
                                                                      deterministic); the tasks turn
                                                                      every expected failure into a
                                                                      structured error result anyway.
``task_acks_on_timeout``                  on; off for grade_batch     A single job killed by its hard time
                                                                      limit fails (the caller gets
                                                                      ``TimeLimitExceeded``); a batch chunk
                                                                      is requeued, counted as a
                                                                      redelivery, so that the submission
                                                                      that hangs is charged, not the chunk.
redeliveries                              3                           Kombu's Redis transport has no
(``SEQQUIZ_MAX_REDELIVERIES``)                                        delivery counter, so the tasks keep
                                                                      one: ``INCR seqquiz:deliveries:<task
                                                                      id>`` on every *redelivered* message
                                                                      (first deliveries pay nothing). A
                                                                      single task delivered more than
                                                                      1 + N times returns the error
                                                                      ``worker-crashed`` without running.
                                                                      A batch chunk that is redelivered
                                                                      grades its unfinished submissions
                                                                      one at a time, storing each result
                                                                      at once and counting attempts per
                                                                      submission; a submission that was in
                                                                      flight when the worker died N times
                                                                      becomes ``worker-crashed`` and the
                                                                      rest of the chunk is graded.
``broker_transport_options``              300 s                       How long a delivered, unacknowledged
``visibility_timeout``                                                message may stay with a worker that
(``SEQQUIZ_VISIBILITY_TIMEOUT``)                                      went silent (machine lost, whole
                                                                      worker SIGKILLed) before Redis hands
                                                                      it to another worker.
``unacked_restore_interval``              10 s                        How often each worker looks for such
(``SEQQUIZ_RESTORE_INTERVAL``)                                        messages (kombu's default is 100 s).
soft / hard time limit, interactive       20 s / 30 s                 ``seqquiz.grade`` and ``seqquiz.solve``
(``SEQQUIZ_INTERACTIVE_SOFT_TIME_LIMIT``,                             take milliseconds; the limits only
``SEQQUIZ_INTERACTIVE_TIME_LIMIT``)                                   stop a runaway.
soft / hard time limit, batch             100 s / 120 s               A chunk of 1000 submissions takes well
(``SEQQUIZ_BATCH_SOFT_TIME_LIMIT``,                                   under a second; ``generate_set`` with
``SEQQUIZ_BATCH_TIME_LIMIT``)                                         a large count can take a minute.
soft limit reached                                                    Inside a submission: that submission
                                                                      gets the error ``time-limit`` and the
                                                                      chunk goes on. Between submissions
                                                                      (a slow Redis): the chunk is
                                                                      requeued (``Reject``) and resumes,
                                                                      as a counted redelivery, from what
                                                                      it stored.
start-up check                                                        ``hard limit x prefetch multiplier <
                                                                      visibility timeout`` for every queue
                                                                      the worker consumes, else the worker
                                                                      refuses to start (``ConfigError``):
                                                                      otherwise a message still running or
                                                                      waiting in a worker's prefetch buffer
                                                                      would be handed to a second worker.
``worker_prefetch_multiplier``            4 interactive-only,         Short interactive grades gain from a
(``SEQQUIZ_INTERACTIVE_PREFETCH``,        1 otherwise                 few prefetched messages; a long batch
``SEQQUIZ_BATCH_PREFETCH``)                                           chunk must not sit in one busy
                                                                      worker's buffer while another idles.
queues and routes                         ``interactive``: solve,     Separate queues so that a course's
                                          grade; ``batch``:           batch cannot delay one student's
                                          grade_batch, generate_set   grade. Workers poll ``interactive``
                                                                      first (``queue_order_strategy=
                                                                      priority``).
Celery's default queue ``celery``         consumed by every worker,   A client that calls ``send_task``
                                          polled first                without ``queue=`` is served: the
                                                                      worker's consumer moves the message,
                                                                      unchanged, to its task's own queue
                                                                      (no pool process is used), where it
                                                                      waits and runs like any other.
per-message time limits                   clamped                     A message's ``timelimit`` header may
                                                                      lower its task's limits, never raise
                                                                      them: otherwise a client could make a
                                                                      task outlive the visibility timeout
                                                                      (and run twice) despite the start-up
                                                                      check.
remote control                            off                         Any client of the broker could ping,
(``SEQQUIZ_REMOTE_CONTROL``)                                          reconfigure or shut down workers
                                                                      (``celery control shutdown``); an
                                                                      operator who wants ``celery inspect``
                                                                      sets it to ``1``.
``result_expires``                        1 hour                      Celery's own result of a task; the
(``SEQQUIZ_RESULT_EXPIRES``)                                          durable copy is below.
durable results                           7 days                      Batch results (hash per batch,
(``SEQQUIZ_RESULT_TTL``)                                              field per submission) and single
                                                                      grades with a ``submission_id`` live
                                                                      in the store Redis (AOF persistence)
                                                                      this long after their last write.
``result_backend_always_retry``           on                          A result written while Redis
                                                                      restarts is retried, not lost.
``broker_connection_retry_on_startup``,   on, forever                 A worker started before Redis, or
``broker_connection_max_retries``                                     cut off by a Redis restart, waits.
``worker_cancel_long_running_tasks_on_    off                         A chunk running while Redis restarts
connection_loss``                                                     finishes: its writes retry for up to
                                                                      a minute, and with the Redis
                                                                      transport its acknowledgement still
                                                                      lands after reconnecting (were it
                                                                      lost, the message would come back
                                                                      and find its results stored).
client stall timeout                      2 x visibility + restore    ``grade-batch --queue`` resends the
(``SEQQUIZ_STALL_TIMEOUT``)                                           unfinished submissions of a chunk
                                                                      when nothing progressed this long
                                                                      (a message lost in a Redis crash);
                                                                      resending is safe: grading is
                                                                      idempotent per submission id.
========================================  ==========================  ==================================

Serialization is JSON only (``task_serializer``, ``result_serializer``, ``accept_content``,
``result_accept_content``): no client can make a worker unpickle anything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from kombu import Exchange, Queue

from grader.errors import SeqquizError

PREFIX = "SEQQUIZ_"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"

INTERACTIVE = "interactive"
BATCH = "batch"
QUEUES = (INTERACTIVE, BATCH)
#: Celery's default queue, where `send_task` without `queue=` puts a message; workers consume it
#: only to move each message to its task's own queue (`worker.tasks.forwarding_strategy`).
DEFAULT_QUEUE = "celery"
SCHEMES = ("redis", "rediss")

#: Which queue each task is routed to.
ROUTES: dict[str, str] = {
    "seqquiz.solve": INTERACTIVE,
    "seqquiz.grade": INTERACTIVE,
    "seqquiz.grade_batch": BATCH,
    "seqquiz.generate_set": BATCH,
}


class ConfigError(SeqquizError, ValueError):
    """Raised when a `SEQQUIZ_*` setting is malformed or the settings contradict each other."""

    code: ClassVar[str] = "invalid-config"

    def __init__(self, name: str, value: Any, reason: str) -> None:
        self.name = name
        self.value = value
        super().__init__(f"{name}: {reason} (got {value!r})")


def mask_url(url: str) -> str:
    """`url` with its password replaced by `****`, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:****@{host}"))


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    """A Redis URL setting; another scheme (amqp://, a typo) is refused here, naming the
    setting, rather than failing later deep inside kombu or redis-py."""
    value = _text(env, name, default)
    scheme = value.partition("://")[0].lower() if "://" in value else ""
    if scheme not in SCHEMES:
        raise ConfigError(
            PREFIX + name,
            mask_url(value),
            f"unsupported scheme {scheme!r}; seqquiz needs Redis: redis://[:PASSWORD@]HOST[:PORT]"
            "/DB or rediss:// (TLS)",
        )
    return value


#: How `Settings.from_env` reads a field beyond its type (metadata of the dataclass field): `low`,
#: the least value a number may take (else 1 for an integer, 0.001 for a float); `url`, a Redis
#: URL; `default_from`, another field whose value is the default; `env_default`, the value when
#: the variable is unset, if not the field's default.
def _setting(default: Any, **how: Any) -> Any:
    return field(default=default, metadata=how)


@dataclass(frozen=True)
class Settings:
    """Every setting of the queue, one field each, read from `SEQQUIZ_<FIELD NAME>`."""

    broker_url: str = _setting(DEFAULT_REDIS, url=True)
    result_backend: str = _setting(DEFAULT_REDIS, url=True)
    store_url: str = _setting(DEFAULT_REDIS, url=True, default_from="broker_url")
    result_ttl: int = 7 * 24 * 3600
    result_expires: int = 3600
    visibility_timeout: float = 300.0
    restore_interval: float = 10.0
    max_redeliveries: int = _setting(3, low=0)
    interactive_soft_time_limit: float = 20.0
    interactive_time_limit: float = 30.0
    batch_soft_time_limit: float = 100.0
    batch_time_limit: float = 120.0
    interactive_prefetch: int = 4
    batch_prefetch: int = 1
    chunk_size: int = 1000
    stall_timeout: float = _setting(0.0, low=0)  # 0: derived, see `effective_stall_timeout`
    warmup_seeds: int = _setting(16, low=0)
    remote_control: bool = False
    # Test-only hooks; never set in production.
    test_crash_on: str | None = None  # os._exit() the pool process on this submission id
    test_grade_delay: float = _setting(0.0, low=0)  # seconds slept before grading each submission
    test_hold_on: str | None = None  # hold the chunk in flight at this id (`worker.tasks`)
    test_hold_dir: str = _setting("", env_default=".")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            values[f.name] = _read(env, f, values)
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse contradictory limits: every soft limit below its hard limit, and every hard limit
        times the prefetch multiplier that comes with it below the visibility timeout."""
        for kind in QUEUES:
            soft, hard = self.time_limits(kind)
            if soft >= hard:
                raise ConfigError(
                    f"{PREFIX}{kind.upper()}_SOFT_TIME_LIMIT",
                    soft,
                    f"must be below {PREFIX}{kind.upper()}_TIME_LIMIT={hard}",
                )
        for queues in ((INTERACTIVE,), QUEUES):
            self.check_worker(queues, self.prefetch_for(queues))

    def time_limits(self, queue: str) -> tuple[float, float]:
        if queue == INTERACTIVE:
            return self.interactive_soft_time_limit, self.interactive_time_limit
        return self.batch_soft_time_limit, self.batch_time_limit

    def prefetch_for(self, queues: tuple[str, ...] | list[str]) -> int:
        """A worker that only serves interactive grades prefetches a few; any worker that also takes
        batch chunks prefetches the batch multiplier (1 by default)."""
        served = set(queues) - {DEFAULT_QUEUE}
        return self.interactive_prefetch if served == {INTERACTIVE} else self.batch_prefetch

    def check_worker(self, queues: tuple[str, ...] | list[str], prefetch: int) -> None:
        """Raise `ConfigError` unless a message reserved by this worker always finishes before the
        broker's visibility timeout hands it to another worker."""
        for queue in queues:
            if queue == DEFAULT_QUEUE:  # only forwarded from, never run: no limits apply
                continue
            if queue not in QUEUES:
                raise ConfigError("queues", queue, f"unknown queue; queues are {list(QUEUES)}")
            hard = self.time_limits(queue)[1]
            if hard * prefetch >= self.visibility_timeout:
                raise ConfigError(
                    f"{PREFIX}VISIBILITY_TIMEOUT",
                    self.visibility_timeout,
                    f"must exceed the {queue} hard time limit {hard} s x prefetch multiplier "
                    f"{prefetch}; a message could otherwise be delivered to a second worker while "
                    "the first still holds it",
                )

    @property
    def effective_stall_timeout(self) -> float:
        return self.stall_timeout or 2 * self.visibility_timeout + self.restore_interval

    def celery_conf(self) -> dict[str, Any]:
        """The Celery settings; see the table in this module's docstring."""
        # Queue, exchange and routing key share one name, as Celery names a queue it creates
        # from `send_task(..., queue=NAME)`: a foreign client needs only the queue's name.
        transport = {
            "visibility_timeout": self.visibility_timeout,
            "unacked_restore_interval": self.restore_interval,
            "unacked_restore_throttle": 1,
            # A worker killed while holding the restore mutex must not block restores for long.
            "unacked_mutex_expire": max(5, int(self.visibility_timeout)),
            "queue_order_strategy": "priority",
        }
        return {
            "broker_url": self.broker_url,
            "result_backend": self.result_backend,
            "task_serializer": "json",
            "result_serializer": "json",
            "accept_content": ["json"],
            "result_accept_content": ["json"],
            "task_acks_late": True,
            "task_reject_on_worker_lost": True,
            "task_acks_on_failure": True,
            "task_acks_on_timeout": True,
            "task_queues": [
                Queue(q, Exchange(q, type="direct"), routing_key=q)
                for q in (DEFAULT_QUEUE, *QUEUES)
            ],
            "task_default_queue": INTERACTIVE,
            "task_routes": {name: {"queue": q, "routing_key": q} for name, q in ROUTES.items()},
            "task_store_errors_even_if_ignored": True,
            "task_track_started": False,
            "worker_prefetch_multiplier": self.batch_prefetch,
            "worker_send_task_events": False,
            "worker_enable_remote_control": self.remote_control,
            "worker_cancel_long_running_tasks_on_connection_loss": False,
            "broker_transport_options": transport,
            "broker_connection_retry_on_startup": True,
            "broker_connection_max_retries": None,
            "result_expires": self.result_expires,
            "result_backend_always_retry": True,
            "result_backend_max_retries": 60,
            "redis_backend_health_check_interval": 10,
        }


def _read(env: Mapping[str, str], f: Field[Any], earlier: Mapping[str, Any]) -> Any:
    """One field's value from `SEQQUIZ_<NAME>`, by the field's type and metadata."""
    name, how = f.name.upper(), f.metadata
    default = earlier[how["default_from"]] if "default_from" in how else f.default
    default = how.get("env_default", default)
    if how.get("url"):
        return _url(env, name, default)
    if f.type == "bool":
        return _flag(env, name)
    if f.type == "int":
        return int(_number(env, name, default, integer=True, low=how.get("low")))
    if f.type == "float":
        return _number(env, name, default, low=how.get("low"))
    if f.type == "str | None":
        return env.get(PREFIX + name) or None
    if f.type == "str":
        return _text(env, name, default)
    raise TypeError(f"Settings.{f.name}: no reader for type {f.type}")


def _text(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(PREFIX + name, "").strip()
    return value or default


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(PREFIX + name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(PREFIX + name, raw, "must be 1 or 0")


def _number(
    env: Mapping[str, str],
    name: str,
    default: float,
    integer: bool = False,
    low: float | None = None,
) -> float:
    raw = env.get(PREFIX + name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise ConfigError(PREFIX + name, raw, f"must be {kind}") from None
    minimum = low if low is not None else (1 if integer else 1e-3)
    if value < minimum:
        raise ConfigError(PREFIX + name, raw, f"must be at least {minimum}")
    return value
