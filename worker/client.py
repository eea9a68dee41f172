"""The batch client behind `seqquiz grade-batch --queue` and `seqquiz batch`: split a JSONL file
into chunks, send them to `seqquiz.grade_batch`, follow the batch's progress in Redis, and write
its results in input order, byte for byte what the local `grade-batch` writes.

A batch is named by its id; everything about it lives in Redis (see `worker.store`), so a client
that disconnects can ask for its progress or results later, or resume sending it.
"""

from __future__ import annotations

import hashlib
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar

import orjson
from celery import Celery

import jobs
from grader.errors import SeqquizError
from worker.config import BATCH, PREFIX, Settings, mask_url
from worker.store import Store, check_batch_id, line_field, submission_field


class BatchError(SeqquizError):
    """Raised when a batch is unknown, expired, incomplete, or resumed with another file."""

    code: ClassVar[str] = "batch-error"


class Unreachable(SeqquizError):
    """Raised when the broker or the store does not answer; the message names the setting and
    the URL (password masked)."""

    code: ClassVar[str] = "unreachable"


#: How long a client gives Redis to answer its first PING: a refused connection fails at once,
#: a host that does not answer at all within this, once (no retry), so that with interpreter
#: start-up the user hears within 10 s.
PROBE_TIMEOUT = 3.0


def probe(url: str, setting: str, role: str, timeout: float = PROBE_TIMEOUT) -> None:
    """PING `url` once, without the patient retries of `worker.store.connect`; raise
    `Unreachable` naming `setting` when it does not answer."""
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.exceptions import RedisError
    from redis.retry import Retry

    client = Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        client.ping()
    except RedisError as exc:
        reason = str(exc).replace(url, mask_url(url)) or type(exc).__name__
        raise Unreachable(
            f"the {role} is unreachable at {mask_url(url)} ({setting}): {reason}"
        ) from None
    finally:
        client.close()


@dataclass(frozen=True)
class Plan:
    """A JSONL file read the way `jobs.grade_lines` reads it: a result field per
    non-blank line, the error results the client itself knows (bad JSON, duplicate ids), and
    the submissions to send as (field, JSON text of the line, line number). Sending the text
    rather than the parsed object spares Celery's JSON codec a Python hook per nested object, on
    both sides: the worker parses each line with orjson, as the local path does."""

    fields: list[str]
    known: list[tuple[str, dict[str, Any]]]
    submissions: list[tuple[str, Any, int]]
    sha256: str


def plan_lines(lines: Iterable[bytes], first_line: int = 1) -> Plan:
    fields: list[str] = []
    known: list[tuple[str, dict[str, Any]]] = []
    submissions: list[tuple[str, Any, int]] = []
    digest = hashlib.sha256()

    def entries() -> Iterator[tuple[bytes, int]]:
        for n, raw in enumerate(lines, first_line):
            digest.update(raw)  # every line, blank ones too: the file is what is resumed
            if raw.strip():
                yield raw, n

    for p in jobs.plan_submissions(entries()):
        if p.result is not None:
            fields.append(line_field(p.line))
            known.append((fields[-1], p.result))
        else:
            fields.append(submission_field(p.sid) or line_field(p.line))
            submissions.append((fields[-1], p.given.decode().rstrip("\r\n"), p.line))
    return Plan(fields, known, submissions, digest.hexdigest())


class Progress:
    """done/total, rate and errors on stderr: redrawn in place on a terminal, a line every few
    seconds otherwise."""

    def __init__(self, total: int, label: str, stream: IO[str] | None = None) -> None:
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.start = time.monotonic()
        self.base: int | None = None
        self.last = 0.0

    def show(self, done: int, errors: int, final: bool = False) -> None:
        now = time.monotonic()
        if self.base is None:
            self.base = done  # a resumed batch: rate counts this session's work only
        if not final and now - self.last < (0.2 if self.tty else 2.0):
            return
        self.last = now
        elapsed = max(now - self.start, 1e-9)
        rate = (done - self.base) / elapsed
        frac = done / self.total if self.total else 1.0
        width = 24
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        eta = f"  ETA {(self.total - done) / rate:.0f}s" if rate > 0 and done < self.total else ""
        text = (
            f"{self.label} [{bar}] {done}/{self.total} {100 * frac:.0f}%  {rate:.0f}/s  "
            f"errors {errors}{eta}"
        )
        if self.tty:
            self.stream.write("\r" + text + ("\n" if final else "\x1b[K"))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


