"""Group commit of single grades: the grades that arrive while one commit runs are stored together
by the next, one transaction (one fsync) per group instead of per grade. A grade is answered only
after its group committed. The grading itself runs on the event loop; only the commit goes to a
thread (one), so threads do not fight over the GIL for every request."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.exc import IntegrityError

from store import Store
from store.db import IdemRecord, Stored

log = logging.getLogger(__name__)

MAX_GROUP = 256
Item = tuple[dict[str, Any], IdemRecord | None]


class GroupCommit:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending: list[tuple[dict[str, Any], IdemRecord | None, asyncio.Future[Any]]] = []
        self._running = False
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="group-commit")

    async def save_grade(self, row: dict[str, Any], idem: IdemRecord | None) -> Stored | None:
        """As `Store.save_grade`: None once stored, or the response stored first under the same
        Idempotency-Key (then nothing of this one is kept)."""
        future = asyncio.get_running_loop().create_future()
        self._pending.append((row, idem, future))
        if not self._running:
            self._running = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future  # type: ignore[no-any-return]

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                group, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
                items = [(row, idem) for row, idem, _ in group]
                try:
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
            self._running = False

    def _commit(self, items: list[Item]) -> list[Stored | Exception | None]:
        try:
            taken = self.store.save_grades(items)
        except IntegrityError:
            # Another server took one of these Idempotency-Keys meanwhile: one by one.
            out: list[Stored | Exception | None] = []
            for row, idem in items:
                try:
                    out.append(self.store.save_grade(row, idem))
                except Exception as exc:
                    out.append(exc)
            return out
        return [
            self.store.stored_response(idem.key_id, idem.idem_key)
            if was_taken and idem is not None
            else None
            for (_, idem), was_taken in zip(items, taken, strict=True)
        ]

    def close(self) -> None:
        self._executor.shutdown(wait=True)
