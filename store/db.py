"""The Store: one SQLAlchemy engine and the few transactions the service needs. Every write that
answers a request (a grade, a batch) commits together with its idempotency record."""

from __future__ import annotations

import fcntl
import hashlib
import operator
import os
import secrets
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from grader.errors import SeqquizError
from store import keys as keymod
from store import migrate
from store.config import database_url
from store.schema import (
    api_keys,
    batches,
    idempotency,
    regrades,
    settings,
    submissions,
    webhook_attempts,
    webhook_deliveries,
)

# Built once: building a statement costs more than running it (these run on every request).
_KEY_BY_ID = select(api_keys).where(api_keys.c.id == bindparam("key_id"))
_STORED = select(idempotency).where(
    idempotency.c.key_id == bindparam("key_id"), idempotency.c.idem_key == bindparam("idem_key")
)


_SUBMISSION_COLUMNS = tuple(c.name for c in submissions.columns if c.name != "id")
# The two times close the column list: `_insert_submissions` converts the last two values.
assert _SUBMISSION_COLUMNS[-2:] == ("received_at", "graded_at")
_submission_tuple = operator.itemgetter(*_SUBMISSION_COLUMNS)


def _sqlite_time(t: datetime) -> str:
    """A datetime as SQLAlchemy writes one to SQLite (UTC, `YYYY-MM-DD HH:MM:SS.ffffff`);
    isoformat is several times cheaper than strftime, which a batch pays twice a line."""
    if t.utcoffset():
        t = t.astimezone(UTC)
    return t.isoformat(" ", "microseconds")[:26]


class StoreError(SeqquizError):
    """Raised when a stored object named by the caller does not exist (an unknown key id)."""

    code: ClassVar[str] = "not-found"


def now() -> datetime:
    return datetime.now(UTC)


def aware(t: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they were written in UTC."""
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "scopes": list(self.scopes),
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@dataclass(frozen=True)
class Stored:
    """A response kept under an Idempotency-Key."""

    fingerprint: str
    status: int
    content_type: str
    location: str | None
    body: bytes


@dataclass(frozen=True)
class IdemRecord:
    """What to keep under an Idempotency-Key, written with the request's effect."""

    key_id: str
    idem_key: str
    fingerprint: str
    status: int
    content_type: str
    location: str | None
    body: bytes

    def row(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "idem_key": self.idem_key,
            "fingerprint": self.fingerprint,
            "status": self.status,
            "content_type": self.content_type,
            "location": self.location,
            "body": self.body,
            "created_at": now(),
        }


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def submission_row(
    key_id: str,
    sub: Any,
    result: Mapping[str, Any],
    result_bytes: bytes,
    received: datetime,
    version: int | None,
    batch_id: str | None = None,
    line: int | None = None,
) -> dict[str, Any]:
    """The columns of one stored submission; `sub` is whatever the client sent (a batch line may
    be anything), so every field is taken only when it has the expected type."""
    d = sub if isinstance(sub, dict) else {}
    sid = d.get("submission_id")
    seed = d.get("seed")
    template = d.get("template")
    score = result.get("score")
    return {
        "key_id": key_id,
        "batch_id": batch_id,
        "line": line,
        "submission_id": None if sid is None or isinstance(sid, dict | list) else str(sid),
        "template": template if isinstance(template, str) else None,
        "version": version,
        "seed": seed if type(seed) is int and -(2**63) <= seed < 2**63 else None,
        "params": _json(d.get("params")),
        "response": _json(d.get("response")),
        "tolerance": _json(d.get("tolerance")),
        "points": _json(d.get("points")),
        "result": result_bytes,
        "score": float(score) if isinstance(score, int | float) else None,
        "received_at": received,
        "graded_at": now(),
    }


SQLITE_SYNCHRONOUS = ("NORMAL", "FULL")


def sqlite_synchronous() -> str:
    """SEQQUIZ_SQLITE_SYNCHRONOUS: NORMAL (the default) or FULL.

    In WAL mode a commit is in the store (every reader sees it, a crash or `kill -9` of the
    server loses nothing) either way; NORMAL writes it to the WAL without waiting for the disk,
    so a power loss or a crash of the machine can lose the last grades before a checkpoint. FULL
    waits for the disk on every commit (about 4 ms here), for an operator who wants a grade to
    survive that too at a cost in throughput; SQLite's own documentation recommends NORMAL with
    WAL."""
    sync = os.environ.get("SEQQUIZ_SQLITE_SYNCHRONOUS", "").strip().upper() or "NORMAL"
    if sync not in SQLITE_SYNCHRONOUS:
        raise StoreError(f"SEQQUIZ_SQLITE_SYNCHRONOUS: must be NORMAL or FULL (got {sync!r})")
    return sync


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers (status, results) run beside the writer. A checkpoint every 10,000
    # pages (40 MB of WAL) rather than 1,000 copies a page written by many commits once: a
    # stored grade costs a third less.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA wal_autocheckpoint=10000")
    cur.execute(f"PRAGMA synchronous={sqlite_synchronous()}")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_size=8, max_overflow=16, pool_pre_ping=True)


