"""Typed errors of the generators; each has a stable `code` used in batch error results."""

from __future__ import annotations

from typing import Any, ClassVar

from grader.errors import SeqquizError


class TemplateError(SeqquizError):
    """Base class of every error raised by templates and the registry."""

    code: ClassVar[str] = "template-error"


class FieldError(TemplateError, ValueError):
    """Raised when one field of an input is missing, malformed or out of range; the message names
    the field (dotted path) and shows the value."""

    code: ClassVar[str] = "invalid-field"
    prefix = ""

    def __init__(self, field: str, value: Any, reason: str) -> None:
        self.field = field
        self.value = value
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        if len(field) > 80:  # a field named by its input (a 1 MB response key) is not echoed
            field = field[:77] + "..."
        super().__init__(f"{self.prefix}{field}: {reason} (got {shown})")


class ParamError(FieldError):
    """Raised when a template parameter is missing, malformed or out of range."""

    code: ClassVar[str] = "invalid-params"
    prefix = "params."


class ResponseError(FieldError):
    """Raised when a response as a whole is unusable (not its parts: those grade as invalid)."""

    code: ClassVar[str] = "invalid-response"


class UnknownTemplateError(TemplateError, LookupError):
    """Raised when a template id is not in the registry."""

    code: ClassVar[str] = "unknown-template"


class VersionError(TemplateError):
    """Raised when a submission names a template version this installation cannot grade."""

    code: ClassVar[str] = "version-mismatch"


class DuplicateTemplateError(TemplateError):
    """Raised when two templates register the same id."""

    code: ClassVar[str] = "duplicate-template"


class SamplingError(TemplateError):
    """Raised when the sampler cannot find a well-posed variant around the fixed params."""

    code: ClassVar[str] = "sampling-failed"
