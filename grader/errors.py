"""The error root of seqquiz and the grader's own errors: author and configuration mistakes, never
a student's typing (that is an `invalid` part, not an exception).

Every error seqquiz raises on purpose derives from `SeqquizError` and carries a `code`, the stable
name that reaches the user: the CLI's message, a queue job's `{"error": {"code"}}`, the HTTP
problem's `code`. It lives here, in the lowest layer, so that every package can raise and catch it.
"""

from __future__ import annotations

from typing import ClassVar


class SeqquizError(Exception):
    """Base class of every error seqquiz raises on purpose. Catch this to report any of them;
    `code` says which."""

    code: ClassVar[str] = "seqquiz-error"


class GraderError(SeqquizError):
    """Raised when the grader cannot grade for a reason that is not the student's response."""

    code: ClassVar[str] = "grader-error"


class SpecError(GraderError, ValueError):
    """Raised when an answer spec or tolerance is malformed; the message names the field and value."""

    code: ClassVar[str] = "invalid-spec"
