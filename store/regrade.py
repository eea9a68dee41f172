"""Regrade stored submissions with today's code or a new tolerance: what would change (old
score, new score, why), and with `apply` the new result stored beside the old one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

import jobs
from grader.errors import SeqquizError
from store.db import Store


@dataclass(frozen=True)
class Change:
    row: int
    submission_id: str | None
    batch_id: str | None
    template: str
    old_score: float | None
    new_score: float | None
    why: str
    result: bytes | None  # the new result to store; None when it could not be regraded

    def to_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "submission_id": self.submission_id,
            "batch_id": self.batch_id,
            "template": self.template,
            "old_score": self.old_score,
            "new_score": self.new_score,
            "why": self.why,
        }


@dataclass(frozen=True)
class Report:
    checked: int
    changes: list[Change]
    applied: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "changed": len(self.changes),
            "applied": self.applied,
            "changes": [c.to_json() for c in self.changes],
        }


def _loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def _request(row: Any, tolerance: dict[str, Any] | None) -> dict[str, Any]:
    req: dict[str, Any] = {"template": row.template, "version": row.version}
    if row.seed is not None:
        req["seed"] = row.seed
    for name in ("params", "response", "points"):
        value = _loads(getattr(row, name))
        if value is not None:
            req[name] = value
    stored_tol = _loads(row.tolerance)
    if tolerance is not None:
        # A new tolerance overrides the stored one part by part; the rest is kept.
        req["tolerance"] = {**(stored_tol or {}), **tolerance}
    elif stored_tol is not None:
        req["tolerance"] = stored_tol
    return req


def _why(old: dict[str, Any], new: dict[str, Any]) -> str:
    reasons = []
    old_parts, new_parts = old.get("parts", {}), new.get("parts", {})
    for pid in sorted(set(old_parts) | set(new_parts)):
        a, b = old_parts.get(pid), new_parts.get(pid)
        if a == b:
            continue
        if a is None or b is None:
            reasons.append(f"{pid}: {'now asked' if a is None else 'no longer asked'}")
            continue
        if a.get("correct") != b.get("correct") or a.get("score") != b.get("score"):
            verdict = "correct" if b.get("correct") else "incorrect"
            reasons.append(
                f"{pid}: {a.get('score')} -> {b.get('score')} ({verdict}: {b.get('feedback', '')})"
            )
        else:
            reasons.append(f"{pid}: feedback changed ({b.get('feedback', '')})")
    return "; ".join(reasons) or "result changed"


def regrade(
    store: Store,
    template: str | None = None,
    since: datetime | None = None,
    tolerance: dict[str, Any] | None = None,
    apply: bool = False,
) -> Report:
    """Grade every stored graded submission again (filtered by template and time) and compare
    with its current result (the newest regrade, else the original)."""
    rows = list(store.graded_submissions(template, since))
    current = store.latest_results(r.id for r in rows)
    changes: list[Change] = []
    for row in rows:
        old_bytes = current.get(row.id, bytes(row.result))
        old = orjson.loads(old_bytes)
        try:
            graded = jobs.grade(_request(row, tolerance))
        except SeqquizError as exc:
            changes.append(
                Change(
                    row.id,
                    row.submission_id,
                    row.batch_id,
                    row.template,
                    old.get("score"),
                    None,
                    f"not regraded: {exc.code}: {exc}",
                    None,
                )
            )
            continue
        # A batch line keeps its shape: the submission id first, as grade-batch writes it.
        new = {"submission_id": old.get("submission_id"), **graded} if row.batch_id else graded
        new_bytes = orjson.dumps(new)
        if new_bytes == old_bytes:
            continue
        changes.append(
            Change(
                row.id,
                row.submission_id,
                row.batch_id,
                row.template,
                old.get("score"),
                new["score"],
                _why(old, new),
                new_bytes,
            )
        )
    if apply:
        store.add_regrades(
            [
                {
                    "submission_row": c.row,
                    "old_score": c.old_score,
                    "new_score": c.new_score,
                    "tolerance": None if tolerance is None else orjson.dumps(tolerance).decode(),
                    "reason": c.why,
                    "result": c.result,
                }
                for c in changes
                if c.result is not None
            ]
        )
    return Report(len(rows), changes, apply)