@contextmanager
def _transaction(engine: Engine, held: Connection | None) -> Iterator[Connection]:
    if held is None:
        with engine.begin() as conn:
            yield conn
    else:
        with held.begin():
            yield held


class Store:
    def __init__(self, url: str | None = None) -> None:
        self.url = url or database_url()
        self.engine = make_engine(self.url)
        u = make_url(self.url)
        self._lock_path: str | None = None
        if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
            self._lock_path = str(Path(u.database).expanduser()) + "-writer.lock"
        self._held = threading.local()

    def take_writer(self, block: bool = True) -> bool:
        """Take the writer lock (see `_writing`) for this thread; without `block`, return False
        at once when another holds it. Each True is paired with a `release_writer`."""
        depth = getattr(self._held, "depth", 0)
        if self._lock_path is None or depth:
            self._held.depth = depth + 1
            return True
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if block else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._held.fd, self._held.depth = fd, 1
        return True

    def release_writer(self) -> None:
        self._held.depth -= 1
        fd = getattr(self._held, "fd", None)
        if self._held.depth == 0 and fd is not None:
            self._held.fd = None
            os.close(fd)  # releases the lock

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One writer at a time on an SQLite file, across threads and server processes, queued
        in the kernel: without it the second writer meets a busy database and SQLite's busy
        handler sleeps (1, 2, 5, 10 ms... up to 100 ms) however soon the first commits, while
        the requests it serves wait. The lock goes with the process that dies holding it; a
        thread that holds it already goes on (a write inside a write). A writer that does not
        take it (migrations) still meets busy_timeout."""
        self.take_writer()
        try:
            yield
        finally:
            self.release_writer()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction, committed at the end (rolled back on an exception); on SQLite
        it starts once this thread holds the writer lock (`_writing`)."""
        with self._writing(), self.engine.begin() as conn:
            yield conn

    @property
    def shown_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def commit_waits(self) -> bool:
        """Whether a commit waits on something other than this process's CPU: a disk (SQLite
        with synchronous=FULL) or a server (PostgreSQL)."""
        return not self.is_sqlite or sqlite_synchronous() == "FULL"

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ---- schema ---------------------------------------------------------------------------------
    def upgrade(self) -> tuple[str | None, str]:
        return migrate.upgrade(self.engine)

    def check_schema(self, create_embedded: bool = False) -> bool:
        """Raise SchemaError unless the schema is current. With `create_embedded`, an SQLite
        store with no tables at all is created (returns True then)."""
        if create_embedded and self.is_sqlite and migrate.is_empty(self.engine):
            self.upgrade()
            return True
        migrate.check(self.engine, self.shown_url)
        return False

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(select(1))

    # ---- keys -----------------------------------------------------------------------------------
    def create_key(self, name: str, scopes: Sequence[str]) -> tuple[ApiKey, str]:
        name = keymod.check_name(name)
        scopes = keymod.check_scopes(list(scopes))
        key_id, secret_hash, token = keymod.new_token()
        created = now()
        with self.transaction() as conn:
            conn.execute(
                insert(api_keys).values(
                    id=key_id,
                    name=name,
                    scopes=" ".join(scopes),
                    secret_sha256=secret_hash,
                    created_at=created,
                )
            )
        return ApiKey(key_id, name, tuple(scopes), created, None), token

    @staticmethod
    def _key(row: Any) -> ApiKey:
        return ApiKey(
            row.id,
            row.name,
            tuple(row.scopes.split()),
            aware(row.created_at),  # type: ignore[arg-type]
            aware(row.revoked_at),
        )

    def list_keys(self) -> list[ApiKey]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id))
            return [self._key(r) for r in rows]

    def revoke_key(self, key_id: str) -> ApiKey:
        with self.transaction() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
            if row is None:
                raise StoreError(f"ID: no API key {key_id!r} (see `seqquiz keys list`)")
            if row.revoked_at is None:
                conn.execute(
                    update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=now())
                )
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).one()
        return self._key(row)

    def authenticate(self, token: str) -> ApiKey | None:
        """The live key that `token` is, or None (unknown, malformed, wrong secret, revoked)."""
        parts = keymod.split_token(token)
        if parts is None:
            return None
        key_id, secret = parts
        with self.engine.connect() as conn:
            row = conn.execute(_KEY_BY_ID, {"key_id": key_id}).first()
        if row is None or row.revoked_at is not None:
            return None
        if not keymod.matches(secret, row.secret_sha256):
            return None
        return self._key(row)

    # ---- idempotency and single grades ----------------------------------------------------------
    def stored_response(self, key_id: str, idem_key: str) -> Stored | None:
        with self.engine.connect() as conn:
            row = conn.execute(_STORED, {"key_id": key_id, "idem_key": idem_key}).first()
        if row is None:
            return None
        return Stored(row.fingerprint, row.status, row.content_type, row.location, row.body)

    def save_grade(self, row: dict[str, Any], idem: IdemRecord | None) -> Stored | None:
        """Store a graded submission (and its idempotency record) in one transaction. Returns
        None when stored, or the response stored first under the same Idempotency-Key by a
        concurrent request (then nothing of this one is kept)."""
        return self._insert_once(insert(submissions).values(row), idem)

    def _insert_once(self, statement: Any, idem: IdemRecord | None) -> Stored | None:
        """Run one insert with its idempotency record in one transaction. None when stored; on
        a key taken meanwhile by a concurrent request, the response stored under it."""
        try:
            with self.transaction() as conn:
                if idem is not None:
                    conn.execute(insert(idempotency).values(idem.row()))
                conn.execute(statement)
        except IntegrityError:
            if idem is None:
                raise
            stored = self.stored_response(idem.key_id, idem.idem_key)
            if stored is None:
                raise
            return stored
        return None

    def save_grades(
        self,
        items: Sequence[tuple[dict[str, Any], IdemRecord | None]],
        held: Connection | None = None,
    ) -> list[bool]:
        """Store several graded submissions in one transaction (one commit, one fsync); returns,
        per item, whether its Idempotency-Key was taken already (then nothing of it is stored).
        Raises IntegrityError when another transaction takes one of the keys meanwhile: the
        caller then stores the items one by one with `save_grade`. `held`: a connection the
        caller keeps for its commits (a pool checkout and return cost as much as the insert)."""
        taken: set[tuple[str, str]] = set()
        wanted = [(i.key_id, i.idem_key) for _, i in items if i is not None]
        with self._writing(), _transaction(self.engine, held) as conn:
            for start in range(0, len(wanted), 200):
                part = wanted[start : start + 200]
                for key_id, idem_key in conn.execute(
                    select(idempotency.c.key_id, idempotency.c.idem_key).where(
                        tuple_(idempotency.c.key_id, idempotency.c.idem_key).in_(part)
                    )
                ):
                    taken.add((key_id, idem_key))
            conflicts: list[bool] = []
            idem_rows: list[dict[str, Any]] = []
            sub_rows: list[dict[str, Any]] = []
            for row, idem in items:
                if idem is not None:
                    k = (idem.key_id, idem.idem_key)
                    if k in taken:  # stored before, or by a twin earlier in this group
                        conflicts.append(True)
                        continue
                    taken.add(k)
                    idem_rows.append(idem.row())
                conflicts.append(False)
                sub_rows.append(row)
            if idem_rows:
                conn.execute(insert(idempotency), idem_rows)
            if sub_rows:
                self._insert_submissions(conn, sub_rows)
        return conflicts

    def save_response(self, idem: IdemRecord) -> Stored | None:
        """Keep a response with no other effect under its Idempotency-Key; like `save_grade`."""
        try:
            with self.transaction() as conn:
                conn.execute(insert(idempotency).values(idem.row()))
        except IntegrityError:
            stored = self.stored_response(idem.key_id, idem.idem_key)
            if stored is None:
                raise
            return stored
        return None

    def count_submissions(self, key_id: str | None = None) -> int:
        q = select(func.count()).select_from(submissions)
        if key_id is not None:
            q = q.where(submissions.c.key_id == key_id)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def submission_rows(self, **where: Any) -> list[Any]:
        q = select(submissions).order_by(submissions.c.id)
        for name, value in where.items():
            q = q.where(submissions.c[name] == value)
        with self.engine.connect() as conn:
            return list(conn.execute(q))

    # ---- batches --------------------------------------------------------------------------------
    def create_batch(
        self,
        batch_id: str,
        key_id: str,
        total: int,
        runner: str,
        body: bytes,
        callback_url: str | None,
        idem: IdemRecord | None,
    ) -> Stored | None:
        """Create a batch (with its idempotency record); like `save_grade` on a conflict."""
        return self._insert_once(
            insert(batches).values(
                id=batch_id,
                key_id=key_id,
                total=total,
                done=0,
                errors=0,
                runner=runner,
                callback_url=callback_url,
                body=body,
                created_at=now(),
            ),
            idem,
        )

    def batch(self, batch_id: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(
                select(
                    batches.c.id,
                    batches.c.key_id,
                    batches.c.total,
                    batches.c.done,
                    batches.c.errors,
                    batches.c.runner,
                    batches.c.callback_url,
                    batches.c.completed_at,
                ).where(batches.c.id == batch_id)
            ).first()

    def batch_body(self, batch_id: str) -> bytes:
        with self.engine.connect() as conn:
            return bytes(
                conn.execute(select(batches.c.body).where(batches.c.id == batch_id)).scalar_one()
            )

    def save_batch_lines(self, batch_id: str, rows: Sequence[dict[str, Any]]) -> None:
        """Store graded lines of a batch and count them, in one transaction. The rows go to the
        driver's executemany as plain tuples: SQLAlchemy's per-value processing cost as much as
        grading the lines."""
        if not rows:
            return
        errors = sum(1 for r in rows if r["score"] is None)
        with self.transaction() as conn:
            self._insert_submissions(conn, rows)
            conn.execute(
                update(batches)
                .where(batches.c.id == batch_id)
                .values(done=batches.c.done + len(rows), errors=batches.c.errors + errors)
            )

    def _insert_submissions(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Insert submission rows through the driver's executemany as plain tuples: SQLAlchemy's
        per-value processing cost as much as grading them."""
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        sql = f"INSERT INTO submissions ({', '.join(_SUBMISSION_COLUMNS)}) VALUES ({', '.join([mark] * len(_SUBMISSION_COLUMNS))})"
        if self.is_sqlite:  # as SQLAlchemy stores a DateTime in SQLite: UTC text
            values = [
                (*t[:-2], _sqlite_time(t[-2]), _sqlite_time(t[-1]))
                for t in map(_submission_tuple, rows)
            ]
        elif self.engine.dialect.driver == "psycopg" and len(rows) > 1:
            # COPY: one stream for the lines of a batch chunk, in the same transaction.
            columns = ", ".join(_SUBMISSION_COLUMNS)
            raw = conn.connection.driver_connection
            with (
                raw.cursor() as cur,  # type: ignore[union-attr]
                cur.copy(f"COPY submissions ({columns}) FROM STDIN") as copy,
            ):
                for values in map(_submission_tuple, rows):
                    copy.write_row(values)
            return
        else:
            values = list(map(_submission_tuple, rows))
        conn.exec_driver_sql(sql, values)

    def batch_lines_done(self, batch_id: str) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(submissions)
                    .where(submissions.c.batch_id == batch_id)
                ).scalar_one()
            )

    def complete_batch(self, batch_id: str) -> bool:
        """Mark complete; True for the caller that did it (the one to send its webhook)."""
        with self.transaction() as conn:
            res = conn.execute(
                update(batches)
                .where(batches.c.id == batch_id, batches.c.completed_at.is_(None))
                .values(completed_at=now(), lease_until=None)
            )
            return res.rowcount == 1

    def batch_results(self, batch_id: str, chunk: int = 5000) -> Iterator[bytes]:
        """The stored result lines in input order, read in chunks (a batch may be large), through
        the driver's cursor: SQLAlchemy's Row objects cost as much as the query."""
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        sql = (
            f"SELECT line, result FROM submissions WHERE batch_id = {mark} AND line > {mark} "
            f"ORDER BY line LIMIT {int(chunk)}"
        )
        last = -1
        while True:
            with self.engine.connect() as conn:
                rows = conn.exec_driver_sql(sql, (batch_id, last)).fetchall()
            if not rows:
                return
            for _line, result in rows:
                yield bytes(result)
            last = rows[-1][0]

    def claim_batch(self, batch_id: str, owner_seconds: float) -> bool:
        """Take the lease of an unfinished batch whose lease ran out (or was never taken): the
        server that holds it grades it; another takes over when it stops renewing."""
        t = now()
        with self.transaction() as conn:
            res = conn.execute(
                update(batches)
                .where(
                    batches.c.id == batch_id,
                    batches.c.completed_at.is_(None),
                    (batches.c.lease_until.is_(None)) | (batches.c.lease_until < t),
                )
                .values(lease_until=t + timedelta(seconds=owner_seconds))
            )
            return res.rowcount == 1

    def renew_lease(self, batch_id: str, owner_seconds: float) -> None:
        with self.transaction() as conn:
            conn.execute(
                update(batches)
                .where(batches.c.id == batch_id)
                .values(lease_until=now() + timedelta(seconds=owner_seconds))
            )

    def orphan_batches(self, runner: str) -> list[str]:
        """Unfinished batches of this runner whose lease ran out: their server stopped."""
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(batches.c.id).where(
                        batches.c.completed_at.is_(None),
                        batches.c.runner == runner,
                        (batches.c.lease_until.is_(None)) | (batches.c.lease_until < now()),
                    )
                ).scalars()
            )

    # ---- webhooks -------------------------------------------------------------------------------
    def webhook_secret(self) -> str:
        """The server-wide Standard Webhooks signing secret (`whsec_…`), made on first use."""
        with self.engine.connect() as conn:
            value = conn.execute(
                select(settings.c.value).where(settings.c.name == "webhook_secret")
            ).scalar()
        if value is not None:
            return str(value)
        import base64

        made = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        try:
            with self.transaction() as conn:
                conn.execute(insert(settings).values(name="webhook_secret", value=made))
        except IntegrityError:
            pass  # another server made it first: use that one
        return self.webhook_secret()

    def add_delivery(self, delivery_id: str, batch_id: str, url: str, payload: bytes) -> bool:
        try:
            with self.transaction() as conn:
                conn.execute(
                    insert(webhook_deliveries).values(
                        id=delivery_id,
                        batch_id=batch_id,
                        url=url,
                        payload=payload,
                        status="pending",
                        attempts=0,
                        next_attempt_at=now(),
                        created_at=now(),
                    )
                )
        except IntegrityError:
            return False
        return True

    def delivery(self, delivery_id: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(
                select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
            ).first()

    def deliveries(self, batch_id: str | None = None, status: str | None = None) -> list[Any]:
        q = select(webhook_deliveries).order_by(webhook_deliveries.c.created_at)
        if batch_id is not None:
            q = q.where(webhook_deliveries.c.batch_id == batch_id)
        if status is not None:
            q = q.where(webhook_deliveries.c.status == status)
        with self.engine.connect() as conn:
            return list(conn.execute(q))

    def log_attempt(
        self,
        delivery_id: str,
        status_code: int | None,
        error: str | None,
        duration_ms: float,
        final_status: str,
        next_attempt_at: datetime | None,
    ) -> int:
        """Log one attempt and move the delivery on; returns the attempt's number."""
        with self.transaction() as conn:
            n = (
                int(
                    conn.execute(
                        select(webhook_deliveries.c.attempts).where(
                            webhook_deliveries.c.id == delivery_id
                        )
                    ).scalar_one()
                )
                + 1
            )
            conn.execute(
                insert(webhook_attempts).values(
                    delivery_id=delivery_id,
                    attempt=n,
                    at=now(),
                    status_code=status_code,
                    error=error,
                    duration_ms=duration_ms,
                )
            )
            conn.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id == delivery_id)
                .values(
                    attempts=n,
                    status=final_status,
                    next_attempt_at=next_attempt_at,
                    finished_at=now() if final_status != "pending" else None,
                )
            )
        return n

    def attempts(self, delivery_id: str) -> list[Any]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(webhook_attempts)
                    .where(webhook_attempts.c.delivery_id == delivery_id)
                    .order_by(webhook_attempts.c.attempt)
                )
            )

    # ---- regrade --------------------------------------------------------------------------------
    def graded_submissions(
        self, template: str | None = None, since: datetime | None = None
    ) -> Iterator[Any]:
        """Stored submissions that were graded (not error lines), oldest first."""
        q = (
            select(submissions)
            .where(submissions.c.template.is_not(None), submissions.c.score.is_not(None))
            .order_by(submissions.c.id)
        )
        if template is not None:
            q = q.where(submissions.c.template == template)
        if since is not None:
            q = q.where(submissions.c.graded_at >= since.astimezone(UTC))
        with self.engine.connect() as conn:
            yield from conn.execute(q)

    def latest_results(self, rows: Iterable[int]) -> dict[int, bytes]:
        """The newest regrade result of each submission row that has one."""
        ids = list(rows)
        out: dict[int, bytes] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                for row_id, result in conn.execute(
                    select(regrades.c.submission_row, regrades.c.result)
                    .where(regrades.c.submission_row.in_(part))
                    .order_by(regrades.c.id)
                ):
                    out[row_id] = bytes(result)
        return out

    def add_regrades(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            with self.transaction() as conn:
                conn.execute(insert(regrades), [{**r, "at": now()} for r in rows])

    def regrade_history(self, submission_row: int) -> list[Any]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(regrades)
                    .where(regrades.c.submission_row == submission_row)
                    .order_by(regrades.c.id)
                )
            )


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    h = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode()):
        h.update(part + b"\0")
    h.update(body)
    return h.hexdigest()
