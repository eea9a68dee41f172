"""Example responses for any answer kind: what a right answer looks like, and a near miss just
outside what the spec accepts. Each kind owns its examples; these are the lookups the demo's
sample class and the registry-walk tests call."""

from __future__ import annotations

from typing import Any

from grader.answers import AnswerSpec


def correct_response(spec: AnswerSpec) -> Any:
    """What a student who got it right would type."""
    return spec.correct_response()


def near_miss(spec: AnswerSpec) -> Any:
    """A response just outside what the spec accepts."""
    return spec.near_miss()
