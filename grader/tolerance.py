"""Numeric tolerance modes of the public contract, as an Enum with small pure predicates."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from grader.errors import SpecError

RTOL_DEFAULT = 1e-2
ATOL_DEFAULT = 1e-8
DECIMALS_DEFAULT = 2
SIGFIGS_DEFAULT = 3
# Float error in the reference or in a typed decimal must never turn a boundary answer wrong
# (0.125 - 0.12 is 0.0050000000000000044): an absolute slack for decimals, as SPEC.md says,
# and a relative one, far below any tolerance a person sets, for the other modes.
DECIMALS_SLACK = 1e-12
RELATIVE_SLACK = 1e-12
# A response this close to a reference is that reference, only rounded in the last float bit
# (the typed "-0.4" against a computed -0.4000000000000001): exact, however few digits it has.
EXACT_RTOL = 1e-12


class ToleranceMode(StrEnum):
    """How a numeric response is compared with its reference value."""

    RELABS = "relabs"
    DECIMALS = "decimals"
    SIGFIGS = "sigfigs"


def is_correct_relabs(s: float, r: float, rtol: float, atol: float) -> bool:
    """Correct when |s - r| <= atol + rtol |r|."""
    return abs(s - r) <= atol + (rtol + RELATIVE_SLACK) * abs(r)


def is_exact(s: float, r: float) -> bool:
    """The response is the reference itself: |s - r| <= 1e-12 |r| (r = 0 needs s = 0)."""
    return abs(s - r) <= EXACT_RTOL * abs(r)


def is_correct_decimals(s: float, r: float, digits: int) -> bool:
    """Correct when |s - r| <= 0.5 x 10^-d (plus a tiny slack for float error)."""
    return abs(s - r) <= 0.5 * 10.0**-digits + DECIMALS_SLACK


def is_correct_sigfigs(s: float, r: float, digits: int) -> bool:
    """Correct when |s - r| <= 0.5 x 10^(floor(log10 |r|) - n + 1); r = 0 needs s = 0."""
    if r == 0:
        return s == 0
    return abs(s - r) <= 0.5 * 10.0 ** (
        math.floor(math.log10(abs(r))) - digits + 1
    ) + RELATIVE_SLACK * abs(r)


@dataclass(frozen=True, slots=True)
class Tolerance:
    """One tolerance rule; `half_width(r)` is the accepted distance from reference r."""

    mode: ToleranceMode
    rtol: float = 0.0
    atol: float = 0.0
    digits: int = 0

    def __post_init__(self) -> None:
        if self.mode is ToleranceMode.RELABS:
            for name in ("rtol", "atol"):
                value = getattr(self, name)
                if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                    raise SpecError(
                        f"tolerance.{name} must be a finite number >= 0 (got {value!r})"
                    )
            if self.rtol == 0 and self.atol == 0:
                raise SpecError("tolerance: rtol and atol cannot both be 0 (got rtol=0, atol=0)")
        else:
            field = self.mode.value
            if not (isinstance(self.digits, int) and 0 <= self.digits <= 15):
                raise SpecError(
                    f"tolerance.{field} must be an integer from 0 to 15 (got {self.digits!r})"
                )
            if self.mode is ToleranceMode.SIGFIGS and self.digits == 0:
                raise SpecError(f"tolerance.sigfigs must be at least 1 (got {self.digits!r})")

    @classmethod
    def relabs(cls, rtol: float = RTOL_DEFAULT, atol: float = ATOL_DEFAULT) -> Tolerance:
        return cls(ToleranceMode.RELABS, rtol=rtol, atol=atol)

    @classmethod
    def decimals(cls, digits: int = DECIMALS_DEFAULT) -> Tolerance:
        return cls(ToleranceMode.DECIMALS, digits=digits)

    @classmethod
    def sigfigs(cls, digits: int = SIGFIGS_DEFAULT) -> Tolerance:
        return cls(ToleranceMode.SIGFIGS, digits=digits)

    def half_width(self, r: float) -> float:
        """The largest accepted |s - r| (inclusive) for reference r."""
        if self.mode is ToleranceMode.RELABS:
            return self.atol + (self.rtol + RELATIVE_SLACK) * abs(r)
        if self.mode is ToleranceMode.DECIMALS:
            return 0.5 * 10.0**-self.digits + DECIMALS_SLACK
        if r == 0:
            return 0.0
        return 0.5 * 10.0 ** (
            math.floor(math.log10(abs(r))) - self.digits + 1
        ) + RELATIVE_SLACK * abs(r)

    def interval(self, r: float) -> tuple[float, float]:
        """The closed interval of accepted responses around r."""
        w = self.half_width(r)
        return (r - w, r + w)

    def accepts(self, s: float, r: float) -> bool:
        if self.mode is ToleranceMode.RELABS:
            return is_correct_relabs(s, r, self.rtol, self.atol)
        if self.mode is ToleranceMode.DECIMALS:
            return is_correct_decimals(s, r, self.digits)
        return is_correct_sigfigs(s, r, self.digits)

    def describe(self) -> str:
        """Words a student reads: what counts as close enough."""
        if self.mode is ToleranceMode.DECIMALS:
            places = "place" if self.digits == 1 else "places"
            return f"to {self.digits} decimal {places} (±{0.5 * 10.0**-self.digits:g})"
        if self.mode is ToleranceMode.SIGFIGS:
            return f"to {self.digits} significant figure{'s' if self.digits != 1 else ''}"
        # The words state the rule the grader applies, |s - r| <= atol + rtol |r| (SPEC.md): a
        # sum, never "1% or ±0.01", which reads as the larger of the two.
        if not self.rtol:
            return f"within ±{self.atol:g}"
        if not self.atol:
            return f"within ±{self.rtol * 100:g}% of the correct value"
        return f"within ±({self.atol:g} + {self.rtol * 100:g}% of the correct value's size)"

    def to_json(self) -> dict[str, Any]:
        if self.mode is ToleranceMode.RELABS:
            return {"rtol": self.rtol, "atol": self.atol}
        return {self.mode.value: self.digits}

    @classmethod
    def from_json(cls, data: Any, where: str = "tolerance") -> Tolerance:
        """Read `{"rtol": .., "atol": ..}`, `{"decimals": d}` or `{"sigfigs": n}`."""
        if isinstance(data, Tolerance):
            return data
        if not isinstance(data, dict) or not data:
            raise SpecError(f'{where} must be an object such as {{"decimals": 2}} (got {data!r})')
        keys = set(data)
        if keys <= {"rtol", "atol"}:
            rtol = data.get("rtol", 0.0)
            atol = data.get("atol", 0.0)
            for name, value in (("rtol", rtol), ("atol", atol)):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise SpecError(f"{where}.{name} must be a number (got {value!r})")
            return cls(ToleranceMode.RELABS, rtol=float(rtol), atol=float(atol))
        if len(keys) == 1 and keys <= {"decimals", "sigfigs"}:
            (name,) = keys
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int):
                raise SpecError(f"{where}.{name} must be an integer (got {value!r})")
            return cls(ToleranceMode(name), digits=value)
        raise SpecError(
            f"{where} must have keys rtol/atol, decimals or sigfigs (got keys {sorted(keys)!r})"
        )


def read_override(data: Any, where: str = "tolerance") -> tuple[Tolerance | None, int | None]:
    """A part's override: a tolerance (`{"decimals": 3}`, ...) and/or `"min_decimals": d`, the
    digits a student must type after the decimal point. Either may be absent (None)."""
    if not isinstance(data, dict) or not data:
        raise SpecError(f'{where} must be an object such as {{"decimals": 2}} (got {data!r})')
    rest = dict(data)
    min_decimals = rest.pop("min_decimals", None)
    if min_decimals is not None and (
        isinstance(min_decimals, bool)
        or not isinstance(min_decimals, int)
        or not 0 <= min_decimals <= 15
    ):
        raise SpecError(
            f"{where}.min_decimals must be an integer from 0 to 15 (got {min_decimals!r})"
        )
    return (Tolerance.from_json(rest, where) if rest else None), min_decimals
