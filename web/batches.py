"""Running uploaded batches: in this process by default (one line at a time through
`jobs.grade_lines`, results stored in chunks), or through the Celery workers when
`SEQQUIZ_BROKER_URL` is set. Either way the stored lines are what `grade-batch` writes."""

from __future__ import annotations

import io
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import orjson

import jobs
from generators import REGISTRY, TemplateError
from store import Store
from store.db import submission_row
from web.settings import WebSettings

log = logging.getLogger(__name__)

CHUNK = 2000


def split_lines(body: bytes) -> list[bytes]:
    """The lines of an uploaded JSONL body exactly as `grade-batch` reads a file (a line ends at
    LF, CRLF or a lone CR; a leading BOM is dropped)."""
    return list(jobs.jsonl_lines(io.BytesIO(body)))


def count_results(lines: Iterable[bytes]) -> int:
    return sum(1 for raw in lines if raw.strip())


def _version(sub: Any, result: dict[str, Any]) -> int | None:
    if "error" in result or not isinstance(sub, dict):
        return None
    try:
        return REGISTRY.get(sub["template"]).version
    except (TemplateError, KeyError, TypeError):
        return None


def rows_for(
    key_id: str,
    batch_id: str,
    numbered: Iterable[tuple[int, bytes]],
    results: Iterable[dict[str, Any]],
    received: datetime,
) -> Iterator[dict[str, Any]]:
    """A store row per result, with the submission's fields taken from its line."""
    for (n, raw), result in zip(numbered, results, strict=True):
        try:
            sub = orjson.loads(raw)
        except orjson.JSONDecodeError:
            sub = None
        yield submission_row(
            key_id,
            sub,
            result,
            orjson.dumps(result),
            received,
            _version(sub, result),
            batch_id=batch_id,
            line=n,
        )


class ChunkWriter:
    """Stores a batch's chunks of rows in a thread of its own, in the order they come, each in
    one transaction with the batch's count, renewing the lease after each."""

    def __init__(self, store: Store, batch_id: str, lease_seconds: float) -> None:
        self.store = store
        self.batch_id = batch_id
        self.lease_seconds = lease_seconds
        # Two chunks waiting at most: grading runs ahead of storing by that much memory only.
        self._queue: queue.Queue[list[dict[str, Any]] | None] = queue.Queue(2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="batch-writer", daemon=True)
        self._thread.start()

    @property
    def failed(self) -> bool:
        return self._error is not None

    def put(self, rows: list[dict[str, Any]]) -> None:
        if rows and self._error is None:
            self._queue.put(rows)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (rows := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain: the grading thread stops at its next line
            try:
                self.store.save_batch_lines(self.batch_id, rows)
                self.store.renew_lease(self.batch_id, self.lease_seconds)
            except BaseException as exc:
                self._error = exc


class BatchRunner:
    """Grades stored batches; the server holding a batch's lease grades it, and renews the lease
    every chunk, so a batch whose server died is finished by the next one that starts."""

    def __init__(
        self, store: Store, settings: WebSettings, on_complete: Callable[[str], None]
    ) -> None:
        self.store = store
        self.settings = settings
        self.on_complete = on_complete
        self.pool = ThreadPoolExecutor(settings.batch_threads, thread_name_prefix="batch")
        self.runner = "celery" if settings.broker_url else "local"
        self._stop = threading.Event()

    def resume(self) -> None:
        for batch_id in self.store.orphan_batches(self.runner):
            self.start(batch_id)

    def stop(self) -> None:
        self._stop.set()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _guarded(self, batch_id: str, body: bytes | None = None) -> None:
        try:
            if not self.store.claim_batch(batch_id, self.settings.lease_seconds):
                return
            if self.runner == "celery":
                self._run_celery(batch_id)
            else:
                self._run_local(batch_id, body)
        except Exception:
            log.exception(
                "batch %s failed; another server (or this one, restarted) resumes it", batch_id
            )

    def _finish(self, batch_id: str) -> None:
        if self.store.complete_batch(batch_id):
            self.on_complete(batch_id)

    def start(self, batch_id: str, body: bytes | None = None) -> None:
        """Grade a batch in the background; `body`, when given, is the stored upload (saves
        reading it back)."""
        self.pool.submit(self._guarded, batch_id, body)

    def _run_local(self, batch_id: str, body: bytes | None = None) -> None:
        hold = self.settings.test_batch_hold
        while hold and os.path.exists(hold) and not self._stop.wait(0.01):
            self.store.renew_lease(batch_id, self.settings.lease_seconds)
        b = self.store.batch(batch_id)
        lines = split_lines(body if body is not None else self.store.batch_body(batch_id))
        numbered = [(n, raw) for n, raw in enumerate(lines, 1) if raw.strip()]
        # A resumed batch is graded from its first line again (duplicate ids are judged
        # against earlier lines); only the lines not stored yet are stored.
        skip = self.store.batch_lines_done(batch_id)
        received = datetime.now(UTC)
        # This thread grades; a writer thread stores the chunks in order. The driver lets go
        # of the GIL while SQLite or PostgreSQL works, so storing a chunk overlaps grading the
        # next one instead of following it.
        writer = ChunkWriter(self.store, batch_id, self.settings.lease_seconds)
        try:
            rows: list[dict[str, Any]] = []
            for i, row in enumerate(
                rows_for(b.key_id, batch_id, numbered, jobs.grade_lines(lines), received)
            ):
                if self._stop.is_set() or writer.failed:
                    return
                if i < skip:
                    continue
                rows.append(row)
                if len(rows) >= CHUNK:
                    writer.put(rows)
                    rows = []
            writer.put(rows)
        finally:
            writer.close()  # waits for the chunks handed over; raises what the writer raised
        if not self._stop.is_set():
            self._finish(batch_id)

    def _run_celery(self, batch_id: str) -> None:
        from worker.client import BatchClient, plan_lines

        b = self.store.batch(batch_id)
        lines = split_lines(self.store.batch_body(batch_id))
        client = BatchClient.from_env()
        plan = plan_lines(lines)
        # The same id in Redis: a server that resumes this batch finds what was sent already.
        client.submit(plan, batch_id)
        done_event = threading.Event()
        stop = threading.Thread(target=self._renew_while, args=(batch_id, done_event), daemon=True)
        stop.start()
        try:
            client.wait(batch_id, len(plan.fields))
        finally:
            done_event.set()
        numbered = [(n, raw) for n, raw in enumerate(lines, 1) if raw.strip()]
        results = (
            orjson.loads(raw) for _, raw in client.store.ordered_results(batch_id, plan.fields)
        )
        received = datetime.now(UTC)
        skip = self.store.batch_lines_done(batch_id)
        rows: list[dict[str, Any]] = []
        for i, row in enumerate(rows_for(b.key_id, batch_id, numbered, results, received)):
            if i < skip:
                continue
            rows.append(row)
            if len(rows) >= CHUNK:
                self.store.save_batch_lines(batch_id, rows)
                rows = []
        self.store.save_batch_lines(batch_id, rows)
        self._finish(batch_id)

    def _renew_while(self, batch_id: str, done: threading.Event) -> None:
        while not done.wait(self.settings.lease_seconds / 3):
            self.store.renew_lease(batch_id, self.settings.lease_seconds)
