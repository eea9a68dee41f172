"""Live-server fixtures: `seqquiz serve` on SQLite and on the machine's PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.store.conftest import postgres_url  # noqa: F401  (the session's PostgreSQL database)
from tests.store.databases import BACKENDS, emptied, sqlite_url
from tests.web.live import LiveServer, make_keys


@dataclass
class Live:
    server: LiveServer
    keys: dict[str, str]
    db_url: str
    backend: str
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, scope: str | None = "grade") -> httpx.Client:
        headers = {} if scope is None else {"Authorization": f"Bearer {self.keys[scope]}"}
        return self.track(httpx.Client(base_url=self.url, headers=headers, timeout=60))

    def track(self, client: httpx.Client) -> httpx.Client:
        """Closed with the server."""
        self.clients.append(client)
        return client

    def close(self) -> None:
        for c in self.clients:
            c.close()


def database(request: pytest.FixtureRequest, backend: str, folder: Path) -> str:
    if backend == "sqlite":
        return sqlite_url(folder)
    return emptied(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="module", params=BACKENDS)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """A server per backend for a test module, with SEQQUIZ_* from the module's `SERVER_ENV`."""
    folder = tmp_path_factory.mktemp(f"serve-{request.param}")
    db_url = database(request, request.param, folder)
    keys = make_keys(db_url)
    env = dict(getattr(request.module, "SERVER_ENV", {}))
    env = {k: v.format(folder=folder) for k, v in env.items()}
    server = LiveServer(folder, db_url, env).start()
    live = Live(server, keys, db_url, request.param)
    try:
        yield live
    finally:
        live.close()
        server.stop()
