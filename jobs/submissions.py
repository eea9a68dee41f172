"""The JSON-lines side of the jobs, light enough for a door that only reads a batch's file: size
limits, the submission-id rule, error results, JSONL reading and the one duplicate-submission
planner (the local `grade-batch`, the queue's `grade_batch` task and its client all plan with it).
No SymPy here: `seqquiz batch status` imports this without paying for the grader."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import IO, Any, ClassVar, NamedTuple

import orjson

from grader.errors import SeqquizError
from grader.parse import loads_json, loads_json_exact

# Size limits, one set for every door (the CLI, the queue's generate_set, the web API); the
# README's "Limits" section states them. Beyond them a request is refused, never truncated.
MAX_VARIANTS_STREAMED = 100_000  # `generate` in a streamed format: json, student-json, markdown
MAX_VARIANTS_IN_MEMORY = 10_000  # a set built whole: LMS and print exports, a problem set's total
MAX_VARIANTS_PER_RESULT = 1_000  # one generate job's result: one Redis value, one HTTP body
INT_LIMIT = 2**63  # integers in params, tolerances and points stay within +-2^63
MAX_MESSAGE = 500  # characters of an error message


class SubmissionError(SeqquizError, ValueError):
    """Raised when a submission object lacks a field or has one of the wrong type."""

    code: ClassVar[str] = "invalid-submission"


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


_TEXT = (bytes, str)  # a tuple, not `bytes | str`: this runs for every line of a batch


class Planned(NamedTuple):
    """One submission of a batch as planned: `given` is what the caller passed (the JSONL text or
    the object), `sub` the parsed submission, `sid` its valid id or None, and `result` the error
    that is this line's whole result (bad JSON, or an id already seen in the batch), else None.
    (A tuple: a batch plans a hundred thousand of them.)"""

    given: Any
    line: int
    sub: Any
    sid: str | int | None
    result: dict[str, Any] | None


def plan_submissions(entries: Iterable[tuple[Any, int]]) -> Iterator[Planned]:
    """(submission or its JSONL text, line number) pairs -> one `Planned` each, in order: text is
    parsed (bad JSON is an error result), and a submission id seen before in the same batch gets
    a `duplicate-submission` error result: one grade per submission id. Blank lines are the
    caller's to skip (a JSONL file skips them; a queued chunk has none)."""
    seen: dict[Any, int] = {}
    for given, line in entries:
        sub = given
        if isinstance(given, _TEXT):
            sub, err = parse_line(given, line)
            if err is not None:
                yield Planned(given, line, None, None, err)
                continue
        sid, _ = submission_id_of(sub)
        if sid is not None:
            if sid in seen:
                dup = error_result(
                    sid,
                    "duplicate-submission",
                    f"submission_id {sid!r} was already graded on line {seen[sid]}",
                    line,
                )
                yield Planned(given, line, sub, sid, dup)
                continue
            seen[sid] = line
        yield Planned(given, line, sub, sid, None)
