"""The LTI tests' fixtures: the strict test platform and `seqquiz serve`'s app on a free port
in this process (so a test can wait for its passback queue), over an SQLite store."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from store import Store
from store.lti import LtiStore
from tests.lti.platform import Platform, first_form
from tests.store.conftest import db_url, postgres_url, store  # noqa: F401  (both backends)
from web.app import create_app
from web.settings import WebSettings
from worker.testing import free_port


@dataclass
class Tool:
    url: str
    store: Store
    app: Any
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def lti(self) -> LtiStore:
        return LtiStore(self.store)

    @property
    def queue(self) -> Any:
        return self.app.state.lti.queue

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60)

    def stop(self) -> None:
        self.app.state.lti.close()
        self.server.should_exit = True
        self.thread.join(10)
        self.store.close()


def serve_tool(url: str) -> Tool:
    s = Store(url)
    s.upgrade()
    app = create_app(s, WebSettings(rate=0))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return Tool(f"http://127.0.0.1:{port}", s, app, server, thread)


@pytest.fixture
def tool(tmp_path: Path) -> Iterator[Tool]:
    t = serve_tool(f"sqlite:///{tmp_path / 'tool.db'}")
    try:
        yield t
    finally:
        t.stop()


@pytest.fixture
def platform(tool: Tool) -> Iterator[Platform]:
    p = Platform().start()
    p.trust_tool(tool.url)
    tool.lti.register(
        p.issuer, p.client_id, [p.deployment_id], p.url + "/auth", p.url + "/token", p.url + "/jwks"
    )
    try:
        yield p
    finally:
        p.stop()


def login(client: httpx.Client, platform: Platform, hint: str) -> dict[str, str]:
    """Login initiation at the tool; the platform's answer: {id_token, state} (not posted)."""
    r = client.post(
        "/lti/login", data=platform.login_fields(hint, str(client.base_url) + "/lti/launch")
    )
    assert r.status_code == 200, r.text
    form = first_form(r.text)
    assert form.action == platform.url + "/auth" and form.method == "get"
    _, token = platform.id_token(form.fields)
    return {"id_token": token, "state": form.fields["state"]}


def launch(client: httpx.Client, platform: Platform, user: str, **plan: Any) -> httpx.Response:
    fields = login(client, platform, platform.plan(user, **plan))
    return client.post("/lti/launch", data=fields)


def token_of(page: str) -> str:
    return first_form(page).fields["token"]
