"""Output formats of `generate` and `build`: a name -> writer registry that LMS exports extend."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    if fmt.name in FORMATS:
        raise ValueError(f"format {fmt.name!r} is registered twice")
    FORMATS[fmt.name] = fmt
    return fmt


def dump_json(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"


def _json(variants: Sequence[Variant], info: SetInfo) -> bytes:
    return dump_json({"title": info.title, "variants": [v.to_json(True) for v in variants]})


def _student_json(variants: Sequence[Variant], info: SetInfo) -> bytes:
    return dump_json({"title": info.title, "variants": [v.to_json(False) for v in variants]})


def _markdown(variants: Sequence[Variant], info: SetInfo) -> bytes:
    out = [f"# {info.title}", ""]
    for i, v in enumerate(variants, 1):
        seed = "" if v.seed is None else f", seed {v.seed}"
        out += [
            f"## Problem {i}: {v.title}",
            "",
            f"*{v.template} v{v.version}{seed}*",
            "",
            v.stem,
            "",
        ]
    out += ["---", "", "# Answers and worked solutions", ""]
    for i, v in enumerate(variants, 1):
        answers = [
            f"- `{pid}` = {_plain(spec.to_json()['value'])}{_accepted(pid, spec)}"
            for pid, spec in v.parts.items()
        ]
        out += [f"## Problem {i}", "", "**Answers:**", "", *answers, "", v.solution, ""]
    return "\n".join(out).encode()


def _accepted(pid: str, spec: Any) -> str:
    """Every accepted interval of a numeric part, as the HTML and LaTeX keys print them."""
    # Imported here: the exports register themselves in this module's registry.
    from seqquiz.exports import common as C

    boxes = [b for b in C.blanks_for(pid, spec, 1.0) if b.kind is C.BlankKind.NUMBER]
    if not boxes:
        return ""
    return "; accepted " + ", ".join(
        f"{b.suffix}{' ' if b.suffix else ''}" + " or ".join(C.interval_text(r) for r in b.ranges)
        for b in boxes
    )


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    return str(value)


register(
    Format("json", "variants with answers and worked solutions (JSON)", _json, extension=".json")
)
register(
    Format("student-json", "variants without answers (JSON)", _student_json, extension=".json")
)
register(
    Format(
        "markdown",
        "questions, then answers and worked solutions (Markdown)",
        _markdown,
        extension=".md",
    )
)


# The LMS and print exports register themselves; imported last, as they build on this module.
from seqquiz import exports as _exports  # noqa: E402, F401
