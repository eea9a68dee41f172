"""The jobs behind every door, as pure functions of JSON-shaped input: solve, grade, grade a
submission or a batch, generate a set. No files or network here; the doors (the CLI, `worker`,
`web`) do that."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from generators import (
    REGISTRY,
    Variant,
    check_version,
    grade_response,
    make_variant,
)
from generators.core.variants import resolve
from generators.core.variants import solve as solve_answers
from grader.errors import SeqquizError
from jobs.submissions import (
    MAX_VARIANTS_PER_RESULT,
    SubmissionError,
    check_ints,
    error_result,
    plan_submissions,
    submission_id_of,
)


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
    check_ints(params, "params")
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
    check_ints(tolerance, "tolerance")
    check_ints(points, "points")
    return grade_response(template, seed, params, response, tolerance, points).to_json()


def grade_submission(sub: Any, line: int | None = None) -> dict[str, Any]:
    """One batch submission -> its result, or a structured error result; never raises for bad
    input (an internal error is reported as code `internal-error`)."""
    sid, refused = submission_id_of(sub)
    if refused is not None:  # echoed as null: an invalid id must not be matched as if valid
        return error_result(None, refused["code"], refused["message"], line)
    try:
        result = grade(sub)
    except SeqquizError as exc:
        return error_result(sid, exc.code, str(exc), line)
    except Exception as exc:  # a bug must cost one line, not the batch
        return error_result(sid, "internal-error", f"{type(exc).__name__}: {exc}", line)
    return {"submission_id": sid, **result}


def grade_lines(lines: Iterable[bytes | str], first_line: int = 1) -> Iterator[dict[str, Any]]:
    """Grade JSONL submissions one a line; yields exactly one result per non-blank input line,
    planned by `plan_submissions` (bad JSON, duplicate ids) like the queue's batches."""
    entries = ((raw, n) for n, raw in enumerate(lines, first_line) if raw.strip())
    for item in plan_submissions(entries):
        yield item.result if item.result is not None else grade_submission(item.sub, item.line)


def check_count(count: int, limit: int, why: str = "") -> None:
    # A field of the request, beside the params: named as the request names it.
    if not 1 <= count <= limit:
        raise SubmissionError(f"count: must be from 1 to {limit}{why} (got {count!r})")


def variants(
    template_id: str,
    seed: int,
    count: int,
    params: Mapping[str, Any] | None,
    tolerance: Mapping[str, Any] | None,
    limit: int,
) -> Iterator[Variant]:
    """Variants with seeds seed .. seed+count-1, made one at a time so a caller can stream them.
    Everything is checked before the first one is made."""
    template = REGISTRY.get(template_id)
    check_count(count, limit)
    check_ints(params, "params")
    check_ints(tolerance, "tolerance")
    return (make_variant(template, seed + i, params, tolerance) for i in range(count))


def generate(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`{"template", "seed"?, "count"?, "params"?, "tolerance"?, "answers"?}` -> variants as JSON."""
    if not isinstance(payload, Mapping):
        raise SubmissionError(f"request must be a JSON object (got {type(payload).__name__})")
    template = _field(payload, "template", str)
    seed = _field(payload, "seed", int, required=False) or 0
    count = _field(payload, "count", int, required=False)
    params = _field(payload, "params", dict, required=False)
    tolerance = _field(payload, "tolerance", dict, required=False)
    with_answers = payload.get("answers", True) is not False
    made = variants(
        template,
        seed,
        1 if count is None else count,
        params,
        tolerance,
        MAX_VARIANTS_PER_RESULT,
    )
    return [v.to_json(with_answers) for v in made]
