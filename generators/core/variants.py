"""The generic flow from (template, seed or params) to a variant, and its cached grading half."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import orjson

from generators.core.draw import Draw
from generators.core.errors import ParamError, ResponseError, SamplingError, VersionError
from generators.core.formulas import names_prompt
from generators.core.template import Template, Variant, apply_overrides
from grader import AnswerSpec, GradeResult, grade_parts
from grader.answers import ChoiceAnswer, MultiSelectAnswer, NumericAnswer, VectorAnswer
from grader.symbolic_answer import SymbolicAnswer


def resolve(
    template: Template, seed: int | None, params: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Complete params: from the sampler when a seed is given (fixed params honoured), else from
    the params alone (defaults filled, every part asked unless `ask` says otherwise)."""
    params = dict(params or {})
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise ParamError("seed", seed, "must be an integer from 0 to 2^63-1")
        fixed = template.validate(params, partial=True)
        fixed = {k: v for k, v in fixed.items() if k in params}
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


def check_version(template: Template, version: Any) -> None:
    if version is not None and version != template.version:
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
    answers = template.solve(full)
    asked = full["ask"]
    specs = apply_overrides(template.specs(full, answers, asked), tolerance)
    stem = solution = ""
    if render:
        body, solution = template.render(full, answers, asked)
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
        solution=solution,
        points=dict(points or {}),
        title=template.title,
    )


def parts_list(template: Template, specs: Mapping[str, AnswerSpec]) -> str:
    """The numbered list of asked parts that closes every stem."""
    lines = []
    for i, (pid, spec) in enumerate(specs.items()):
        letter = chr(ord("a") + i) if i < 26 else str(i + 1)
        label = template.label(pid)
        if isinstance(spec, NumericAnswer):
            how = spec.tolerance.describe()
            if spec.min_decimals:
                how += f", with at least {spec.min_decimals} digits after the decimal point"
            lines.append(f"({letter}) ${label} = ?$ — {how} `[{pid}]`")
        elif isinstance(spec, VectorAnswer):
            lines.append(
                f"({letter}) ${label} = ?$ — a list, each entry {spec.tolerance.describe()} `[{pid}]`"
            )
        elif isinstance(spec, SymbolicAnswer):
            lines.append(
                f"({letter}) ${label} = ?$ — {names_prompt(spec.names, spec.functions)} `[{pid}]`"
            )
        elif isinstance(spec, ChoiceAnswer | MultiSelectAnswer):
            lines.append(f"({letter}) {label} `[{pid}]`")
        else:
            lines.append(f"({letter}) ${label} = ?$ `[{pid}]`")
    return "\n\n".join(lines)


def _canonical(params: Mapping[str, Any] | None) -> bytes:
    if not params:
        return b"{}"
    return orjson.dumps(params, option=orjson.OPT_SORT_KEYS)


@lru_cache(maxsize=65536)
def _cached_specs(
    template: Template, seed: int | None, params_key: bytes, tol_key: bytes
) -> tuple[dict[str, AnswerSpec], bool]:
    params = orjson.loads(params_key)
    tolerance = orjson.loads(tol_key) or None
    ask_given = seed is not None or params.get("ask") is not None
    v = make_variant(template, seed, params, tolerance, render=False)
    return v.parts, ask_given


def grading_specs(
    template: Template,
    seed: int | None,
    params: Mapping[str, Any] | None,
    tolerance: Mapping[str, Any] | None = None,
) -> tuple[dict[str, AnswerSpec], bool]:
    """The asked parts' specs, cached per (template, seed, params, overrides): a class of students
    sharing a few hundred variants makes the numeric model run once per variant, not per answer.
    The flag says whether the variant itself fixes the asked parts."""
    return _cached_specs(template, seed, _canonical(params), _canonical(tolerance))


def grade_response(
    template: Template,
    seed: int | None,
    params: Mapping[str, Any] | None,
    response: Mapping[str, Any],
    tolerance: Mapping[str, Any] | None = None,
    points: Mapping[str, float] | None = None,
) -> GradeResult:
    if not isinstance(response, Mapping):
        raise ResponseError("response", response, "must be an object of part id -> answer")
    specs, ask_given = grading_specs(template, seed, params, tolerance)
    for key in response:
        if key not in specs:
            # A typo or the wrong variant: refuse loudly rather than grade a different question.
            raise ResponseError(
                f"response.{key}",
                response[key],
                f"is not a part of this variant; its parts are {list(specs)}",
            )
    if not ask_given:
        # A variant given by params without `ask`: the response says which parts were posed.
        specs = {k: v for k, v in specs.items() if k in response}
        if not specs:
            raise ResponseError(
                "response", dict(response), "answers no part (and params.ask is not given)"
            )
    return grade_parts(specs, response, points)
