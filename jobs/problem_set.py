"""Problem-set files: an instructor's TOML list of templates with counts, seeds, fixed params,
asked parts, tolerance overrides and points, checked up front and built into variants."""

from __future__ import annotations

import dataclasses
import math
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from generators import REGISTRY, ParamError, TemplateError, Variant, make_variant, resolve
from grader import GraderError
from grader.errors import SeqquizError
from grader.tolerance import read_override
from jobs import INT_LIMIT, MAX_VARIANTS_IN_MEMORY, SubmissionError, check_ints

TOP_KEYS = {"title": str, "defaults": dict, "problem": list}
DEFAULT_KEYS = {"count": int, "seed": int, "points": (int, float, dict), "tolerance": dict}
ENTRY_KEYS = {
    "template": str,
    "count": int,
    "seed": int,
    "params": dict,
    "ask": (list, str),
    "tolerance": dict,
    "points": (int, float, dict),
}
MAX_COUNT = 10_000
MAX_TOTAL = MAX_VARIANTS_IN_MEMORY  # every entry's variants together
MAX_TITLE = 200
DEFAULT_TITLE = "seqquiz problem set"


class ProblemSetError(SeqquizError, ValueError):
    """Raised when a problem-set file cannot be read, has an unknown key, a value of the wrong
    type, an unknown template, or params, parts or tolerances a template refuses. The message
    names the file, the entry (1-based, with its template) and the field."""

    code: ClassVar[str] = "invalid-problem-set"

    def __init__(self, file: str, entry: int | None, template: str | None, field: str, why: str):
        self.file = file
        self.entry = entry
        self.field = field
        where = file
        if entry is not None:
            where += f": problem {entry}" + (f" ({template})" if template else "")
        where += f": {field}" if field else ""
        super().__init__(f"{where}: {why}")


@dataclass(frozen=True)
class Entry:
    """One `[[problem]]` table after checking and merging with `[defaults]`."""

    number: int
    template: str
    count: int
    seed: int
    params: dict[str, Any]
    tolerance: dict[str, Any]
    points: dict[str, float]  # part id or "*" -> points


@dataclass(frozen=True)
class ProblemSet:
    file: str
    title: str
    entries: tuple[Entry, ...] = field(default_factory=tuple)


def _type_name(kinds: type | tuple[type, ...]) -> str:
    names = {int: "an integer", float: "a number", str: "a string", dict: "a table", list: "a list"}
    if isinstance(kinds, type):
        return names.get(kinds, kinds.__name__)
    if set(kinds) >= {int, float}:
        rest = [names[k] for k in kinds if k not in (int, float)]
        return " or ".join(["a number", *rest])
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _shown(value: Any) -> str:
    if isinstance(value, int) and value.bit_length() > 200:
        return f"an integer of {len(str(value))} digits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _title_problem(title: str) -> str | None:
    """Why a title cannot go into every export, or None. XML 1.0 (Moodle, QTI) has no control
    characters and no U+FFFE/U+FFFF; a line break would split a GIFT or LaTeX line."""
    if not title.strip():
        return "must not be empty"
    if len(title) > MAX_TITLE:
        return f"must be at most {MAX_TITLE} characters (got {len(title)})"
    for ch in title:
        if unicodedata.category(ch) in ("Cc", "Cs") or ch in "\ufffe\uffff\u2028\u2029":
            return f"must not hold the control or non-character U+{ord(ch):04X}"
    return None


def _check_table(
    data: Mapping[str, Any],
    allowed: Mapping[str, type | tuple[type, ...]],
    err: Any,
    prefix: str = "",
) -> None:
    for key, value in data.items():
        if key not in allowed:
            err(f"{prefix}{key}", f"unknown key; expected one of {', '.join(sorted(allowed))}")
        kinds = allowed[key]
        if isinstance(value, bool) or not isinstance(value, kinds):
            err(f"{prefix}{key}", f"must be {_type_name(kinds)} (got {_shown(value)})")


def _points(raw: Any, err: Any, name: str) -> dict[str, float]:
    if raw is None:
        return {}
    table = raw if isinstance(raw, dict) else {"*": raw}
    out = {}
    for key, value in table.items():
        where = name if not isinstance(raw, dict) else f"{name}.{key}"
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (isinstance(value, int) and not value < INT_LIMIT)
            or not math.isfinite(value)
            or not value > 0
        ):
            err(where, f"must be a finite number above 0 (got {_shown(value)})")
        out[str(key)] = float(value)
    return out


def _count(value: Any, err: Any, name: str) -> int:
    if not 1 <= value <= MAX_COUNT:
        err(name, f"must be an integer from 1 to {MAX_COUNT} (got {_shown(value)})")
    return int(value)


def _seed(value: Any, err: Any, name: str) -> int:
    if not 0 <= value < 2**63:
        err(name, f"must be an integer from 0 to 2^63-1 (got {_shown(value)})")
    return int(value)


