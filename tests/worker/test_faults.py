"""Batches that lose nothing: a pool process SIGKILLed mid-batch, the whole worker SIGKILLed and
replaced, Redis crashed and restarted mid-batch, and a submission that kills its worker process
every time. Each ends with exactly one result per submission id, equal to the local grade."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.worker.helpers import (
    check_one_result_each,
    client_env,
    finish,
    local_results,
    redeliveries,
    start_client,
    submission_lines,
    wait_until_done,
)

N = 2000
CHUNK = 50
SLOW = {"SEQQUIZ_TEST_GRADE_DELAY": "0.002"}  # ~2.5 s of work per batch on 2 processes


@pytest.fixture(scope="module")
def batch() -> tuple[list[bytes], dict[Any, dict[str, Any]]]:
    lines = submission_lines(N)
    return lines, local_results(lines)


def _start(tmp_path: Path, redis_server: Any, lines: list[bytes], batch_id: str) -> Any:
    infile, outfile, log = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "client.log"
    infile.write_bytes(b"".join(lines))
    client = start_client(client_env(redis_server), infile, outfile, batch_id, CHUNK, log)
    return client, outfile, log


def _wait_for(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_pool_process_sigkilled_mid_batch(tmp_path, redis_server, start_worker, batch):
    lines, expected = batch
    worker = start_worker(**SLOW)
    r = redis_server.client()
    client, outfile, log = _start(tmp_path, redis_server, lines, "poolkill")
    wait_until_done(r, "poolkill", N // 5)
    # A pool process is almost always mid-chunk; kill again in the rare case it was between two.
    for _ in range(3):
        os.kill(worker.pool_pids()[0], signal.SIGKILL)
        if _wait_for(lambda: "WorkerLostError" in worker.log(), 6.0):
            break
    finish(client, log)
    # Killed after storing its results, the chunk is redelivered after the batch is complete.
    # Generous: on a loaded machine the pool notices the dead process late (up to ~5 s).
    assert _wait_for(lambda: redeliveries(r), 45.0), "the killed pool process's chunk is lost"
    check_one_result_each(outfile, expected)


def test_whole_worker_killed_and_replaced(tmp_path, redis_server, start_worker, batch):
    lines, expected = batch
    first = start_worker(**SLOW)
    r = redis_server.client()
    client, outfile, log = _start(tmp_path, redis_server, lines, "workerkill")
    wait_until_done(r, "workerkill", N // 5)
    first.kill()  # SIGKILL to main process and pool: its two chunks stay unacknowledged
    stuck = N - wait_until_done(r, "workerkill", 0)
    start_worker(**SLOW)  # they come back to this one after the visibility timeout
    finish(client, log)
    assert stuck > 0
    assert _wait_for(lambda: redeliveries(r), 45.0), (
        "the unacknowledged chunks were not redelivered"
    )
    check_one_result_each(outfile, expected)


def test_redis_crashed_and_restarted_mid_batch(tmp_path, redis_server, start_worker, batch):
    lines, expected = batch
    start_worker(**SLOW)
    r = redis_server.client()
    client, outfile, log = _start(tmp_path, redis_server, lines, "redisrestart")
    before = wait_until_done(r, "redisrestart", N // 5)
    redis_server.restart(kill=True)  # SIGKILL: what the AOF (fsync every second) kept survives
    after = wait_until_done(redis_server.client(), "redisrestart", 0, timeout=30)
    finish(client, log)
    assert 0 < before < N and after < N
    check_one_result_each(outfile, expected)


def test_submission_that_always_kills_its_worker(tmp_path, redis_server, start_worker, batch):
    lines, expected = batch
    start_worker(SEQQUIZ_TEST_CRASH_ON="s777")
    r = redis_server.client()
    client, outfile, log = _start(tmp_path, redis_server, lines, "poison")
    finish(client, log)
    got = check_one_result_each(outfile, expected, crashed={"s777"})
    assert "worker process died" in got[777]["error"]["message"]
    # Run on the first delivery and on each of the 3 allowed redeliveries; the next one gives up.
    attempts = r.hget("seqquiz:batch:{poison}:attempts", "s:s777")
    assert int(attempts) == 3 + 1
    # Its chunk was redelivered 4 times (another chunk may have been sent to a dying process
    # too: Celery requeues it, and it is graded once all the same).
    task_id = r.hget("seqquiz:batch:{poison}:chunks", str(777 // CHUNK)).decode()
    assert redeliveries(r)[f"seqquiz:deliveries:{task_id}"] == 3 + 1
