"""Problem-set entries offered by deep linking: a TOML problem set the instructor uploads, or one
the operator installed in the directory named by SEQQUIZ_LTI_PROBLEM_SETS. Each `[[problem]]`
becomes a resource link whose custom parameters (template, params, ask, points) say what it asks;
every student still gets a variant of their own, so an entry's count and seed do not apply."""

from __future__ import annotations

import os
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path

import orjson

from grader.errors import SeqquizError
from jobs.problem_set import Entry, ProblemSet, ProblemSetError, load
from web.lti.activity import Activity, ActivityError

ENV = "SEQQUIZ_LTI_PROBLEM_SETS"
MAX_INSTALLED = 200  # files listed from the directory; more is a misconfiguration


@dataclass(frozen=True)
class Choice:
    """One entry of a set: the link it would add, or why it cannot be one."""

    label: str
    custom: dict[str, str]
    problem: str | None = None


@dataclass(frozen=True)
class Offered:
    """A problem set as the deep linking page lists it: its entries, or why it cannot be read."""

    name: str
    title: str
    choices: tuple[Choice, ...] = ()
    error: str | None = None


def entry_custom(e: Entry) -> dict[str, str]:
    """The custom parameters of a resource link asking what entry `e` asks; ActivityError when a
    link cannot say it (it has one points value for every part and no tolerance overrides)."""
    params = dict(e.params)
    ask = params.pop("ask", None)
    custom = {"template": e.template}
    if params:
        custom["params"] = orjson.dumps(params).decode()
    if ask:
        custom["ask"] = ask if isinstance(ask, str) else ",".join(ask)
    table = e.points
    if isinstance(ask, list) and ask:
        # Only the asked parts' points matter: a default "*" that no asked part falls back on
        # does not make them differ.
        table = {p: e.points.get(p, e.points.get("*", 1.0)) for p in ask}
    points = set(table.values())
    if len(points) > 1:
        raise ActivityError(
            f"points: a link gives every part the same points (got {dict(sorted(table.items()))})"
        )
    if points:
        custom["points"] = f"{points.pop():g}"
    if e.tolerance:
        raise ActivityError(
            f"tolerance: a link grades with the template's own tolerances (got {e.tolerance})"
        )
    Activity.from_custom(custom)  # the template refuses bad params or parts here, not at launch
    return custom


def offer(ps: ProblemSet, name: str) -> Offered:
    choices = []
    for e in ps.entries:
        label = f"{ps.title}: problem {e.number} ({e.template})"
        try:
            choices.append(Choice(label, entry_custom(e)))
        except ActivityError as exc:
            choices.append(Choice(label, {}, str(exc)))
    return Offered(name, ps.title, tuple(choices))


def installed(directory: str | None = None) -> list[Offered]:
    """The sets in the operator's directory, each `*.toml` file by name; a file that does not
    read is listed with its error, so the operator sees it from the page."""
    where = os.environ.get(ENV, "").strip() if directory is None else directory
    if not where:
        return []
    root = Path(where)
    if not root.is_dir():
        return [Offered(str(root), str(root), error=f"{ENV}: {where!r} is not a directory")]
    out = []
    for path in sorted(root.glob("*.toml"))[:MAX_INSTALLED]:
        try:
            out.append(offer(load(path), path.name))
        except ProblemSetError as exc:
            out.append(Offered(path.name, path.name, error=str(exc)))
    return out


class UploadError(SeqquizError, ValueError):
    """Raised when an upload form cannot be read (not multipart, no file): a bad request, not a
    bad problem set."""

    code = "bad-upload"


def read_upload(content_type: str, body: bytes) -> tuple[dict[str, str], str, bytes]:
    """The text fields, the file name and the bytes of the file field `problem_set` of a
    multipart/form-data body (the stdlib's MIME parser: one small file, no new dependency)."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise UploadError(f"the upload: expected multipart/form-data (got {content_type!r:.60})")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    msg = BytesParser(policy=HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    filename, data = "", None
    for part in msg.iter_parts() if msg.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if name == "problem_set":
            filename, data = part.get_filename() or "upload.toml", payload
        elif isinstance(name, str):
            fields[name] = payload.decode("utf-8", "replace")
    if data is None:
        raise UploadError("problem_set: no file was uploaded")
    return fields, filename, data
