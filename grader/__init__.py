"""Answer kinds, tolerances, response parsing and feedback: grading that knows nothing of RNNs."""

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
from grader.errors import GraderError, SpecError
from grader.result import GradeResult, PartResult, Status, grade_parts
from grader.symbolic_answer import SymbolicAnswer
from grader.tolerance import Tolerance, ToleranceMode

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
    "SpecError",
    "Status",
    "SymbolicAnswer",
    "Tolerance",
    "ToleranceMode",
    "VectorAnswer",
    "grade_parts",
    "spec_from_json",
]
