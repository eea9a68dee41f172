"""The Celery task that delivers a batch's webhook: one attempt per run; a failed attempt
re-sends the task with the backoff as countdown, under the same webhook-id."""

from __future__ import annotations

import functools
from typing import Any

from celery import Task

from store import Store
from worker.app import app
from worker.config import BATCH
from worker.webhooks import WebhookSettings, attempt


@functools.cache
def _store() -> Store:
    return Store()  # SEQQUIZ_DATABASE_URL: the same store as the HTTP servers'


@app.task(name="seqquiz.deliver_webhook", bind=True)
def deliver_webhook(self: Task, payload: Any) -> Any:
    delivery_id = payload.get("delivery_id") if isinstance(payload, dict) else None
    if not isinstance(delivery_id, str):
        return {"error": {"code": "invalid-request", "message": "delivery_id: must be a string"}}
    status, wait = attempt(_store(), WebhookSettings.from_env(), delivery_id)
    if status == "pending":
        app.send_task("seqquiz.deliver_webhook", args=[payload], queue=BATCH, countdown=wait)
    return {"delivery_id": delivery_id, "status": status}
