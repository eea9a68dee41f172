"""Output formats of `generate` and `build`: the `Format` record, set-level settings and the built-in
JSON and Markdown writers. The registry of every format, these and the LMS and print exports, is
`jobs.exports.FORMATS`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from generators import Variant


@dataclass(frozen=True)
class SetInfo:
    """Set-level settings shared by every writer."""

    title: str = "seqquiz problem set"
    answer_key: bool = False


@dataclass(frozen=True)
class Format:
    name: str
    description: str
    write: Callable[[Sequence[Variant], SetInfo], bytes]
    binary: bool = False  # a zip: needs -o
    extension: str = ""
    # Writes chunk by chunk from a fresh iterator of variants per pass, so memory stays flat for
    # any count; the same bytes as `write`. None: the format is built whole in memory.
    stream: Callable[[Callable[[], Iterable[Variant]], SetInfo], Iterator[bytes]] | None = None


def dump_json(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"


def _json_stream(
    variants: Callable[[], Iterable[Variant]], info: SetInfo, with_answers: bool
) -> Iterator[bytes]:
    """`dump_json({"title", "variants"})` one variant at a time: the same bytes."""
    yield b'{\n  "title": ' + orjson.dumps(info.title) + b',\n  "variants": ['
    sep = b"\n    "
    for v in variants():
        # JSON strings hold no raw newline, so re-indenting by replacement is exact.
        yield sep + orjson.dumps(v.to_json(with_answers), option=orjson.OPT_INDENT_2).replace(
            b"\n", b"\n    "
        )
        sep = b",\n    "
    yield b"]\n}\n" if sep == b"\n    " else b"\n  ]\n}\n"


def _whole(
    stream: Callable[[Callable[[], Iterable[Variant]], SetInfo], Iterator[bytes]],
) -> Callable[[Sequence[Variant], SetInfo], bytes]:
    return lambda variants, info: b"".join(stream(lambda: variants, info))


def _json_all(variants: Callable[[], Iterable[Variant]], info: SetInfo) -> Iterator[bytes]:
    return _json_stream(variants, info, True)


def _student_json_all(variants: Callable[[], Iterable[Variant]], info: SetInfo) -> Iterator[bytes]:
    return _json_stream(variants, info, False)


def _markdown_stream(variants: Callable[[], Iterable[Variant]], info: SetInfo) -> Iterator[bytes]:
    """Questions first, answers after them: two passes over the variants, none kept."""
    yield "\n".join([f"# {info.title}", ""]).encode()
    for i, v in enumerate(variants(), 1):
        out: list[str] = []
        seed = "" if v.seed is None else f", seed {v.seed}"
        out += [
            f"## Problem {i}: {v.title}",
            "",
            f"*{v.template} v{v.version}{seed}*",
            "",
            v.stem,
            "",
        ]
        yield ("\n" + "\n".join(out)).encode()
    yield "\n".join(["", "---", "", "# Answers and worked solutions", ""]).encode()
    # Imported here: the exports register themselves in this module's registry.
    from jobs.exports.common import plain

    for i, v in enumerate(variants(), 1):
        answers = [
            f"- `{pid}` = {plain(spec.to_json()['value'])}{_accepted(pid, spec)}"
            for pid, spec in v.parts.items()
        ]
        out = [f"## Problem {i}", "", "**Answers:**", "", *answers, "", v.solution, ""]
        yield ("\n" + "\n".join(out)).encode()


def _accepted(pid: str, spec: Any) -> str:
    """Every accepted interval of a numeric part, as the HTML and LaTeX keys print them."""
    # Imported here: the exports register themselves in this module's registry.
    from jobs.exports import common

    boxes = [b for b in common.blanks_for(pid, spec, 1.0) if b.kind is common.BlankKind.NUMBER]
    if not boxes:
        return ""
    return "; accepted " + ", ".join(
        f"{b.suffix}{' ' if b.suffix else ''}"
        + " or ".join(common.interval_text(r) for r in b.ranges)
        for b in boxes
    )


#: The formats defined here, in the order `--help` lists them.
BUILT_IN: tuple[Format, ...] = (
    Format(
        "json",
        "variants with answers and worked solutions (JSON)",
        _whole(_json_all),
        extension=".json",
        stream=_json_all,
    ),
    Format(
        "student-json",
        "variants without answers (JSON)",
        _whole(_student_json_all),
        extension=".json",
        stream=_student_json_all,
    ),
    Format(
        "markdown",
        "questions, then answers and worked solutions (Markdown)",
        _whole(_markdown_stream),
        extension=".md",
        stream=_markdown_stream,
    ),
)
