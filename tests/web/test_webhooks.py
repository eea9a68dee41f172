"""Webhooks of finished batches: signed per Standard Webhooks, retried under one webhook-id
while the receiver is down, every attempt logged; the allow-list and private ranges."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from store import Store
from tests.web.conftest import Live
from worker.testing import free_port
from worker.webhooks import CallbackError, WebhookSettings, check_url

SERVER_ENV = {
    "SEQQUIZ_CALLBACK_HOSTS": "127.0.0.1",
    "SEQQUIZ_CALLBACK_ALLOW_PRIVATE": "1",
    "SEQQUIZ_WEBHOOK_BACKOFF": "0.05",
    "SEQQUIZ_WEBHOOK_ATTEMPTS": "50",
}


class Receiver:
    """An LMS endpoint that keeps every delivery and signals each valid one."""

    def __init__(self, port: int) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.valid = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                outer.deliveries.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()
                outer.valid.set()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for(predicate, deadline: float = 60.0):  # type: ignore[no-untyped-def]
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)  # polling the store's log of attempts, bounded by the deadline
    raise AssertionError("condition not met before the deadline")


def test_a_receiver_down_at_first_gets_one_valid_signed_delivery(
    live: Live, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens there yet: the receiver is down
    callback = f"http://127.0.0.1:{port}/hooks/seqquiz"
    c = live.client("grade")
    line = orjson.dumps(
        {"submission_id": "w1", "template": "rnn-forward", "seed": 1, "response": {}}
    )
    resp = c.post("/v1/batches", content=line + b"\n", params={"callback_url": callback})
    assert resp.status_code == 202, resp.text
    batch_id = resp.json()["id"]
    store = Store(live.db_url)
    try:
        wait_for(
            lambda: (
                len(store.deliveries(batch_id)) == 1 and store.deliveries(batch_id)[0].attempts >= 2
            )
        )
        receiver = Receiver(port)
        try:
            assert receiver.valid.wait(60)
            delivery = wait_for(
                lambda: next(
                    iter(d for d in store.deliveries(batch_id) if d.status == "delivered"), None
                )
            )
        finally:
            receiver.close()
        attempts = store.attempts(delivery.id)
        assert len(attempts) == delivery.attempts >= 3
        assert all(a.error and a.status_code is None for a in attempts[:-1])
        assert attempts[-1].status_code == 204 and attempts[-1].error is None
        secret = store.webhook_secret()
    finally:
        store.close()
    assert len(receiver.deliveries) == 1
    headers, body = receiver.deliveries[0]
    assert headers["webhook-id"] == delivery.id
    event = Webhook(secret).verify(body, headers)
    assert event["type"] == "batch.completed"
    assert event["data"] == {
        "id": batch_id,
        "total": 1,
        "done": 1,
        "errors": 0,
        "complete": True,
        "results": f"/v1/batches/{batch_id}/results",
    }
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b'"done":1', b'"done":0'), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(body, headers)


def test_callbacks_need_an_allowed_host_and_a_public_address() -> None:
    s = WebhookSettings(hosts=("lms.example.edu", "*.school.example", "127.0.0.1", "localhost"))
    with pytest.raises(CallbackError, match="allow-list"):
        check_url("https://evil.example/x", s, resolve=False)
    with pytest.raises(CallbackError, match="allow-list"):
        check_url("https://school.example/x", s, resolve=False)
    assert check_url("https://a.school.example/x", s, resolve=False)
    with pytest.raises(CallbackError, match="http"):
        check_url("ftp://lms.example.edu/x", s, resolve=False)
    with pytest.raises(CallbackError, match="credentials"):
        check_url("https://u:p@lms.example.edu/x", s, resolve=False)
    for private in ("http://127.0.0.1:8080/x", "http://localhost/x"):
        with pytest.raises(CallbackError, match="private or reserved"):
            check_url(private, s)
    allowed = WebhookSettings(hosts=s.hosts, allow_private=True)
    assert check_url("http://127.0.0.1:8080/x", allowed)
    for address in (
        "10.1.2.3",
        "192.168.0.1",
        "169.254.169.254",
        "::1",
        "fd00::1",
        "::ffff:127.0.0.1",
    ):
        assert not s.address_allowed(address)
    assert s.address_allowed("93.184.216.34")