def parse(text: str, file: str = "<problem set>") -> ProblemSet:
    """Check a problem set's structure and types; templates are looked up, params are left to
    the templates (checked when the variants are built)."""

    def top(field: str, why: str) -> None:
        raise ProblemSetError(file, None, None, field, why)

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProblemSetError(file, None, None, "", f"not valid TOML: {exc}") from None
    except RecursionError:
        raise ProblemSetError(file, None, None, "", "not valid TOML: nested too deeply") from None
    if isinstance(data.get("problem"), dict):
        top("problem", "must be an array of tables: write [[problem]], not [problem]")
    _check_table(data, TOP_KEYS, top)
    defaults = data.get("defaults", {})
    _check_table(defaults, DEFAULT_KEYS, top, "defaults.")
    d_count = _count(defaults.get("count", 1), top, "defaults.count")
    d_seed = _seed(defaults.get("seed", 0), top, "defaults.seed")
    d_points = _points(defaults.get("points"), top, "defaults.points")
    d_tol = dict(defaults.get("tolerance", {}))
    problems = data.get("problem")
    if not problems:
        top("problem", "is required: add at least one [[problem]] table with a template")
    entries = []
    for n, raw in enumerate(problems, 1):
        template = raw.get("template") if isinstance(raw, dict) else None
        shown_template = template if isinstance(template, str) else None

        def err(field: str, why: str, n: int = n, t: str | None = shown_template) -> None:
            raise ProblemSetError(file, n, t, field, why)

        if not isinstance(raw, dict):
            err("", f"must be a table (got {_shown(raw)})")
        _check_table(raw, ENTRY_KEYS, err)
        if template is None:
            err("template", f"is required; known templates: {', '.join(t.id for t in REGISTRY)}")
        if template not in REGISTRY:
            err(
                "template",
                f"unknown template {template!r}; known: {', '.join(t.id for t in REGISTRY)}",
            )
        params = dict(raw.get("params", {}))
        if "ask" in raw:
            if "ask" in params:
                err("ask", "is given twice (also as params.ask); keep one")
            ask = raw["ask"]
            if isinstance(ask, list) and not all(isinstance(a, str) for a in ask):
                err("ask", f"must be a list of part ids (got {_shown(ask)})")
            params["ask"] = ask
        tol = {**d_tol, **raw.get("tolerance", {})}
        for name, value in (("params", params), ("tolerance", tol)):
            try:
                check_ints(value, name)
            except SubmissionError as exc:
                field, _, why = str(exc).partition(": ")
                err(field, why)
        for key, value in tol.items():
            try:
                read_override(value, where=f"tolerance.{key}")
            except GraderError as exc:
                text = str(exc)
                if text.startswith(f"tolerance.{key}"):
                    field, _, why = text.partition(" ")
                    err(field, why)
                err(f"tolerance.{key}", text)
        entries.append(
            Entry(
                number=n,
                template=template,
                count=_count(raw.get("count", d_count), err, "count"),
                seed=_seed(raw.get("seed", d_seed), err, "seed"),
                params=params,
                tolerance=tol,
                points={**d_points, **_points(raw.get("points"), err, "points")},
            )
        )
    title = data.get("title", DEFAULT_TITLE)
    if (why := _title_problem(title)) is not None:
        top("title", why)
    total = sum(e.count for e in entries)
    if total > MAX_TOTAL:
        top(
            "problem",
            f"count: at most {MAX_TOTAL} variants in a set (the counts add up to {total})",
        )
    return ProblemSet(file, title, tuple(entries))


def load(path: Path | str) -> ProblemSet:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProblemSetError(str(path), None, None, "", f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ProblemSetError(str(path), None, None, "", "is not UTF-8 text") from None
    return parse(text, path.name)


def entry_variants(ps: ProblemSet, e: Entry) -> list[Variant]:
    """The entry's variants, seeds seed .. seed+count-1. Tolerance and points keys must be
    answer ids of the template; each variant gets the overrides of the parts it asks."""
    t = REGISTRY.get(e.template)

    def err(field: str, why: str) -> ProblemSetError:
        return ProblemSetError(ps.file, e.number, e.template, field, why)

    out = []
    for seed in range(e.seed, e.seed + e.count):
        try:
            full = resolve(t, seed, e.params)
        except ParamError as exc:
            raise err(f"params.{exc.field}", str(exc).split(": ", 1)[-1]) from None
        except TemplateError as exc:
            raise err("params", f"{exc} (seed {seed})") from None
        ids = set(t.answer_ids(full))
        for name, table in (("tolerance", e.tolerance), ("points", e.points)):
            for key in table:
                if key != "*" and key not in ids:
                    raise err(
                        f"{name}.{key}",
                        f"is not a part of {e.template}; parts are {', '.join(t.answer_ids(full))}",
                    )
        asked = full["ask"]
        tol = {k: v for k, v in e.tolerance.items() if k == "*" or k in asked}
        points = {p: e.points.get(p, e.points.get("*", 1.0)) for p in asked}
        try:
            v = make_variant(t, seed, e.params, tolerance=tol or None, points=points)
        except SeqquizError as exc:  # checked above; kept for a clear message
            raise err("params", f"{exc} (seed {seed})") from None
        out.append(v)
    return out


def build(ps: ProblemSet) -> list[Variant]:
    """Every entry's variants, in file order: the same file gives the same variants. Each entry
    is a group of its own (its category in an LMS)."""
    return [
        dataclasses.replace(v, group=f"P{e.number:02d} {e.template}")
        for e in ps.entries
        for v in entry_variants(ps, e)
    ]
