"""Benchmark of symbolic grading (not a test): distinct formulas graded per second, repeated
identical formulas graded per second (the cache), and the random-point evaluator against
SymPy's `evalf(subs=...)`.

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
from mpmath import mp, mpf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader import Status, SymbolicAnswer
from grader.equivalence import compile_expr, default_sandbox, evaluate, sample_points
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


def distinct_responses(n: int) -> list[str]:
    """n different strings: the forms above with a harmless or a harmful extra term."""
    out = []
    for k in range(n):
        form = FORMS[k % len(FORMS)]
        extra = f" + {k + 1}*h1 - {k + 1}*h1" if k % 2 == 0 else f" + 0*{k + 1}*w_hh^{k % 5 + 1}"
        out.append(form + extra)
    return out


def bench_distinct(spec: SymbolicAnswer, n: int) -> tuple[float, list[float], dict[Status, int]]:
    clear_cache()
    responses = distinct_responses(n)
    spec.grade(responses[0])  # the reference's points, evaluated once per worker
    clear_cache()
    times = []
    counts: dict[Status, int] = {}
    started = time.perf_counter()
    for r in responses:
        t = time.perf_counter()
        status = spec.grade(r).status
        times.append(time.perf_counter() - t)
        counts[status] = counts.get(status, 0) + 1
    return n / (time.perf_counter() - started), times, counts


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
    with mp.workdps(50):
        for _ in range(rounds):
            for p in points:
                evaluate(program, {k: mpf(v) for k, v in p.items()})
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
    distinct_n, repeated_n, rounds = (60, 2_000, 5) if args.quick else (600, 100_000, 40)
    spec = SymbolicAnswer(REFERENCE, NAMES, {n: (0, 1) for n in ("h0", "h1", "h2")})
    started = time.perf_counter()
    default_sandbox().warm()
    print(f"sandbox start (zygote imports SymPy, one fork): {time.perf_counter() - started:.2f} s")

    rate, times, counts = bench_distinct(spec, distinct_n)
    ms = sorted(t * 1000 for t in times)
    print(
        f"distinct formulas: {rate:,.0f} graded/s over {distinct_n} "
        f"(median {statistics.median(ms):.1f} ms, p95 {ms[int(0.95 * len(ms))]:.1f} ms, "
        f"max {ms[-1]:.1f} ms; {', '.join(f'{k.value} {v}' for k, v in sorted(counts.items()))})"
    )
    print(f"repeated identical formula (cache): {bench_repeated(spec, repeated_n):,.0f} graded/s")
    ours, theirs = bench_evaluators(spec, rounds)
    print(
        f"evaluation at one point, 50 digits: own evaluator {ours:.0f} us "
        f"(with error bound), evalf(subs=...) {theirs:.0f} us ({theirs / ours:.1f}x slower)"
    )


if __name__ == "__main__":
    main()
