"""The durable store against a real Redis: first write wins, counters count only new results,
every key of a batch carries the retention, and results survive a Redis restart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from worker.store import BatchKeys, Store, connect
from worker.testing import RedisServer


@pytest.fixture
def store(redis_server: RedisServer) -> Iterator[Store]:
    s = Store(connect(redis_server.url), ttl=1234)
    try:
        yield s
    finally:
        s.redis.close()


def test_first_write_wins_and_counters_count_new_results(redis_server, store):
    kept = store.save("b1", [("s:a", b'{"a":1}', False), ("s:b", b'{"error":2}', True)])
    assert kept == {}
    kept = store.save(
        "b1", [("s:c", b'{"c":3}', True), ("s:a", b'{"a":"later"}', False), ("s:b", b"x", True)]
    )
    assert kept == {1: b'{"a":1}', 2: b'{"error":2}'}
    assert store.progress("b1") == (3, 2)
    assert store.existing("b1", ["s:a", "s:zz", "s:c"]) == [b'{"a":1}', None, b'{"c":3}']
    r = redis_server.client()
    keys = BatchKeys.of("b1")
    assert 1200 < r.ttl(keys.results) <= 1234 and 1200 < r.ttl(keys.meta) <= 1234


@pytest.fixture
def durable_store(tmp_path) -> Iterator[tuple[RedisServer, Store]]:
    """A Redis that fsyncs every write: with the default `everysec`, a write made just before a
    SIGKILL may still be waiting behind a slow fsync on a loaded machine (up to the last second
    is lost, as docs/queue.md says), which would make this test depend on the machine's load."""
    server = RedisServer(tmp_path / "redis-always", fsync="always").start()
    s = Store(connect(server.url), ttl=1234)
    try:
        yield server, s
    finally:
        s.redis.close()
        server.close_clients()
        server.stop(kill=True)


def test_results_survive_a_redis_restart(durable_store):
    redis_server, store = durable_store
    store.create("b2", {"sha256": "f", "total": 2, "chunk_size": 1, "created": 0}, ["s:x", "l:2"])
    store.save("b2", [("s:x", b'{"x":1}', False), ("l:2", b'{"e":1}', True)])
    assert store.save_grade("s:one", b'{"score":1.0}') is None
    redis_server.restart(kill=True)  # a crash: only what the AOF holds comes back
    assert list(store.ordered_results("b2")) == [("s:x", b'{"x":1}'), ("l:2", b'{"e":1}')]
    assert store.meta("b2")["total"] == "2" and store.progress("b2") == (2, 1)
    assert store.save_grade("s:one", b'{"score":0.0}') == b'{"score":1.0}'


def test_redelivery_and_attempt_counters(store):
    assert [store.count_redelivery("t") for _ in range(3)] == [1, 2, 3]
    assert store.redeliveries("t") == 3 and store.redeliveries("other") == 0
    assert [store.bump_attempt("b3", "s:q") for _ in range(2)] == [1, 2]
