"""The jobs behind the CLI and the queue, as pure functions of JSON-shaped input: solve, grade,
grade a batch, generate a set. No files or network here; `seqquiz.cli` and `worker` do that."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

import orjson

from generators import (
    REGISTRY,
    TemplateError,
    Variant,
    check_version,
    grade_response,
    make_variant,
)
from generators.core.variants import resolve
from generators.core.variants import solve as solve_answers
from grader import GraderError
from grader.parse import loads_json, loads_json_exact

# Size limits, one set for every door (the CLI, the queue's generate_set, the web API); the
# README's "Limits" section states them. Beyond them a request is refused, never truncated.
MAX_VARIANTS_STREAMED = 100_000  # `generate` in a streamed format: json, student-json, markdown
MAX_VARIANTS_IN_MEMORY = 10_000  # a set built whole: LMS and print exports, a problem set's total
MAX_VARIANTS_PER_RESULT = 1_000  # one generate job's result: one Redis value, one HTTP body
INT_LIMIT = 2**63  # integers in params, tolerances and points stay within +-2^63
MAX_MESSAGE = 500  # characters of an error message


class SubmissionError(TemplateError):
    """Raised when a submission object lacks a field or has one of the wrong type."""

    code = "invalid-submission"


def check_ints(value: Any, where: str) -> None:
    """Refuse integers beyond +-2^63 anywhere in a JSON or TOML value: a float conversion deep in
    a template or the grader would overflow on them. Iterative: JSON may nest 1024 deep."""
    stack: list[tuple[str, Any]] = [(where, value)]
    while stack:
        path, v = stack.pop()
        if type(v) is int and not -INT_LIMIT <= v < INT_LIMIT:
            raise SubmissionError(f"{path}: integers must be within +-2^63 (got {_digits(v)})")
        if isinstance(v, dict):
            stack.extend((f"{path}.{k}", x) for k, x in v.items())
        elif isinstance(v, list):
            stack.extend((f"{path}[{i}]", x) for i, x in enumerate(v))


def _digits(n: int) -> str:
    text = (
        str(n)
        if n.bit_length() < 256
        else f"an integer of about {int(n.bit_length() * 0.30103)} digits"
    )
    return text if len(text) <= 40 else text[:37] + "..."


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


def error_result(
    submission_id: Any, code: str, message: str, line: int | None = None
) -> dict[str, Any]:
    if len(message) > MAX_MESSAGE:  # a message quoting a huge value must not echo it back
        message = message[: MAX_MESSAGE - 3] + "..."
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


BOM = b"\xef\xbb\xbf"
_EOL = re.compile(rb"\r\n|\r|\n")


def loads(raw: bytes | str) -> Any:
    """JSON text -> value (`grader.parse.loads_json`: orjson, except that numbers no float holds
    become "number too large" parts). Raises ValueError with the reason."""
    return loads_json(raw)


def jsonl_lines(src: IO[bytes], chunk: int = 1 << 16) -> Iterator[bytes]:
    """The lines of a JSONL stream without their ends: a line ends at LF, CRLF or a lone CR (old
    Mac editors), and a UTF-8 BOM before the first line (Windows editors) is dropped. Reads in
    chunks, so one huge line costs its size once."""
    read = getattr(src, "read1", src.read)  # read1: a pipe's lines are graded as they come
    buf = bytearray()
    while len(buf) < len(BOM) and (data := read(chunk)):
        buf += data
    if buf.startswith(BOM):
        del buf[: len(BOM)]
    scan = 0  # buf[:scan] holds no line end (but a last CR, when scan points at it)
    while True:
        if buf.find(b"\r", scan) < 0:  # LF only, the common case: split at C speed
            last = buf.rfind(b"\n", scan)
            if last >= 0:
                yield from bytes(buf[:last]).split(b"\n")
                del buf[: last + 1]
            scan = len(buf)
        else:
            start = 0
            for m in _EOL.finditer(buf, scan):
                if m.end() == len(buf) and m.group() == b"\r":
                    break  # the next chunk may start with the LF of a CRLF
                yield bytes(buf[start : m.start()])
                start = m.end()
            del buf[:start]
            scan = max(len(buf) - 1, 0)
        data = read(chunk)
        if not data:
            break
        buf += data
    if buf:
        yield bytes(buf.removesuffix(b"\r"))


def parse_line(raw: bytes | str, line: int) -> tuple[Any, dict[str, Any] | None]:
    """A JSONL line -> (submission, None) or (None, error result)."""
    if line == 1:
        raw = raw.removeprefix(BOM) if isinstance(raw, bytes) else raw.removeprefix("\ufeff")
    try:
        sub = loads_json(raw)
        if type(sub) is dict and type(sub.get("submission_id")) is float:
            # orjson turned an id beyond 64 bits into a float: read it again exactly, so the id
            # rule judges the integer the client sent.
            sub = loads_json_exact(raw)
        return sub, None
    except ValueError as exc:
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
