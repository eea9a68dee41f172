"""A persistent worker process for work that may run away: memory-capped, killed at a deadline, replaced.

An alarm in the grading process cannot stop one long C call (`Float('1e999999')` ignored a 2 s
alarm for 26 s), so such work runs in a child process that the parent kills (SIGKILL) when its
wall-clock budget is spent.

Layout: the parent starts one small "zygote" interpreter (`subprocess`, its own session) that
imports the handler's module once and then only forks. Each worker is a fork of the zygote, so a
replacement after a kill is ready in milliseconds instead of an interpreter start plus imports,
and forking happens in a single-threaded process (forking a threaded grading process, as Celery's
is, can deadlock the child). The zygote hands the parent a socket to the new worker (SCM_RIGHTS)
and the parent then talks to the worker directly: JSON job in, JSON reply out, each reply tagged
with its request's number. A call interrupted while it waits (a time limit's exception raised by
a signal handler) discards its worker, so no late reply is ever taken for the next job's. Workers cap their
address space with RLIMIT_AS. The zygote ignores SIGCHLD, so killed workers are reaped by the
kernel and leave no zombies; both zygote and workers exit on their own when the parent's end of
their socket closes, even if the parent is killed.

This is not `multiprocessing`: its spawn and forkserver modes re-run the parent's `__main__`
script in every child, which breaks any script that grades at module level.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from importlib import import_module
from multiprocessing.connection import Connection
from typing import Any, ClassVar

from grader.errors import GraderError

Handler = Callable[[dict[str, Any]], dict[str, Any]]
_READY = b"R"
_FORK = b"F"
_ZYGOTE = (
    "import sys, json; sys.path[:] = json.loads(sys.argv[1]); "
    "from grader.sandbox import _zygote_main; _zygote_main()"
)


class SandboxError(GraderError):
    """Base class of the errors `Sandbox.call` raises: the job gave no answer."""

    code: ClassVar[str] = "sandbox-failed"


class SandboxTimeout(SandboxError):
    """Raised when a job runs past its wall-clock budget; the worker was killed and replaced."""

    code: ClassVar[str] = "sandbox-timeout"


class SandboxCrashed(SandboxError):
    """Raised when a job gets no answer: the worker died, ran out of memory, or the handler raised."""

    code: ClassVar[str] = "sandbox-crashed"


class SandboxUnavailable(SandboxError):
    """Raised when the sandbox cannot start or fork a worker: a setup problem, not the job's fault.

    It is the service's error, never a student's: it passes through the grading guard and the job
    turns it into an error result with this code."""

    code: ClassVar[str] = "grader-unavailable"


_DEADLINE: ContextVar[float | None] = ContextVar("sandbox_deadline", default=None)


@contextlib.contextmanager
def budget(seconds: float) -> Iterator[None]:
    """Every `Sandbox.call` inside shares one wall-clock budget of `seconds` (nested budgets
    keep the earlier deadline): one submission's formulas together, not each on its own."""
    deadline = time.monotonic() + seconds
    outer = _DEADLINE.get()
    token = _DEADLINE.set(deadline if outer is None else min(outer, deadline))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _address_space_now() -> int:
    """Virtual memory this process maps now (Linux); 0 where /proc is not available."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _resolve(ref: str) -> Handler:
    module, _, name = ref.partition(":")
    handler: Handler = getattr(import_module(module), name)
    return handler


def _zygote_main() -> None:
    control = socket.socket(fileno=int(sys.argv[2]))
    handler = _resolve(sys.argv[3])  # the expensive imports happen here, once
    memory_mb = int(sys.argv[4])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps dead workers
    control.sendall(_READY)
    while True:
        try:
            request = control.recv(1)
        except OSError:
            request = b""
        if request != _FORK:
            os._exit(0)  # the parent closed its end (or died)
        ours, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            control.close()
            theirs.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                _serve(Connection(ours.detach()), handler, memory_mb)
            finally:
                os._exit(0)
        ours.close()
        try:
            socket.send_fds(control, [pid.to_bytes(8, "big")], [theirs.fileno()])
        except OSError:
            os._exit(0)
        theirs.close()


def _serve(conn: Connection, handler: Handler, memory_mb: int) -> None:
    # The cap is on top of what the forked worker already maps: it is the room one job gets. An
    # allocation beyond it fails with MemoryError instead of swapping the host.
    limit = _address_space_now() + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return  # the parent went away
        fatal = False
        tag = None
        try:
            request = json.loads(data)
            tag = request["tag"]
            reply: dict[str, Any] = {"tag": tag, "ok": handler(request["job"])}
        except MemoryError:
            reply, fatal = {"tag": tag, "error": "the job ran out of memory", "fatal": True}, True
        except Exception as exc:
            reply = {"tag": tag, "error": f"{type(exc).__name__}: {exc}"[:500]}
        try:
            conn.send_bytes(json.dumps(reply).encode())
        except (MemoryError, OSError, TypeError, ValueError):
            return
        if fatal:
            return  # a process that hit its memory cap may be half-broken; the parent gets a new one


def _readable(fd: int, timeout: float) -> bool:
    """poll(), not select(): select() fails for descriptors above 1023 in a busy process."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(timeout * 1000))


