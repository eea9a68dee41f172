"""Benchmark of the queue: single-grade round-trip latency through Celery and Redis, and the
throughput of a large batch through the queue beside the local `grade-batch` on the same file.

    python bench/queue_bench.py [--calls 1000] [--submissions 100000] [--variants 1000]
                                [--concurrency 2] [--chunk-size 1000] [--json]

Starts its own redis-server (AOF, fsync every second) on a free port and one `seqquiz worker`
(prefork) with the production defaults, and stops both at the end. Targets on a 2-core machine:
p50 <= 5 ms, p99 <= 15 ms, queue throughput >= 40% of local. Both paths are measured warm (each
variant graded once before), in this process, without interpreter start-up, alternately
`--rounds` times; the best time of each counts, and the CPU seconds they cost (this process, the
worker's processes and redis) are shown beside, as the machine may be shared.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import orjson  # noqa: E402

from worker.testing import RedisServer, WorkerProcess, worker_env  # noqa: E402

TARGETS = {"p50_ms": 5.0, "p99_ms": 15.0, "ratio": 0.40}


def make_submissions(n: int, variants: int) -> tuple[list[bytes], list[dict[str, Any]]]:
    """n submissions over `variants` variants of every template: a third right, a third wrong,
    a third unparsable; and one single-grade payload per variant."""
    import jobs
    from generators import REGISTRY

    templates = [t.id for t in REGISTRY]
    solved = []
    for v in range(variants):
        template = templates[v % len(templates)]
        solved.append(jobs.solve({"template": template, "seed": v}))
    payloads = []
    for k, s in enumerate(solved):
        ask = s["params"]["ask"]
        kind = k % 3
        response = {
            p: s["answers"][p] if kind == 0 else ("0.5" if kind == 1 else "banana") for p in ask
        }
        payloads.append({"template": s["template"], "seed": s["seed"], "response": response})
    lines = [
        orjson.dumps({"submission_id": f"s{i}", **payloads[i % variants]}) + b"\n" for i in range(n)
    ]
    return lines, payloads


def percentile(sorted_values: list[float], q: float) -> float:
    k = max(0, min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--submissions", type=int, default=100_000)
    ap.add_argument("--variants", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--chunk-size", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3, help="Alternated runs of each path.")
    ap.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="seqquiz-bench-"))
    redis = RedisServer(tmp / "redis").start()
    os.environ.update(worker_env(redis.url))
    worker = WorkerProcess(
        dict(os.environ), tmp / "worker.log", concurrency=args.concurrency, loglevel="warning"
    )
    try:
        worker.start()
        assert worker.proc is not None and redis.proc is not None
        figures = run(args, tmp, worker.proc.pid, worker.pool_pids, redis.proc.pid)
    finally:
        worker.stop()
        redis.stop()
    figures["load_average"] = os.getloadavg()
    if args.json:
        print(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
    else:
        report(figures)
    return 0


def _cpu(pid: int) -> float:
    """CPU seconds of a process and its reaped children, from /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    f = stat[stat.rindex(")") + 2 :].split()
    return sum(int(x) for x in f[11:15]) / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(
    args: argparse.Namespace,
    tmp: Path,
    worker_pid: int,
    pool_pids: Any,
    redis_pid: int,
) -> dict[str, Any]:
    import jobs
    from generators.core.variants import _cached_specs
    from worker.app import app, settings, store
    from worker.client import BatchClient, plan_lines, read_lines

    lines, payloads = make_submissions(args.submissions, args.variants)
    path = tmp / "submissions.jsonl"
    path.write_bytes(b"".join(lines))

    # --- latency: one grade at a time, as a student's LMS page would ask -----------------------
    def one(payload: dict[str, Any]) -> float:
        start = time.perf_counter()
        app.send_task("seqquiz.grade", args=[payload], queue="interactive").get(timeout=30)
        return time.perf_counter() - start

    for payload in payloads:  # warm: every variant once (first use derives its specs)
        one(payload)
    latencies = sorted(one(payloads[i % len(payloads)]) for i in range(args.calls))
    ms = [x * 1000 for x in latencies]

    # --- throughput: the same file locally and through the queue, both warm, alternated -----
    # The machine is shared: each path runs `rounds` times, interleaved, and its best time
    # counts; CPU seconds (this process, the worker and its pool, redis) are load-independent.
    _cached_specs.cache_clear()
    list(jobs.grade_lines(lines[: len(payloads)]))
    client = BatchClient(app, store(), settings)
    batch_ids: list[str] = []

    def send(plan: Any) -> tuple[str, int, Any]:
        batch_id, chunks = client.submit(plan, chunk_size=args.chunk_size)
        batch_ids.append(batch_id)
        return batch_id, len(plan.fields), chunks

    client.wait(*send(plan_lines(lines[: 2 * len(payloads)])))

    def local() -> None:
        out = io.BytesIO()
        with path.open("rb") as src:
            for result in jobs.grade_lines(src):
                out.write(orjson.dumps(result) + b"\n")
        (tmp / "local.jsonl").write_bytes(out.getvalue())

    def queue() -> None:
        with path.open("rb") as src:
            plan = plan_lines(read_lines(src))
        client.wait(*send(plan))
        with (tmp / "queue.jsonl").open("wb") as dst:
            client.write_results(batch_ids[-1], dst, fields=plan.fields)

    others = [worker_pid, *pool_pids(), redis_pid]
    times: dict[str, list[float]] = {"local": [], "queue": []}
    cpu: dict[str, list[float]] = {"local": [], "queue": []}
    for _ in range(args.rounds):
        for name, fn in (("local", local), ("queue", queue)):
            c0 = _own_cpu() + sum(_cpu(p) for p in others)
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(_own_cpu() + sum(_cpu(p) for p in others) - c0)
    same = (tmp / "queue.jsonl").read_bytes() == (tmp / "local.jsonl").read_bytes()
    local_s, queue_s = min(times["local"]), min(times["queue"])

    n = args.submissions
    return {
        "calls": args.calls,
        "p50_ms": percentile(ms, 0.50),
        "p99_ms": percentile(ms, 0.99),
        "mean_ms": statistics.fmean(ms),
        "max_ms": ms[-1],
        "submissions": n,
        "variants": args.variants,
        "chunk_size": args.chunk_size,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "local_times_s": times["local"],
        "queue_times_s": times["queue"],
        "local_cpu_s": min(cpu["local"]),
        "queue_cpu_s": min(cpu["queue"]),
        "local_s": local_s,
        "local_per_s": n / local_s,
        "queue_s": queue_s,
        "queue_per_s": n / queue_s,
        "ratio": local_s / queue_s,
        "identical_output": same,
        "cpus": os.cpu_count(),
    }


