"""Group commit of single grades: concurrent grades share a commit, twins under one
Idempotency-Key keep the first, and nothing is answered before it is stored."""

from __future__ import annotations

import asyncio
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
