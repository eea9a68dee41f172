"""docker-compose.yml, checked without Docker: it follows the Compose Specification (its official
JSON schema, vendored by check-jsonschema), keeps the Redis password off every command line, caps
every service's memory, pins its images, and every service's own command, read from the file,
starts natively and does its job.

A new service gets one entry in NATIVE: how to start its command here (ports, paths) and what
proves it works. Its dependencies are started first, from their own entries."""

from __future__ import annotations

import copy
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from celery import Celery
from celery.exceptions import TimeoutError as CeleryTimeout
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoPermissionError

import jobs
from tests.deploy.compose import (
    ROOT,
    console_script,
    docker_bytes,
    hosts,
    interpolate,
    load_raw,
    mounts,
    readdress,
    redis_bytes,
    redis_conf,
    spec,
    stop_group,
)
from worker.testing import REDIS_SERVER, free_port

# Generous bounds for a loaded 2-core machine; the tests wait for the event, these only stop a
# hung process from hanging the suite.
START_TIMEOUT = 300.0


def compose_for(password: str) -> dict[str, Any]:
    """The compose file as Compose would run it with only REDIS_PASSWORD set: every other
    variable takes the file's own default."""
    return interpolate(load_raw(), {"REDIS_PASSWORD": password})


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


# -- the stack: services started natively, dependencies first ------------------------------------


@dataclass(frozen=True)
class Running:
    proc: subprocess.Popen[bytes]
    log: Path
    # Where a container port of the service listens here (for the services that connect to it).
    ports: dict[int, int] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)


class Stack:
    """The services started natively so far (dependencies first), all in `scratch`."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.password = secrets.token_hex(24)
        self.compose = compose_for(self.password)
        self.running: dict[str, Running] = {}

    def service(self, name: str) -> dict[str, Any]:
        return self.compose["services"][name]

    def mounts(self, name: str) -> dict[str, Path]:
        return mounts(self.compose, name, self.scratch / name)

    def environment(self, name: str) -> dict[str, str]:
        """The service's compose environment, with each dependency's address replaced by where
        it listens here; the rest of this process's environment minus seqquiz's own settings."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SEQQUIZ_", "REDIS"))}
        env["PYTHONPATH"] = str(ROOT)  # the image installs the package; here it is the checkout
        for key, value in (self.service(name).get("environment") or {}).items():
            value = str(value)
            for dep in hosts(self.compose, name):
                for container_port, port in self.ensure(dep).ports.items():
                    value = readdress(value, dep, container_port, "127.0.0.1", port)
            env[key] = value
        return env

    def argv(
        self, name: str, extra: list[str] | None = None, files: dict[str, Path] | None = None
    ) -> list[str]:
        """The service's command, container paths replaced by the files they map to (`files`
        for a file the native run adapts)."""
        command = self.service(name)["command"]
        assert isinstance(command, list), f"{name}: use the exec form of command"
        where = {**self.mounts(name), **(files or {})}
        args = [str(where.get(a, a)) for a in command]
        native = console_script(args[0]) or [shutil.which(NATIVE_BINARIES.get(args[0], args[0]))]
        assert native[0], f"{name}: {args[0]} is not installed here"
        return [*native, *args[1:], *(extra or [])]

    def ensure(self, name: str) -> Running:
        if name not in self.running:
            for dep in sorted(hosts(self.compose, name)):
                self.ensure(dep)
            self.running[name] = NATIVE[name].start(self, name)
        return self.running[name]

    def stop(self, name: str) -> None:
        run = self.running.pop(name, None)
        if run is not None:
            stop_group(run.proc)

    def stop_all(self) -> None:
        for name in reversed(list(self.running)):
            self.stop(name)


