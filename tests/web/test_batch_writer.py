"""The batch runner stores its chunks from a writer thread: a chunk that fails to store stops
the batch short of complete, with only whole chunks kept, and a resumed run ends with exactly
`grade-batch`'s lines."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest

import jobs
from store import Store
from tests.store.databases import sqlite_url
from web import batches
from web.batches import BatchRunner
from web.settings import WebSettings


class FailingStore(Store):
    """Fails to store the chunk number `fail_at` (1-based), once."""

    fail_at = 0
    calls = 0

    def save_batch_lines(self, batch_id: str, rows: Any) -> None:
        self.calls += 1
        if self.calls == self.fail_at:
            raise OSError("disk full")
        super().save_batch_lines(batch_id, rows)


def _lines(n: int) -> bytes:
    out = []
    for i in range(n):
        sub = {"submission_id": f"s{i}", "template": "rnn-forward", "seed": i % 7, "response": {}}
        out.append(orjson.dumps(sub) + b"\n" if i % 5 else b"not json\n")
    return b"".join(out)


def test_a_chunk_that_fails_to_store_leaves_the_batch_incomplete_and_a_rerun_finishes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batches, "CHUNK", 4)
    body = _lines(23)
    store = FailingStore(sqlite_url(tmp_path))
    store.upgrade()
    store.create_batch("b1", "k1", 23, "local", body, None, None)
    completed: list[str] = []
    store.fail_at = 3
    runner = BatchRunner(store, WebSettings(), completed.append)
    assert store.claim_batch("b1", 60)
    with pytest.raises(OSError, match="disk full"):
        runner._run_local("b1", body)
    b = store.batch("b1")
    assert b.completed_at is None and not completed
    assert b.done == store.batch_lines_done("b1") == 8  # two whole chunks, not the third
    store.fail_at = 0
    runner._run_local("b1")  # as a resumed batch: the body read back from the store
    assert completed == ["b1"]
    want = [orjson.dumps(r) for r in jobs.grade_lines(body.splitlines(keepends=True))]
    assert list(store.batch_results("b1")) == want
    assert store.batch("b1").done == 23
    runner.stop()  # stops its grading helper too
    store.close()


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_an_upload_is_split_into_lines_as_grade_batch_reads_a_file(end: bytes) -> None:
    subs = [
        {"submission_id": f"s{i}", "template": "rnn-forward", "seed": i, "response": {}}
        for i in range(3)
    ]
    body = b"\xef\xbb\xbf" + end.join(orjson.dumps(s) for s in subs) + end + b"  " + end
    served = [orjson.dumps(r) for r in jobs.grade_lines(batches.split_lines(body))]
    local = [orjson.dumps(r) for r in jobs.grade_lines(jobs.jsonl_lines(io.BytesIO(body)))]
    assert served == local
    assert [orjson.loads(r)["submission_id"] for r in served] == ["s0", "s1", "s2"]
    assert batches.count_results(batches.split_lines(body)) == 3
