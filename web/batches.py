"""Running uploaded batches: in this server by default, or through the Celery workers when
`SEQQUIZ_BROKER_URL` is set. Either way the stored lines are what `grade-batch` writes.

In this server, the lines are graded by `jobs.grade_lines` in a helper process of the server's
own (`python -m jobs.stream`, started at the first batch and kept, so its variants stay built)
while the server builds the rows and stores them: grading and storing each take a core instead
of sharing one (Python runs one thread at a time). If the helper cannot be started or dies, the
batch is graded in the server's own thread instead, from the line where the helper stopped."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import orjson

import jobs
from generators import REGISTRY, TemplateError
from grader.errors import SeqquizError
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
    results: Iterable[bytes],
    received: datetime,
) -> Iterator[dict[str, Any]]:
    """A store row per result line (JSON, without its line end), with the submission's fields
    taken from its input line."""
    for (n, raw), line in zip(numbered, results, strict=True):
        try:
            sub = orjson.loads(raw)
        except orjson.JSONDecodeError:
            sub = None
        result = orjson.loads(line)
        yield submission_row(
            key_id, sub, result, line, received, _version(sub, result), batch_id=batch_id, line=n
        )


class HelperGone(SeqquizError):
    """Raised when the grading helper stops answering (it died, or never started); the batch
    goes on in the server."""

    code = "grading-helper-gone"


class GradingHelper:
    """The process that grades this server's batches (`python -m jobs.stream`): one batch at a
    time, its result lines read as they come. Started on first use, restarted after it died."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._closed = False

    def _process(self) -> subprocess.Popen[bytes]:
        if self._closed:
            raise HelperGone("the server is stopping")
        if self._proc is None or self._proc.poll() is not None:
            try:
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "jobs.stream"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, sys.path))},
                )
            except OSError as exc:
                raise HelperGone(f"cannot start the grading helper: {exc}") from exc
        return self._proc

    def grade(self, body: bytes) -> Iterator[bytes]:
        """The result lines (without line ends) of a JSONL body, in order; raises HelperGone
        when the helper stops before the last."""
        with self._lock:
            proc = self._process()
            assert proc.stdin is not None and proc.stdout is not None
            feeder = threading.Thread(
                target=self._feed, args=(proc, body), name="batch-feeder", daemon=True
            )
            feeder.start()
            try:
                while True:
                    try:
                        line = proc.stdout.readline()
                    except (ValueError, OSError):  # closed by `close` from another thread
                        line = b""
                    if not line.endswith(b"\n"):
                        self._kill()
                        raise HelperGone("the grading helper stopped")
                    if line == b"\n":
                        return
                    yield line[:-1]
            except BaseException:
                # Abandoned mid-batch (the server stops, the writer failed): the helper's
                # pipe holds the rest of this batch, so it is not used again.
                if self._proc is proc and proc.poll() is None:
                    self._kill()
                raise
            finally:
                feeder.join()

    @staticmethod
    def _feed(proc: subprocess.Popen[bytes], body: bytes) -> None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(b"%d\n" % len(body))
            proc.stdin.write(body)
            proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass  # the reader sees the helper gone

    def close(self) -> None:
        """Stop the helper for good (the server stops)."""
        self._closed = True
        self._kill()

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()


def graded_lines(
    helper: GradingHelper,
    body: bytes,
    lines: list[bytes],
    stopping: threading.Event | None = None,
) -> Iterator[bytes]:
    """The result lines of a batch: from the helper, or, if it cannot (any more), from
    `jobs.grade_lines` in this thread, the lines it gave already skipped. Once `stopping` is
    set (the server stops, and stopped the helper), HelperGone is raised instead: the batch is
    resumed by the next server."""
    given = 0
    try:
        for line in helper.grade(body):
            given += 1
            yield line
        return
    except HelperGone as exc:
        if stopping is not None and stopping.is_set():
            raise
        log.warning("%s; grading the rest of this batch in the server", exc)
    # The planner (duplicate submission ids) needs every line from the first.
    for i, result in enumerate(jobs.grade_lines(lines)):
        if i >= given:
            yield orjson.dumps(result)


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
        self._helpers: queue.SimpleQueue[GradingHelper] = queue.SimpleQueue()
        self._all_helpers = [GradingHelper() for _ in range(settings.batch_threads)]
        for helper in self._all_helpers:
            self._helpers.put(helper)

    def resume(self) -> None:
        for batch_id in self.store.orphan_batches(self.runner):
            self.start(batch_id)

    def stop(self) -> None:
        self._stop.set()
        self.pool.shutdown(wait=False, cancel_futures=True)
        for helper in self._all_helpers:
            helper.close()

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
        body = body if body is not None else self.store.batch_body(batch_id)
        lines = split_lines(body)
        numbered = [(n, raw) for n, raw in enumerate(lines, 1) if raw.strip()]
        # A resumed batch is graded from its first line again (duplicate ids are judged
        # against earlier lines); only the lines not stored yet are stored.
        skip = self.store.batch_lines_done(batch_id)
        received = datetime.now(UTC)
        # This thread grades; a writer thread stores the chunks in order. The driver lets go
        # of the GIL while SQLite or PostgreSQL works, so storing a chunk overlaps grading the
        # next one instead of following it.
        writer = ChunkWriter(self.store, batch_id, self.settings.lease_seconds)
        helper = self._helpers.get()
        results = graded_lines(helper, body, lines, self._stop)
        try:
            rows: list[dict[str, Any]] = []
            try:
                for i, row in enumerate(rows_for(b.key_id, batch_id, numbered, results, received)):
                    if self._stop.is_set() or writer.failed:
                        return
                    if i < skip:
                        continue
                    rows.append(row)
                    if len(rows) >= CHUNK:
                        writer.put(rows)
                        rows = []
            except HelperGone:
                if self._stop.is_set():
                    return  # the helper was stopped with the server; the batch resumes later
                raise
            writer.put(rows)
        finally:
            results.close()
            self._helpers.put(helper)
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
            orjson.dumps(orjson.loads(raw))  # type: ignore[arg-type]
            for _, raw in client.store.ordered_results(batch_id, plan.fields)
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
