"""The jobs below every door: JSON in, JSON out (`jobs.core`: solve, grade, grade_submission,
grade_lines, generate), the JSON-lines side of batches (`jobs.submissions`: limits, the
submission-id rule, error results, JSONL reading, the duplicate-submission planner), the output
formats and LMS exports (`jobs.formats`, `jobs.exports`) and problem sets (`jobs.problem_set`).

`import jobs` then `jobs.grade(...)`: the names of `jobs.core` and `jobs.submissions` are read
from here, and `jobs.core` (which needs SymPy through the generators) is imported on first use,
so a door that only reads a batch file or asks a batch's status starts in a fraction of a second.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from jobs.submissions import (
    BOM,
    INT_LIMIT,
    MAX_MESSAGE,
    MAX_VARIANTS_IN_MEMORY,
    MAX_VARIANTS_PER_RESULT,
    MAX_VARIANTS_STREAMED,
    SUBMISSION_ID_INT_RANGE,
    SUBMISSION_ID_MAX_CHARS,
    Planned,
    SubmissionError,
    check_ints,
    check_submission_id,
    error_result,
    jsonl_lines,
    loads,
    parse_line,
    plan_submissions,
    submission_id_of,
)

if TYPE_CHECKING:
    from jobs.core import (
        check_count,
        generate,
        grade,
        grade_lines,
        grade_submission,
        solve,
        variants,
    )

__version__ = "0.1.0"

_CORE = frozenset(
    {"check_count", "generate", "grade", "grade_lines", "grade_submission", "solve", "variants"}
)


def __getattr__(name: str) -> Any:
    if name in _CORE:
        value = getattr(importlib.import_module("jobs.core"), name)
        globals()[name] = value  # later lookups are plain attribute reads, on the hot path too
        return value
    raise AttributeError(f"module 'jobs' has no attribute {name!r}")


__all__ = [
    "BOM",
    "INT_LIMIT",
    "MAX_MESSAGE",
    "MAX_VARIANTS_IN_MEMORY",
    "MAX_VARIANTS_PER_RESULT",
    "MAX_VARIANTS_STREAMED",
    "SUBMISSION_ID_INT_RANGE",
    "SUBMISSION_ID_MAX_CHARS",
    "Planned",
    "SubmissionError",
    "__version__",
    "check_count",
    "check_ints",
    "check_submission_id",
    "error_result",
    "generate",
    "grade",
    "grade_lines",
    "grade_submission",
    "jsonl_lines",
    "loads",
    "parse_line",
    "plan_submissions",
    "solve",
    "submission_id_of",
    "variants",
]
