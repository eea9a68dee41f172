"""With SEQQUIZ_BROKER_URL set, batches and webhook deliveries go through real Celery workers on
a real redis-server; the results are still `grade-batch`'s, byte for byte."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import orjson

from store import Store
from tests.web.live import LiveServer, make_keys
from tests.web.test_api import GRADE, batch_file, local_grade_batch, problem, wait_complete
from tests.web.test_webhooks import Receiver, wait_for
from tests.worker.conftest import redis_server, start_worker  # noqa: F401  (fixtures)
from tests.worker.helpers import FAST
from worker.testing import RedisServer, WorkerProcess, free_port


def test_a_batch_through_celery_equals_local_grade_batch_and_its_webhook_is_delivered(
    tmp_path: Path,
    redis_server: RedisServer,  # noqa: F811
    start_worker: Callable[..., WorkerProcess],  # noqa: F811
) -> None:
    db = f"sqlite:///{tmp_path / 'celery.db'}"
    keys = make_keys(db)
    hooks = {
        "SEQQUIZ_CALLBACK_HOSTS": "127.0.0.1",
        "SEQQUIZ_CALLBACK_ALLOW_PRIVATE": "1",
        "SEQQUIZ_WEBHOOK_BACKOFF": "0.2",
        "SEQQUIZ_DATABASE_URL": db,
    }
    start_worker(**hooks)
    queue = {
        **FAST,
        **hooks,
        "SEQQUIZ_BROKER_URL": redis_server.url,
        "SEQQUIZ_RESULT_BACKEND": redis_server.url,
        "SEQQUIZ_CHUNK_SIZE": "2",
    }
    server = LiveServer(tmp_path / "serve", db, queue).start()
    port = free_port()
    receiver = Receiver(port)
    c = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {keys['grade']}"}, timeout=60
    )
    try:
        assert c.get("/readyz").json() == {"status": "ready"}
        body = batch_file(tmp_path) + orjson.dumps({"submission_id": "z", **GRADE}) + b"\n"
        resp = c.post(
            "/v1/batches", content=body, params={"callback_url": f"http://127.0.0.1:{port}/h"}
        )
        assert resp.status_code == 202, resp.text
        location = resp.headers["location"]
        wait_complete(c, location)
        assert c.get(location + "/results").content == local_grade_batch(tmp_path, body)
        with Store(db) as store:
            b = store.batch(resp.json()["id"])
            assert b.runner == "celery"
        assert receiver.valid.wait(60)
        with Store(db) as store:
            delivered = wait_for(lambda: [d for d in store.deliveries() if d.status == "delivered"])
            assert len(delivered) == 1 and len(store.attempts(delivered[0].id)) == 1
        headers, _ = receiver.deliveries[0]
        assert headers["webhook-id"] == delivered[0].id
        redis_server.stop(kill=True)
        problem(c.get("/readyz"), 503, "broker-unavailable")
    finally:
        c.close()
        receiver.close()
        server.stop()
