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
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import psycopg
import pytest
from celery import Celery
from celery.exceptions import TimeoutError as CeleryTimeout
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoPermissionError

import jobs
from store import Store
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


def compose_for(password: str, postgres_password: str = "postgres-secret") -> dict[str, Any]:
    """The compose file as Compose would run it with only the two passwords set: every other
    variable takes the file's own default."""
    env = {"REDIS_PASSWORD": password, "POSTGRES_PASSWORD": postgres_password}
    return interpolate(load_raw(), env)


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
        self.postgres_password = secrets.token_hex(24)
        self.compose = compose_for(self.password, self.postgres_password)
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
            for folder in run.facts.get("remove", ()):
                shutil.rmtree(folder, ignore_errors=True)

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


# -- postgres -----------------------------------------------------------------------------------

# Where the official image keeps its cluster (its PGDATA): the volume must be mounted there.
PGDATA = "/var/lib/postgresql/data"


def postgres_binary(name: str) -> str:
    """A PostgreSQL server program: on PATH, else Debian's versioned folder (the newest)."""
    found = shutil.which(name) or next(
        iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)), None
    )
    assert found, f"{name} is not installed here (Debian: apt-get install postgresql)"
    return str(found)


def postgres_version(image: str) -> str:
    m = re.fullmatch(r"postgres:(\d+\.\d+)[\w.-]*", image)
    assert m, f"not a pinned postgres image: {image!r}"
    return m[1]


