"""kill -9 the server while 5,000 grades with Idempotency-Keys are in flight; the client retries
what failed against the restarted server: the store ends with exactly one row per key, and every
grade answered 200 is there, with the answered result."""

from __future__ import annotations

import queue
import threading
from collections import Counter
from pathlib import Path

import httpx
import orjson
import pytest

from store import Store
from tests.store.databases import BACKENDS, emptied, sqlite_url
from tests.web.live import LiveServer, make_keys

N = 5000
THREADS = 12
KILL_AFTER = 1500


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_mid_load_loses_no_answered_grade_and_stores_each_key_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db = (
        sqlite_url(tmp_path)
        if backend == "sqlite"
        else emptied(request.getfixturevalue("postgres_url"))
    )
    token = make_keys(db)["grade"]
    server = LiveServer(tmp_path / "serve", db, workers=2).start()
    todo: queue.Queue[int] = queue.Queue()
    for i in range(N):
        todo.put(i)
    answered: dict[str, bytes] = {}
    answered_before_kill: dict[str, bytes] = {}
    failures = Counter[str]()
    lock = threading.Lock()
    enough = threading.Event()  # KILL_AFTER grades answered: time to kill
    back = threading.Event()  # the server runs again
    killed = threading.Event()

    def body(i: int) -> bytes:
        return orjson.dumps(
            {
                "template": ("rnn-forward", "hmm-forward", "lstm-cell")[i % 3],
                "seed": i % 97,
                "response": {},
                "submission_id": f"crash-{i}",
            }
        )

    def client() -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
            while True:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                key = f"crash-{i}"
                while True:
                    try:
                        r = c.post(
                            server.url + "/v1/grade",
                            content=body(i),
                            headers={"Idempotency-Key": key},
                        )
                    except httpx.TransportError:
                        with lock:
                            failures["transport"] += 1
                        back.wait()
                        continue
                    if r.status_code != 200:
                        with lock:
                            failures[str(r.status_code)] += 1
                        raise AssertionError(r.text)
                    with lock:
                        answered[key] = r.content
                        if not killed.is_set():
                            answered_before_kill[key] = r.content
                        if len(answered) >= KILL_AFTER:
                            enough.set()
                    break

    threads = [threading.Thread(target=client) for _ in range(THREADS)]
    for t in threads:
        t.start()
    try:
        assert enough.wait(300)
        killed.set()
        server.kill()  # SIGKILL to the whole process group, requests in flight
        server.start()
        back.set()
        for t in threads:
            t.join()
    finally:
        back.set()
        server.stop()
    assert len(answered) == N, failures
    assert failures["transport"] >= 1  # the kill did cut requests in flight
    with Store(db) as store:
        rows = store.submission_rows()
    per_key = Counter(r.submission_id for r in rows)
    assert len(per_key) == N and set(per_key.values()) == {1}
    stored = {r.submission_id: bytes(r.result) for r in rows}
    for key, content in answered.items():
        assert stored[key] == content
    assert len(answered_before_kill) >= KILL_AFTER
