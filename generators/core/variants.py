"""The generic flow from (template, seed or params) to a variant, and its cached grading half."""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import orjson

from generators.core.draw import Draw
from generators.core.errors import (
    FieldError,
    ParamError,
    ResponseError,
    SamplingError,
    VersionError,
)
from generators.core.template import Template, Variant, apply_overrides
from grader import AnswerSpec, GradeResult, grade_parts


def resolve(
    template: Template, seed: int | None, params: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Complete params: from the sampler when a seed is given (fixed params honoured), else from
    the params alone (defaults filled, every part asked unless `ask` says otherwise)."""
    params = dict(params or {})
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise FieldError("seed", seed, "must be an integer from 0 to 2^63-1")
        fixed = template.validate(params, partial=True)
        fixed = {k: v for k, v in fixed.items() if k in params}
        complete = _complete(template, params) if params else None
        if complete is not None:
            # Params that determine the variant on their own keep their documented defaults
            # (h_init = 0, logistic, ...): one params object is one variant for generate, solve
            # and grade alike. The sampler then only picks the asked parts, unless given.
            fixed = {k: v for k, v in complete.items() if k != "ask" or complete["ask"] is not None}
        draw = Draw(template.id, seed)
        for _ in range(template.max_attempts):
            drawn = template.sample(draw, fixed)
            if drawn is not None:  # None: a rejected draw; the next attempt continues the stream
                return template.validate(drawn)
        raise SamplingError(
            f"{template.id}: no well-posed variant with the fixed params {sorted(fixed)} (seed {seed})"
        )
    full = template.validate(params)
    if full.get("ask") is None:
        full["ask"] = template.default_ask(full)
    return full


def _complete(template: Template, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The params normalized with defaults when they are complete on their own, else None."""
    try:
        return template.validate(params)
    except ParamError:
        return None


def solve(template: Template, full: Mapping[str, Any]) -> dict[str, Any]:
    """Every answer of complete params, as `solve` prints them and variants carry them."""
    return tidy(template.solve(full))


def tidy(value: Any) -> Any:
    """Answers as JSON shows them: 12 significant digits (no 0.09999999999999998 in an LMS
    export; far below any tolerance) and no negative zero."""
    kind = type(value)
    if kind is float:
        return float(f"{value:.12g}") + 0.0
    if kind is list or kind is tuple:
        return [tidy(v) for v in value]
    if kind is dict:
        return {k: tidy(v) for k, v in value.items()}
    return value


def check_version(template: Template, version: Any) -> None:
    if version is not None and (isinstance(version, bool) or version != template.version):
        raise VersionError(
            f"version: {template.id} is at version {template.version} here; this submission names "
            f"version {version!r}, which this installation cannot grade"
        )


def make_variant(
    template: Template,
    seed: int | None = None,
    params: Mapping[str, Any] | None = None,
    tolerance: Mapping[str, Any] | None = None,
    points: Mapping[str, float] | None = None,
    render: bool = True,
) -> Variant:
    full = resolve(template, seed, params)
    answers = solve(template, full)
    asked = full["ask"]
    specs = apply_overrides(template.specs(full, answers, asked), tolerance)
    body = stem = solution = ""
    if render:
        body, solution = template.render(full, answers, asked)
        if template.carry is not None:
            # Read with the instruction that closes the body ("Compute the following.").
            body += " " + template.carry.describe()
        stem = body + "\n\n" + parts_list(template, specs)
    return Variant(
        template=template.id,
        version=template.version,
        seed=seed,
        params=full,
        answers=answers,
        parts=specs,
        labels={p: template.label(p) for p in asked},
        stem=stem,
        body=body,
        solution=solution,
        points=dict(points or {}),
        title=template.title,
    )


def parts_list(template: Template, specs: Mapping[str, AnswerSpec]) -> str:
    """The numbered list of asked parts that closes every stem."""
    lines = []
    for i, (pid, spec) in enumerate(specs.items()):
        letter = chr(ord("a") + i) if i < 26 else str(i + 1)
        lines.append(f"({letter}) {spec.stem_prompt(template.label(pid))} `[{pid}]`")
    return "\n\n".join(lines)


def _canonical(params: Mapping[str, Any] | None) -> bytes:
    if not params:
        return b"{}"
    return orjson.dumps(params, option=orjson.OPT_SORT_KEYS)


@lru_cache(maxsize=65536)
def _cached_specs(
    template: Template, seed: int | None, params_key: bytes, tol_key: bytes
) -> dict[str, AnswerSpec]:
    params = orjson.loads(params_key)
    tolerance = orjson.loads(tol_key) or None
    return make_variant(template, seed, params, tolerance, render=False).parts


def grading_specs(
    template: Template,
    seed: int | None,
    params: Mapping[str, Any] | None,
    tolerance: Mapping[str, Any] | None = None,
) -> dict[str, AnswerSpec]:
    """The asked parts' specs, cached per (template, seed, params, overrides): a class of students
    sharing a few hundred variants makes the numeric model run once per variant, not per answer."""
    return _cached_specs(template, seed, _canonical(params), _canonical(tolerance))


def check_points(points: Any, specs: Mapping[str, AnswerSpec]) -> None:
    """Points per asked part: numbers >= 0, not all 0, naming only asked parts ("*": the rest)."""
    if not isinstance(points, Mapping):
        raise FieldError("points", points, "must be an object of part id -> points")
    for key, value in points.items():
        if key != "*" and key not in specs:
            raise FieldError(
                f"points.{key}",
                value,
                f"is not a part of this variant; its parts are {list(specs)}",
            )
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            raise FieldError(f"points.{key}", value, "must be a number >= 0")
    if all(points.get(p, points.get("*", 1.0)) == 0 for p in specs):
        raise FieldError("points", dict(points), "gives every asked part 0 points")


def grade_response(
    template: Template,
    seed: int | None,
    params: Mapping[str, Any] | None,
    response: Mapping[str, Any],
    tolerance: Mapping[str, Any] | None = None,
    points: Mapping[str, float] | None = None,
) -> GradeResult:
    if type(response) is not dict and not isinstance(response, Mapping):
        raise ResponseError("response", response, "must be an object of part id -> answer")
    specs = grading_specs(template, seed, params, tolerance)
    if points is not None:
        check_points(points, specs)
    for key in response:
        if key not in specs:
            # A typo or the wrong variant: refuse loudly rather than grade a different question.
            raise ResponseError(
                f"response.{key}",
                response[key],
                f"is not a part of this variant; its parts are {list(specs)}",
            )
    return grade_parts(specs, response, points)
