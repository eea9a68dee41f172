"""Peak memory of `seqquiz generate` at a large count: the output is streamed, so the peak RSS
should stay near that of a small count while the file grows.

    python bench/generate_rss_bench.py [--count 100000] [--template rnn-forward] [--format json]

Runs the CLI in a child process per count (a small one first, as the baseline) and reports the
child's peak RSS (getrusage ru_maxrss), wall time and output size.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(template: str, count: int, fmt: str, out: Path) -> tuple[float, float, int]:
    """(peak RSS in MiB, seconds, bytes written) of one `generate` run in a fresh process."""
    cmd = [sys.executable, "-c", _CHILD, template, str(count), fmt, str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"generate failed: {proc.stderr.strip()}")
    peak_kib = int(proc.stdout.strip().splitlines()[-1])
    return peak_kib / 1024, seconds, out.stat().st_size


# The child runs the CLI in-process and prints its own peak RSS: getrusage(RUSAGE_CHILDREN) in
# the parent would report the largest child so far, hiding a smaller later one.
_CHILD = """
import resource, sys
from seqquiz.cli import main
template, count, fmt, out = sys.argv[1:]
try:
    main(["generate", template, "--count", count, "--format", fmt, "-o", out])
except SystemExit as exc:
    if exc.code:
        raise
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--baseline", type=int, default=100)
    ap.add_argument("--template", default="rnn-forward")
    ap.add_argument("--format", default="json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"seqquiz generate {args.template} --format {args.format} -o FILE")
        print(f"{'count':>8} {'peak RSS MiB':>13} {'seconds':>8} {'output MB':>10}")
        for count in (args.baseline, args.count):
            rss, seconds, size = run(args.template, count, args.format, Path(tmp) / "out")
            print(f"{count:>8} {rss:>13.1f} {seconds:>8.1f} {size / 1e6:>10.1f}")


if __name__ == "__main__":
    main()