def start_postgres(stack: Stack, name: str) -> Running:
    """The image's entrypoint, natively: initdb as POSTGRES_USER with POSTGRES_PASSWORD (from a
    file, never a command line), password logins over TCP, then the server (the image's own
    command, `postgres`) on a free port of the loopback, and POSTGRES_DB created."""
    env = stack.service(name)["environment"]
    user, password, db = env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]
    assert PGDATA in stack.mounts(name), f"{name}: no volume at {PGDATA}: the data would be lost"
    # PostgreSQL refuses to run as root: as root (the tests' usual case) it runs as `postgres`,
    # in a folder of its own that this user can reach (pytest's is root's alone).
    as_root = os.geteuid() == 0
    home = Path(tempfile.mkdtemp(prefix="seqquiz-compose-pg-"))
    data, pwfile, log = home / "data", home / "pwfile", home / "postgres.log"
    pwfile.write_text(password + "\n")
    drop: dict[str, Any] = {}
    if as_root:
        shutil.chown(home, "postgres", "postgres")
        shutil.chown(pwfile, "postgres", "postgres")
        drop = {"user": "postgres", "group": "postgres", "extra_groups": []}
    pwfile.chmod(0o600)
    initdb = [postgres_binary("initdb"), "-D", str(data), "-U", user, f"--pwfile={pwfile}"]
    initdb += ["--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8"]
    done = subprocess.run(initdb, capture_output=True, text=True, cwd=home, **drop)
    pwfile.unlink()
    assert done.returncode == 0, done.stdout + done.stderr
    for _ in range(5):  # a free port can be taken between choosing and binding it
        port = free_port()
        argv = [postgres_binary("postgres"), "-D", str(data), "-c", f"port={port}"]
        argv += ["-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={home}"]
        with log.open("ab") as out:
            proc = subprocess.Popen(
                argv, cwd=home, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                **drop,
            )  # fmt: skip
        run = Running(proc, log, {5432: port}, {"port": port, "home": home, "remove": [home]})
        deadline = time.monotonic() + START_TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline:
            ready = subprocess.run(
                [postgres_binary("pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-q"]
            )
            if ready.returncode == 0:
                login = {"host": "127.0.0.1", "port": port, "user": user, "password": password}
                with psycopg.connect(dbname="postgres", autocommit=True, **login) as conn:
                    if db != "postgres":
                        conn.execute(f'CREATE DATABASE "{db}"')
                return run
            time.sleep(0.05)  # not accepting connections yet
        stop_group(proc)
        if "Address already in use" not in log.read_text(errors="replace"):
            break
    shutil.rmtree(home, ignore_errors=True)
    raise failed(run, f"{name} did not start")


def check_postgres(stack: Stack, name: str, run: Running) -> None:
    env = stack.service(name)["environment"]
    user, db, port = env["POSTGRES_USER"], env["POSTGRES_DB"], run.facts["port"]
    assert env["POSTGRES_PASSWORD"] == stack.postgres_password
    login = {"host": "127.0.0.1", "port": port, "user": user, "dbname": db}
    with psycopg.connect(password=stack.postgres_password, **login) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        assert conn.execute("SELECT current_user, current_database()").fetchone() == (user, db)
    # The image pins what ran here: the same major version (its on-disk format).
    image = stack.service(name)["image"]
    assert version.split(".")[0] == postgres_version(image).split(".")[0], (image, version)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(password="not-" + stack.postgres_password, **login).close()
    # The compose health check, pointed at this server.
    test = stack.service(name)["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL", test
    isready = shlex.quote(postgres_binary("pg_isready"))
    probe = re.sub(r"\bpg_isready\b", f"{isready} -h 127.0.0.1 -p {port}", test[1])
    assert subprocess.run(["sh", "-c", probe], capture_output=True).returncode == 0, probe
    assert stack.postgres_password not in cmdline(run.proc.pid)
    assert stack.postgres_password not in probe


# -- web ----------------------------------------------------------------------------------------


def shims(stack: Stack, name: str) -> Path:
    """A folder for PATH with the programs a shell command of the image names: the project's
    console scripts (from this checkout) and `python` (this interpreter)."""
    folder = stack.scratch / name / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    scripts = {"python": [sys.executable]}
    scripts |= {s: console_script(s) or [] for s in ("seqquiz",)}
    for program, argv in scripts.items():
        path = folder / program
        path.write_text(f'#!/bin/sh\nexec {shlex.join(argv)} "$@"\n')
        path.chmod(0o755)
    return folder


def start_web(stack: Stack, name: str) -> Running:
    """The compose command (a shell line: migrate, then serve) with its port replaced by a free
    one of the loopback; ready when /readyz answers 200 (store and broker reachable)."""
    env = stack.environment(name)
    env["PATH"] = f"{shims(stack, name)}{os.pathsep}{env.get('PATH', '')}"
    log = stack.scratch / name / "web.log"
    for _ in range(5):
        port = free_port()
        sh, flag, line = stack.argv(name)
        assert flag == "-c", stack.service(name)["command"]
        native, n = re.subn(r"--port 8000\b", f"--port {port}", line)
        native, m = re.subn(r"--host 0\.0\.0\.0\b", "--host 127.0.0.1", native)
        assert n == m == 1, f"{name}: the command has no --host 0.0.0.0 --port 8000: {line}"
        run = Running(spawn([sh, flag, native], log, env), log, {8000: port}, {"env": env})
        run.facts["url"] = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while run.proc.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(run.facts["url"] + "/readyz", timeout=5).status_code == 200:
                    return run
            except httpx.TransportError:
                pass
            time.sleep(0.05)  # not listening (or not ready) yet
        stop_group(run.proc)
        if "address already in use" not in log.read_text(errors="replace").lower():
            break
    raise failed(run, f"{name} did not become ready")


def check_web(stack: Stack, name: str, run: Running) -> None:
    """Migrated, a key made with the CLI as the compose file's comment says, a grade answered
    as the CLI answers it and stored in PostgreSQL; the health check passes."""
    env, url = run.facts["env"], run.facts["url"]
    keys = subprocess.run(
        ["sh", "-c", "seqquiz keys create compose-test --scope grade --json"],
        env=env, capture_output=True, text=True, cwd=ROOT, timeout=START_TIMEOUT,
    )  # fmt: skip
    assert keys.returncode == 0, keys.stderr
    token = json.loads(keys.stdout)["key"]
    payload = {"template": "rnn-forward", "seed": 7, "response": {}, "submission_id": "c-1"}
    resp = httpx.post(
        url + "/v1/grade", json=payload, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == jobs.grade(payload)
    db_url = env["SEQQUIZ_DATABASE_URL"]
    assert db_url.startswith("postgresql"), db_url
    with Store(db_url) as store:
        assert [r.submission_id for r in store.submission_rows()] == ["c-1"]
    test = stack.service(name)["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL", test
    probe = test[1].replace("127.0.0.1:8000", url.removeprefix("http://"))
    assert probe != test[1], test
    check = subprocess.run(["sh", "-c", probe], env=env, capture_output=True)
    assert check.returncode == 0, check.stderr
    for pid in [run.proc.pid, *children(run.proc.pid)]:
        assert stack.postgres_password not in cmdline(pid)
        assert stack.password not in cmdline(pid)


def children(pid: int) -> list[int]:
    """Every descendant of a process (from /proc)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, parent in parents.items() if parent == p]
        out += kids
        todo += kids
    return out


# -- the table: one entry per service ------------------------------------------------------------


@dataclass(frozen=True)
class Native:
    start: Callable[[Stack, str], Running]
    check: Callable[[Stack, str, Running], None]


NATIVE: dict[str, Native] = {
    "redis": Native(start_redis, check_redis),
    "worker": Native(start_worker, check_worker),
    "worker-interactive": Native(start_worker, check_worker),
    "postgres": Native(start_postgres, check_postgres),
    "web": Native(start_web, check_web),
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
    password, postgres_password = secrets.token_hex(24), secrets.token_hex(24)
    compose = compose_for(password, postgres_password)
    for name, svc in compose["services"].items():
        for key in ("command", "entrypoint", "healthcheck"):
            assert password not in json.dumps(svc.get(key)), f"{name}.{key}"
            assert postgres_password not in json.dumps(svc.get(key)), f"{name}.{key}"
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
        # PostgreSQL (since 10) numbers a release major.minor: that is its exact version.
        exact = r"\d+\.\d+" if image and image.startswith("postgres:") else r"\d+\.\d+\.\d+"
        assert image and re.search(rf"(:{exact}(-[\w.-]+)?|@sha256:[0-9a-f]{{64}})$", image), (
            f"{name}: {image!r} is not pinned to an exact version"
        )


def test_services_connect_only_to_what_they_depend_on() -> None:
    """A worker that reaches Redis must wait for it: every host a service names in its
    environment is one of its depends_on."""
    compose = load_raw()
    for name, svc in compose["services"].items():
        assert hosts(compose, name) <= set(svc.get("depends_on") or {}), name
