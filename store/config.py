"""Where the store lives: `SEQQUIZ_DATABASE_URL`, else an SQLite file in the user's data folder."""

from __future__ import annotations

import os
from pathlib import Path

ENV = "SEQQUIZ_DATABASE_URL"


def default_sqlite_path() -> Path:
    """`$XDG_DATA_HOME/seqquiz/seqquiz.db`, i.e. `~/.local/share/seqquiz/seqquiz.db` by default."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "seqquiz" / "seqquiz.db"


def database_url(env: dict[str, str] | None = None) -> str:
    url = (env if env is not None else os.environ).get(ENV, "").strip()
    return url or f"sqlite:///{default_sqlite_path()}"
