"""What a resource link asks (its custom parameters: SPEC "LTI contract"), a student's variant of
it, and grading a submitted form through the same job as every other door."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

import jobs
from generators import REGISTRY, TemplateError, Variant
from generators.core.variants import make_variant
from grader import GraderError
from grader.errors import SeqquizError
from jobs.exports import common

DEFAULT_POINTS = 1.0
DEFAULT_ATTEMPTS = 3
MAX_ATTEMPTS = 100


class ActivityError(SeqquizError, ValueError):
    """Raised when a resource link's custom parameters do not name a gradable activity."""

    code = "invalid-activity"


@dataclass(frozen=True)
class Activity:
    template: str
    params: str | None  # JSON text of the fixed params (with `ask`), or None
    points: float  # per part
    attempts: int
    # The instructor allows the answers and worked solution before the attempts are used up.
    reveal: bool = False

    @classmethod
    def from_custom(cls, custom: Mapping[str, str]) -> Activity:
        template = custom.get("template", "").strip()
        if not template:
            raise ActivityError(
                "custom parameter template: is required (a template id, see `seqquiz templates`)"
            )
        try:
            REGISTRY.get(template)
        except TemplateError:
            raise ActivityError(
                f"custom parameter template: unknown template {template!r}"
            ) from None
        params: dict[str, Any] = {}
        if custom.get("params", "").strip():
            try:
                params = orjson.loads(custom["params"])
            except orjson.JSONDecodeError:
                raise ActivityError(
                    f"custom parameter params: not JSON (got {custom['params']!r:.80})"
                ) from None
            if not isinstance(params, dict):
                raise ActivityError(
                    f"custom parameter params: must be a JSON object (got {custom['params']!r:.80})"
                )
        ask = custom.get("ask", "").strip()
        if ask:
            params["ask"] = [a.strip() for a in ask.split(",") if a.strip()]
        points = _number(custom, "points", DEFAULT_POINTS)
        if not 0 < points < 1e6:
            raise ActivityError(f"custom parameter points: must be > 0 (got {custom['points']!r})")
        attempts = _number(custom, "attempts", DEFAULT_ATTEMPTS)
        if attempts != int(attempts) or not 1 <= attempts <= MAX_ATTEMPTS:
            raise ActivityError(
                f"custom parameter attempts: must be an integer 1 to {MAX_ATTEMPTS} "
                f"(got {custom['attempts']!r})"
            )
        reveal_text = custom.get("reveal", "").strip().lower()
        if reveal_text not in ("", "yes", "no", "true", "false"):
            raise ActivityError(
                f"custom parameter reveal: must be yes or no (got {custom['reveal']!r:.40})"
            )
        act = cls(
            template,
            orjson.dumps(params).decode() if params else None,
            points,
            int(attempts),
            reveal_text in ("yes", "true"),
        )
        try:
            act.variant(0)  # an author's mistake in params or ask is found at launch
        except (TemplateError, GraderError) as exc:
            raise ActivityError(f"custom parameters: {exc}") from None
        return act

    @property
    def fixed(self) -> dict[str, Any] | None:
        return None if self.params is None else orjson.loads(self.params)

    def variant(self, seed: int) -> Variant:
        return _variant(self.template, seed, self.params, self.points)

    def max_points(self, v: Variant) -> float:
        return self.points * len(v.parts)

    def response(self, v: Variant, form: Mapping[str, list[str]]) -> dict[str, Any]:
        """The response `grade` takes: each part's kind reads its own form values."""
        out = {}
        for pid, spec in v.parts.items():
            value = spec.form_value(form.get(pid, []))
            if value is not None:
                out[pid] = value
        return out

    def grade(self, v: Variant, response: dict[str, Any]) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "template": v.template,
            "version": v.version,
            "seed": v.seed,
            "response": response,
            "points": {"*": self.points},
        }
        if self.params is not None:
            payload["params"] = self.fixed
        return jobs.grade(payload)


def _number(custom: Mapping[str, str], name: str, default: float) -> float:
    text = custom.get(name, "").strip()
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise ActivityError(
            f"custom parameter {name}: must be a number (got {text!r:.40})"
        ) from None


@functools.lru_cache(maxsize=4096)
def _variant(template: str, seed: int, params: str | None, points: float) -> Variant:
    t = REGISTRY.get(template)
    fixed = None if params is None else orjson.loads(params)
    v = make_variant(t, seed, fixed, render=False)  # which parts are asked
    return make_variant(t, seed, fixed, points=dict.fromkeys(v.parts, points))


# The page shows three states; a partly right answer is not right, and an unanswered part is
# reported with what was expected, as an unreadable one is.
PAGE_STATUS = {
    "correct": "correct",
    "partial": "incorrect",
    "incorrect": "incorrect",
    "invalid": "invalid",
    "missing": "invalid",
}


def page_status(part: Mapping[str, Any]) -> str:
    return PAGE_STATUS.get(str(part.get("status")), "invalid")


def parts(v: Variant) -> tuple[common.Part, ...]:
    return common.parts_of(v)