def report(f: dict[str, Any]) -> None:
    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    print(f"single grade through the queue, {f['calls']} calls (round trip, one at a time):")
    print(
        f"  p50 {f['p50_ms']:.2f} ms  (target <= {TARGETS['p50_ms']} ms: {mark(f['p50_ms'] <= TARGETS['p50_ms'])})"
    )
    print(
        f"  p99 {f['p99_ms']:.2f} ms  (target <= {TARGETS['p99_ms']} ms: {mark(f['p99_ms'] <= TARGETS['p99_ms'])})"
    )
    print(f"  mean {f['mean_ms']:.2f} ms, max {f['max_ms']:.2f} ms")
    print(
        f"batch of {f['submissions']} submissions over {f['variants']} variants "
        f"(chunks of {f['chunk_size']}, {f['concurrency']} worker processes, {f['cpus']} CPUs):"
    )
    for name in ("local", "queue"):
        runs = ", ".join(f"{t:.2f}" for t in f[f"{name}_times_s"])
        print(
            f"  {name}  best {f[f'{name}_s']:.2f} s = {f[f'{name}_per_s']:.0f}/s  "
            f"(runs: {runs} s; CPU {f[f'{name}_cpu_s']:.2f} s)"
        )
    print(
        f"  queue/local {100 * f['ratio']:.0f}%  (target >= {100 * TARGETS['ratio']:.0f}%: "
        f"{mark(f['ratio'] >= TARGETS['ratio'])}); identical output: {f['identical_output']}"
    )
    print("load average while measuring: {:.2f} {:.2f} {:.2f}".format(*f["load_average"]))


if __name__ == "__main__":
    sys.exit(main())
