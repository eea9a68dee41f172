"""Grade results: one frozen record per part and the weighted total."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.answers import AnswerSpec


class Status(StrEnum):
    CORRECT = "correct"
    PARTIAL = "partial"
    INCORRECT = "incorrect"
    INVALID = "invalid"  # the response could not be read; the message says why
    MISSING = "missing"  # the part was asked but not answered


@dataclass(frozen=True, slots=True)
class PartResult:
    score: float
    status: Status
    feedback: str
    misconception: str | None = None

    @property
    def correct(self) -> bool:
        return self.status is Status.CORRECT

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "correct": self.status is Status.CORRECT,
            "status": self.status.value,
            "feedback": self.feedback,
            "misconception": self.misconception,
        }


@dataclass(frozen=True, slots=True)
class GradeResult:
    score: float
    parts: Mapping[str, PartResult]

    def to_json(self) -> dict[str, Any]:
        return {"score": self.score, "parts": {k: v.to_json() for k, v in self.parts.items()}}


MISSING = PartResult(0.0, Status.MISSING, "No answer was given for this part.")


def carried_forward(
    part_id: str,
    spec: Any,
    carry: Any,
    response: Mapping[str, Any],
    parts: Mapping[str, PartResult],
) -> PartResult:
    """Partial credit for right working from the student's own wrong earlier answers; the part's
    own result stands when that working does not explain the answer either."""
    from grader.parse import ParseSuccess, parse_number

    own: dict[str, float] = {}
    for pid in carry.inputs:
        if pid in parts and parts[pid].status is Status.INCORRECT:
            parsed = parse_number(response.get(pid))
            if isinstance(parsed, ParseSuccess):
                own[pid] = parsed.value
    mine = parse_number(response.get(part_id))
    if not own or not isinstance(mine, ParseSuccess):
        return parts[part_id]
    reference = carry.compute(own)
    if reference is None or not spec.tolerance.accepts(mine.value, reference):
        return parts[part_id]
    names = ", ".join(sorted(own))
    return PartResult(
        carry.credit,
        Status.PARTIAL,
        f"Right method, carried forward from your own value(s) of {names}, which are wrong: "
        f"{carry.credit:g} of the credit.",
    )


def grade_parts(
    specs: Mapping[str, AnswerSpec],
    response: Mapping[str, Any],
    points: Mapping[str, float] | None = None,
) -> GradeResult:
    """Grade every asked part; the total is the points-weighted mean of the part scores."""
    parts: dict[str, PartResult] = {}
    for part_id, spec in specs.items():
        raw = response.get(part_id)
        parts[part_id] = MISSING if raw is None else spec.grade(raw)
    for part_id, spec in specs.items():
        carry = getattr(spec, "carry", None)
        if carry is not None and parts[part_id].status is Status.INCORRECT:
            parts[part_id] = carried_forward(part_id, spec, carry, response, parts)
    total = weight = 0.0
    for part_id, result in parts.items():
        w = 1.0 if points is None else points.get(part_id, 1.0)
        total += w * result.score
        weight += w
    score = round(total / weight, 6) if weight else 0.0
    return GradeResult(score, parts)
