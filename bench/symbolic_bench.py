"""Benchmark of symbolic grading (not a test): distinct formulas graded per second, repeated
identical formulas graded per second (the cache), and the random-point evaluator against
SymPy's `evalf(subs=...)`.

The distinct-formula figures grade issue 9's 200 formulas for rnn-bptt `expr_dEdz_1`
(bench/formula_set.py) with the spec `seqquiz grade` builds for that variant, definitions of
z_t, h_t, y_t included; every verdict is checked (the script fails on a wrong one).
Target: >= 300 distinct formulas/s, p95 <= 10 ms.

    python bench/symbolic_bench.py            # the full run
    python bench/symbolic_bench.py --quick    # a smaller run to check the script works
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import sympy as sp
from flint import arb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.formula_set import PARAMS, PART, formula_set
from generators import REGISTRY
from generators.core.variants import grading_specs
from grader import Status, SymbolicAnswer
from grader.equivalence import compile_expr, default_sandbox, evaluate, precision, sample_points
from grader.symbolic_answer import clear_cache

# dE/dz_0 of a three-step logistic RNN (rnn-bptt's expr_dEdz_0), in the names of issue 4.
NAMES = ("h0", "h1", "h2", "y0", "y1", "y2", "t0", "t1", "t2", "w_hy", "w_hh")
REFERENCE = "h0*(1-h0)*(w_hy*(y0-t0) + w_hh*h1*(1-h1)*(w_hy*(y1-t1) + w_hh*h2*(1-h2)*w_hy*(y2-t2)))"
FORMS = (
    # equivalent rewritings
    "(h0-h0^2)*(w_hy*(y0-t0) + w_hh*(h1-h1^2)*(w_hy*(y1-t1) + w_hh*(h2-h2^2)*w_hy*(y2-t2)))",
    "w_hy*h0*(1-h0)*((y0-t0) + w_hh*h1*(1-h1)*((y1-t1) + w_hh*h2*(1-h2)*(y2-t2)))",
    "h0*(1-h0)*w_hy*(y0-t0) + h0*(1-h0)*w_hh*h1*(1-h1)*w_hy*(y1-t1)"
    " + h0*(1-h0)*w_hh*h1*(1-h1)*w_hh*h2*(1-h2)*w_hy*(y2-t2)",
    # typical mistakes
    "h0*(1-h0)*w_hy*(y0-t0)",  # the local term only
    "w_hy*(y0-t0) + w_hh*w_hy*(y1-t1) + w_hh^2*w_hy*(y2-t2)",  # no activation derivative
    "h0*(1-h0)*(w_hy*(t0-y0) + w_hh*h1*(1-h1)*(w_hy*(t1-y1) + w_hh*h2*(1-h2)*w_hy*(t2-y2)))",
)


def real_spec() -> SymbolicAnswer:
    """The spec `seqquiz grade rnn-bptt --params PARAMS` grades expr_dEdz_1 with."""
    spec = grading_specs(REGISTRY.get("rnn-bptt"), None, PARAMS, None)[PART]
    assert isinstance(spec, SymbolicAnswer) and spec.definitions
    return spec


def bench_distinct(
    spec: SymbolicAnswer, responses: list[tuple[str, Status]]
) -> tuple[float, list[float], dict[Status, int], list[str]]:
    clear_cache()
    spec.grade(responses[0][0])  # the reference's points, evaluated once per worker
    clear_cache()
    times = []
    counts: dict[Status, int] = {}
    wrong: list[str] = []
    started = time.perf_counter()
    for text, expected in responses:
        t = time.perf_counter()
        result = spec.grade(text)
        times.append(time.perf_counter() - t)
        counts[result.status] = counts.get(result.status, 0) + 1
        if result.status is not expected:
            wrong.append(f"{expected.value} but {result.status.value}: {text} ({result.feedback})")
    return len(responses) / (time.perf_counter() - started), times, counts, wrong


def bench_repeated(spec: SymbolicAnswer, n: int) -> float:
    clear_cache()
    response = FORMS[0]
    spec.grade(response)
    started = time.perf_counter()
    for _ in range(n):
        spec.grade(response)
    return n / (time.perf_counter() - started)


def bench_evaluators(spec: SymbolicAnswer, rounds: int) -> tuple[float, float]:
    """Microseconds per point: our postfix evaluator with error bounds vs evalf(subs=...)."""
    expr = spec.grammar.parse(REFERENCE).value  # type: ignore[union-attr]
    program = compile_expr(expr)
    points = sample_points(spec.domains, "bench", 8)  # type: ignore[arg-type]
    started = time.perf_counter()
    with precision(50):
        for _ in range(rounds):
            for p in points:
                evaluate(program, {k: arb(v) for k, v in p.items()})
    ours = (time.perf_counter() - started) / (rounds * len(points)) * 1e6
    symbols = spec.grammar.symbols
    started = time.perf_counter()
    for _ in range(max(1, rounds // 5)):
        for p in points:
            expr.evalf(50, subs={symbols[k]: sp.Float(v, 50) for k, v in p.items()})
    theirs = (time.perf_counter() - started) / (max(1, rounds // 5) * len(points)) * 1e6
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    args = parser.parse_args()
    repeated_n, rounds = (2_000, 5) if args.quick else (100_000, 40)
    spec = SymbolicAnswer(REFERENCE, NAMES, {n: (0, 1) for n in ("h0", "h1", "h2")})
    started = time.perf_counter()
    default_sandbox().warm()
    print(f"sandbox start (zygote imports SymPy, one fork): {time.perf_counter() - started:.2f} s")

    right, wrong = formula_set()
    responses = [(r, Status.CORRECT) for r in right] + [(w, Status.INCORRECT) for w in wrong]
    if args.quick:
        responses = responses[::5]
    rate, times, counts, mistakes = bench_distinct(real_spec(), responses)
    ms = sorted(t * 1000 for t in times)
    print(
        f"issue 9's formulas for rnn-bptt {PART} (definitions included): {rate:,.0f} graded/s "
        f"over {len(responses)} (median {statistics.median(ms):.1f} ms, "
        f"p95 {ms[int(0.95 * len(ms))]:.1f} ms, max {ms[-1]:.1f} ms; "
        f"{', '.join(f'{k.value} {v}' for k, v in sorted(counts.items()))})"
    )
    for line in mistakes:
        print("WRONG VERDICT:", line)
    print(f"repeated identical formula (cache): {bench_repeated(spec, repeated_n):,.0f} graded/s")
    ours, theirs = bench_evaluators(spec, rounds)
    print(
        f"evaluation at one point, 50 digits: own evaluator {ours:.0f} us "
        f"(ball arithmetic), evalf(subs=...) {theirs:.0f} us ({theirs / ours:.1f}x slower)"
    )
    if mistakes:
        sys.exit(f"{len(mistakes)} wrong verdicts")


if __name__ == "__main__":
    main()
