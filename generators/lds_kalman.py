"""lds-kalman: run the Kalman filter of a linear dynamical system by hand, predict and update."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from generators.core.carry import Rounding
from generators.core.draw import Draw
from generators.core.mistakes import catalogue
from generators.core.params import check_ask, fixed_ask
from generators.core.template import Template
from generators.families import kalman, kalman_latex, kalman_numeric, kalman_params, kalman_render
from grader import AnswerSpec, NumericAnswer, Tolerance, VectorAnswer
from grader.answers import Misconception

# Every answer comes out of a few multiply-divide steps on numbers given to one or two decimals,
# so the error a student makes by rounding intermediates is relative: 1% of the value. Entries
# that sit near 0 (covariances between the two state components, a mean that crosses 0, a gain
# on an unobserved component) need an absolute floor: two decimals for the variances and the
# dimensionless gain, and 0.01 for means, which are in the units of y (given to one decimal).
TOLERANCES = {
    "pred_mean": Tolerance.relabs(rtol=0.01, atol=0.01),
    "pred_var": Tolerance.relabs(rtol=0.01, atol=0.005),
    "gain": Tolerance.relabs(rtol=0.01, atol=0.005),
    "mean": Tolerance.relabs(rtol=0.01, atol=0.01),
    "var": Tolerance.relabs(rtol=0.01, atol=0.005),
}
# Sampled covariances are at most this ill-conditioned (ratio of eigenvalues).
SAMPLED_CONDITION = 20.0
# A sampled update moves the variance by a visible share, neither nothing nor everything.
UPDATE_SHARE = (0.1, 0.9)
# Sampled answers stay numbers a person handles by hand.
MAX_ENTRY = 30.0


def tolerance(part_id: str) -> Tolerance:
    return TOLERANCES[part_id.rpartition("_")[0]]


class LdsKalman(Template):
    id = "lds-kalman"
    version = 2
    title = "Kalman filtering of a linear dynamical system"
    misconception_codes = catalogue(kalman.MISCONCEPTIONS.values())
    family: ClassVar[str] = "lds"

    # -- parameters -----------------------------------------------------------------------------
    def validate(self, params: Mapping[str, Any], partial: bool = False) -> dict[str, Any]:
        out = kalman_params.validate(params, partial)
        if not partial:
            out["ask"] = check_ask(out, self.answer_ids(out))
        return out

    def model(self, params: Mapping[str, Any]) -> kalman.Model:
        return kalman.model(kalman_params.shape_of(params))

    def sample(self, draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any] | None:
        dims = kalman_params.infer_dims(fixed)
        if "n" in dims:
            n = dims["n"][0]
        elif dims.get("m", (1,))[0] == 2 or dims.get("k", (1,))[0] == 2:
            n = 2  # fixed 2-d observations or inputs need a 2-d state
        else:
            n = 1 if draw.chance(0.5) else 2
        m = dims["m"][0] if "m" in dims else (1 if n == 1 or draw.chance(0.6) else 2)
        has_input = "B" in fixed or "u" in fixed or draw.chance(0.3)
        k = dims["k"][0] if "k" in dims else (1 if has_input else 0)
        if "obs" in fixed:
            T = len(fixed["obs"])
        elif "u" in fixed:
            T = len(fixed["u"]) + 1
        else:
            T = draw.integer(2, 4)

        def pick(name: str, make: Any) -> Any:
            return fixed[name] if name in fixed else make()

        p: dict[str, Any] = {
            "A": pick("A", lambda: _draw_A(draw, n)),
            "C": pick("C", lambda: _draw_C(draw, n, m)),
            "Q": pick("Q", lambda: _draw_cov(draw, n, 0.1, 1.0 if n == 2 else 2.0, 0.2)),
            "R": pick("R", lambda: _draw_cov(draw, m, 0.2, 3.0 if m == 1 else 2.0, 0.3)),
            "mu0": pick("mu0", lambda: _draw_vec(draw, n, -2.0, 2.0, 0.5)),
            "V0": pick("V0", lambda: _draw_cov(draw, n, 0.5, 4.0 if n == 1 else 3.0, 0.5, 0.5)),
        }
        if k:
            p["B"] = pick("B", lambda: _draw_B(draw, n, k))
            p["u"] = pick("u", lambda: [_draw_input(draw, k) for _ in range(T - 1)])
        for name in kalman_params.COVARIANCES:
            if name not in fixed and not _well_conditioned(p[name]):
                return None
        p["obs"] = pick("obs", lambda: _simulate(draw, p, n, m, T))
        shape = kalman_params.Shape(n, m, k, T)
        model = kalman.model(shape)
        answers = model.solve(p)
        free = not any(name in fixed for name in kalman_params.MODEL_FIELDS)
        if free and not _good_filter(answers, n, T):
            return None
        if "obs" not in fixed and not all(
            abs(x) <= MAX_ENTRY for a in answers.values() for x in kalman_params.flat_entries(a)
        ):
            return None
        if "ask" in fixed:
            ask = fixed_ask(fixed)
        else:
            ask = self._pick_ask(draw, p, answers, T)
            if ask is None:
                return None
        return {**p, "ask": ask}

    def _pick_ask(
        self, draw: Draw, p: Mapping[str, Any], answers: Mapping[str, Any], T: int
    ) -> list[str] | None:
        """One to three parts; the first at a step t >= 1 (usually the last step), since carrying
        the recursion is the point. The prior (the t = 0 prediction) is given, never asked, and
        answers that their tolerance would swallow are not asked either."""
        order = self.answer_ids(p)
        cands = [
            pid
            for pid in order
            if not (pid.startswith("pred_") and pid.endswith("_0"))
            and max(abs(x) for x in kalman_params.flat_entries(answers[pid]))
            >= 10 * tolerance(pid).half_width(0.0)
        ]
        # (T = 1 comes only from fixed one-step observations.)
        t_main = max(T - 1, 0) if T == 1 or draw.chance(0.7) else draw.integer(1, T - 1)
        main = [pid for pid in cands if pid.endswith(f"_{t_main}")]
        if not main:
            return None
        chosen = {draw.choice(main)}
        rest = [pid for pid in cands if pid not in chosen]
        chosen |= set(draw.sample(rest, draw.integer(0, 2)))
        return [pid for pid in order if pid in chosen]

    # -- answers --------------------------------------------------------------------------------
    def answer_ids(self, params: Mapping[str, Any]) -> list[str]:
        return [f"{q}_{t}" for t in range(len(params["obs"])) for q in kalman.QUANTITIES]

    def solve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return self.model(params).solve(params)

    def reference(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return kalman_numeric.answers(params)

    def by_hand(self, params: Mapping[str, Any], rnd: Rounding) -> dict[str, Any]:
        return kalman_numeric.answers(params, rnd=rnd)

    def specs(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> dict[str, AnswerSpec]:
        wrong = self.model(params).misconceptions(params, asked)
        out: dict[str, AnswerSpec] = {}
        for pid in asked:
            tol = tolerance(pid)
            value = answers[pid]
            right = kalman_params.flat_entries(value)
            found: list[Misconception] = []
            for code, w in wrong.get(pid, ()):
                entries = kalman_params.flat_entries(w)
                # Never call a right answer a mistake; one message per distinct wrong value.
                if all(tol.accepts(x, r) for x, r in zip(entries, right, strict=True)):
                    continue
                if any(
                    mc.code == code and kalman_params.flat_entries(mc.value) == entries
                    for mc in found
                ):
                    continue
                found.append(kalman.MISCONCEPTIONS[code].at(w))
            if isinstance(value, float):
                out[pid] = NumericAnswer(value, tol, misconceptions=tuple(found))
            else:
                out[pid] = VectorAnswer(value, tol, misconceptions=tuple(found))
        return out

    # -- words ----------------------------------------------------------------------------------
    def label(self, part_id: str) -> str:
        return kalman_render.label(part_id)

    def render(
        self, params: Mapping[str, Any], answers: Mapping[str, Any], asked: list[str]
    ) -> tuple[str, str]:
        m = self.model(params)
        return _stem(m.shape, params), kalman_render.solution(m, params, answers, asked)

    @property
    def part_kinds(self) -> tuple[str, ...]:
        return ("numeric", "vector")


# -- the sampler's numbers: what a person would set ------------------------------------------------


def _draw_A(draw: Draw, n: int) -> Any:
    if n == 1:
        return 1.0 if draw.chance(0.3) else draw.step(0.5, 1.2, 0.1)
    if draw.chance(0.4):  # constant velocity: position and velocity, time step dt
        return [[1.0, draw.choice((0.5, 1.0))], [0.0, 1.0]]
    return [
        [draw.step(0.5, 1.0, 0.1), draw.step(-0.3, 0.3, 0.1)],
        [draw.step(-0.3, 0.3, 0.1), draw.step(0.5, 1.0, 0.1)],
    ]


def _draw_C(draw: Draw, n: int, m: int) -> Any:
    if n == 1:
        return 1.0 if draw.chance(0.6) else draw.step(0.5, 2.0, 0.5)
    if m == 1:
        return list(draw.choice(((1.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.5))))
    return [
        list(row)
        for row in draw.choice(
            (
                ((1.0, 0.0), (0.0, 1.0)),
                ((1.0, 0.0), (0.0, 1.0)),
                ((1.0, 0.0), (0.0, 0.5)),
                ((1.0, 0.5), (0.0, 1.0)),
                ((1.0, 0.0), (1.0, 1.0)),
            )
        )
    ]


def _draw_cov(draw: Draw, size: int, lo: float, hi: float, off: float, step: float = 0.1) -> Any:
    if size == 1:
        return draw.step(lo, hi, step)
    a, d = draw.step(lo, hi, step), draw.step(lo, hi, step)
    b = draw.nonzero_step(-off, off, 0.1) if draw.chance(0.3) else 0.0
    return [[a, b], [b, d]]


def _draw_vec(draw: Draw, size: int, lo: float, hi: float, step: float) -> Any:
    if size == 1:
        return draw.step(lo, hi, step)
    return [draw.step(lo, hi, step) for _ in range(size)]


def _draw_B(draw: Draw, n: int, k: int) -> Any:
    if n == 1:
        return draw.step(0.5, 2.0, 0.5)
    if k == 1:
        return list(draw.choice(((0.5, 1.0), (0.0, 1.0), (1.0, 0.0), (1.0, 0.5))))
    return [[draw.step(0.5, 1.0, 0.5), 0.0], [0.0, draw.step(0.5, 1.0, 0.5)]]


def _draw_input(draw: Draw, k: int) -> Any:
    if k == 1:
        return draw.nonzero_step(-2.0, 2.0, 0.5)
    return [draw.step(-2.0, 2.0, 0.5) for _ in range(k)]


def _well_conditioned(cov: Any) -> bool:
    if isinstance(cov, float):
        return cov > 0
    lo, hi = kalman_params.eig_sym2(cov[0][0], cov[0][1], cov[1][1])
    return lo > 0 and hi <= SAMPLED_CONDITION * lo


def _rows(value: Any, rows: int, cols: int) -> list[list[float]]:
    flat = kalman_params.flat_entries(value)
    return [flat[i * cols : (i + 1) * cols] for i in range(rows)]


def _mv(M: list[list[float]], v: list[float]) -> list[float]:
    return [sum(a * b for a, b in zip(row, v, strict=True)) for row in M]


def _noise(draw: Draw, cov: Any, size: int) -> list[float]:
    """A plausible noise draw: Cholesky factor of the covariance times uniform numbers."""
    z = [draw.uniform(-1.5, 1.5) for _ in range(size)]
    if size == 1:
        return [math.sqrt(cov) * z[0]]
    (a, b), (_, d) = cov
    l11 = math.sqrt(a)
    l21 = b / l11
    l22 = math.sqrt(max(d - l21 * l21, 0.0))
    return [l11 * z[0], l21 * z[0] + l22 * z[1]]


def _simulate(draw: Draw, p: Mapping[str, Any], n: int, m: int, T: int) -> list[Any]:
    """Observations of one run of the system, to one decimal, so that they look like data."""
    A, C = _rows(p["A"], n, n), _rows(p["C"], m, n)
    x = [
        a + e
        for a, e in zip(kalman_params.flat_entries(p["mu0"]), _noise(draw, p["V0"], n), strict=True)
    ]
    obs: list[Any] = []
    for t in range(T):
        if t > 0:
            x = _mv(A, x)
            if "B" in p:
                k = len(kalman_params.flat_entries(p["u"][t - 1]))
                x = [
                    a + b
                    for a, b in zip(
                        x,
                        _mv(_rows(p["B"], n, k), kalman_params.flat_entries(p["u"][t - 1])),
                        strict=True,
                    )
                ]
            x = [a + e for a, e in zip(x, _noise(draw, p["Q"], n), strict=True)]
        y = [a + e for a, e in zip(_mv(C, x), _noise(draw, p["R"], m), strict=True)]
        y = [round(v, 1) + 0.0 for v in y]
        obs.append(y[0] if m == 1 else y)
    return obs


def _good_filter(answers: Mapping[str, Any], n: int, T: int) -> bool:
    """Each update takes a visible share of the predicted variance, neither none nor all."""
    for t in range(T):
        before = _trace(answers[f"pred_var_{t}"], n)
        after = _trace(answers[f"var_{t}"], n)
        if not UPDATE_SHARE[0] <= 1 - after / before <= UPDATE_SHARE[1]:
            return False
    return True


def _trace(v: Any, n: int) -> float:
    return v if n == 1 else v[0][0] + v[1][1]


# -- the stem ---------------------------------------------------------------------------------------


def _stem(sh: kalman_params.Shape, params: Mapping[str, Any]) -> str:
    def show(value: Any, rows: int, cols: int) -> str:
        return kalman_latex.show(
            rows, cols, kalman_params.flat_entries(value), kalman_latex.fmt_given
        )

    n, m, k = sh.n, sh.m, sh.k
    state = "a scalar state" if n == 1 else "a 2-dimensional state"
    seen = "scalar observations" if m == 1 else "2-dimensional observations"
    drive = r"B u_t + " if k else ""
    mats = [f"A = {show(params['A'], n, n)}"]
    if k:
        mats.append(f"B = {show(params['B'], n, k)}")
    mats += [
        f"C = {show(params['C'], m, n)}",
        f"Q = {show(params['Q'], n, n)}",
        f"R = {show(params['R'], m, m)}",
    ]
    word = "variance" if n == 1 else "covariance"
    lines = [
        f"A linear dynamical system has {state} $x_t$ and {seen} $y_t$:",
        "",
        rf"$$x_t = A x_{{t-1}} + {drive}w_t,\quad w_t \sim \mathcal{{N}}(0, Q)\quad (t \ge 1),"
        rf"\qquad y_t = C x_t + v_t,\quad v_t \sim \mathcal{{N}}(0, R),$$",
        "",
        "with $" + r",\quad ".join(mats) + "$.",
        "",
        rf"Before $y_0$ is seen, $x_0 \sim \mathcal{{N}}(\mu_{{0\mid -1}}, V_{{0\mid -1}})$ with "
        rf"$\mu_{{0\mid -1}} = {show(params['mu0'], n, 1)}$ and "
        rf"$V_{{0\mid -1}} = {show(params['V0'], n, n)}$.",
    ]
    if k:
        us = r",\ ".join(f"u_{{{t + 1}}} = {show(u, k, 1)}" for t, u in enumerate(params["u"]))
        lines += ["", f"The driving inputs are ${us}$."]
    ys = r",\ ".join(f"y_{{{t}}} = {show(y, m, 1)}" for t, y in enumerate(params["obs"]))
    lines += ["", f"The observations are ${ys}$."]
    lines += [
        "",
        rf"Run the Kalman filter. $\mu_{{t\mid t-1}}$ and $V_{{t\mid t-1}}$ are the mean and "
        rf"{word} of $x_t$ given $y_0, \ldots, y_{{t-1}}$ (after the predict step), $K_t$ is the "
        rf"Kalman gain, and $\mu_{{t\mid t}}$ and $V_{{t\mid t}}$ are the mean and {word} of $x_t$ "
        rf"given $y_0, \ldots, y_t$ (after the update step).",
    ]
    if n == 2:
        how = "Give a vector as a list `[a, b]` and a matrix as a list of rows `[[a, b], [c, d]]`"
        if m == 1:
            how += r"; the gain $K_t$ is a column vector here, so give it as a list"
        lines += ["", how + "."]
    lines += ["", "Compute the following."]
    return "\n".join(lines)


TEMPLATE = LdsKalman()
