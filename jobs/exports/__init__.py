"""LMS and print exports, and `FORMATS`: the registry of every output format by name (the built-in
JSON and Markdown writers of `jobs.formats`, then one format per export module)."""

from __future__ import annotations

from jobs.exports import gift, html, latex, moodle, qti12, qti21
from jobs.formats import BUILT_IN, Format


def _registry(formats: tuple[Format, ...]) -> dict[str, Format]:
    out: dict[str, Format] = {}
    for fmt in formats:
        if fmt.name in out:
            raise ValueError(f"format {fmt.name!r} is registered twice")
        out[fmt.name] = fmt
    return out


FORMATS: dict[str, Format] = _registry(
    (*BUILT_IN, *(m.FORMAT for m in (moodle, gift, html, latex, qti12, qti21)))
)

__all__ = ["FORMATS", "gift", "html", "latex", "moodle", "qti12", "qti21"]
