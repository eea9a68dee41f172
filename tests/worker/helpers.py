"""Submission files, a batch client subprocess, and the checks every fault test makes: exactly
one result per submission id, none lost, each equal to the local grade."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
from redis import Redis

import jobs
from worker.testing import REPO, RedisServer, worker_env

TEMPLATES = ("rnn-forward", "rnn-bptt", "rnn-gradient-flow")

# Limits scaled down so that a lost message comes back in seconds. The visibility timeout (10 s)
# still exceeds batch hard limit x prefetch (7 x 1) and interactive (1.4 x 4); the batch hard
# limit stays above the 5 s within which Celery's prefork pool notices a dead pool process at
# the latest, as it does in production.
FAST = {
    "SEQQUIZ_VISIBILITY_TIMEOUT": "10",
    "SEQQUIZ_RESTORE_INTERVAL": "0.5",
    "SEQQUIZ_BATCH_SOFT_TIME_LIMIT": "6",
    "SEQQUIZ_BATCH_TIME_LIMIT": "7",
    "SEQQUIZ_INTERACTIVE_SOFT_TIME_LIMIT": "1",
    "SEQQUIZ_INTERACTIVE_TIME_LIMIT": "1.4",
    "SEQQUIZ_STALL_TIMEOUT": "15",
    "SEQQUIZ_MAX_REDELIVERIES": "3",
    "SEQQUIZ_WARMUP_SEEDS": "4",
}


def client_env(redis_server: RedisServer, **overrides: str) -> dict[str, str]:
    return worker_env(redis_server.url, **{**FAST, **overrides})


def submission_lines(n: int, first_seed: int = 1000) -> list[bytes]:
    """n submissions with distinct ids and distinct variants (cold caches: each costs real work);
    every third answered right, the others wrong or unparsable."""
    lines = []
    for i in range(n):
        template = TEMPLATES[i % len(TEMPLATES)]
        seed = first_seed + i
        solved = jobs.solve({"template": template, "seed": seed})
        ask = solved["params"]["ask"]
        if i % 3 == 0:
            response = {p: solved["answers"][p] for p in ask}
        elif i % 3 == 1:
            response = {p: "0.123" for p in ask}
        else:
            response = {p: "banana" for p in ask}
        sub = {"submission_id": f"s{i}", "template": template, "seed": seed, "response": response}
        lines.append(orjson.dumps(sub) + b"\n")
    return lines


def local_results(lines: list[bytes]) -> dict[Any, dict[str, Any]]:
    return {r["submission_id"]: r for r in jobs.grade_lines(lines)}


def start_client(
    env: dict[str, str],
    infile: Path,
    outfile: Path,
    batch_id: str,
    chunk_size: int,
    log: Path,
) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "seqquiz", "grade-batch", str(infile), "--queue"]
    args += ["--batch-id", batch_id, "--chunk-size", str(chunk_size), "-o", str(outfile)]
    with log.open("wb") as f:
        return subprocess.Popen(args, env=env, cwd=REPO, stdout=f, stderr=subprocess.STDOUT)


def batch_done(r: Redis, batch_id: str) -> int:
    try:
        return int(r.hget(f"seqquiz:batch:{{{batch_id}}}:meta", "done") or 0)
    except Exception:  # Redis restarting
        return -1


def wait_until_done(r: Redis, batch_id: str, at_least: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = batch_done(r, batch_id)
        if done >= at_least:
            return done
        time.sleep(0.01)
    raise AssertionError(f"batch {batch_id}: fewer than {at_least} results after {timeout} s")


def finish(client: subprocess.Popen[bytes], log: Path, timeout: float = 120.0) -> None:
    try:
        rc = client.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        client.kill()
        client.wait()
        raise AssertionError(f"client did not finish in {timeout} s:\n{log.read_text()}") from None
    assert rc == 0, log.read_text()


def check_one_result_each(
    outfile: Path, expected: dict[Any, dict[str, Any]], crashed: set[Any] = frozenset()
) -> list[dict[str, Any]]:
    """Exactly one line per submission id, in input order, nothing lost; each equal to the local
    result except the `crashed` ids, which must be `worker-crashed` errors."""
    got = [orjson.loads(line) for line in outfile.read_bytes().splitlines()]
    counts = Counter(r["submission_id"] for r in got)
    assert [sid for sid, n in counts.items() if n != 1] == []
    assert [r["submission_id"] for r in got] == list(expected)
    for r in got:
        sid = r["submission_id"]
        if sid in crashed:
            assert r["error"]["code"] == "worker-crashed", r
        else:
            assert r == expected[sid], f"{sid}: the queue gave {r}, the local grade {expected[sid]}"
    return got


def redeliveries(r: Redis) -> dict[str, int]:
    return {k.decode(): int(r.get(k) or 0) for k in r.scan_iter("seqquiz:deliveries:*")}
