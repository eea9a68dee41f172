"""Real servers for tests and benchmarks: a private redis-server (AOF persistence, free port, its
own directory) and a `seqquiz worker` subprocess, both torn down by process group."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from celery import Celery
from redis import Redis

REPO = Path(__file__).resolve().parent.parent
REDIS_SERVER = os.environ.get("SEQQUIZ_REDIS_SERVER", "redis-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _exited(pid: int) -> bool:
    """Whether a child has exited, without reaping it (its pid, and so its group id, stay
    reserved until `wait`)."""
    info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    return info is not None


def _kill_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    if proc.returncode is not None:  # reaped: its group id may belong to someone else now
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


class RedisServer:
    """redis-server on 127.0.0.1:<free port> with append-only persistence in `directory`;
    `restart` brings it back on the same port with the same data."""

    def __init__(self, directory: Path, fsync: str = "everysec") -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._clients: list[Redis] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> Redis:
        """A client of this server, closed when the server stops."""
        c = Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=2)
        self._clients.append(c)
        return c

    def start(self, timeout: float = 10.0) -> RedisServer:
        for _ in range(5):  # a free port can be taken between choosing and binding it
            if not self.port:
                self.port = free_port()
            if self._spawn(timeout):
                return self
            self.port = 0
        raise RuntimeError(f"redis-server did not start; see {self.directory / 'redis.log'}")

    def _spawn(self, timeout: float) -> bool:
        args = [
            REDIS_SERVER,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.directory),
            "--appendonly", "yes",
            "--appendfsync", self.fsync,
            "--save", "",
            "--daemonize", "no",
            "--protected-mode", "no",
            "--maxmemory-policy", "noeviction",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        self.proc = subprocess.Popen(args, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            probe = Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=2)
            try:
                if probe.ping():
                    return True
            except Exception:
                time.sleep(0.02)
            finally:
                probe.close()
        self.stop(kill=True)
        return False

    def close_clients(self) -> None:
        for c in self._clients:
            c.close()
        self._clients.clear()

    def stop(self, kill: bool = False) -> None:
        """SIGTERM (Redis flushes its AOF and exits) or SIGKILL (a crash)."""
        if self.proc is None:
            return
        _kill_group(self.proc, signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _kill_group(self.proc, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self, kill: bool = False, down_for: float = 0.5) -> None:
        self.stop(kill=kill)
        time.sleep(down_for)
        if not self._spawn(10.0):
            raise RuntimeError(f"redis-server did not come back on port {self.port}")


def worker_env(redis_url: str, **overrides: str) -> dict[str, str]:
    """The environment of a worker or client talking to `redis_url`, importing this checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQQUIZ_")}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
    )
    env["SEQQUIZ_BROKER_URL"] = redis_url
    env["SEQQUIZ_RESULT_BACKEND"] = redis_url
    env.update(overrides)
    return env


class WorkerProcess:
    """`python -m seqquiz worker` in its own process group, logging to `log_path`."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        concurrency: int = 2,
        queues: str = "interactive,batch",
        name: str = "w",
        loglevel: str = "info",
    ) -> None:
        quiet = loglevel.lower() not in ("debug", "info")
        # A quiet worker does not log " ready.": readiness is then a ping answered, which needs
        # remote control (off by default).
        self.env = {**env, "SEQQUIZ_REMOTE_CONTROL": "1"} if quiet else env
        self.log_path = Path(log_path)
        self.hostname = f"{name}-{os.getpid()}-{time.monotonic_ns()}@{socket.gethostname()}"
        self.loglevel = loglevel
        self.args = [
            sys.executable, "-m", "seqquiz", "worker",
            "--concurrency", str(concurrency),
            "--queues", queues,
            "--hostname", self.hostname,
            "--loglevel", loglevel,
        ]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout: float = 60.0) -> WorkerProcess:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.args,
            env=self.env,
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready(timeout)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float) -> None:
        """Until the worker logs that it is ready or, logging less than that, answers a ping."""
        assert self.proc is not None
        start = self.log_path.stat().st_size if self.log_path.exists() else 0
        deadline = time.monotonic() + timeout
        quiet = self.loglevel.lower() not in ("debug", "info")
        app = Celery(broker=self.env["SEQQUIZ_BROKER_URL"]) if quiet else None
        try:
            self._wait_ready(deadline, app.control if app is not None else None, start)
        finally:
            if app is not None:
                app.close()

    def _wait_ready(self, deadline: float, control: Any, start: int) -> None:
        assert self.proc is not None
        while time.monotonic() < deadline:
            if self.proc.returncode is None and _exited(self.proc.pid):
                _kill_group(self.proc, signal.SIGKILL)  # whatever it left behind
                self.proc.wait()
                raise RuntimeError(f"worker exited with {self.proc.returncode}:\n{self.log()}")
            if control is not None:
                if control.ping(destination=[self.hostname], timeout=0.5):
                    return
            else:
                with self.log_path.open("rb") as f:
                    f.seek(start)
                    if b" ready." in f.read():
                        return
                time.sleep(0.05)
        raise RuntimeError(f"worker not ready in time:\n{self.log()}")

    def pool_pids(self) -> list[int]:
        """The pool processes: children of the worker's main process."""
        assert self.proc is not None
        kids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command may contain spaces and parentheses: fields follow the last ')'.
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[1]) == self.proc.pid and fields[0] != "Z":
                kids.append(int(entry.name))
        return sorted(kids)

    def kill(self) -> None:
        """SIGKILL the whole worker: main process and pool, no warm shutdown."""
        if self.proc is not None:
            _kill_group(self.proc, signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self, timeout: float = 15.0) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL for whatever is left of the group. The leader is
        reaped last, so the group id cannot have been reused by then."""
        if self.proc is not None:
            _kill_group(self.proc, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not _exited(self.proc.pid):
                time.sleep(0.05)
            _kill_group(self.proc, signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
