"""A time limit that fires while a formula is being checked: the interrupted submission gets the
documented `time-limit` error, and every later formula graded by the same pool process gets its
own verdict, not the interrupted one's (a real worker on its own redis-server, 1 s soft limit)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from celery import Celery

from bench.formula_set import formula_set
from generators.families.rnn import PUBLISHED_BPTT
from tests.worker.helpers import FAST
from worker.config import INTERACTIVE
from worker.testing import RedisServer, WorkerProcess, worker_env

# Each takes the symbolic fallback's whole alarm (undefined wherever the answer is defined), so
# three of them outlast the 1 s soft limit.
SLOW = {f"expr_dEdz_{t}": f"sqrt(-h1^2-{t + 1})" for t in range(3)}
WRONG = ("h1", "w_hh", "h2")


def _client(url: str) -> Celery:
    app = Celery("sandbox-limits", broker=url, backend=url)
    app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])
    return app


def _grade(app: Celery, response: dict[str, str]) -> dict[str, Any]:
    payload = {
        "template": "rnn-bptt",
        "params": {**PUBLISHED_BPTT, "ask": sorted(response)},
        "response": response,
    }
    result: dict[str, Any] = app.send_task("seqquiz.grade", args=[payload], queue=INTERACTIVE).get(
        timeout=60
    )
    return result


def test_a_soft_limit_mid_check_leaves_no_reply_behind(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    # One pool process, so every grade after the interrupted one runs where it ran.
    env = worker_env(
        redis_server.url,
        **{
            **FAST,
            "SEQQUIZ_INTERACTIVE_SOFT_TIME_LIMIT": "1",
            "SEQQUIZ_INTERACTIVE_TIME_LIMIT": "2.5",
            "SEQQUIZ_VISIBILITY_TIMEOUT": "12",  # above 2.5 s x prefetch 4
        },
    )
    worker = WorkerProcess(env, tmp_path / "worker.log", concurrency=1, name="limits")
    app = _client(redis_server.url)
    try:
        worker.start()
        right, _ = formula_set()
        # The pool process starts its formula sandbox on its first formula; a loaded machine
        # may need more than the 1 s soft limit for that, so grade until it has one.
        for _ in range(5):
            if "error" not in _grade(app, {"expr_dEdz_1": right[-1]}):
                break
        interrupted = _grade(app, SLOW)
        assert interrupted.get("error", {}).get("code") == "time-limit", interrupted
        for text in right[:3]:
            got = _grade(app, {"expr_dEdz_1": text})
            assert got["score"] == 1.0, (text, got, worker.log()[-3000:])
        for text in WRONG:
            got = _grade(app, {"expr_dEdz_1": text})
            assert got["score"] == 0.0, (text, got)
            assert got["parts"]["expr_dEdz_1"]["feedback"].startswith("Incorrect"), got
    finally:
        app.close()
        worker.kill()
