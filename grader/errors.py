"""Typed errors of the grader: author and configuration mistakes, never a student's typing."""


class GraderError(Exception):
    """Base class of every error the grader raises."""


class SpecError(GraderError, ValueError):
    """Raised when an answer spec or tolerance is malformed; the message names the field and value."""
