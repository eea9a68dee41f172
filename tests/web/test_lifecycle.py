"""The server's life: it refuses a store whose schema is behind, and a batch whose server was
killed is finished by the next server to start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import psycopg
import pytest
from sqlalchemy.engine import make_url

from store import Store, migrate
from tests.store.databases import ADMIN_URL, emptied, libpq_url
from tests.web.live import REPO, LiveServer, make_keys
from tests.web.test_api import batch_file, local_grade_batch, wait_complete


def test_serve_refuses_a_store_whose_schema_is_behind_and_says_what_to_run(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'old.db'}"
    with Store(db) as s:
        migrate.upgrade(s.engine, "0001")  # a store made by an older seqquiz
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SEQQUIZ_")},
           "PYTHONPATH": str(REPO), "SEQQUIZ_DATABASE_URL": db}  # fmt: skip
    run = subprocess.run(
        [sys.executable, "-m", "seqquiz", "serve", "--port", "0"],
        env=env, capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert run.returncode == 2
    assert "run `seqquiz db upgrade`" in run.stderr
    upgrade = subprocess.run(
        [sys.executable, "-m", "seqquiz", "db", "upgrade"], env=env, capture_output=True,
        text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert upgrade.returncode == 0, upgrade.stderr


def test_a_batch_of_a_killed_server_is_finished_by_the_next_one(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'b.db'}"
    token = make_keys(db)["grade"]
    hold = tmp_path / "hold"
    env = {"SEQQUIZ_TEST_BATCH_HOLD": str(hold), "SEQQUIZ_BATCH_LEASE": "1"}
    body = batch_file(tmp_path) * 3
    hold.touch()  # the first server takes the batch and waits: it dies before grading it
    first = LiveServer(tmp_path / "one", db, env).start()
    headers = {"Authorization": f"Bearer {token}"}
    try:
        resp = httpx.post(first.url + "/v1/batches", content=body, headers=headers)
        assert resp.status_code == 202
    finally:
        first.kill()
    hold.unlink()
    second = LiveServer(tmp_path / "two", db, env).start()
    try:
        with httpx.Client(base_url=second.url, headers=headers, timeout=60) as c:
            status = wait_complete(c, resp.headers["location"])
            assert status["done"] == status["total"] == 18
            results = c.get(resp.headers["location"] + "/results").content
        assert results == local_grade_batch(tmp_path, body)
    finally:
        second.stop()
    with Store(db) as s:
        lines = [r.line for r in s.submission_rows()]
    assert len(lines) == len(set(lines)) == 18
    assert orjson.loads(results.splitlines()[0])["submission_id"] == "a"


def test_readyz_is_503_while_the_store_is_unreachable(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db = emptied(request.getfixturevalue("postgres_url"))
    make_keys(db)
    name = make_url(db).database
    server = LiveServer(tmp_path, db).start()
    admin = psycopg.connect(libpq_url(ADMIN_URL), autocommit=True)
    try:
        assert httpx.get(server.url + "/readyz").json() == {"status": "ready"}
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        down = httpx.get(server.url + "/readyz")
        assert down.status_code == 503 and down.json()["code"] == "store-unavailable"
        assert httpx.get(server.url + "/healthz").status_code == 200  # alive, not ready
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        assert httpx.get(server.url + "/readyz").status_code == 200
    finally:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.close()
        server.stop()
