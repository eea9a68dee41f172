"""Every curl example of docs/http.md, run against a live server: it prints what the page shows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.web.live import REPO, LiveServer, make_keys

PAGE = REPO / "docs" / "http.md"
EXAMPLE = re.compile(r"```sh\n(?P<code>.*?)```\n```json\n(?P<out>.*?)```\n", re.S)


def test_the_page_has_examples() -> None:
    assert len(EXAMPLE.findall(PAGE.read_text())) >= 5


def run_examples(folder: Path) -> list[tuple[re.Match[str], subprocess.CompletedProcess[str]]]:
    """Each example of the page, run with bash against a live server on a fresh store."""
    db = f"sqlite:///{folder / 'docs.db'}"
    keys = make_keys(db)
    server = LiveServer(folder, db).start()
    env = {
        **os.environ,
        "SEQQUIZ_URL": server.url,
        "KEY": keys["grade"],
        "SOLVE_KEY": keys["solve"],
    }
    runs = []
    try:
        for m in EXAMPLE.finditer(PAGE.read_text()):
            run = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", m["code"]],
                capture_output=True,
                text=True,
                env=env,
                cwd=folder,
                timeout=120,
            )
            runs.append((m, run))
    finally:
        server.stop()
    return runs


def test_every_curl_example_prints_what_the_page_shows(tmp_path: Path) -> None:
    failures = [
        (m["code"], m["out"], run.stdout, run.stderr)
        for m, run in run_examples(tmp_path)
        if run.returncode != 0 or run.stdout.rstrip("\n") != m["out"].rstrip("\n")
    ]
    if failures:
        pytest.fail(
            "\n\n".join(f"{c}\nexpected:\n{o}\ngot:\n{g}\n{e}" for c, o, g, e in failures)
            + "\n\nIf the new output is right: python tests/web/test_docs.py --update"
        )


def update() -> None:
    """Write each example's real output under it (after a change that alters what it prints:
    a template's version, a feedback sentence)."""
    with tempfile.TemporaryDirectory() as folder:
        runs = run_examples(Path(folder))
    text = PAGE.read_text()
    for m, run in reversed(runs):  # from the end, so earlier offsets stay valid
        if run.returncode != 0:
            sys.exit(f"an example failed (exit {run.returncode}):\n{m['code']}\n{run.stderr}")
        start, end = m.span("out")
        text = text[:start] + run.stdout.rstrip("\n") + "\n" + text[end:]
    PAGE.write_text(text)


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/web/test_docs.py --update")
    update()
