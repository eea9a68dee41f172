"""Webhooks of finished batches, signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`,
`webhook-signature`) and retried with exponential backoff under the same `webhook-id`; every
attempt is logged in the store. Callback hosts must be on the operator's allow-list, and by
default may not resolve to loopback, private, link-local or reserved addresses."""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import orjson
from standardwebhooks.webhooks import Webhook

from store import Store
from web.settings import WebSettings

log = logging.getLogger(__name__)


class CallbackError(ValueError):
    """Raised when a callback URL is malformed, its host is not allowed, or it resolves to an
    address callbacks may not reach."""


def check_url(url: str, settings: WebSettings, resolve: bool = True) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CallbackError(f"callback_url: must be an http(s) URL with a host (got {url[:200]!r})")
    if parts.username or parts.password:
        raise CallbackError("callback_url: must not carry credentials")
    host = parts.hostname
    if not settings.host_allowed(host):
        raise CallbackError(
            f"callback_url: host {host!r} is not on the operator's allow-list "
            "(SEQQUIZ_CALLBACK_HOSTS)"
        )
    if resolve:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        except OSError as exc:
            raise CallbackError(f"callback_url: cannot resolve {host!r} ({exc})") from None
        for info in infos:
            address = str(info[4][0])
            if not settings.address_allowed(address):
                raise CallbackError(
                    f"callback_url: {host!r} resolves to {address}, a private or reserved "
                    "address (SEQQUIZ_CALLBACK_ALLOW_PRIVATE=1 allows it)"
                )
    return url


def payload(batch: object) -> bytes:
    b = batch
    return orjson.dumps(
        {
            "type": "batch.completed",
            "timestamp": datetime.now(UTC).isoformat(),
            "data": {
                "id": b.id,  # type: ignore[attr-defined]
                "total": b.total,  # type: ignore[attr-defined]
                "done": b.done,  # type: ignore[attr-defined]
                "errors": b.errors,  # type: ignore[attr-defined]
                "complete": True,
                "results": f"/v1/batches/{b.id}/results",  # type: ignore[attr-defined]
            },
        }
    )


def signed_headers(secret: str, delivery_id: str, body: bytes) -> dict[str, str]:
    at = datetime.now(UTC).replace(microsecond=0)
    return {
        "content-type": "application/json",
        "webhook-id": delivery_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(delivery_id, at, body.decode()),
    }


def attempt(store: Store, settings: WebSettings, delivery_id: str) -> str:
    """Make one delivery attempt and log it; returns the delivery's status after it."""
    d = store.delivery(delivery_id)
    if d is None or d.status != "pending":
        return "gone" if d is None else str(d.status)
    start = time.perf_counter()
    code: int | None = None
    error: str | None = None
    try:
        check_url(d.url, settings)  # again at send time: DNS may have changed since
        with httpx.Client(timeout=settings.webhook_timeout, follow_redirects=False) as client:
            resp = client.post(
                d.url,
                content=bytes(d.payload),
                headers=signed_headers(store.webhook_secret(), d.id, bytes(d.payload)),
            )
        code = resp.status_code
        if not 200 <= code < 300:
            error = f"HTTP {code}"
    except CallbackError as exc:
        error = str(exc)
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    ms = (time.perf_counter() - start) * 1000
    n = d.attempts + 1
    if error is None:
        status, next_at = "delivered", None
    elif n >= settings.webhook_attempts:
        status, next_at = "failed", None
    else:
        status = "pending"
        next_at = datetime.now(UTC) + timedelta(seconds=backoff(settings, n))
    store.log_attempt(d.id, code, error, ms, status, next_at)
    if error is not None:
        log.warning("webhook %s attempt %d to %s: %s", d.id, n, d.url, error)
    return status


def backoff(settings: WebSettings, attempts_made: int) -> float:
    return min(3600.0, settings.webhook_backoff * 2 ** (attempts_made - 1))


def new_delivery(store: Store, batch_id: str) -> str | None:
    """Record the delivery of a finished batch's webhook; None if it has no callback (or one
    was recorded already: a batch is announced once)."""
    b = store.batch(batch_id)
    if b is None or not b.callback_url:
        return None
    delivery_id = f"msg_{uuid.uuid4().hex}"
    if not store.add_delivery(delivery_id, batch_id, b.callback_url, payload(b)):
        return None
    return delivery_id


class Deliverer:
    """Runs deliveries in this process: one thread per pending delivery, sleeping its backoff."""

    def __init__(self, store: Store, settings: WebSettings) -> None:
        self.store = store
        self.settings = settings
        self._stop = threading.Event()

    def start(self, delivery_id: str) -> None:
        threading.Thread(
            target=self._run, args=(delivery_id,), name=f"webhook-{delivery_id}", daemon=True
        ).start()

    def announce(self, batch_id: str) -> None:
        delivery_id = new_delivery(self.store, batch_id)
        if delivery_id is not None:
            self.start(delivery_id)

    def resume(self) -> None:
        for d in self.store.deliveries(status="pending"):
            self.start(d.id)

    def stop(self) -> None:
        self._stop.set()

    def _run(self, delivery_id: str) -> None:
        while not self._stop.is_set():
            d = self.store.delivery(delivery_id)
            if d is None or d.status != "pending":
                return
            if d.next_attempt_at is not None:
                due = d.next_attempt_at
                if due.tzinfo is None:
                    due = due.replace(tzinfo=UTC)
                wait = (due - datetime.now(UTC)).total_seconds()
                if wait > 0 and self._stop.wait(wait):
                    return
            try:
                if attempt(self.store, self.settings, delivery_id) != "pending":
                    return
            except Exception:
                log.exception("webhook %s: delivery failed unexpectedly", delivery_id)
                return
