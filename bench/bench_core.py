"""Benchmark of the local engine (not a test): variants/s with worked solutions per template,
numeric submissions/s through `grade-batch` on 100,000 lines, and both against a naive path that
builds and substitutes SymPy expressions per variant.

    python bench/bench_core.py            # the full run reported in the README
    python bench/bench_core.py --quick    # a smaller run to check the script works
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import sympy as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

import jobs
from generators import REGISTRY, get_template, make_variant
from generators.core.variants import resolve
from generators.families import rnn
from grader import Tolerance

RNN_KINDS = {"rnn-forward": "forward", "rnn-bptt": "bptt", "rnn-gradient-flow": "flow"}


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


# -- generation --------------------------------------------------------------------------------


def bench_generate(template_id: str, n: int) -> float:
    t = get_template(template_id)
    for seed in range(200):  # warm the per-shape symbolic cache, as a running service has it
        make_variant(t, seed)
    start = time.perf_counter()
    for seed in range(10_000, 10_000 + n):
        orjson.dumps(make_variant(t, seed).to_json())
    return rate(n, time.perf_counter() - start)


def naive_values(template_id: str, params: dict) -> tuple[dict, list]:
    """SymPy per variant, the way a first version would do it: derive the net, `subs` the numbers
    into each quantity, `evalf`, and print each worked-solution line (formula, then numbers)."""
    kind = RNN_KINDS[template_id]
    d = rnn.derive(kind, len(params["x"]), params["activation"])
    env: dict = {}
    for sym, value in zip(
        d.graph.inputs,
        rnn.model(kind, len(params["x"]), params["activation"]).args(params),
        strict=True,
    ):
        env[sym] = sp.Float(value)
    lines = []
    for sym, expr in d.assignments:
        substituted = expr.subs(env)
        env[sym] = substituted.evalf()
        lines.append(
            f"{sp.latex(sym)} = {sp.latex(expr)} = {sp.latex(substituted)} = {sp.latex(env[sym])}"
        )
    return {s.name: float(v) for s, v in env.items()}, lines


def bench_naive_generate(template_id: str, n: int) -> float:
    t = get_template(template_id)
    start = time.perf_counter()
    for seed in range(10_000, 10_000 + n):
        params = resolve(t, seed, None)
        values, lines = naive_values(template_id, params)
        orjson.dumps({"params": params, "answers": values, "solution": "\n".join(lines)})
    return rate(n, time.perf_counter() - start)


# -- grading -----------------------------------------------------------------------------------


def make_submissions(n: int, distinct: int) -> list[bytes]:
    """A class's worth of numeric submissions: `distinct` variants of the three rnn templates,
    each answered right, just wrong, or with text that does not parse."""
    lines = []
    variants = {}
    for tid in RNN_KINDS:
        t = get_template(tid)
        for seed in range(distinct):
            v = make_variant(t, seed, render=False)
            variants[(tid, seed)] = {
                p: s.value for p, s in v.parts.items() if isinstance(s.value, float)
            }
    keys = [k for k, parts in variants.items() if parts]
    for i in range(n):
        tid, seed = keys[i % len(keys)]
        parts = variants[(tid, seed)]
        style = i % 10
        response = {}
        for pid, value in parts.items():
            if style < 6:
                response[pid] = f"{value:.4f}"
            elif style < 9:
                response[pid] = f"{value + 0.02 + abs(value) * 0.05:.4f}"
            else:
                response[pid] = "about a half"
        lines.append(
            orjson.dumps(
                {"submission_id": f"s{i}", "template": tid, "seed": seed, "response": response}
            )
        )
    return lines


def bench_grade_local(
    lines: list[bytes], path: Path, repeats: int = 3
) -> tuple[list[float], list[float]]:
    """The loop `seqquiz grade-batch FILE -o OUT` runs, in process: a first pass (every variant
    built when first seen) and a second pass (variants cached), `repeats` times each. This VM's
    speed varies by 20% from run to run, so every run is reported."""
    from generators.core.variants import _cached_specs

    out = path.with_suffix(".out")
    first, cached = [], []
    for _ in range(repeats):
        _cached_specs.cache_clear()
        for rates in (first, cached):
            start = time.perf_counter()
            with path.open("rb") as src, out.open("wb") as dst:
                for result in jobs.grade_lines(src):
                    dst.write(orjson.dumps(result) + b"\n")
            rates.append(rate(len(lines), time.perf_counter() - start))
    return first, cached


def bench_grade_cli(path: Path, n: int) -> float:
    out = path.with_suffix(".cli.out")
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "seqquiz", "grade-batch", str(path), "-o", str(out)],
        check=True,
        capture_output=True,
    )
    return rate(n, time.perf_counter() - start)


def bench_grade_naive(lines: list[bytes]) -> float:
    start = time.perf_counter()
    for raw in lines:
        sub = orjson.loads(raw)
        t = get_template(sub["template"])
        params = resolve(t, sub["seed"], None)
        values, _ = naive_values(sub["template"], params)
        for pid, typed in sub["response"].items():
            key = "gain_h_0" if pid == "gain" else pid
            tol = Tolerance.decimals(2)
            with contextlib.suppress(ValueError):
                tol.accepts(float(typed), values[key])
    return rate(len(lines), time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, to check the script runs")
    args = ap.parse_args()
    n_gen, n_naive, n_sub, n_naive_sub = (
        (300, 10, 10_000, 50) if args.quick else (3000, 40, 100_000, 200)
    )

    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    print("\n== generate, with worked solutions (variants/s, warm per-shape cache) ==")
    gen = {}
    for t in REGISTRY:
        gen[t.id] = bench_generate(t.id, n_gen)
        print(f"{t.id:<22} {gen[t.id]:>9,.0f}")
    print("\n== naive path: SymPy built and substituted per variant (variants/s) ==")
    for tid in RNN_KINDS:
        naive = bench_naive_generate(tid, n_naive)
        print(f"{tid:<22} {naive:>9,.1f}   engine is {gen[tid] / naive:,.0f}x faster")

    distinct = 1000 if not args.quick else 100
    print(
        f"\n== grade-batch on {n_sub:,} numeric submissions over {3 * distinct:,} variants (submissions/s) =="
    )
    lines = make_submissions(n_sub, distinct=distinct)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "subs.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        first, warm = bench_grade_local(lines, path)
        cli = bench_grade_cli(path, len(lines))
    runs = lambda rs: ", ".join(f"{r:,.0f}" for r in rs)  # noqa: E731
    print(
        f"in process, first pass   {max(first):>9,.0f}   best of {runs(first)} (variants built on first sight)"
    )
    print(f"in process, cached       {max(warm):>9,.0f}   best of {runs(warm)}")
    print(f"CLI end to end           {cli:>9,.0f}   (process start and imports included)")
    first = max(first)
    naive = bench_grade_naive(lines[:n_naive_sub])
    print(
        f"naive per submission     {naive:>9,.1f}   engine (first pass) is {first / naive:,.0f}x faster"
    )


if __name__ == "__main__":
    main()
