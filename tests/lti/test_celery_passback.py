"""With SEQQUIZ_BROKER_URL set, a student's score reaches the platform through a real Celery
worker on a real redis-server: `seqquiz serve` queues the task `seqquiz.lti_passback`, the worker
sends the score to the strict test platform."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx

import jobs
from store import Store
from store.lti import LtiStore
from tests.lti.conftest import launch, token_of
from tests.lti.platform import Platform
from tests.web.live import LiveServer
from tests.web.test_webhooks import wait_for
from tests.worker.conftest import redis_server, start_worker  # noqa: F401  (fixtures)
from tests.worker.helpers import FAST
from web.lti import tokens
from web.lti.routes import FORM_SECRET, Tool
from web.settings import WebSettings
from worker.testing import RedisServer, WorkerProcess

CUSTOM = {"template": "rnn-forward", "ask": "h_1,y_1"}
# worker.passback_tasks.TASK, not imported: registering the task in this process's Celery app
# would make tests/worker/test_tasks.py's routing check see a task it does not route.
TASK = "seqquiz.lti_passback"


def answers(db: str, token: str) -> dict[str, float]:
    """The right answers of the student's variant, with the seat seed the server gives them."""
    with Store(db) as store:
        tool = Tool(store, WebSettings(rate=0))
        try:
            launch_id = tokens.verify(tool.lti.secret(FORM_SECRET), "form", token)["l"]
            la = tool.lti.launch(launch_id)
            assert la is not None
            seed = tool.seed(la)
        finally:
            tool.close()
    params = {"ask": ["h_1", "y_1"]}
    return jobs.solve({"template": "rnn-forward", "seed": seed, "params": params})["answers"]


def test_a_score_reaches_the_platform_through_the_celery_worker(
    tmp_path: Path,
    redis_server: RedisServer,  # noqa: F811
    start_worker: Callable[..., WorkerProcess],  # noqa: F811
) -> None:
    db = f"sqlite:///{tmp_path / 'lti.db'}"
    worker = start_worker(SEQQUIZ_DATABASE_URL=db)
    queue = {
        **FAST,
        "SEQQUIZ_BROKER_URL": redis_server.url,
        "SEQQUIZ_RESULT_BACKEND": redis_server.url,
    }
    server = LiveServer(tmp_path / "serve", db, queue).start()
    platform = Platform().start()
    try:
        platform.trust_tool(server.url)
        with Store(db) as store:
            store.upgrade()
            LtiStore(store).register(
                platform.issuer,
                platform.client_id,
                [platform.deployment_id],
                platform.url + "/auth",
                platform.url + "/token",
                platform.url + "/jwks",
            )
        with httpx.Client(base_url=server.url, timeout=60) as c:
            page = launch(c, platform, "ada", custom=CUSTOM)
            assert page.status_code == 200, page.text
            token = token_of(page.text)
            a = answers(db, token)
            half = {"token": token, "h_1": repr(a["h_1"]), "y_1": repr(a["y_1"] + 3)}
            assert c.post("/lti/submit", data=half).status_code == 200
            assert platform.wait_scores(1)
            right = {**half, "y_1": repr(a["y_1"])}
            assert c.post("/lti/submit", data=right).status_code == 200
            assert platform.wait_scores(2)
        assert platform.violations == []
        (item,) = platform.line_items.values()
        assert [(s["scoreGiven"], s["scoreMaximum"]) for s in item.scores] == [
            (1.0, 2.0),
            (2.0, 2.0),
        ]
        assert {s["gradingProgress"] for s in item.scores} == {"FullyGraded"}
        with Store(db) as store:
            lti = LtiStore(store)
            # The platform has the score a moment before the worker records it as sent.
            wait_for(lambda: [r.status for r in lti.passbacks()] == ["sent", "sent"])
        # Sent by the worker's task, not by the server's embedded thread.
        done = rf"Task {re.escape(TASK)}\[[^]]+\] succeeded"
        wait_for(lambda: len(re.findall(done, worker.log_path.read_text())) == 2)
    finally:
        platform.stop()
        server.stop()
