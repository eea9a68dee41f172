"""Group commit of single grades: the grades that arrive while a commit runs are stored together
by the next, one transaction (one fsync) per group instead of per grade. A grade is answered only
after its group committed. The grading itself runs on the event loop.

How a group is committed depends on what a commit waits for:
- SQLite, synchronous=NORMAL (the default): only this process's CPU. The commit runs on the loop,
  after the requests ready at that moment were graded: handing it to a thread and back cost
  more than the commit. When another writer holds the store's writer lock (another server
  process, a batch chunk being stored), the group goes to the thread instead, so the loop never
  waits for the lock.
- SQLite, synchronous=FULL: the disk. One thread commits while the loop grades the next group
  (SQLite has one writer: a second thread would only queue behind it).
- PostgreSQL: the server and its disk. Several threads commit groups side by side, each on a
  connection of its own; the server flushes their commits to disk together.

A committer keeps its connection (a pool checkout per group, with its ping, cost as much as the
insert)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from store import Store
from store.db import IdemRecord, Stored

log = logging.getLogger(__name__)

MAX_GROUP = 256
SERVER_COMMITTERS = 2  # PostgreSQL: groups committed side by side, per process
IDLE_PING = 10.0  # seconds: a kept connection idle this long is pinged before its next group
Item = tuple[dict[str, Any], IdemRecord | None]


class GroupCommit:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending: list[tuple[dict[str, Any], IdemRecord | None, asyncio.Future[Any]]] = []
        self._inline = not store.commit_waits
        self._width = 1 if store.is_sqlite else SERVER_COMMITTERS
        self._committing = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._executor = ThreadPoolExecutor(self._width, thread_name_prefix="group-commit")
        self._local = threading.local()
        self._conns: list[Connection] = []
        self._conns_lock = threading.Lock()

    async def save_grade(self, row: dict[str, Any], idem: IdemRecord | None) -> Stored | None:
        """As `Store.save_grade`: None once stored, or the response stored first under the same
        Idempotency-Key (then nothing of this one is kept)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((row, idem, future))
        if self._committing < self._width:
            self._committing += 1
            task = loop.create_task(self._drain())
            self._tasks.add(task)  # the loop keeps only a weak reference
            task.add_done_callback(self._tasks.discard)
        return await future  # type: ignore[no-any-return]

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                if self._inline:
                    await asyncio.sleep(0)  # the requests already read join this group
                group, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
                items = [(row, idem) for row, idem, _ in group]
                try:
                    if self._inline and self.store.take_writer(block=False):
                        try:
                            outcomes = self._commit(items)
                        finally:
                            self.store.release_writer()
                    else:  # (inline: another writer holds the lock; the loop must not wait)
                        outcomes = await loop.run_in_executor(self._executor, self._commit, items)
                except Exception as exc:  # the store is down: every grade of the group fails
                    log.exception("group commit of %d grades failed", len(group))
                    outcomes = [exc] * len(group)
                for (_, _, future), outcome in zip(group, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, Exception):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self._committing -= 1

    def _connection(self) -> Connection:
        """This committer's connection; one idle for IDLE_PING seconds is pinged first (the
        pool's pre-ping does not see a kept connection), so a database restarted meanwhile costs
        a reconnect, not a failed group."""
        conn: Connection | None = getattr(self._local, "conn", None)
        now = time.monotonic()
        if conn is not None and now - getattr(self._local, "used", now) > IDLE_PING:
            try:
                conn.exec_driver_sql("SELECT 1")
                conn.rollback()
            except Exception:
                self._drop_connection()
                conn = None
        if conn is None:
            conn = self._local.conn = self.store.engine.connect()
            with self._conns_lock:
                self._conns.append(conn)
        self._local.used = now
        return conn

    def _drop_connection(self) -> None:
        conn: Connection | None = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is None:
            return
        with self._conns_lock:
            if conn in self._conns:
                self._conns.remove(conn)
        with contextlib.suppress(Exception):
            conn.close()

    def _commit(self, items: list[Item]) -> list[Stored | Exception | None]:
        try:
            taken = self.store.save_grades(items, self._connection())
        except Exception as exc:
            # A lost connection is not kept; a key taken by another server is not the
            # connection's fault, but a fresh one costs nothing next to the one-by-one path.
            self._drop_connection()
            if not isinstance(exc, IntegrityError):
                raise
            # Another server took one of these Idempotency-Keys meanwhile: one by one.
            out: list[Stored | Exception | None] = []
            for row, idem in items:
                try:
                    out.append(self.store.save_grade(row, idem))
                except Exception as one:
                    out.append(one)
            return out
        return [
            self.store.stored_response(idem.key_id, idem.idem_key)
            if was_taken and idem is not None
            else None
            for (_, idem), was_taken in zip(items, taken, strict=True)
        ]

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()
