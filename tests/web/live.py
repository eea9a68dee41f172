"""A real `seqquiz serve` on a free port in a subprocess (its own process group), ready when
/healthz answers; and the keys of every scope made in its store beforehand."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from store import Store
from worker.testing import free_port

REPO = Path(__file__).resolve().parents[2]
SCOPES = ("grade", "generate", "solve", "admin")


def make_keys(db_url: str) -> dict[str, str]:
    """A key per scope, one with `generate` and `solve`, and a revoked one."""
    with Store(db_url) as store:
        store.upgrade()  # as `seqquiz db upgrade` does
        keys = {scope: store.create_key(f"test-{scope}", [scope])[1] for scope in SCOPES}
        keys["generate+solve"] = store.create_key("test-gs", ["generate", "solve"])[1]
        revoked, token = store.create_key("test-revoked", ["grade"])
        store.revoke_key(revoked.id)
        keys["revoked"] = token
    return keys


class LiveServer:
    def __init__(
        self,
        folder: Path,
        db_url: str,
        env: Mapping[str, str] | None = None,
        workers: int = 1,
    ) -> None:
        self.folder = folder
        self.db_url = db_url
        self.workers = workers
        self.extra = dict(env or {})
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = folder / "serve.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEQQUIZ_")}
        env.update(
            PYTHONPATH=str(REPO),
            SEQQUIZ_DATABASE_URL=self.db_url,
            SEQQUIZ_RATE_LIMIT="0",
        )
        env.update(self.extra)
        return env

    def start(self, deadline: float = 60.0) -> LiveServer:
        self.port = free_port()
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "seqquiz",
                    "serve",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                    "--log-level",
                    "warning",
                ],
                env=self.env(),
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"seqquiz serve exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)  # polling readiness, bounded by the deadline
        self.kill()
        raise RuntimeError(
            f"seqquiz serve not ready in {deadline} s: {self.log.read_text()[-2000:]}"
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.kill(signal.SIGTERM)
