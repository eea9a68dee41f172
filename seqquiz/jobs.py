"""The jobs behind the CLI and the queue, as pure functions of JSON-shaped input: solve, grade,
grade a batch, generate a set. No I/O here; `seqquiz.cli` and `worker` do that."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from generators import (
    REGISTRY,
    ParamError,
    TemplateError,
    check_version,
    grade_response,
    make_variant,
)
from generators.core.variants import resolve
from generators.core.variants import solve as solve_answers
from grader import GraderError


class SubmissionError(TemplateError):
    """Raised when a submission object lacks a field or has one of the wrong type."""

    code = "invalid-submission"


SUBMISSION_ID_MAX_CHARS = 256
SUBMISSION_ID_INT_RANGE = (-(2**63), 2**63 - 1)


def check_submission_id(sid: Any) -> str | int | None:
    """The one rule for submission ids, on every path (local, queue, single grade): a string of
    1 to 256 characters or an integer within the signed 64-bit range; None when absent. Anything
    else raises `SubmissionError`. Booleans and floats are refused, not coerced: Python takes
    `true == 1 == 1.0` as one key, so a lenient path would mark a later id 1 as a duplicate or
    answer it with the grade stored for `true`."""
    if sid is None:
        return None
    if type(sid) is str:
        if 1 <= len(sid) <= SUBMISSION_ID_MAX_CHARS:
            return sid
    elif type(sid) is int:
        low, high = SUBMISSION_ID_INT_RANGE
        if low <= sid <= high:
            return sid
    raise SubmissionError(
        f"submission_id: must be a string of 1 to {SUBMISSION_ID_MAX_CHARS} characters or an "
        f"integer from -2^63 to 2^63-1 (got {_shown(sid)})"
    )


def submission_id_of(sub: Any) -> tuple[str | int | None, dict[str, Any] | None]:
    """(the valid id of a parsed submission or None, None) or (None, the refusal as an error
    message object); a submission that is not an object has no id."""
    if not isinstance(sub, dict):
        return None, None
    try:
        return check_submission_id(sub.get("submission_id")), None
    except SubmissionError as exc:
        return None, {"code": SubmissionError.code, "message": str(exc)}


def _shown(value: Any) -> str:
    """A value as JSON (how the user wrote it), cut short; repr when it is not JSON-shaped."""
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _field(
    obj: Mapping[str, Any], name: str, kinds: type | tuple[type, ...], required: bool = True
) -> Any:
    value = obj.get(name)
    if value is None:
        if required:
            raise SubmissionError(f"{name}: is required")
        return None
    if type(value) is kinds:  # the common case, checked first: this runs for every submission
        return value
    if isinstance(value, bool) or not isinstance(value, kinds):
        shown = repr(value)[:60]
        names = (
            kinds.__name__ if isinstance(kinds, type) else " or ".join(k.__name__ for k in kinds)
        )
        raise SubmissionError(f"{name}: must be {names} (got {shown})")
    return value


def _variant_key(payload: Mapping[str, Any]) -> tuple[Any, int | None, dict[str, Any] | None]:
    if type(payload) is not dict and not isinstance(payload, Mapping):
        raise SubmissionError(f"submission must be a JSON object (got {type(payload).__name__})")
    template = REGISTRY.get(_field(payload, "template", str))
    check_version(template, payload.get("version"))
    seed = _field(payload, "seed", int, required=False)
    params = _field(payload, "params", dict, required=False)
    if seed is None and params is None:
        raise SubmissionError("seed or params: one of them is required")
    return template, seed, params


def solve(payload: Mapping[str, Any]) -> dict[str, Any]:
    """`{"template", "seed"?, "params"?}` -> the template's every answer and the full params."""
    template, seed, params = _variant_key(payload)
    full = resolve(template, seed, params)
    return {
        "template": template.id,
        "version": template.version,
        "seed": seed,
        "params": full,
        "answers": solve_answers(template, full),
    }


def grade(payload: Mapping[str, Any]) -> dict[str, Any]:
    """`{"template", "seed" | "params", "response", "tolerance"?, "points"?}` -> score and parts."""
    template, seed, params = _variant_key(payload)
    response = _field(payload, "response", dict)
    tolerance = _field(payload, "tolerance", dict, required=False)
    points = _field(payload, "points", dict, required=False)
    return grade_response(template, seed, params, response, tolerance, points).to_json()


def error_result(
    submission_id: Any, code: str, message: str, line: int | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "submission_id": submission_id,
        "error": {"code": code, "message": message},
    }
    if line is not None:
        out["line"] = line
    return out


def grade_submission(sub: Any, line: int | None = None) -> dict[str, Any]:
    """One batch submission -> its result, or a structured error result; never raises for bad
    input (an internal error is reported as code `internal-error`)."""
    sid, refused = submission_id_of(sub)
    if refused is not None:  # echoed as null: an invalid id must not be matched as if valid
        return error_result(None, refused["code"], refused["message"], line)
    try:
        result = grade(sub)
    except (TemplateError, GraderError) as exc:
        return error_result(sid, getattr(exc, "code", "invalid-submission"), str(exc), line)
    except Exception as exc:  # a bug must cost one line, not the batch
        return error_result(sid, "internal-error", f"{type(exc).__name__}: {exc}", line)
    return {"submission_id": sid, **result}


def parse_line(raw: bytes | str, line: int) -> tuple[Any, dict[str, Any] | None]:
    """A JSONL line -> (submission, None) or (None, error result)."""
    try:
        return orjson.loads(raw), None
    except orjson.JSONDecodeError as exc:
        return None, error_result(None, "bad-json", f"line {line}: not valid JSON ({exc})", line)


def grade_lines(lines: Iterable[bytes | str], first_line: int = 1) -> Iterator[dict[str, Any]]:
    """Grade JSONL submissions one a line; yields exactly one result per non-blank input line. A
    submission id seen before in the same batch gets a `duplicate-submission` error: one grade per
    submission id."""
    seen: dict[Any, int] = {}
    for n, raw in enumerate(lines, first_line):
        if not raw.strip():
            continue
        sub, err = parse_line(raw, n)
        if err is not None:
            yield err
            continue
        sid, _ = submission_id_of(sub)
        if sid is not None:
            if sid in seen:
                yield error_result(
                    sid,
                    "duplicate-submission",
                    f"submission_id {sid!r} was already graded on line {seen[sid]}",
                    n,
                )
                continue
            seen[sid] = n
        yield grade_submission(sub, n)


def generate(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`{"template", "seed"?, "count"?, "params"?, "tolerance"?, "answers"?}` -> variants as JSON."""
    if not isinstance(payload, Mapping):
        raise SubmissionError(f"request must be a JSON object (got {type(payload).__name__})")
    template = REGISTRY.get(_field(payload, "template", str))
    seed = _field(payload, "seed", int, required=False) or 0
    count = _field(payload, "count", int, required=False) or 1
    if not 1 <= count <= 100_000:
        raise ParamError("count", count, "must be from 1 to 100000")
    params = _field(payload, "params", dict, required=False)
    tolerance = _field(payload, "tolerance", dict, required=False)
    with_answers = payload.get("answers", True) is not False
    return [
        make_variant(template, seed + i, params, tolerance).to_json(with_answers)
        for i in range(count)
    ]