def spawn(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def failed(run: Running, what: str) -> AssertionError:
    tail = run.log.read_text(errors="replace")[-4000:]
    return AssertionError(f"{what}; exit {run.proc.poll()}; log:\n{tail}")


# -- redis --------------------------------------------------------------------------------------


def acl_users(path: Path) -> dict[str, str]:
    """user -> password (`>password`) for the enabled users with one."""
    users = {}
    for line in path.read_text().splitlines():
        words = line.split()
        if len(words) > 2 and words[0] == "user" and "on" in words:
            passwords = [w[1:] for w in words if w.startswith(">")]
            if passwords:
                users[words[1]] = passwords[0]
    return users


def start_redis(stack: Stack, name: str) -> Running:
    where = stack.mounts(name)
    command = stack.service(name)["command"]
    conf_target = next((a for a in command if a in where), None)
    assert conf_target is not None, f"{name}: the command names no mounted config file"
    conf = redis_conf(where[conf_target])
    # Redis writes under `dir` and reads `aclfile`: both must be where Compose mounts something.
    assert conf.get("dir") in where, f"{name}: dir {conf.get('dir')} is not a mounted volume"
    assert conf.get("aclfile") in where, f"{name}: aclfile {conf.get('aclfile')} is not mounted"
    # The same file with the container's paths replaced by the files mounted there (Redis acts
    # on `dir` as it reads it, so a command-line override would come too late).
    native_conf = stack.scratch / name / "redis.native.conf"
    text = where[conf_target].read_text()
    for target, path in where.items():
        text = re.sub(rf"(?<=\s){re.escape(target)}(?=\s|$)", str(path), text, flags=re.M)
    native_conf.write_text(text)
    log = stack.scratch / name / "redis.log"
    for _ in range(5):  # a free port can be taken between choosing and binding it
        port = free_port()
        # Natively: this machine's loopback and a free port instead of the container's own.
        extra = ["--port", str(port), "--bind", "127.0.0.1", "--logfile", str(log)]
        argv = stack.argv(name, extra, {conf_target: native_conf})
        run = Running(spawn(argv, log), log, {int(conf["port"]): port})
        run.facts.update(conf=conf, acl=where[conf["aclfile"]], port=port)
        deadline = time.monotonic() + START_TIMEOUT
        while run.proc.poll() is None and time.monotonic() < deadline:
            probe = Redis(port=port, socket_connect_timeout=2)
            try:
                if probe.ping():  # the health check's question, unauthenticated
                    return run
            except RedisConnectionError:
                time.sleep(0.02)  # not listening yet
            except Exception as exc:
                stop_group(run.proc)
                raise failed(run, f"{name} answered PING with {exc!r}") from exc
            finally:
                probe.close()
        stop_group(run.proc)
        if "Address already in use" not in log.read_text(errors="replace"):
            break
    raise failed(run, f"{name} did not start")


def check_redis(stack: Stack, name: str, run: Running) -> None:
    port, conf = run.facts["port"], run.facts["conf"]
    # The compose health check, pointed at this port (in the container it uses the default).
    test = stack.service(name)["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL", test
    cli = shlex.quote(shutil.which("redis-cli") or "redis-cli")
    probe = re.sub(r"\bredis-cli\b", f"{cli} -p {port}", test[1])
    assert subprocess.run(["sh", "-c", probe], capture_output=True).returncode == 0, probe

    # Without a password a client may PING and nothing else.
    anonymous = Redis(port=port)
    try:
        with pytest.raises(NoPermissionError):
            anonymous.set("seqquiz:probe", "1")
        with pytest.raises(NoPermissionError):
            anonymous.keys("*")
    finally:
        anonymous.close()

    users = acl_users(run.facts["acl"])
    assert users, "the ACL file has no user with a password"
    for user, password in users.items():
        assert password == stack.password
        client = Redis(port=port, username=user, password=password, decode_responses=True)
        try:
            assert client.set("seqquiz:probe", "1") and client.get("seqquiz:probe") == "1"
            assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
            maxmemory = int(client.config_get("maxmemory")["maxmemory"])
            assert maxmemory == redis_bytes(conf["maxmemory"]) > 0
            assert client.config_get("appendonly") == {"appendonly": "yes"}
        finally:
            client.close()
    # What `ps` shows of the server and its health check.
    assert stack.password not in cmdline(run.proc.pid)
    assert stack.password not in probe


# -- the workers --------------------------------------------------------------------------------


def start_worker(stack: Stack, name: str) -> Running:
    log = stack.scratch / name / "worker.log"
    env = stack.environment(name)
    run = Running(spawn(stack.argv(name), log, env), log)
    run.facts["env"] = env
    return run


def check_worker(stack: Stack, name: str, run: Running) -> None:
    """The worker answers a real task, sent the way an LMS sends it, through the Redis of the
    stack with the compose file's credentials."""
    env = run.facts["env"]
    command = stack.service(name)["command"]
    queue = command[command.index("--queues") + 1].split(",")[0]
    payload = {"template": "rnn-forward", "seed": 7}
    app = Celery(broker=env["SEQQUIZ_BROKER_URL"], backend=env["SEQQUIZ_RESULT_BACKEND"])
    try:
        result = app.send_task("seqquiz.solve", args=[payload], queue=queue)
        deadline = time.monotonic() + START_TIMEOUT
        while not result.ready():
            if run.proc.poll() is not None or time.monotonic() > deadline:
                raise failed(run, f"{name} did not answer seqquiz.solve")
            try:
                result.get(timeout=1.0)
            except CeleryTimeout:
                continue
        assert result.get() == jobs.solve(payload)
        result.forget()
    finally:
        app.close()
    assert stack.password not in cmdline(run.proc.pid)


# -- the table: one entry per service ------------------------------------------------------------


@dataclass(frozen=True)
class Native:
    start: Callable[[Stack, str], Running]
    check: Callable[[Stack, str, Running], None]


NATIVE: dict[str, Native] = {
    "redis": Native(start_redis, check_redis),
    "worker": Native(start_worker, check_worker),
    "worker-interactive": Native(start_worker, check_worker),
}
# A command name in the compose file -> the program here (the queue tests' override applies).
NATIVE_BINARIES = {"redis-server": REDIS_SERVER}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("compose"))
    try:
        yield s
    finally:
        s.stop_all()


def _services() -> list[str]:
    return list(load_raw()["services"])


@pytest.mark.parametrize("name", _services())
def test_service_command_runs_natively(name: str, stack: Stack) -> None:
    run = stack.ensure(name)
    NATIVE[name].check(stack, name, run)
    # Nothing here connects to it: stop it, so that the next service's check is its own.
    if not any(name in hosts(stack.compose, other) for other in stack.compose["services"]):
        stack.stop(name)


# -- the file itself -----------------------------------------------------------------------------


def test_every_service_has_a_native_run() -> None:
    assert set(_services()) == set(NATIVE)


def test_compose_file_follows_the_compose_spec() -> None:
    schema = spec()
    validator = jsonschema.validators.validator_for(schema)(schema)
    for document in (load_raw(), compose_for("0123abcd")):
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
        assert not errors, errors
    # The check bites: a misspelt key is refused.
    broken = copy.deepcopy(load_raw())
    broken["services"]["redis"]["helthcheck"] = {}
    assert not validator.is_valid(broken)


def test_the_password_is_on_no_command_line() -> None:
    """`ps` shows a process's arguments to every user; `docker inspect` shows a health check."""
    password = secrets.token_hex(24)
    compose = compose_for(password)
    for name, svc in compose["services"].items():
        for key in ("command", "entrypoint", "healthcheck"):
            assert password not in json.dumps(svc.get(key)), f"{name}.{key}"
    redis_env = compose["services"]["redis"].get("environment") or {}
    assert password not in json.dumps(redis_env), "redis needs no password in its environment"


def test_every_service_has_a_memory_limit() -> None:
    for name, svc in compose_for("x")["services"].items():
        limit = ((svc.get("deploy") or {}).get("resources") or {}).get("limits") or {}
        assert "memory" in limit, f"{name} has no deploy.resources.limits.memory"
        assert docker_bytes(limit["memory"]) >= 64 * 1024**2, (name, limit["memory"])


def test_redis_never_evicts_and_fits_its_container() -> None:
    compose = compose_for("x")
    redis = compose["services"]["redis"]
    # The config file Redis reads is deploy/redis.conf, mounted where its command names it.
    configs = {c["target"]: c["source"] for c in redis["configs"]}
    sources = [configs[a] for a in redis["command"] if a in configs]
    assert [compose["configs"][s].get("file") for s in sources] == ["./deploy/redis.conf"]
    conf = redis_conf(ROOT / "deploy" / "redis.conf")
    assert conf["maxmemory-policy"] == "noeviction"
    maxmemory = redis_bytes(conf["maxmemory"])
    limit = docker_bytes(redis["deploy"]["resources"]["limits"]["memory"])
    # The append-only rewrite forks: copy-on-write can duplicate every page written meanwhile.
    assert 0 < 2 * maxmemory <= limit, (conf["maxmemory"], limit)


def test_images_are_pinned() -> None:
    """An image someone else publishes is pinned to an exact version; `latest` or a major tag
    changes under a rebuild. The project's own image is built from the pinned Dockerfile."""
    services = load_raw()["services"]
    built = {svc.get("image") for svc in services.values() if "build" in svc}
    for name, svc in services.items():
        image = svc.get("image")
        if "build" in svc or image in built:
            continue
        assert image and re.search(r"(:\d+\.\d+\.\d+[\w.-]*|@sha256:[0-9a-f]{64})$", image), (
            f"{name}: {image!r} is not pinned to an exact version"
        )


def test_services_connect_only_to_what_they_depend_on() -> None:
    """A worker that reaches Redis must wait for it: every host a service names in its
    environment is one of its depends_on."""
    compose = load_raw()
    for name, svc in compose["services"].items():
        assert hosts(compose, name) <= set(svc.get("depends_on") or {}), name
