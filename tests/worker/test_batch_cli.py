"""`seqquiz grade-batch --queue` writes what the local path writes, byte for byte; a batch can be
followed, fetched and resumed by id after its client went away."""

from __future__ import annotations

import hashlib
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.worker.helpers import FAST, batch_done, submission_lines
from worker.testing import REPO, RedisServer, WorkerProcess, worker_env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    tmp = tmp_path_factory.mktemp("cli")
    redis = RedisServer(tmp / "redis").start()
    env = worker_env(redis.url, **FAST, SEQQUIZ_TEST_GRADE_DELAY="0.001")
    worker = WorkerProcess(env, tmp / "worker.log")
    try:
        worker.start()
        yield redis
    finally:
        worker.kill()
        redis.close_clients()
        redis.stop(kill=True)


def seqquiz(server: RedisServer, *args: str, **popen: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "seqquiz", *args],
        env=worker_env(server.url, **FAST),
        cwd=REPO,
        capture_output=True,
        timeout=120,
        **popen,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Everything the local path tolerates: blank lines, bad JSON, duplicate and missing ids,
    non-object lines, a last line without its newline."""
    lines = submission_lines(120, first_seed=300)
    lines[3:3] = [b"\n", b"{not json\n", b"   \n"]
    lines[10:10] = [lines[20]]  # the same submission twice
    lines[30:30] = [b'{"template": "rnn-forward", "seed": 1, "response": {}}\n', b"42\n"]
    lines.append(b'{"submission_id": "last", "template": "rnn-bptt", "seed": 3, "response": {}}')
    path = tmp_path_factory.mktemp("files") / "messy.jsonl"
    path.write_bytes(b"".join(lines))
    return path


def test_queue_output_is_byte_identical_to_local(server, messy, tmp_path):
    local = seqquiz(server, "grade-batch", str(messy), "-o", str(tmp_path / "local.jsonl"))
    queued = seqquiz(
        server, "grade-batch", str(messy), "--queue", "--chunk-size", "16", "-o",
        str(tmp_path / "queue.jsonl"),
    )  # fmt: skip
    assert local.returncode == 0 and queued.returncode == 0, queued.stderr.decode()
    assert (tmp_path / "queue.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    err = queued.stderr.decode()
    assert re.search(r"\] 125/125 100%  \d+/s  errors 3", err), err  # the progress bar
    # and to stdout as well
    to_stdout = seqquiz(server, "grade-batch", str(messy), "--queue")
    assert to_stdout.stdout == (tmp_path / "local.jsonl").read_bytes()


def test_status_and_results_after_the_client_is_gone(server, tmp_path):
    path = tmp_path / "subs.jsonl"
    path.write_bytes(b"".join(submission_lines(800, first_seed=2000)))
    env = worker_env(server.url, **FAST)
    args = [sys.executable, "-m", "seqquiz", "grade-batch", str(path), "--queue"]
    args += ["--batch-id", "gone", "--chunk-size", "40", "-o", str(tmp_path / "never.jsonl")]
    client = subprocess.Popen(args, env=env, cwd=REPO, stderr=subprocess.DEVNULL)
    r = server.client()
    deadline = time.monotonic() + 60
    while batch_done(r, "gone") < 100 and time.monotonic() < deadline:
        time.sleep(0.01)
    client.send_signal(signal.SIGKILL)  # the client disconnects; the workers go on
    client.wait()
    status = json.loads(seqquiz(server, "batch", "status", "gone").stdout)
    assert status["batch_id"] == "gone" and status["total"] == 800
    assert 100 <= status["done"] <= 800 and status["expires_in"] > 0

    # reconnect: wait and fetch
    fetched = seqquiz(server, "batch", "results", "gone", "--wait", "-o", str(tmp_path / "a.jsonl"))
    assert fetched.returncode == 0, fetched.stderr.decode()
    local = seqquiz(server, "grade-batch", str(path), "-o", str(tmp_path / "local.jsonl"))
    assert local.returncode == 0
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    status = json.loads(seqquiz(server, "batch", "status", "gone").stdout)
    assert status["complete"] and status["done"] == 800

    # resuming a finished batch sends nothing and writes the same file
    resumed = seqquiz(
        server, "grade-batch", str(path), "--queue", "--batch-id", "gone", "-o",
        str(tmp_path / "b.jsonl"),
    )  # fmt: skip
    assert resumed.returncode == 0
    assert (tmp_path / "b.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()


def test_resume_with_another_file_is_refused(server, tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_bytes(b"".join(submission_lines(5, first_seed=1)))
    b.write_bytes(b"".join(submission_lines(6, first_seed=1)))
    assert seqquiz(server, "grade-batch", str(a), "--queue", "--batch-id", "one").returncode == 0
    again = seqquiz(server, "grade-batch", str(b), "--queue", "--batch-id", "one")
    assert again.returncode == 2
    assert b"another file" in again.stderr


def test_unknown_and_unfinished_batches_are_errors(server):
    unknown = seqquiz(server, "batch", "status", "never-sent")
    assert unknown.returncode == 2 and b"unknown, or expired" in unknown.stderr
    bad_id = seqquiz(server, "batch", "results", "no/slashes")
    assert bad_id.returncode == 2 and b"batch_id" in bad_id.stderr
    r = server.client()
    r.hset("seqquiz:batch:{half}:meta", mapping={"total": 2, "done": 1, "sha256": "x"})
    r.rpush("seqquiz:batch:{half}:order", "s:a", "s:b")
    r.hset("seqquiz:batch:{half}:results", "s:a", orjson.dumps({"submission_id": "a"}))
    unfinished = seqquiz(server, "batch", "results", "half")
    assert unfinished.returncode == 2 and b"1 of 2 done" in unfinished.stderr
    partial = seqquiz(server, "batch", "results", "half", "--partial")
    assert partial.returncode == 0 and partial.stdout == b'{"submission_id":"a"}\n'


def test_batch_options_need_queue(server, messy):
    proc = seqquiz(server, "grade-batch", str(messy), "--batch-id", "x")
    assert proc.returncode == 2 and b"go with --queue" in proc.stderr


def test_resume_a_batch_whose_client_died_while_creating_it(server, tmp_path):
    path = tmp_path / "subs.jsonl"
    path.write_bytes(b"".join(submission_lines(30, first_seed=4000)))
    r = server.client()  # what a client killed between claiming the id and writing `total` left
    r.hset("seqquiz:batch:{halfmade}:meta", "sha256", hashlib.sha256(path.read_bytes()).hexdigest())
    r.rpush("seqquiz:batch:{halfmade}:order", "s:s0")
    out = tmp_path / "out.jsonl"
    args = ("grade-batch", str(path), "--queue", "--batch-id", "halfmade", "-o", str(out))
    assert seqquiz(server, *args).returncode == 0
    local = seqquiz(server, "grade-batch", str(path), "-o", str(tmp_path / "local.jsonl"))
    assert local.returncode == 0 and out.read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    fetched = seqquiz(server, "batch", "results", "halfmade")
    assert fetched.stdout == out.read_bytes()


def test_results_of_a_batch_whose_sender_stopped_half_way_say_how_to_resume(server) -> None:
    """A client killed while sending leaves chunks unsent: nothing would ever complete them, so
    `batch results` must not wait forever but say how to resume."""
    from worker.store import Store, connect

    store = Store(connect(server.url), ttl=600)
    try:
        meta = {"sha256": "f", "total": 3, "chunk_size": 1, "chunks": 3, "created": 0}
        store.create("halfsent", meta, ["s:a", "s:b", "s:c"])
        store.record_chunk("halfsent", 0, "task-0")
    finally:
        store.redis.close()
    status = json.loads(seqquiz(server, "batch", "status", "halfsent").stdout)
    assert status["chunks"] == 3 and status["chunks_sent"] == 1 and not status["complete"]
    proc = seqquiz(server, "batch", "results", "halfsent", "--wait")
    assert proc.returncode == 2
    assert b"only 1 of 3 chunks were sent" in proc.stderr and b"--batch-id halfsent" in proc.stderr
