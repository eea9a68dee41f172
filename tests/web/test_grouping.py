"""Group commit of single grades: concurrent grades share a commit, twins under one
Idempotency-Key keep the first, and nothing is answered before it is stored."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import orjson

from store import Store
from store.db import IdemRecord, submission_row
from store.db import now as utcnow
from web.grouping import GroupCommit


def _row(sid: str) -> dict:
    result = {"score": 1.0, "parts": {}}
    payload = {"template": "rnn-forward", "seed": 1, "response": {}, "submission_id": sid}
    return submission_row("k", payload, result, orjson.dumps(result), utcnow(), 1)


def test_concurrent_grades_are_stored_before_they_are_answered(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'g.db'}")
    store.upgrade()
    group = GroupCommit(store)

    async def run() -> list:
        twin = IdemRecord("k", "same", "c" * 64, 200, "application/json", None, b"twin")
        saves = [group.save_grade(_row(f"s{i}"), None) for i in range(50)]
        saves += [group.save_grade(_row(f"t{i}"), twin) for i in range(3)]
        return await asyncio.gather(*saves)

    try:
        outcomes = asyncio.run(run())
        assert outcomes[:50] == [None] * 50
        assert outcomes[50] is None  # the first twin is stored ...
        assert [o.body for o in outcomes[51:]] == [
            b"twin",
            b"twin",
        ]  # ... the others get its answer
        ids = [r.submission_id for r in store.submission_rows()]
        assert ids == [f"s{i}" for i in range(50)] + ["t0"]
    finally:
        group.close()
        store.close()


def test_the_loop_does_not_wait_for_a_writer_lock_held_elsewhere(tmp_path: Path) -> None:
    """With the writer lock held by another writer (a batch chunk, another server process), a
    group goes to the committing thread: the loop keeps serving, and the grade is answered once
    the lock is free and the group stored."""
    db = tmp_path / "g.db"
    store = Store(f"sqlite:///{db}")
    store.upgrade()
    other = Store(f"sqlite:///{db}")  # another process's view of the same file
    group = GroupCommit(store)
    held, release = threading.Event(), threading.Event()
    gave_up: list[bool] = []

    def hold() -> None:
        other.take_writer()
        held.set()
        # A loop that blocked on the lock could never set `release`: give up after a while
        # (so a regression fails here instead of hanging).
        gave_up.append(not release.wait(10))
        other.release_writer()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()

    async def run() -> tuple[int, object]:
        save = asyncio.ensure_future(group.save_grade(_row("s1"), None))
        ticks = 0
        while ticks < 20:  # the loop runs while the grade waits for the lock
            await asyncio.sleep(0.001)
            ticks += 1
        assert not gave_up, "the loop waited for the writer lock"
        assert not save.done() and store.count_submissions() == 0
        release.set()
        return ticks, await save

    try:
        ticks, outcome = asyncio.run(run())
        assert ticks == 20 and outcome is None
        assert [r.submission_id for r in store.submission_rows()] == ["s1"]
    finally:
        release.set()
        holder.join()
        group.close()
        store.close()
        other.close()
