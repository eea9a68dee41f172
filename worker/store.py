"""Durable results in Redis: one hash per batch (a field per submission), single grades by
submission id, and the delivery and attempt counters that bound redeliveries.

Keys (``{id}`` is a Redis Cluster hash tag, so a batch's keys live on one node):

============================================  ====================================================
``seqquiz:batch:{ID}:results``                hash: field -> result JSON (first write wins)
``seqquiz:batch:{ID}:meta``                   hash: ``total``, ``sha256``, ``chunk_size``,
                                              ``created`` (client); ``done``, ``errors`` (counted
                                              by whoever stores a new result)
``seqquiz:batch:{ID}:order``                  list: the fields in input order (client)
``seqquiz:batch:{ID}:chunks``                 hash: chunk index -> Celery task id (client)
``seqquiz:batch:{ID}:attempts``               hash: field -> times a redelivered chunk started it
``seqquiz:grade:FIELD``                       a single grade's result JSON, by submission id
``seqquiz:deliveries:TASK_ID``                redeliveries of one Celery message
============================================  ====================================================

A field is ``s:<id>`` for a string submission id, ``i:<id>`` for an integer one and ``l:<line>``
for a line without a usable id (bad JSON, a duplicate, a missing or malformed id). Every key
expires `ttl` seconds after the batch's last write.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import BusyLoadingError, ConnectionError, TimeoutError
from redis.retry import Retry

from grader.errors import SeqquizError
from jobs import SubmissionError, check_submission_id

BATCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
SLICE = 10_000  # fields per HMGET/RPUSH: bounded replies, no long Redis stalls


class BatchIdError(SeqquizError, ValueError):
    """Raised when a batch id is not 1 to 128 letters, digits or `_.:-`."""

    code: ClassVar[str] = "invalid-batch-id"


def check_batch_id(batch_id: Any) -> str:
    if not isinstance(batch_id, str) or not BATCH_ID.fullmatch(batch_id):
        raise BatchIdError(
            f"batch_id: must be 1 to 128 letters, digits or _.:- starting with a letter or digit "
            f"(got {batch_id!r})"
        )
    return batch_id


def submission_field(sid: Any) -> str | None:
    """The results-hash field of a submission id, or None when it is absent or refused by
    `jobs.check_submission_id` (such a line is keyed by its line number)."""
    try:
        valid = check_submission_id(sid)
    except SubmissionError:
        return None
    if valid is None:
        return None
    return "s:" + valid if isinstance(valid, str) else f"i:{valid}"


def line_field(line: int) -> str:
    return f"l:{line}"


# HSETNX every (field, value) pair; count new results, and new errors (ARGV[2] holds one '0' or
# '1' per pair), in the meta hash; refresh the retention of the batch's keys; return (index,
# stored value) of every field that already had a result, so the caller answers with the first
# result, not its own.
_SAVE = """
local ttl = tonumber(ARGV[1])
local flags = ARGV[2]
local new, errors = 0, 0
local kept = {}
for i = 3, #ARGV, 2 do
  local k = (i - 3) / 2
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    new = new + 1
    if string.byte(flags, k + 1) == 49 then errors = errors + 1 end
  else
    kept[#kept + 1] = k
    kept[#kept + 1] = redis.call('HGET', KEYS[1], ARGV[i])
  end
end
if new > 0 then redis.call('HINCRBY', KEYS[2], 'done', new) end
if errors > 0 then redis.call('HINCRBY', KEYS[2], 'errors', errors) end
for k = 1, #KEYS do redis.call('EXPIRE', KEYS[k], ttl) end
return kept
"""


def connect(url: str, patience: float = 60.0) -> Redis:
    """A client that rides out a Redis restart: connection errors and `LOADING` replies are retried
    with capped exponential backoff for about `patience` seconds."""
    cap = 0.5
    return Redis.from_url(
        url,
        retry=Retry(ExponentialBackoff(cap=cap, base=0.01), retries=max(1, int(patience / cap))),
        retry_on_error=[ConnectionError, TimeoutError, BusyLoadingError],
        socket_keepalive=True,
        socket_connect_timeout=5,
        health_check_interval=30,
    )


@dataclass(frozen=True)
class BatchKeys:
    results: str
    meta: str
    order: str
    chunks: str
    attempts: str

    @classmethod
    def of(cls, batch_id: str) -> BatchKeys:
        base = f"seqquiz:batch:{{{batch_id}}}:"
        return cls(
            base + "results", base + "meta", base + "order", base + "chunks", base + "attempts"
        )

    def all(self) -> list[str]:
        return [self.results, self.meta, self.order, self.chunks, self.attempts]


class Store:
    """The durable side of the queue, shared by tasks and clients."""

    def __init__(self, redis: Redis, ttl: int) -> None:
        self.redis = redis
        self.ttl = ttl
        self._save = redis.register_script(_SAVE)

    # ---- results, written by workers and clients -------------------------------------------
    def save(self, batch_id: str, items: Sequence[tuple[str, bytes, bool]]) -> dict[int, bytes]:
        """Store results not stored yet; return {index: stored result} for the others."""
        keys = BatchKeys.of(batch_id)
        kept: dict[int, bytes] = {}
        for start in range(0, len(items), SLICE):
            part = items[start : start + SLICE]
            argv: list[Any] = [self.ttl, "".join("1" if e else "0" for _, _, e in part)]
            for field, value, _ in part:
                argv += (field, value)
            reply = self._save(keys=keys.all(), args=argv)
            for i in range(0, len(reply), 2):
                kept[start + int(reply[i])] = reply[i + 1]
        return kept

    def existing(self, batch_id: str, fields: Sequence[str]) -> list[bytes | None]:
        results = BatchKeys.of(batch_id).results
        out: list[bytes | None] = []
        for start in range(0, len(fields), SLICE):
            out += self.redis.hmget(results, fields[start : start + SLICE])
        return out

    def bump_attempt(self, batch_id: str, field: str) -> int:
        """Count one more start of `field` by a redelivered chunk; the count outlives the crash."""
        key = BatchKeys.of(batch_id).attempts
        pipe = self.redis.pipeline()
        pipe.hincrby(key, field, 1).expire(key, self.ttl)
        return int(pipe.execute()[0])

    def count_redelivery(self, task_id: str) -> int:
        """Count one more redelivery of a Celery message; returns how many there were so far."""
        key = f"seqquiz:deliveries:{task_id}"
        pipe = self.redis.pipeline()
        pipe.incr(key).expire(key, self.ttl)
        return int(pipe.execute()[0])

    def redeliveries(self, task_id: str) -> int:
        return int(self.redis.get(f"seqquiz:deliveries:{task_id}") or 0)

    # ---- single grades -----------------------------------------------------------------------
    def save_grade(self, field: str, value: bytes) -> bytes | None:
        """Store a single grade unless one is stored; returns the earlier one if there was."""
        return self.redis.set(f"seqquiz:grade:{field}", value, nx=True, get=True, ex=self.ttl)

    def get_grade(self, field: str) -> bytes | None:
        return self.redis.get(f"seqquiz:grade:{field}")

    # ---- batches, driven by the client -------------------------------------------------------
    def meta(self, batch_id: str) -> dict[str, str]:
        raw = self.redis.hgetall(BatchKeys.of(batch_id).meta)
        return {k.decode(): v.decode() for k, v in raw.items()}

    def create(
        self, batch_id: str, meta: dict[str, Any], order: Sequence[str], again: bool = False
    ) -> bool:
        """Record a new batch: its meta and its fields in input order; `total` is written last,
        so a batch without it was left half-created and is created `again` by the next client.
        False when the batch exists."""
        keys = BatchKeys.of(batch_id)
        if not self.redis.hsetnx(keys.meta, "sha256", meta["sha256"]) and not again:
            return False
        self.redis.delete(keys.order)
        for start in range(0, len(order), SLICE):
            self.redis.rpush(keys.order, *order[start : start + SLICE])
        pipe = self.redis.pipeline()
        rest = {k: v for k, v in meta.items() if k not in ("sha256", "total")}
        pipe.hset(keys.meta, mapping={**rest, "total": meta["total"]})
        for key in keys.all():
            pipe.expire(key, self.ttl)
        pipe.execute()
        return True

    def touch(self, batch_id: str) -> None:
        pipe = self.redis.pipeline()
        for key in BatchKeys.of(batch_id).all():
            pipe.expire(key, self.ttl)
        pipe.execute()

    def record_chunk(self, batch_id: str, index: int, task_id: str) -> None:
        self.redis.hset(BatchKeys.of(batch_id).chunks, str(index), task_id)

    def chunks(self, batch_id: str) -> dict[int, str]:
        raw = self.redis.hgetall(BatchKeys.of(batch_id).chunks)
        return {int(k): v.decode() for k, v in raw.items()}

    def progress(self, batch_id: str) -> tuple[int, int]:
        done, errors = self.redis.hmget(BatchKeys.of(batch_id).meta, ["done", "errors"])
        return int(done or 0), int(errors or 0)

    def expires_in(self, batch_id: str) -> int:
        return int(self.redis.ttl(BatchKeys.of(batch_id).meta))

    def ordered_results(
        self, batch_id: str, fields: Sequence[str] | None = None
    ) -> Iterator[tuple[str, bytes | None]]:
        """(field, result JSON or None) in input order: of `fields` when the caller knows them,
        else from the batch's order list; for a batch sent by another client (no order list),
        every stored result ordered by field."""
        keys = BatchKeys.of(batch_id)
        if fields is not None:
            yield from zip(fields, self.existing(batch_id, fields), strict=True)
            return
        n = self.redis.llen(keys.order)
        if n == 0:
            for field, value in sorted(self.redis.hgetall(keys.results).items()):
                yield field.decode(), value
            return
        for start in range(0, n, SLICE):
            fields = [f.decode() for f in self.redis.lrange(keys.order, start, start + SLICE - 1)]
            yield from zip(fields, self.redis.hmget(keys.results, fields), strict=True)


def wait_for_redis(redis: Redis, timeout: float) -> None:
    """Block until Redis answers PING (a server just started or restarting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            redis.ping()
            return
        except (ConnectionError, BusyLoadingError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
