"""The core model: a template makes variants; a variant has params, asked parts, stem and solution."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from generators.core.carry import Carry, Rounding
from generators.core.draw import Draw
from generators.core.errors import FieldError
from grader import AnswerSpec


class Template(ABC):
    """A kind of problem. Subclasses set the class attributes and implement the methods; the
    generic flow (sample or validate, solve, specs, render) lives in `make_variant`."""

    id: ClassVar[str]
    version: ClassVar[int]
    title: ClassVar[str]
    family: ClassVar[str]
    # Sample stays below this many attempts; a template whose acceptance rate is lower is a bug.
    max_attempts: ClassVar[int] = 500
    # The known mistakes its parts recognise: code -> what the mistake is (the README's table).
    misconception_codes: ClassVar[Mapping[str, str]] = {}

    # -- parameters ---------------------------------------------------------------------------
    @abstractmethod
    def validate(self, params: Mapping[str, Any], partial: bool = False) -> dict[str, Any]:
        """Check params and return them normalized with defaults filled in (`ask` kept as given,
        or None). With `partial`, only the given fields are checked (fixed params of a sampler)."""

    @abstractmethod
    def sample(self, draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any] | None:
        """One attempt at complete, well-posed params (including `ask`) honouring every fixed
        param; None rejects the attempt and the flow draws again from the same stream."""

    # -- answers ------------------------------------------------------------------------------
    @abstractmethod
    def answer_ids(self, params: Mapping[str, Any]) -> list[str]:
        """Every answer id of this variant's shape, in a stable order."""

    @abstractmethod
    def solve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Every answer, from the cached symbolic model evaluated with numbers."""

    @abstractmethod
    def reference(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Every answer from an independent numeric implementation; for the tests only."""

    # -- by hand ----------------------------------------------------------------------------
    # The precision the stem tells students to carry (`make_variant` prints it); None: the stem
    # says nothing, and a student carries the precision the parts ask for.
    carry: ClassVar[Carry | None] = None

    def by_hand(self, params: Mapping[str, Any], rnd: Rounding) -> dict[str, Any]:
        """Every answer worked the way a student works it: each intermediate quantity they write
        down (and each answer) passes through `rnd`. The tests hold a student who carries the
        stated precision to full marks. The default suits templates whose answers need no
        rounded arithmetic (choices, bit strings); one with numeric parts must override it."""
        if {"numeric", "vector"} & set(self.part_kinds):
            raise NotImplementedError(
                f"{self.id}: a template with numeric parts implements by_hand(params, rnd)"
            )
        return self.reference(params)

    @abstractmethod
    def specs(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> dict[str, AnswerSpec]:
        """Answer specs (default tolerances, alternates, misconceptions) for the asked parts."""

    def default_ask(self, params: Mapping[str, Any]) -> list[str]:
        """Parts asked when neither the params nor a sampler chose: every answer id."""
        return self.answer_ids(params)

    # -- words --------------------------------------------------------------------------------
    @abstractmethod
    def label(self, part_id: str) -> str:
        """The part's quantity in LaTeX, e.g. `h_{2}`."""

    @abstractmethod
    def render(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> tuple[str, str]:
        """The stem (Markdown with LaTeX, without the list of parts) and the worked solution."""

    @property
    @abstractmethod
    def part_kinds(self) -> tuple[str, ...]:
        """The answer kinds this template's parts use (for `seqquiz templates`)."""

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "family": self.family,
            "part_kinds": list(self.part_kinds),
            "misconceptions": sorted(self.misconception_codes),
        }


@dataclass(frozen=True)
class Variant:
    """One concrete problem. `answers` holds every answer id; `parts` only the asked ones."""

    template: str
    version: int
    seed: int | None
    params: dict[str, Any]
    answers: dict[str, Any]
    parts: dict[str, AnswerSpec]
    labels: dict[str, str]
    stem: str = ""
    solution: str = ""
    points: dict[str, float] = field(default_factory=dict)
    title: str = ""
    # The problem it answers in a problem set ("P01 rnn-forward"): exports give each group its
    # own category, so a quiz that draws one variant per student draws from one problem only.
    group: str = ""
    # The stem without the list of parts `make_variant` appends (exporters lay out their own
    # parts); not in the JSON, whose `stem` is the whole text. Empty: the stem is all body.
    body: str = ""

    def to_json(self, with_answers: bool = True) -> dict[str, Any]:
        parts = []
        for pid, spec in self.parts.items():
            entry: dict[str, Any] = {
                "id": pid,
                "label": self.labels[pid],
                "kind": spec.kind,
                "points": self.points.get(pid, 1.0),
            }
            spec_json = spec.to_json()
            if "options" in spec_json:
                entry["options"] = spec_json["options"]
            if with_answers:
                entry["answer"] = spec_json["value"]
                for key in ("tolerance", "also", "min_decimals"):
                    if key in spec_json:
                        entry[key] = spec_json[key]
            elif (precision := spec.precision()) is not None:
                entry["precision"] = precision
            parts.append(entry)
        out: dict[str, Any] = {
            "template": self.template,
            "version": self.version,
            "seed": self.seed,
            "title": self.title,
            "params": self.params,
            "stem": self.stem,
            "parts": parts,
        }
        if with_answers:
            out["answers"] = self.answers
            out["solution"] = self.solution
        return out


def apply_overrides(
    specs: dict[str, AnswerSpec], overrides: Mapping[str, Any] | None
) -> dict[str, AnswerSpec]:
    """Replace the tolerance of numeric parts: `{"h_2": {"decimals": 3}, "*": {"rtol": 0.01}}`."""
    if not overrides:
        return specs
    if not isinstance(overrides, Mapping):
        raise FieldError("tolerance", overrides, "must be an object of part id -> tolerance")
    for key in overrides:
        if key != "*" and key not in specs:
            raise FieldError(
                "tolerance", key, f"names a part that is not asked; asked parts are {list(specs)}"
            )
    out = {}
    for pid, spec in specs.items():
        raw = overrides.get(pid, overrides.get("*"))
        out[pid] = spec if raw is None else spec.override(raw, f"tolerance.{pid}")
    return out
