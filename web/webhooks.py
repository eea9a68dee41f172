"""Webhook deliveries run by this server: a thread per pending delivery sleeping its backoff,
or, with SEQQUIZ_BROKER_URL set, the Celery task `seqquiz.deliver_webhook` (worker.webhook_tasks).
What an attempt is (signature, allow-list, logging) is `worker.webhooks`'s."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from store import Store
from worker.webhooks import WebhookSettings, attempt, new_delivery

log = logging.getLogger(__name__)


class Deliverer:
    def __init__(self, store: Store, settings: WebhookSettings, broker_url: str | None) -> None:
        self.store = store
        self.settings = settings
        self.broker_url = broker_url
        self._stop = threading.Event()

    def start(self, delivery_id: str) -> None:
        if self.broker_url:
            from worker.app import app
            from worker.config import BATCH

            app.send_task(
                "seqquiz.deliver_webhook", args=[{"delivery_id": delivery_id}], queue=BATCH
            )
            return
        threading.Thread(
            target=self._run, args=(delivery_id,), name=f"webhook-{delivery_id}", daemon=True
        ).start()

    def announce(self, batch_id: str) -> None:
        delivery_id = new_delivery(self.store, batch_id)
        if delivery_id is not None:
            self.start(delivery_id)

    def resume(self) -> None:
        """Deliveries left pending by a server that stopped. (With several servers each one
        resumes them: a receiver dedupes by webhook-id, as Standard Webhooks asks.)"""
        if self.broker_url:
            return  # the queue keeps them
        for d in self.store.deliveries(status="pending"):
            self.start(d.id)

    def stop(self) -> None:
        self._stop.set()

    def _run(self, delivery_id: str) -> None:
        d = self.store.delivery(delivery_id)
        if d is not None and d.next_attempt_at is not None:
            due = (
                d.next_attempt_at
                if d.next_attempt_at.tzinfo
                else d.next_attempt_at.replace(tzinfo=UTC)
            )
            wait = (due - datetime.now(UTC)).total_seconds()
            if wait > 0 and self._stop.wait(wait):
                return
        while not self._stop.is_set():
            try:
                status, wait = attempt(self.store, self.settings, delivery_id)
            except Exception:
                log.exception("webhook %s: delivery failed unexpectedly", delivery_id)
                return
            if status != "pending" or self._stop.wait(wait):
                return
