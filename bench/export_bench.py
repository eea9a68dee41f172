"""Benchmark: build a 500-variant problem set and export it in every format (not a test).

    python bench/export_bench.py            # in one process: variants once, then each format
    python bench/export_bench.py --cli      # also one `seqquiz build` process per format

The issue's budget: under 10 s in total for every format on the project's 2-core machine."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOTAL = 500


def problem_set_text() -> str:
    """500 variants spread over every registered template (seeds from 0)."""
    from generators import REGISTRY

    ids = [t.id for t in REGISTRY]
    counts = [TOTAL // len(ids) + (i < TOTAL % len(ids)) for i in range(len(ids))]
    entries = "".join(
        f'[[problem]]\ntemplate = "{t}"\ncount = {n}\nseed = 0\n\n'
        for t, n in zip(ids, counts, strict=True)
    )
    return f'title = "Benchmark: {TOTAL} variants"\n\n{entries}'


RUNS = [
    ("moodle", False),
    ("gift", False),
    ("qti12", False),
    ("qti21", False),
    ("html", False),
    ("html", True),
    ("latex", False),
    ("latex", True),
]


def in_process() -> float:
    from jobs import problem_set
    from jobs.exports import FORMATS
    from jobs.formats import SetInfo

    t0 = time.perf_counter()
    ps = problem_set.parse(problem_set_text(), "bench.toml")
    variants = problem_set.build(ps)
    t_variants = time.perf_counter() - t0
    templates = len({v.template for v in variants})
    print(f"{'variants':<22}{t_variants:7.2f} s  ({len(variants)} variants, {templates} templates)")
    total = t_variants
    for fmt, key in RUNS:
        t = time.perf_counter()
        data = FORMATS[fmt].write(variants, SetInfo(ps.title, key))
        dt = time.perf_counter() - t
        total += dt
        label = fmt + (" --answer-key" if key else "")
        print(f"{label:<22}{dt:7.2f} s  {len(data) / 1e6:6.2f} MB")
    print(f"{'total (one process)':<22}{total:7.2f} s")
    return total


def per_cli() -> float:
    total = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.toml"
        path.write_text(problem_set_text())
        for fmt, key in RUNS:
            cmd = [sys.executable, "-m", "seqquiz", "build", str(path), "--format", fmt]
            cmd += ["-o", str(Path(tmp) / f"out.{fmt}")] + (["--answer-key"] if key else [])
            t = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
            dt = time.perf_counter() - t
            total += dt
            label = f"seqquiz build --format {fmt}" + (" --answer-key" if key else "")
            print(f"{label:<46}{dt:7.2f} s")
    print(f"{'total (one process per format)':<46}{total:7.2f} s")
    return total


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cli", action="store_true", help="also time one CLI process per format")
    args = ap.parse_args()
    in_process()
    if args.cli:
        per_cli()
