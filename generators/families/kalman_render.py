"""The worked solution of lds-kalman: the general predict and update equations, then each line the
asked answers need, with its numbers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generators.core.worked import Line
from generators.families.kalman import Model
from generators.families.kalman_latex import fmt_given, show
from generators.families.kalman_params import flat_entries

# -- rendering ------------------------------------------------------------------------------------

LABELS = {
    "pred_mean": r"\mu_{{{t}\mid {p}}}",
    "pred_var": r"V_{{{t}\mid {p}}}",
    "gain": r"K_{{{t}}}",
    "mean": r"\mu_{{{t}\mid {t}}}",
    "var": r"V_{{{t}\mid {t}}}",
}


def label(part_id: str) -> str:
    """LaTeX of an answer id: `pred_var_2` -> V_{2|1}, `gain_1` -> K_{1}, `mean_0` -> mu_{0|0}."""
    q, _, t = part_id.rpartition("_")
    if q not in LABELS or not t.isdigit():
        return part_id
    return LABELS[q].format(t=t, p=int(t) - 1)


def solution(
    m: Model, params: Mapping[str, Any], answers: Mapping[str, Any], wanted: list[str]
) -> str:
    """The worked solution for the `wanted` answers: the general predict and update equations, then
    each needed line with its formula, the numbers substituted, and the result."""
    sh = m.shape
    need = set(wanted)
    for w in wanted:
        need |= m.deps.get(w, frozenset())
    values = m.values(params)
    out = [
        "The filter alternates a predict step (before $y_t$) and an update step (with $y_t$):",
        "",
    ]
    out.append("$$" + r",\qquad ".join(f"{lhs} = {rhs}" for lhs, rhs in m.method) + "$$")
    last = max((int(w.rpartition("_")[2]) for w in wanted), default=0)
    by_step: dict[int, list[Line]] = {}
    for line in m.lines:
        if line.name in need:
            by_step.setdefault(line.section, []).append(line)
    for t in range(last + 1):
        lines = by_step.get(t, [])
        if t == 0:
            out.append(
                f"\n**Step 0.** The prediction is the prior: ${label('pred_mean_0')} = "
                f"{show(sh.n, 1, flat_entries(params['mu0']), fmt_given)}$, ${label('pred_var_0')} = "
                f"{show(sh.n, sh.n, flat_entries(params['V0']), fmt_given)}$."
            )
        elif lines:
            inp = (
                f", $u_{{{t}}} = {show(sh.k, 1, flat_entries(params['u'][t - 1]), fmt_given)}$"
                if sh.k
                else ""
            )
            out.append(f"\n**Step {t}.** Predict{inp}:")
        if not lines:
            continue
        updating = False
        for line in lines:
            if not updating and not line.name.startswith("pred_"):
                y = show(sh.m, 1, flat_entries(params["obs"][t]), fmt_given)
                out.append(f"\nUpdate with $y_{{{t}}} = {y}$:")
                updating = True
            result = show(*line.shape, [values[n] for n in _names_of(line, m)])
            filled = line.substs[0].fill(values)
            parts = [line.lhs]
            for part in (line.general, filled, result):
                if part != parts[-1]:
                    parts.append(part)
            out.append("$$" + " = ".join(parts) + "$$")
    shown = ", ".join(
        f"${label(w)} = {show(*_dims(answers[w]), flat_entries(answers[w]))}$" for w in wanted
    )
    out.append(f"\n**Answer.** {shown}.")
    return "\n".join(out).strip()


def _names_of(line: Line, m: Model) -> list[str]:
    rows, cols = line.shape
    if rows == 1 and cols == 1 and m.shape.scalar:
        return [line.name]
    return [f"{line.name}__{i}{j}" for i in range(rows) for j in range(cols)]


def _dims(value: Any) -> tuple[int, int]:
    if isinstance(value, float):
        return (1, 1)
    if isinstance(value[0], list):
        return (len(value), len(value[0]))
    return (len(value), 1)
