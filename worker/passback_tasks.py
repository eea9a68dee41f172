"""The Celery task that tries one LTI score passback; a retryable failure re-sends the task
with the backoff as countdown."""

from __future__ import annotations

import functools
from typing import Any

from celery import Task

from store import Store
from store.lti import LtiStore
from worker.app import app
from worker.config import BATCH
from worker.passback import AgsClient, attempt

TASK = "seqquiz.lti_passback"


@functools.cache
def _client() -> AgsClient:
    return AgsClient(LtiStore(Store()))  # SEQQUIZ_DATABASE_URL: the HTTP servers' store


@app.task(name=TASK, bind=True)
def lti_passback(self: Task, payload: Any) -> Any:
    pid = payload.get("passback_id") if isinstance(payload, dict) else None
    if type(pid) is not int:
        return {"error": {"code": "invalid-request", "message": "passback_id: must be an integer"}}
    c = _client()
    status, wait = attempt(c.lti, c, pid)
    if status == "pending":
        app.send_task(TASK, args=[payload], queue=BATCH, countdown=wait)
    return {"passback_id": pid, "status": status}
