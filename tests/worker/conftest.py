"""Real servers for the queue tests: a private redis-server with AOF persistence on a free port
and `seqquiz worker` subprocesses (prefork, concurrency 2), with short timeouts so that
redelivery happens within seconds. Everything started here is killed at teardown."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.worker.helpers import FAST
from worker.testing import REDIS_SERVER, RedisServer, WorkerProcess, worker_env


def pytest_configure(config: pytest.Config) -> None:
    if shutil.which(REDIS_SERVER) is None:
        raise pytest.UsageError(
            f"the queue tests need {REDIS_SERVER!r} on PATH (or SEQQUIZ_REDIS_SERVER)"
        )


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.close_clients()
        server.stop(kill=True)


@pytest.fixture
def start_worker(
    tmp_path: Path, redis_server: RedisServer
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start a worker on `redis_server` with FAST limits plus overrides; killed at teardown."""
    started: list[WorkerProcess] = []

    def start(**overrides: str) -> WorkerProcess:
        env = worker_env(redis_server.url, **{**FAST, **overrides})
        w = WorkerProcess(env, tmp_path / f"worker{len(started)}.log", name=f"w{len(started)}")
        started.append(w)
        return w.start()

    try:
        yield start
    finally:
        for w in started:
            w.kill()
