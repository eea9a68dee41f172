"""Schema migrations with Alembic, run from code (`seqquiz db upgrade`): the scripts ship inside
the package, so an installed seqquiz can migrate its store without an alembic.ini."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from grader.errors import SeqquizError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class SchemaError(SeqquizError):
    """Raised when the store's schema is not the one this seqquiz needs (behind or unknown)."""

    code: ClassVar[str] = "schema-mismatch"


def _config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_empty(engine: Engine) -> bool:
    return not inspect(engine).get_table_names()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Migrate to `revision`; returns (before, after)."""
    before = current(engine)
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return before, current(engine) or ""


def check(engine: Engine, url_shown: str) -> None:
    """Raise SchemaError unless the store is at this seqquiz's head revision."""
    rev, want = current(engine), head()
    if rev == want:
        return
    script = ScriptDirectory.from_config(_config())
    known = {r.revision for r in script.walk_revisions()}
    if rev is None and is_empty(engine):
        raise SchemaError(
            f"the store at {url_shown} has no tables yet; create them with `seqquiz db upgrade`"
        )
    if rev is None:
        raise SchemaError(
            f"the store at {url_shown} has tables but no seqquiz schema revision: is it another "
            "application's database? Give seqquiz a database of its own (SEQQUIZ_DATABASE_URL)"
        )
    if rev in known:
        raise SchemaError(
            f"the store at {url_shown} is at schema revision {rev or '(none)'}, this seqquiz "
            f"needs {want}; run `seqquiz db upgrade` (with the same SEQQUIZ_DATABASE_URL)"
        )
    raise SchemaError(
        f"the store at {url_shown} is at schema revision {rev}, unknown to this seqquiz (made "
        f"by a newer version?); this seqquiz needs {want}"
    )
