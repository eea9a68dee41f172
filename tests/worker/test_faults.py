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
HELD = "s1000"  # the first submission of chunk 20: nothing of that chunk is stored when held
# Limits that a held chunk cannot reach however slow the machine: the pool-kill test needs the
# kill, not a time limit, to end the held chunk. (The visibility timeout plays no part there.)
ROOMY = {
    "SEQQUIZ_BATCH_SOFT_TIME_LIMIT": "200",
    "SEQQUIZ_BATCH_TIME_LIMIT": "240",
    "SEQQUIZ_VISIBILITY_TIMEOUT": "600",
}
# Time limits a chunk of cold variants meets only when something is wrong, even on a loaded
# machine (the defaults of helpers.py, 6 s a chunk, were met there: lines became `time-limit`
# errors), with a visibility timeout above them, for the tests that need redelivery.
UNHURRIED = {
    "SEQQUIZ_BATCH_SOFT_TIME_LIMIT": "20",
    "SEQQUIZ_BATCH_TIME_LIMIT": "25",
    "SEQQUIZ_VISIBILITY_TIMEOUT": "30",
}
# A client that never resends: a batch that completes then proves the broker redelivered.
PATIENT = {"SEQQUIZ_STALL_TIMEOUT": "3600"}
SAFETY = 120.0  # seconds; reached only when what the test waits for never happens


@pytest.fixture(scope="module")
def batch() -> tuple[list[bytes], dict[Any, dict[str, Any]]]:
    lines = submission_lines(N)
    return lines, local_results(lines)


def _start(tmp_path: Path, redis_server: Any, lines: list[bytes], batch_id: str, **env: str) -> Any:
    infile, outfile, log = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "client.log"
    infile.write_bytes(b"".join(lines))
    client = start_client(client_env(redis_server, **env), infile, outfile, batch_id, CHUNK, log)
    return client, outfile, log


def _hold(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """The worker settings that make the first pool process reaching `HELD` stop there (see
    `worker.tasks._maybe_hold`), and the folder where it says so."""
    folder = tmp_path / "hold"
    folder.mkdir()
    return {"SEQQUIZ_TEST_HOLD_ON": HELD, "SEQQUIZ_TEST_HOLD_DIR": str(folder)}, folder


def _held_by(folder: Path, client: Any, log: Path) -> int:
    """Wait until a pool process holds `HELD`; its pid."""
    deadline = time.monotonic() + SAFETY
    while not (folder / "held").exists():
        if client.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"no pool process reached {HELD}:\n{log.read_text()}")
        time.sleep(0.01)
    return int((folder / "held").read_text())


def _chunk_redeliveries(r: Any, batch_id: str) -> int:
    task_id = r.hget(f"seqquiz:batch:{{{batch_id}}}:chunks", str(int(HELD[1:]) // CHUNK))
    return redeliveries(r).get(f"seqquiz:deliveries:{task_id.decode()}", 0)


def test_pool_process_sigkilled_mid_batch(tmp_path, redis_server, start_worker, batch):
    lines, expected = batch
    hold, folder = _hold(tmp_path)
    worker = start_worker(**SLOW, **ROOMY, **hold)
    r = redis_server.client()
    client, outfile, log = _start(tmp_path, redis_server, lines, "poolkill", **PATIENT)
    pid = _held_by(folder, client, log)
    assert pid in worker.pool_pids()
    os.kill(pid, signal.SIGKILL)  # mid-chunk, certainly: it holds a submission of its chunk
    # The held chunk stored nothing and the client never resends: the batch completes only
    # through the broker's redelivery of the killed process's message.
    finish(client, log, timeout=SAFETY)
    assert "WorkerLostError" in worker.log()
    assert _chunk_redeliveries(r, "poolkill") == 1
    check_one_result_each(outfile, expected)


def test_whole_worker_killed_and_replaced(tmp_path, redis_server, start_worker, batch):
    lines, expected = batch
    hold, folder = _hold(tmp_path)
    first = start_worker(**SLOW, **UNHURRIED, **hold)
    r = redis_server.client()
    client, outfile, log = _start(tmp_path, redis_server, lines, "workerkill", **PATIENT)
    _held_by(folder, client, log)
    first.kill()  # SIGKILL to main process and pool: its chunks stay unacknowledged
    start_worker(**SLOW, **UNHURRIED)  # they come back to this one after the visibility timeout
    finish(client, log, timeout=SAFETY)
    assert _chunk_redeliveries(r, "workerkill") >= 1
    check_one_result_each(outfile, expected)


def test_redis_crashed_and_restarted_mid_batch(tmp_path, redis_server, start_worker, batch):
    lines, expected = batch
    hold, folder = _hold(tmp_path)
    start_worker(**SLOW, **ROOMY, **hold)
    r = redis_server.client()
    client, outfile, log = _start(tmp_path, redis_server, lines, "redisrestart")
    _held_by(folder, client, log)  # the batch cannot complete while Redis is down
    before = wait_until_done(r, "redisrestart", 0)
    redis_server.restart(kill=True)  # SIGKILL: what the AOF (fsync every second) kept survives
    after = wait_until_done(redis_server.client(), "redisrestart", 0, timeout=30)
    (folder / "release").touch()
    finish(client, log, timeout=SAFETY)
    assert 0 < before < N and after < N
    check_one_result_each(outfile, expected)


def test_submission_that_always_kills_its_worker(tmp_path, redis_server, start_worker, batch):
    lines, expected = batch
    start_worker(SEQQUIZ_TEST_CRASH_ON="s777", **UNHURRIED)
    r = redis_server.client()
    client, outfile, log = _start(tmp_path, redis_server, lines, "poison")
    finish(client, log)
    got = check_one_result_each(outfile, expected, crashed={"s777"})
    assert "worker process died" in got[777]["error"]["message"]
    # Run on the first delivery and on each of the 3 allowed redeliveries; the next one gives up.
    attempts = r.hget("seqquiz:batch:{poison}:attempts", "s:s777")
    assert int(attempts) == 3 + 1
    # Its chunk was redelivered at least 4 times in all. On a loaded machine the client may
    # also resend the stalled chunk under a new task id (worker/client.py, the stall timeout),
    # so the 4 redeliveries can be split between the two messages: count them over every task
    # (another chunk may have been sent to a dying process too, and is graded once all the same).
    assert sum(redeliveries(r).values()) >= 3 + 1