def _handler_ref(handler: Handler | str) -> str:
    if isinstance(handler, str):
        return handler
    ref = f"{handler.__module__}:{handler.__qualname__}"
    if "<" in ref or "." in handler.__qualname__:
        raise ValueError(f"a sandbox handler must be a module-level function (got {ref})")
    return ref


_LIVE: weakref.WeakSet[Sandbox] = weakref.WeakSet()


def _forget_all_after_fork() -> None:
    for box in list(_LIVE):
        box._forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_all_after_fork)


class Sandbox:
    """Runs `handler(payload) -> dict` on JSON jobs in a worker process, one job at a time.

    `call(payload, timeout)` returns the handler's reply or raises `SandboxTimeout` (the worker was
    killed and a fresh one forked) or `SandboxCrashed`. A process forked from this one starts its
    own zygote instead of sharing the parent's.
    """

    def __init__(
        self, handler: Handler | str, *, memory_mb: int = 512, start_timeout: float = 60.0
    ) -> None:
        self._ref = _handler_ref(handler)
        self._memory_mb = memory_mb
        self._start_timeout = start_timeout
        self._lock = threading.Lock()
        self._zygote: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._conn: Connection | None = None
        self._pid: int | None = None
        self._pidfd: int | None = None
        self.restarts = 0  # workers replaced after a kill or a crash
        self._tag = 0  # numbers requests; a reply carries its request's number
        _LIVE.add(self)

    # -- process bookkeeping
    @property
    def pid(self) -> int | None:
        """The current worker's process id (None when there is none)."""
        return self._pid

    @property
    def zygote_pid(self) -> int | None:
        return self._zygote.pid if self._zygote is not None else None

    def _forget(self) -> None:
        """In a forked child: drop the parent's processes without touching them."""
        for closable in (self._conn, self._control):
            if closable is not None:
                with contextlib.suppress(OSError):
                    closable.close()
        if self._pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(self._pidfd)
        self._zygote = self._control = self._conn = None
        self._pid = self._pidfd = None
        self._lock = threading.Lock()

    def _start_zygote(self) -> None:
        ours, theirs = socket.socketpair()
        paths = [p or os.getcwd() for p in sys.path]
        cmd = [sys.executable, "-c", _ZYGOTE, json.dumps(paths), str(theirs.fileno())]
        cmd += [self._ref, str(self._memory_mb)]
        self._zygote = subprocess.Popen(
            cmd,
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C in the terminal is the parent's to handle
        )
        theirs.close()
        self._control = ours
        ours.settimeout(self._start_timeout)
        try:
            greeting = ours.recv(1)
        except OSError:
            greeting = b""
        except BaseException:
            # Interrupted (a time limit): its greeting would later be read as a fork's answer.
            self._stop_zygote(kill=True)
            raise
        if greeting != _READY:
            self._stop_zygote()
            raise SandboxUnavailable(f"the sandbox could not start (handler {self._ref})")
        ours.settimeout(5.0)

    def _stop_zygote(self, kill: bool = False) -> None:
        """Close its socket (it exits on EOF); `kill` when it must not be waited for."""
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._zygote is not None:
            if kill:
                self._zygote.kill()
            try:
                self._zygote.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover - it exits on EOF
                self._zygote.kill()
                self._zygote.wait(timeout=5)
            self._zygote = None

    def _fork_worker(self) -> None:
        if self._zygote is None or self._zygote.poll() is not None:
            self._stop_zygote()
            self._start_zygote()
        assert self._control is not None
        try:
            self._control.sendall(_FORK)
            data, fds, _, _ = socket.recv_fds(self._control, 8, 1)
        except OSError:
            data, fds = b"", []
        except BaseException:
            # Interrupted (a time limit): the zygote's answer may still be on its way and would
            # hand the next fork the wrong worker, so this zygote goes.
            self._stop_zygote(kill=True)
            raise
        if len(data) != 8 or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            self._stop_zygote()
            raise SandboxUnavailable("the sandbox could not fork a worker")
        self._pid = int.from_bytes(data, "big")
        self._conn = Connection(fds[0])
        try:
            self._pidfd = os.pidfd_open(self._pid)
        except (AttributeError, OSError):  # pragma: no cover - Linux < 5.3 or not Linux
            self._pidfd = None

    def _kill_worker(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._pid is None:
            return
        if self._pidfd is not None:
            # Through a pidfd: never a recycled pid; then wait until the worker is really gone.
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
            with contextlib.suppress(OSError):
                _readable(self._pidfd, 2.0)
            os.close(self._pidfd)
        else:  # pragma: no cover - without pidfd
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                try:
                    os.kill(self._pid, 0)
                except OSError:
                    break
                time.sleep(0.005)
        self._pid = self._pidfd = None

    def _worker_gone(self) -> bool:
        """True when the worker has exited (a pidfd turns readable then)."""
        if self._pidfd is None:
            return False  # pragma: no cover - without pidfd a dead worker shows as EOF
        return _readable(self._pidfd, 0)

    def _replace(self) -> None:
        self._kill_worker()
        self.restarts += 1
        self._fork_worker()

    # -- public
    def warm(self) -> None:
        """Start the zygote and a worker now (the first start imports the handler's module)."""
        with self._lock:
            if self._conn is None:
                self._fork_worker()

    def call(self, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Run the handler on `payload` in the worker, waiting at most `timeout` seconds (less
        when an enclosing `budget` ends sooner; none left: SandboxTimeout at once).

        Any interruption of the wait (a signal handler raising, such as Celery's soft time
        limit) discards the worker before the exception goes on, so no reply of an abandoned job
        is ever read as the next job's; replies also carry their request's tag, and a reply with
        another tag is dropped."""
        allowed = timeout
        shared = _DEADLINE.get()
        if shared is not None:
            allowed = min(allowed, shared - time.monotonic())
            if allowed <= 0:
                raise SandboxTimeout("the budget of this submission's checks is spent")
        with self._lock:
            self._tag += 1
            tag = self._tag
            message = json.dumps({"tag": tag, "job": payload}).encode()
            try:
                reply = self._exchange(message, tag, allowed)
            except SandboxError:
                raise
            except BaseException:
                self._kill_worker()  # the next call forks a fresh worker
                raise
        if "error" in reply:
            raise SandboxCrashed(reply["error"])
        result: dict[str, Any] = reply["ok"]
        return result

    def _exchange(self, message: bytes, tag: int, allowed: float) -> dict[str, Any]:
        if self._conn is None:
            self._fork_worker()
        elif self._worker_gone():
            self._replace()  # killed between jobs (say by the OOM killer)
        assert self._conn is not None
        try:
            self._conn.send_bytes(message)
        except OSError:
            self._replace()  # it died between jobs; the job has not started, so resend
            assert self._conn is not None
            self._conn.send_bytes(message)
        # Counted from here: starting the sandbox is the service's time, not the job's.
        deadline = time.monotonic() + allowed
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self._conn.poll(left):
                self._replace()
                raise SandboxTimeout(f"the job took longer than {allowed:.3g} s")
            try:
                reply: dict[str, Any] = json.loads(self._conn.recv_bytes())
            except (EOFError, OSError):
                self._replace()
                raise SandboxCrashed("the sandbox worker died during the job") from None
            if reply.get("fatal"):
                self._replace()  # it is exiting; do not hand the next job to it
            if reply.get("tag") == tag:
                return reply
            if reply.get("fatal"):
                raise SandboxCrashed("the sandbox worker died during the job")
            # A reply to an earlier, abandoned request: never this request's answer.

    def close(self) -> None:
        """Stop the worker and the zygote."""
        with self._lock:
            self._kill_worker()
            self._stop_zygote()
