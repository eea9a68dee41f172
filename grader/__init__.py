"""Answer kinds, tolerances, response parsing and feedback: grading that knows nothing of RNNs.

The names below are read from here (`from grader import NumericAnswer`) and their modules are
imported on first use: `grader.errors` and `grader.parse` stay cheap for a door that needs only
them, without SymPy (which `grader.symbolic_answer` brings)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from grader.errors import GraderError, SeqquizError, SpecError

if TYPE_CHECKING:
    from grader.answers import (
        AnswerSpec,
        BitStringAnswer,
        ChoiceAnswer,
        IntSequenceAnswer,
        MultiSelectAnswer,
        NumericAnswer,
        VectorAnswer,
        spec_from_json,
    )
    from grader.result import GradeResult, PartResult, Status, grade_parts
    from grader.symbolic_answer import SymbolicAnswer
    from grader.tolerance import Tolerance, ToleranceMode

_HOME = {
    "AnswerSpec": "grader.answers",
    "BitStringAnswer": "grader.answers",
    "ChoiceAnswer": "grader.answers",
    "IntSequenceAnswer": "grader.answers",
    "MultiSelectAnswer": "grader.answers",
    "NumericAnswer": "grader.answers",
    "VectorAnswer": "grader.answers",
    "spec_from_json": "grader.answers",
    "GradeResult": "grader.result",
    "PartResult": "grader.result",
    "Status": "grader.result",
    "grade_parts": "grader.result",
    "SymbolicAnswer": "grader.symbolic_answer",
    "Tolerance": "grader.tolerance",
    "ToleranceMode": "grader.tolerance",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'grader' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


__all__ = [
    "AnswerSpec",
    "BitStringAnswer",
    "ChoiceAnswer",
    "GradeResult",
    "GraderError",
    "IntSequenceAnswer",
    "MultiSelectAnswer",
    "NumericAnswer",
    "PartResult",
    "SeqquizError",
    "SpecError",
    "Status",
    "SymbolicAnswer",
    "Tolerance",
    "ToleranceMode",
    "VectorAnswer",
    "grade_parts",
    "spec_from_json",
]
