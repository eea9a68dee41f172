"""Grade results: one frozen record per part and the weighted total."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from grader.errors import GraderError
from grader.sandbox import budget

if TYPE_CHECKING:
    from grader.answers import AnswerSpec

# Wall clock for all the sandboxed checks (formula parts) of one submission together.
SUBMISSION_CHECK_SECONDS = 4.0
# Not the answer's fault, so never a part's `invalid`: a service error (say the formula sandbox
# cannot start) and whatever the host registers with `pass_through` (its time limit on the whole
# job) go on to the job, which reports them. A BaseException that is no Exception (an interrupt,
# an exit) passes anyway: the guard catches Exception only.
_NOT_THE_ANSWERS: tuple[type[BaseException], ...] = (GraderError,)


def pass_through(*kinds: type[BaseException]) -> None:
    """Let `kinds` through the grading guard to the job instead of marking the part `invalid`.
    For a host whose time limit is an ordinary exception (Celery's SoftTimeLimitExceeded): it
    registers it at start-up, so the grader need not know the host."""
    global _NOT_THE_ANSWERS
    _NOT_THE_ANSWERS = (*_NOT_THE_ANSWERS, *(k for k in kinds if k not in _NOT_THE_ANSWERS))


def passes_through() -> tuple[type[BaseException], ...]:
    """The exceptions the grading guard lets through (GraderError and what hosts registered)."""
    return _NOT_THE_ANSWERS


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
    # The JSON form, made once: a class's many right answers share one PartResult. Read-only.
    _json: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def correct(self) -> bool:
        return self.status is Status.CORRECT

    def to_json(self) -> dict[str, Any]:
        if self._json is None:
            object.__setattr__(
                self,
                "_json",
                {
                    "score": self.score,
                    "correct": self.status is Status.CORRECT,
                    "status": self.status.value,
                    "feedback": self.feedback,
                    "misconception": self.misconception,
                },
            )
        return self._json  # type: ignore[return-value]


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
    try:
        reference = carry.compute(own)
    except (ArithmeticError, ValueError):  # the student's own numbers overflow the working
        reference = None
    if reference is None or not spec.tolerance.accepts(mine.value, reference):
        return parts[part_id]
    names = ", ".join(sorted(own))
    return PartResult(
        carry.credit,
        Status.PARTIAL,
        f"Right method, carried forward from your own value(s) of {names}, which are wrong: "
        f"{carry.credit:g} of the credit.",
    )


def safe_grade(spec: Any, raw: Any) -> PartResult:
    """A student's text must never crash a grade: a bug in reading it costs that part only."""
    try:
        return spec.grade(raw)
    except _NOT_THE_ANSWERS:
        raise
    except Exception as exc:
        return PartResult(0.0, Status.INVALID, f"could not read this answer ({type(exc).__name__})")


def grade_parts(
    specs: Mapping[str, AnswerSpec],
    response: Mapping[str, Any],
    points: Mapping[str, float] | None = None,
) -> GradeResult:
    """Grade every asked part; the total is the points-weighted mean of the part scores."""
    parts: dict[str, PartResult] = {}
    carries = False
    with budget(SUBMISSION_CHECK_SECONDS):
        for part_id, spec in specs.items():
            raw = response.get(part_id)
            parts[part_id] = MISSING if raw is None else safe_grade(spec, raw)
            carries = carries or getattr(spec, "carry", None) is not None
    if carries:
        for part_id, spec in specs.items():
            carry = getattr(spec, "carry", None)
            if carry is not None and parts[part_id].status is Status.INCORRECT:
                parts[part_id] = carried_forward(part_id, spec, carry, response, parts)
    if points is None:
        total = sum(r.score for r in parts.values())
        weight = float(len(parts))
    else:
        total = weight = 0.0
        for part_id, result in parts.items():
            w = points.get(part_id, points.get("*", 1.0))
            total += w * result.score
            weight += w
    score = round(total / weight, 6) if weight else 0.0
    return GradeResult(score, parts)
