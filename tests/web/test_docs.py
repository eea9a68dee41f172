"""Every curl example of docs/http.md, run against a live server: it prints what the page shows."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.web.live import REPO, LiveServer, make_keys

PAGE = REPO / "docs" / "http.md"
EXAMPLE = re.compile(r"```sh\n(?P<code>.*?)```\n```json\n(?P<out>.*?)```\n", re.S)


def test_the_page_has_examples() -> None:
    assert len(EXAMPLE.findall(PAGE.read_text())) >= 5


def test_every_curl_example_prints_what_the_page_shows(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'docs.db'}"
    keys = make_keys(db)
    server = LiveServer(tmp_path, db).start()
    env = {
        **os.environ,
        "SEQQUIZ_URL": server.url,
        "KEY": keys["grade"],
        "SOLVE_KEY": keys["solve"],
    }
    failures = []
    try:
        for m in EXAMPLE.finditer(PAGE.read_text()):
            run = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", m["code"]],
                capture_output=True,
                text=True,
                env=env,
                cwd=tmp_path,
                timeout=120,
            )
            if run.returncode != 0 or run.stdout.rstrip("\n") != m["out"].rstrip("\n"):
                failures.append((m["code"], m["out"], run.stdout, run.stderr))
    finally:
        server.stop()
    if failures:
        pytest.fail("\n\n".join(f"{c}\nexpected:\n{o}\ngot:\n{g}\n{e}" for c, o, g, e in failures))
