"""Known mistakes, declared once: a code, a one-line description (the template catalogue and the
README table) and the feedback a student sees, worded per kind of part where that helps."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from grader.answers import Misconception


@dataclass(frozen=True)
class Mistake:
    """A known mistake. `messages` maps a kind of part (a prefix of its id, or a template's own
    key) to the feedback; the key "" is the wording for every other kind."""

    code: str
    description: str
    messages: Mapping[str, str] = field(default_factory=dict)

    def message(self, kind: str = "") -> str:
        """The feedback for a part of this kind."""
        if kind in self.messages:
            return self.messages[kind]
        return self.messages[""]

    def at(self, value: Any, kind: str = "", **fill: Any) -> Misconception:
        """This mistake as the grader sees it: the wrong value it gives and its feedback (with
        the variant's numbers put in by `str.format` when `fill` names them)."""
        text = self.message(kind)
        return Misconception(self.code, value, text.format(**fill) if fill else text)


def catalogue(mistakes: Iterable[Mistake]) -> dict[str, str]:
    """code -> description, as a template declares `misconception_codes`; a code given twice is
    an error, not a silent override."""
    out: dict[str, str] = {}
    for m in mistakes:
        if m.code in out:
            raise ValueError(f"misconception {m.code!r} declared twice")
        out[m.code] = m.description
    return out


def by_code(mistakes: Iterable[Mistake]) -> dict[str, Mistake]:
    """code -> mistake, rejecting a code given twice."""
    out: dict[str, Mistake] = {}
    for m in mistakes:
        if m.code in out:
            raise ValueError(f"misconception {m.code!r} declared twice")
        out[m.code] = m
    return out
