"""An LMS-side client of the seqquiz workers that does not import seqquiz: plain Celery, tasks
called by name with `send_task`, JSON only.

    python examples/lms_client.py solve '{"template": "rnn-forward", "seed": 3}'
    python examples/lms_client.py grade '{"template": "rnn-forward", "seed": 3,
        "response": {"h_1": "0.06"}, "submission_id": "alice-q3"}'
    python examples/lms_client.py generate-set '{"template": "rnn-forward", "count": 2}'
    python examples/lms_client.py grade-batch submissions.jsonl [--batch-id ID] [--chunk-size N]

Prints each result as JSON (grade-batch: one line per submission, in input order). Needs only
`pip install celery redis`; the broker and result backend come from SEQQUIZ_BROKER_URL and
SEQQUIZ_RESULT_BACKEND (default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from typing import Any

from celery import Celery

REDIS = "redis://127.0.0.1:6379/0"

app = Celery(
    "lms",
    broker=os.environ.get("SEQQUIZ_BROKER_URL") or REDIS,
    backend=os.environ.get("SEQQUIZ_RESULT_BACKEND") or REDIS,
)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_accept_content=["json"],
    # The workers consume two queues; a task sent to any other queue waits forever.
    task_routes={
        "seqquiz.solve": {"queue": "interactive"},
        "seqquiz.grade": {"queue": "interactive"},
        "seqquiz.grade_batch": {"queue": "batch"},
        "seqquiz.generate_set": {"queue": "batch"},
    },
    broker_connection_retry_on_startup=True,
)


def call(task: str, payload: dict[str, Any], timeout: float = 60.0) -> Any:
    """Send one task by name and wait for its result."""
    return app.send_task(task, args=[payload]).get(timeout=timeout)


def grade_file(path: str, batch_id: str, chunk_size: int) -> list[dict[str, Any]]:
    """Send a JSONL file of submissions in chunks under one batch id; gather the results in
    input order. Each line goes as its text, so the workers parse it exactly as the local
    `grade-batch` does (a bad line becomes its own `bad-json` result). Resending a chunk (a retry
    after a timeout) is safe: the workers answer a submission id they already graded in this
    batch with the result they stored. Unlike `seqquiz grade-batch --queue`, this small client
    does not turn a repeated submission id in another chunk into a `duplicate-submission` line."""
    subs: list[Any] = []
    lines: list[int] = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, raw in enumerate(f, 1):
            if raw.strip():
                subs.append(raw.rstrip("\n"))
                lines.append(n)
    pending = [
        app.send_task(
            "seqquiz.grade_batch",
            args=[
                {
                    "batch_id": batch_id,
                    "submissions": subs[i : i + chunk_size],
                    "lines": lines[i : i + chunk_size],
                }
            ],
        )
        for i in range(0, len(subs), chunk_size)
    ]
    results: list[dict[str, Any]] = []
    for r in pending:
        out = r.get(timeout=600)
        if isinstance(out, dict) and "error" in out:  # the request itself was refused
            raise SystemExit(f"grade_batch refused a chunk: {out['error']}")
        results += out
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["solve", "grade", "generate-set", "grade-batch"])
    parser.add_argument("argument", help="a JSON object, or for grade-batch a JSONL file")
    parser.add_argument("--batch-id", default=None)
    parser.add_argument("--chunk-size", type=int, default=200)
    args = parser.parse_args(argv)
    if args.command == "grade-batch":
        batch_id = args.batch_id or uuid.uuid4().hex
        for result in grade_file(args.argument, batch_id, args.chunk_size):
            print(json.dumps(result))
        return 0
    task = {"solve": "seqquiz.solve", "grade": "seqquiz.grade"}.get(
        args.command, "seqquiz.generate_set"
    )
    print(json.dumps(call(task, json.loads(args.argument))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
