"""Webhook delivery of finished batches, shared by the HTTP server (in-process) and the Celery
workers (`seqquiz.deliver_webhook`): signed per Standard Webhooks (`webhook-id`,
`webhook-timestamp`, `webhook-signature`), retried with exponential backoff under the same
`webhook-id`, every attempt logged in the store. Callback hosts must be on the operator's
allow-list and, by default, may not resolve to loopback, private, link-local or reserved
addresses (no SSRF into the server's own network)."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
import orjson
from standardwebhooks.webhooks import Webhook

from grader.errors import SeqquizError
from store import Store

log = logging.getLogger(__name__)


class CallbackError(SeqquizError, ValueError):
    """Raised when a callback URL is malformed, its host is not allowed, or it resolves to an
    address callbacks may not reach."""

    code: ClassVar[str] = "invalid-callback"


class WebhookSettingsError(SeqquizError, ValueError):
    """Raised when a webhook setting in the environment has a value it cannot use."""

    code: ClassVar[str] = "invalid-config"


def env_number(
    env: Mapping[str, str],
    name: str,
    default: float,
    low: float = 0.0,
    error: type[SeqquizError] = WebhookSettingsError,
) -> float:
    """A number setting from the environment, `default` when unset; `error` names the variable
    and the value it cannot use (the web service's settings read theirs through this too)."""
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise error(f"{name}: must be a number (got {text!r})") from None
    if value < low:
        raise error(f"{name}: must be at least {low:g} (got {text!r})")
    return value


@dataclass(frozen=True)
class WebhookSettings:
    # Callback hosts an operator allows (exact host names, or `*.domain`); none by default.
    hosts: tuple[str, ...] = ()
    # Whether a callback may reach loopback, private, link-local or reserved addresses.
    allow_private: bool = False
    attempts: int = 8
    backoff: float = 5.0  # seconds before the 2nd attempt, doubled after each (at most 1 h)
    timeout: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebhookSettings:
        env = os.environ if env is None else env
        d = cls()
        flag = env.get("SEQQUIZ_CALLBACK_ALLOW_PRIVATE", "").strip().lower()
        if flag not in ("", "0", "1", "true", "false", "yes", "no"):
            raise WebhookSettingsError(
                f"SEQQUIZ_CALLBACK_ALLOW_PRIVATE: must be 1 or 0 (got {flag!r})"
            )
        return cls(
            hosts=tuple(
                h.strip().lower()
                for h in env.get("SEQQUIZ_CALLBACK_HOSTS", "").split(",")
                if h.strip()
            ),
            allow_private=flag in ("1", "true", "yes"),
            attempts=int(env_number(env, "SEQQUIZ_WEBHOOK_ATTEMPTS", d.attempts, 1)),
            backoff=env_number(env, "SEQQUIZ_WEBHOOK_BACKOFF", d.backoff, 0),
            timeout=env_number(env, "SEQQUIZ_WEBHOOK_TIMEOUT", d.timeout, 0.1),
        )

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        for pattern in self.hosts:
            if pattern.startswith("*."):
                if host.endswith(pattern[1:]) and host != pattern[2:]:
                    return True
            elif host == pattern:
                return True
        return False

    def address_allowed(self, address: str) -> bool:
        if self.allow_private:
            return True
        ip = ipaddress.ip_address(address.split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return ip.is_global and not ip.is_multicast

    def backoff_after(self, attempts_made: int) -> float:
        return min(3600.0, self.backoff * 2 ** (attempts_made - 1))


def check_url(url: str, settings: WebhookSettings, resolve: bool = True) -> str:
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
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        except (OSError, ValueError) as exc:
            raise CallbackError(f"callback_url: cannot resolve {host!r} ({exc})") from None
        for info in infos:
            address = str(info[4][0])
            if not settings.address_allowed(address):
                raise CallbackError(
                    f"callback_url: {host!r} resolves to {address}, a private or reserved "
                    "address (SEQQUIZ_CALLBACK_ALLOW_PRIVATE=1 allows it)"
                )
    return url


def event(batch: Any) -> bytes:
    return orjson.dumps(
        {
            "type": "batch.completed",
            "timestamp": datetime.now(UTC).isoformat(),
            "data": {
                "id": batch.id,
                "total": batch.total,
                "done": batch.done,
                "errors": batch.errors,
                "complete": True,
                "results": f"/v1/batches/{batch.id}/results",
            },
        }
    )


def signed_headers(secret: str, delivery_id: str, body: bytes) -> dict[str, str]:
    """Signed afresh on every attempt (receivers reject old timestamps); the id stays."""
    at = datetime.now(UTC).replace(microsecond=0)
    return {
        "content-type": "application/json",
        "webhook-id": delivery_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(delivery_id, at, body.decode()),
    }


def new_delivery(store: Store, batch_id: str) -> str | None:
    """Record the webhook of a finished batch; None if it has no callback, or one was recorded
    already (a batch is announced once)."""
    b = store.batch(batch_id)
    if b is None or not b.callback_url:
        return None
    delivery_id = f"msg_{uuid.uuid4().hex}"
    if not store.add_delivery(delivery_id, batch_id, b.callback_url, event(b)):
        return None
    return delivery_id


def attempt(store: Store, settings: WebhookSettings, delivery_id: str) -> tuple[str, float]:
    """Make one attempt and log it: (the delivery's status after it, seconds to the next)."""
    d = store.delivery(delivery_id)
    if d is None or d.status != "pending":
        return ("gone" if d is None else str(d.status)), 0.0
    start = time.perf_counter()
    code: int | None = None
    error: str | None = None
    try:
        check_url(d.url, settings)  # again at send time: DNS may have changed since
        with httpx.Client(timeout=settings.timeout, follow_redirects=False) as client:
            body = bytes(d.payload)
            resp = client.post(
                d.url, content=body, headers=signed_headers(store.webhook_secret(), d.id, body)
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
    wait = 0.0
    if error is None:
        status, next_at = "delivered", None
    elif n >= settings.attempts:
        status, next_at = "failed", None
    else:
        status, wait = "pending", settings.backoff_after(n)
        next_at = datetime.now(UTC) + timedelta(seconds=wait)
    store.log_attempt(d.id, code, error, ms, status, next_at)
    if error is not None:
        log.warning("webhook %s attempt %d to %s: %s", d.id, n, d.url, error)
    return status, wait
