"""How long the queue commands take to say that Redis is unreachable (target: within 10 s, one
line, non-zero exit), for a port where nothing listens and a name that does not resolve.

    python bench/broker_down_bench.py

Runs `seqquiz batch status`, `seqquiz batch results` and `seqquiz grade-batch --queue` as
subprocesses (interpreter start-up included, as a user sees it) and prints one line each.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from worker.testing import free_port, worker_env  # noqa: E402

TARGET = 10.0


def main() -> int:
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        infile = Path(tmp) / "in.jsonl"
        infile.write_text('{"submission_id": "a", "template": "rnn-forward", "seed": 1}\n')
        urls = {
            "closed port": f"redis://:secret@127.0.0.1:{free_port()}/0",
            "unknown host": "redis://:secret@no-such-host.invalid:6379/0",
        }
        commands = {
            "batch status": ["batch", "status", "b1"],
            "batch results": ["batch", "results", "b1"],
            "grade-batch --queue": ["grade-batch", str(infile), "--queue"],
        }
        for where, url in urls.items():
            for name, args in commands.items():
                start = time.monotonic()
                proc = subprocess.run(
                    [sys.executable, "-m", "seqquiz", *args],
                    env={**worker_env(url), "PYTHONPATH": os.pathsep.join([str(REPO)])},
                    cwd=REPO,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                took = time.monotonic() - start
                worst = max(worst, took)
                lines = proc.stderr.count("\n")
                print(f"{where:12}  {name:20}  {took:5.2f} s  exit {proc.returncode}  {lines} line")
    print(
        f"worst {worst:.2f} s (target <= {TARGET:.0f} s): {'ok' if worst <= TARGET else 'MISSED'}"
    )
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
