"""The store on SQLite and PostgreSQL: migrations from empty, keys, idempotent writes, batches."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from sqlalchemy import inspect, select, text

from store import SchemaError, Store, migrate
from store.db import IdemRecord, StoreError, submission_row
from store.db import now as utcnow
from store.migrate import head
from store.schema import api_keys, metadata


def test_migrations_upgrade_from_empty_to_the_tables_of_the_schema(db_url: str) -> None:
    with Store(db_url) as s:
        with pytest.raises(SchemaError, match="seqquiz db upgrade"):
            s.check_schema()
        before, after = s.upgrade()
        assert (before, after) == (None, head())
        s.check_schema()
        tables = set(inspect(s.engine).get_table_names())
        assert tables == set(metadata.tables) | {"alembic_version"}
        for name, table in metadata.tables.items():
            columns = {c["name"] for c in inspect(s.engine).get_columns(name)}
            assert columns == {c.name for c in table.columns}, name
        assert s.upgrade() == (head(), head())  # a second upgrade changes nothing


def test_a_store_whose_schema_is_behind_is_refused_with_the_command_to_run(db_url: str) -> None:
    with Store(db_url) as s:
        migrate.upgrade(s.engine, "0001")  # a store made by an older seqquiz
        with pytest.raises(SchemaError, match=r"at schema revision 0001.*run `seqquiz db upgrade`"):
            s.check_schema(create_embedded=True)
        assert s.upgrade() == ("0001", head())
        s.check_schema()
        indexes = {i["name"] for i in inspect(s.engine).get_indexes("submissions")}
        assert "ix_submissions_key_submission" in indexes


def test_tables_without_a_seqquiz_revision_are_refused_as_someone_elses(db_url: str) -> None:
    with Store(db_url) as s:
        s.upgrade()
        with s.engine.begin() as conn:
            conn.execute(text("DELETE FROM alembic_version"))
        with pytest.raises(SchemaError, match="another application's database"):
            s.check_schema(create_embedded=True)


def test_only_an_empty_sqlite_store_is_created_by_itself(tmp_path: Path, db_url: str) -> None:
    with Store(db_url) as s:
        if s.is_sqlite:
            assert s.check_schema(create_embedded=True) is True
            s.check_schema()
        else:
            with pytest.raises(SchemaError, match="seqquiz db upgrade"):
                s.check_schema(create_embedded=True)


def test_keys_are_stored_hashed_and_revocation_is_at_once(store: Store) -> None:
    key, token = store.create_key("moodle", ["solve", "grade", "grade"])
    assert key.scopes == ("grade", "solve")
    assert token.startswith(f"sqz_{key.id}_")
    secret = token.split("_", 2)[2]
    with store.engine.connect() as conn:
        stored = conn.execute(select(api_keys)).one()
    assert secret not in repr(tuple(stored)) and token not in repr(tuple(stored))
    assert store.authenticate(token) == key
    assert store.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert store.authenticate("sqz_nonsense") is None
    assert store.authenticate("") is None
    revoked = store.revoke_key(key.id)
    assert revoked.revoked_at is not None
    assert store.authenticate(token) is None
    assert [k.id for k in store.list_keys()] == [key.id]


def _row(key_id: str, sid: str) -> dict:
    payload = {"template": "rnn-forward", "seed": 1, "response": {"h_2": "1"}, "submission_id": sid}
    result = {"score": 0.0, "parts": {}}
    return submission_row(key_id, payload, result, orjson.dumps(result), utcnow(), 1)


def test_a_grade_and_its_idempotency_record_commit_together(store: Store) -> None:
    idem = IdemRecord("k1", "abc", "f" * 64, 200, "application/json", None, b'{"score":0.0}')
    assert store.save_grade(_row("k1", "s1"), idem) is None
    # The same key again (a concurrent twin): nothing new stored, the first response returned.
    again = store.save_grade(_row("k1", "s2"), idem)
    assert again is not None and again.body == b'{"score":0.0}'
    assert [r.submission_id for r in store.submission_rows()] == ["s1"]
    # Another API key has its own Idempotency-Key namespace.
    other = IdemRecord("k2", "abc", "e" * 64, 200, "application/json", None, b"{}")
    assert store.save_grade(_row("k2", "s3"), other) is None
    assert store.count_submissions() == 2


def test_batch_results_come_back_in_line_order_across_chunks(store: Store) -> None:
    store.create_batch("b1", "k1", 12, "local", b"", None, None)
    rows = []
    for line in range(12, 0, -1):  # stored out of order
        result = {"submission_id": str(line), "score": 1.0, "parts": {}}
        r = submission_row("k1", {}, result, orjson.dumps(result), utcnow(), 1, "b1", line)
        rows.append(r)
    store.save_batch_lines("b1", rows[:5])
    store.save_batch_lines("b1", rows[5:])
    got = [orjson.loads(x)["submission_id"] for x in store.batch_results("b1", chunk=5)]
    assert got == [str(n) for n in range(1, 13)]
    b = store.batch("b1")
    assert (b.done, b.errors, b.completed_at) == (12, 0, None)
    assert store.complete_batch("b1") is True
    assert store.complete_batch("b1") is False  # announced once


def test_a_batch_lease_is_held_by_one_server_until_it_runs_out(store: Store) -> None:
    store.create_batch("b2", "k1", 1, "local", b"", None, None)
    assert store.claim_batch("b2", 60) is True
    assert store.claim_batch("b2", 60) is False
    assert store.orphan_batches("local") == []
    store.renew_lease("b2", -1)  # as if its server stopped renewing
    assert store.orphan_batches("local") == ["b2"]
    assert store.claim_batch("b2", 60) is True


def test_the_webhook_secret_is_made_once_and_kept(store: Store, db_url: str) -> None:
    secret = store.webhook_secret()
    assert secret.startswith("whsec_")
    with Store(db_url) as other:
        assert other.webhook_secret() == secret


def test_sqlite_store_is_in_wal_mode_with_normal_sync_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SEQQUIZ_SQLITE_SYNCHRONOUS", raising=False)
    with Store(f"sqlite:///{tmp_path / 'x.db'}") as s, s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert s.commit_waits is False


@pytest.mark.parametrize(("setting", "level"), [("full", 2), (" FULL ", 2), ("normal", 1)])
def test_sqlite_synchronous_is_an_operators_choice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str, level: int
) -> None:
    monkeypatch.setenv("SEQQUIZ_SQLITE_SYNCHRONOUS", setting)
    with Store(f"sqlite:///{tmp_path / 'x.db'}") as s, s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == level
        assert s.commit_waits is (level == 2)


def test_a_bad_sqlite_synchronous_names_the_setting_and_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEQQUIZ_SQLITE_SYNCHRONOUS", "OFF")
    with (
        pytest.raises(StoreError, match=r"SEQQUIZ_SQLITE_SYNCHRONOUS.*'OFF'"),
        Store(f"sqlite:///{tmp_path / 'x.db'}") as s,
    ):
        s.ping()


def test_a_group_of_grades_commits_once_and_twins_in_it_are_conflicts(store: Store) -> None:
    def idem(key: str, fp: str = "a" * 64) -> IdemRecord:
        return IdemRecord("k1", key, fp, 200, "application/json", None, b"{}")

    assert store.save_grade(_row("k1", "before"), idem("x")) is None
    conflicts = store.save_grades(
        [
            (_row("k1", "g1"), idem("x")),  # taken before the group
            (_row("k1", "g2"), idem("y")),
            (_row("k1", "g3"), idem("y")),  # a twin of the previous one
            (_row("k1", "g4"), None),
        ]
    )
    assert conflicts == [True, False, True, False]
    assert [r.submission_id for r in store.submission_rows()] == ["before", "g2", "g4"]


def test_a_store_left_by_a_failing_assertion_closes_its_connections(db_url: str) -> None:
    """A test's store is opened with `with`: one left open by a failed assertion was closed only
    when garbage collected, as a ResourceWarning blamed on whichever test ran then."""
    with pytest.raises(AssertionError), Store(db_url) as s:
        s.upgrade()
        assert s.count_submissions() == 1
    assert s.engine.pool.checkedin() == 0


def test_batch_lines_store_times_as_a_single_grade_does(store: Store) -> None:
    """Batch rows go to the driver as tuples with times formatted by hand: they must be stored
    as SQLAlchemy stores a single grade's (UTC, to the microsecond; the service's times are
    all UTC)."""
    t = datetime(2026, 3, 4, 10, 6, 7, 890123, tzinfo=UTC)
    result = {"submission_id": "x", "score": 1.0, "parts": {}}
    single = submission_row("k1", {}, result, orjson.dumps(result), t, 1)
    store.save_grade(single, None)
    store.create_batch("b1", "k1", 1, "local", b"", None, None)
    store.save_batch_lines("b1", [{**single, "batch_id": "b1", "line": 1}])
    with store.engine.connect() as conn:
        stored = conn.execute(
            text("SELECT received_at, graded_at FROM submissions ORDER BY id")
        ).all()
    assert stored[0] == stored[1]
    got = [r.received_at for r in store.submission_rows()]
    want = datetime(2026, 3, 4, 10, 6, 7, 890123, tzinfo=UTC)
    assert [g.replace(tzinfo=UTC) if g.tzinfo is None else g for g in got] == [want, want]