@dataclass
class Chunk:
    index: int
    items: list[tuple[str, Any, int]]
    task_id: str | None = None
    resends: int = 0
    complete: bool = False
    fields: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.fields = [f for f, _, _ in self.items]


def new_batch_id() -> str:
    return uuid.uuid4().hex


class BatchClient:
    def __init__(self, app: Celery, store: Store, settings: Settings) -> None:
        self.app = app
        self.store = store
        self.settings = settings

    @classmethod
    def from_env(cls) -> BatchClient:
        from worker.app import app, settings, store

        return cls(app, store(), settings)

    def check_reachable(self, broker: bool = False) -> None:
        """Raise `Unreachable` unless the store (and, with `broker`, the broker) answers."""
        same = self.settings.store_url == self.settings.broker_url
        targets = []
        if broker or same:  # the store follows the broker unless SEQQUIZ_STORE_URL is set
            targets.append((PREFIX + "BROKER_URL", self.settings.broker_url, "broker"))
        if not same:
            targets.append((PREFIX + "STORE_URL", self.settings.store_url, "result store"))
        for setting, url, role in targets:
            probe(url, setting, role)

    # ---- sending -------------------------------------------------------------------------------
    def submit(
        self, plan: Plan, batch_id: str | None = None, chunk_size: int | None = None
    ) -> tuple[str, list[Chunk]]:
        """Create the batch (or find it, when resuming) and send every chunk not sent before."""
        batch_id = check_batch_id(batch_id) if batch_id else new_batch_id()
        meta = self.store.meta(batch_id)
        if meta and "total" not in meta and meta.get("sha256") == plan.sha256:
            # Its first client died while creating it: create it again, keeping what is stored.
            size = int(chunk_size or self.settings.chunk_size)
            self.store.create(batch_id, self._meta(plan, size), plan.fields, again=True)
            meta = self.store.meta(batch_id)
        if meta:
            if meta.get("sha256") != plan.sha256:
                raise BatchError(
                    f"batch {batch_id} was created from another file (sha256 "
                    f"{meta.get('sha256', '?')[:12]}..., this file {plan.sha256[:12]}...)"
                )
            size = int(meta.get("chunk_size") or chunk_size or self.settings.chunk_size)
            self.store.touch(batch_id)
        else:
            size = chunk_size or self.settings.chunk_size
            created = self.store.create(batch_id, self._meta(plan, size), plan.fields)
            if not created:  # another client created it a moment ago: treat as a resume
                return self.submit(plan, batch_id, chunk_size)
        if plan.known:
            self._save(batch_id, plan.known)
        chunks = [
            Chunk(i, plan.submissions[start : start + size])
            for i, start in enumerate(range(0, len(plan.submissions), size))
        ]
        sent = self.store.chunks(batch_id)
        for chunk in chunks:
            if chunk.index in sent:
                chunk.task_id = sent[chunk.index]
            else:
                self._send(batch_id, chunk, chunk.items)
        return batch_id, chunks

    @staticmethod
    def _meta(plan: Plan, chunk_size: int) -> dict[str, Any]:
        return {
            "sha256": plan.sha256,
            "total": len(plan.fields),
            "chunk_size": chunk_size,
            # How many chunks the client must send: a status can tell a batch whose sender died
            # half-way (resume it) from one that is only slow.
            "chunks": -(-len(plan.submissions) // chunk_size),
            "created": int(time.time()),
        }

    def _send(self, batch_id: str, chunk: Chunk, items: Sequence[tuple[str, Any, int]]) -> None:
        payload = {
            "batch_id": batch_id,
            "submissions": [sub for _, sub, _ in items],
            "lines": [line for _, _, line in items],
        }
        result = self.app.send_task(
            "seqquiz.grade_batch",
            args=[payload],
            queue=BATCH,
            ignore_result=True,
            # Celery would otherwise repr() the whole chunk into the message headers.
            argsrepr=f"[<{len(items)} submissions of batch {batch_id}>]",
            kwargsrepr="{}",
        )
        chunk.task_id = result.id
        self.store.record_chunk(batch_id, chunk.index, result.id)

    def _save(self, batch_id: str, results: Sequence[tuple[str, dict[str, Any]]]) -> None:
        self.store.save(batch_id, [(f, orjson.dumps(r), "error" in r) for f, r in results])

    # ---- following -----------------------------------------------------------------------------
    def status(self, batch_id: str) -> dict[str, Any]:
        check_batch_id(batch_id)
        meta = self.store.meta(batch_id)
        if not meta:
            raise BatchError(
                f"batch {batch_id}: unknown, or expired (results are kept "
                f"{self.settings.result_ttl} s after the batch's last write: SEQQUIZ_RESULT_TTL)"
            )
        done, errors = int(meta.get("done", 0)), int(meta.get("errors", 0))
        total = int(meta["total"]) if "total" in meta else None
        chunks = int(meta["chunks"]) if "chunks" in meta else None
        return {
            "batch_id": batch_id,
            "total": total,
            "done": done,
            "errors": errors,
            "complete": total is not None and done >= total,
            "chunks": chunks,
            "chunks_sent": len(self.store.chunks(batch_id)),
            "created": int(meta["created"]) if "created" in meta else None,
            "expires_in": self.store.expires_in(batch_id),
        }

    def wait(
        self,
        batch_id: str,
        total: int,
        chunks: Sequence[Chunk] = (),
        on_progress: Callable[[int, int], None] | None = None,
        poll: float = 0.05,
    ) -> tuple[int, int]:
        """Poll the batch's counters until every result is in. With its chunks known, resend the
        unfinished part of every unfinished chunk when nothing progressed for the stall timeout:
        the broker redelivers what a dead worker held, so this only recovers a message lost with
        a crashed Redis. Resending is safe (first result wins); a chunk is resent at most
        `max_redeliveries` times, after which the client keeps waiting and says so."""
        stall = self.settings.effective_stall_timeout
        last_done, last_change = -1, time.monotonic()
        while True:
            done, errors = self.store.progress(batch_id)
            if on_progress is not None:
                on_progress(done, errors)
            if done >= total:
                return done, errors
            now = time.monotonic()
            if done != last_done:
                last_done, last_change = done, now
            elif chunks and now - last_change >= stall:
                self._resend_unfinished(batch_id, chunks)
                last_change = time.monotonic()
            time.sleep(poll)

    def _resend_unfinished(self, batch_id: str, chunks: Sequence[Chunk]) -> None:
        for chunk in chunks:
            if chunk.complete:
                continue
            stored = self.store.existing(batch_id, chunk.fields)
            missing = [item for item, raw in zip(chunk.items, stored, strict=True) if raw is None]
            if not missing:
                chunk.complete = True
            elif chunk.resends < self.settings.max_redeliveries:
                chunk.resends += 1
                self._send(batch_id, chunk, missing)
                self.log(
                    f"batch {batch_id}: no progress for {self.settings.effective_stall_timeout:.0f}"
                    f" s; resent {len(missing)} submissions of chunk {chunk.index}"
                )
            else:
                self.log(
                    f"batch {batch_id}: chunk {chunk.index} still misses {len(missing)} results "
                    f"after {chunk.resends} resends; is a worker running?"
                )

    def log(self, message: str) -> None:
        sys.stderr.write("\n" + message + "\n")

    # ---- results -------------------------------------------------------------------------------
    def write_results(
        self,
        batch_id: str,
        out: IO[bytes],
        partial: bool = False,
        fields: Sequence[str] | None = None,
    ) -> int:
        """Write the batch's results, one JSON line each, in input order (of `fields` when the
        caller has the plan); returns how many."""
        n = 0
        for field_name, raw in self.store.ordered_results(batch_id, fields):
            if raw is None:
                if partial:
                    continue
                raise BatchError(f"batch {batch_id}: no result yet for {field_name}")
            out.write(raw + b"\n")
            n += 1
        return n


def read_lines(src: IO[bytes]) -> list[bytes]:
    """The lines of a JSONL file exactly as the local path iterates them (newlines kept), so
    line numbers and error messages agree byte for byte (CR and CRLF ends, a leading BOM)."""
    return [line + b"\n" for line in jobs.jsonl_lines(src)]
