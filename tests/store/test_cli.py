"""`seqquiz keys`, `seqquiz db upgrade` and `seqquiz regrade` on a real store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from click.testing import CliRunner

from seqquiz.cli import main
from store import Store, migrate
from store.db import now as utcnow
from store.db import submission_row
from store.migrate import head

WEEK7 = {"x": [9, 4, -2], "w_xh": 0.5, "w_hh": -1.0, "w_hy": -0.7, "b_h": -1.0, "b_y": 0}


def run(db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={"SEQQUIZ_DATABASE_URL": db_url})
    return result.exit_code, result.stdout, result.stderr


def test_keys_create_prints_the_key_once_and_list_and_revoke_follow(db_url: str) -> None:
    with Store(db_url) as s:
        s.upgrade()
    code, out, _ = run(
        db_url, "keys", "create", "canvas", "--scope", "grade", "--scope", "solve", "--json"
    )
    assert code == 0
    made = orjson.loads(out)
    assert set(made) == {"id", "name", "scopes", "key"}
    assert made["name"] == "canvas" and made["scopes"] == ["grade", "solve"]
    with Store(db_url) as s:
        assert s.authenticate(made["key"]).id == made["id"]
        code, out, _ = run(db_url, "keys", "list", "--json")
        listed = orjson.loads(out)
        assert [k["id"] for k in listed] == [made["id"]] and made["key"] not in out
        assert listed[0]["revoked_at"] is None
        assert run(db_url, "keys", "revoke", made["id"])[0] == 0
        assert s.authenticate(made["key"]) is None
        code, _, err = run(db_url, "keys", "revoke", "nope")
        assert code == 2 and "no API key 'nope'" in err


def test_keys_create_needs_a_known_scope(db_url: str) -> None:
    with Store(db_url) as s:
        s.upgrade()
    code, _, err = run(db_url, "keys", "create", "x", "--scope", "teach")
    assert code == 2 and "teach" in err


def test_db_upgrade_migrates_an_empty_database_and_says_so(db_url: str) -> None:
    code, _, err = run(db_url, "db", "upgrade")
    assert code == 0 and f"-> {head()}" in err
    code, _, err = run(db_url, "db", "upgrade")
    assert code == 0 and "already at schema revision" in err


def test_a_command_on_a_store_behind_says_which_command_to_run(db_url: str) -> None:
    with Store(db_url) as s:
        migrate.upgrade(s.engine, "0001")
    code, _, err = run(db_url, "keys", "list")
    assert code == 2 and "run `seqquiz db upgrade`" in err
    assert run(db_url, "db", "upgrade")[0] == 0
    assert run(db_url, "keys", "list")[0] == 0


def _store_grade(s: Store, response: dict, tolerance: dict | None = None) -> None:
    import jobs
    from generators import get_template

    payload = {"template": "rnn-forward", "params": {**WEEK7, "ask": ["h_2"]}, "response": response}
    if tolerance is not None:
        payload["tolerance"] = tolerance
    result = jobs.grade(payload)
    # Stored as the server stores it: the version that graded it, today's template's own.
    version = get_template("rnn-forward").version
    row = submission_row("k", payload, result, orjson.dumps(result), utcnow(), version)
    s.save_grade(row, None)


def test_regrade_with_a_looser_tolerance_reports_then_applies_keeping_history(db_url: str) -> None:
    with Store(db_url) as s:
        s.upgrade()
        _store_grade(s, {"h_2": "0.0753"})  # right: unchanged by any tolerance
        _store_grade(s, {"h_2": "0.10"})  # wrong to 2 decimals, right to 1
        loose = '{"h_2": {"decimals": 1}}'
        code, out, err = run(db_url, "regrade", "--tolerance", loose)
        assert code == 0, err
        changes = [orjson.loads(line) for line in out.splitlines()]
        assert len(changes) == 1
        assert changes[0]["old_score"] == 0.0 and changes[0]["new_score"] == 1.0
        assert changes[0]["why"].startswith("h_2: 0.0 -> 1.0 (correct")
        assert "would change" in err
        assert s.regrade_history(changes[0]["row"]) == []  # a dry run stores nothing
        code, out, _ = run(db_url, "regrade", "--tolerance", loose, "--apply")
        history = s.regrade_history(changes[0]["row"])
        assert len(history) == 1 and history[0].new_score == 1.0
        original = s.submission_rows()[1]
        assert orjson.loads(original.result)["score"] == 0.0  # the old result is kept
        # Applied: the same regrade finds nothing more to change.
        code, out, _ = run(db_url, "regrade", "--tolerance", loose)
        assert out == ""
        # Filters: another template, or a time after every grade, select nothing.
        code, out, err = run(db_url, "regrade", "--template", "hmm-forward", "--tolerance", loose)
        assert "regraded 0 submissions" in err
        later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        code, out, err = run(db_url, "regrade", "--since", later)
        assert "regraded 0 submissions" in err
        code, out, err = run(db_url, "regrade", "--since", "yesterday")
        assert code == 2 and "--since" in err


def test_regrade_reports_a_grade_stored_under_an_older_template_version_and_keeps_it(
    db_url: str,
) -> None:
    """The regrade would otherwise grade a v1 submission against today's variant of the seed."""
    import jobs
    from generators import get_template

    with Store(db_url) as s:
        s.upgrade()
        payload = {"template": "rnn-forward", "params": {**WEEK7, "ask": ["h_2"]}}
        payload["response"] = {"h_2": "0.10"}
        result = jobs.grade(payload)
        old = get_template("rnn-forward").version - 1
        s.save_grade(
            submission_row("k", payload, result, orjson.dumps(result), utcnow(), old), None
        )
        code, out, err = run(
            db_url, "regrade", "--tolerance", '{"h_2": {"decimals": 1}}', "--apply"
        )
        assert code == 0, err
        [change] = [orjson.loads(line) for line in out.splitlines()]
        assert change["new_score"] is None and "version-mismatch" in change["why"]
        assert s.regrade_history(change["row"]) == []
