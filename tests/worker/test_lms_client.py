"""A client that cannot import seqquiz calls the tasks by name and gets what the local jobs give:
`examples/lms_client.py` run with seqquiz's packages blocked, and a message written into Redis
by hand in the documented wire format, as a client in another language would."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

import jobs
from tests.worker.helpers import FAST, submission_lines
from worker.testing import REPO, RedisServer, WorkerProcess, worker_env

# Runs a script with every seqquiz package unimportable.
BLOCKED = """
import runpy, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"seqquiz", "worker", "generators", "grader"}:
            raise ImportError(f"{name} is blocked: this client must not need seqquiz")
sys.meta_path.insert(0, Block())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    tmp = tmp_path_factory.mktemp("lms")
    redis = RedisServer(tmp / "redis").start()
    worker = WorkerProcess(worker_env(redis.url, **FAST), tmp / "worker.log")
    try:
        worker.start()
        yield redis
    finally:
        worker.kill()
        redis.close_clients()
        redis.stop(kill=True)


def answering(template: str, seed: int, value: str) -> dict[str, Any]:
    """A grade request answering every asked part of a variant with `value`."""
    ask = jobs.solve({"template": template, "seed": seed})["params"]["ask"]
    return {"template": template, "seed": seed, "response": {p: value for p in ask}}


def lms(server: RedisServer, *args: str) -> str:
    env = worker_env(server.url)
    env.pop("PYTHONPATH")
    proc = subprocess.run(
        [sys.executable, "-c", BLOCKED, str(REPO / "examples" / "lms_client.py"), *args],
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_grade_by_name_equals_local(server):
    payload = answering("rnn-forward", 11, "-.3")
    got = json.loads(lms(server, "grade", json.dumps(payload)))
    assert got == jobs.grade(payload)


def test_solve_and_generate_set_by_name_equal_local(server):
    solve = {"template": "rnn-bptt", "seed": 4}
    assert json.loads(lms(server, "solve", json.dumps(solve))) == jobs.solve(solve)
    gen = {"template": "rnn-gradient-flow", "seed": 2, "count": 2}
    got = json.loads(lms(server, "generate-set", json.dumps(gen)))
    assert got["variants"] == jobs.generate(gen)


def test_a_request_that_cannot_be_processed_is_a_structured_error(server):
    got = json.loads(lms(server, "grade", json.dumps({"template": "no-such", "seed": 1})))
    assert got["error"]["code"] == "unknown-template"


def test_grade_batch_by_name_equals_local(server, tmp_path):
    lines = submission_lines(300, first_seed=50)
    bad = [
        {"submission_id": "bad-1", "template": "rnn-forward", "seed": 1},  # no response
        {"submission_id": "bad-2", "template": "no-such", "seed": 1, "response": {}},
        {**answering("rnn-forward", 2, "1/3"), "note": "no id"},
        {"submission_id": ["x"], "template": "rnn-forward", "seed": 3, "response": {}},
        {"submission_id": 7, "template": "rnn-bptt", "params": {"x": "oops"}, "response": {}},
    ]
    lines[100:100] = [orjson.dumps(b) + b"\n" for b in bad]
    path = tmp_path / "subs.jsonl"
    path.write_bytes(b"".join(lines))
    out = lms(server, "grade-batch", str(path), "--chunk-size", "64")
    got = [json.loads(line) for line in out.splitlines()]
    assert got == list(jobs.grade_lines(lines))


def test_same_submission_id_graded_twice_gives_one_result(server):
    first = {**answering("rnn-forward", 5, "0.1"), "submission_id": "q"}
    again = {**answering("rnn-forward", 5, "0.9"), "submission_id": "q"}  # other content
    a = json.loads(lms(server, "grade", json.dumps(first)))
    b = json.loads(lms(server, "grade", json.dumps(again)))
    assert a == b == jobs.grade(first)


def test_batch_chunk_sent_twice_gives_one_result_per_id(server, tmp_path):
    path = tmp_path / "subs.jsonl"
    lines = submission_lines(40, first_seed=900)
    path.write_bytes(b"".join(lines))
    runs = [lms(server, "grade-batch", str(path), "--batch-id", "twice") for _ in range(2)]
    assert runs[0] == runs[1]
    r = server.client()
    assert r.hlen("seqquiz:batch:{twice}:results") == 40
    assert int(r.hget("seqquiz:batch:{twice}:meta", "done")) == 40


def test_hand_written_message_in_the_documented_format(server):
    """What docs/queue.md tells a client in another language to do: LPUSH a JSON envelope
    (Celery protocol v2) onto the queue's list, then read `celery-task-meta-<id>`."""
    task_id = str(uuid.uuid4())
    payload = answering("rnn-forward", 8, "0.2")
    body = [[payload], {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]
    envelope = {
        "body": base64.b64encode(json.dumps(body).encode()).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "py",
            "task": "seqquiz.grade",
            "id": task_id,
            "root_id": task_id,
            "parent_id": None,
            "group": None,
            "retries": 0,
            "eta": None,
            "expires": None,
            "timelimit": [None, None],
            "origin": "lms@example",
        },
        "properties": {
            "correlation_id": task_id,
            "reply_to": "",
            "delivery_mode": 2,
            "delivery_info": {"exchange": "interactive", "routing_key": "interactive"},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        },
    }
    r = server.client()
    r.lpush("interactive", json.dumps(envelope))
    deadline = time.monotonic() + 30
    meta: Any = None
    while meta is None and time.monotonic() < deadline:
        meta = r.get(f"celery-task-meta-{task_id}")
        time.sleep(0.02)
    assert meta is not None, "no result within 30 s"
    meta = json.loads(meta)
    assert meta["status"] == "SUCCESS"
    assert meta["result"] == jobs.grade(payload)


def test_worker_consumes_only_json(server):
    """A pickled message is refused, never unpickled."""
    worker_log = Path(server.directory).parent / "worker.log"
    r = server.client()
    task_id = str(uuid.uuid4())
    envelope = {
        "body": base64.b64encode(b"\x80\x04K\x01.").decode(),
        "content-encoding": "binary",
        "content-type": "application/x-python-serialize",
        "headers": {"lang": "py", "task": "seqquiz.solve", "id": task_id, "root_id": task_id},
        "properties": {
            "correlation_id": task_id,
            "delivery_info": {"exchange": "interactive", "routing_key": "interactive"},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        },
    }
    r.lpush("interactive", json.dumps(envelope))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if "application/x-python-serialize" in worker_log.read_text(errors="replace"):
            break
        time.sleep(0.05)
    text = worker_log.read_text(errors="replace")
    assert "Refusing to deserialize untrusted content of type pickle" in text
    assert r.get(f"celery-task-meta-{task_id}") is None
