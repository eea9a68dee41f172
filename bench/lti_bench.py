"""Benchmark of the LTI 1.3 tool against `seqquiz serve --workers 2` (SQLite store) and the
strict test platform of tests/lti (in this process):

1. launch to rendered page: `POST /lti/launch` (id_token verified against the platform's JWKS,
   nonce stored, the student's variant rendered), one student at a time: p50, p95 (target
   p95 <= 50 ms); and the whole login + launch round trip;
2. submit to feedback: `POST /lti/submit` on numeric parts (graded, stored, passback queued,
   page rendered): p50, p95 (target p95 <= 25 ms);
3. N simulated students at once (default 200), clicking the activity within the first
   `--spread` seconds (default 10; 0: all at the same instant), each a login, a launch and 3
   submissions, each submission after a think time (default uniform 2-8 s: reading the stem,
   working out and typing an answer): errors and p99 over every request (target: no errors,
   p99 <= 250 ms); `--spread 0 --think 0,0` makes it a closed-loop stress test;
4. passback: scores per second arriving at the platform during step 3.

    python bench/lti_bench.py [--students 200] [--sequential 200] [--workers 2]
                              [--synchronous NORMAL|FULL] [--spread S] [--think LO,HI]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from store import Store  # noqa: E402
from store.lti import LtiStore  # noqa: E402
from tests.lti.platform import Platform, first_form  # noqa: E402
from worker.testing import free_port  # noqa: E402

CUSTOM = {"template": "rnn-forward", "ask": "h_1,y_1"}
TARGETS = {"launch_p95_ms": 50.0, "submit_p95_ms": 25.0, "load_p99_ms": 250.0}


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


def serve(
    db_url: str, workers: int, folder: Path, sync: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQQUIZ_")}
    env.update(
        PYTHONPATH=str(REPO),
        SEQQUIZ_DATABASE_URL=db_url,
        SEQQUIZ_RATE_LIMIT="0",
        SEQQUIZ_SQLITE_SYNCHRONOUS=sync,
    )
    log = (folder / "serve.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "seqquiz", "serve", "--port", str(port), "--workers", str(workers),
         "--log-level", "warning"],
        env=env, stdout=log, stderr=log, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"serve did not start; see {folder / 'serve.log'}")


def login(c: httpx.Client, platform: Platform, url: str, user: str, link: str) -> dict[str, str]:
    hint = platform.plan(user, link=link, custom=CUSTOM)
    r = c.post("/lti/login", data=platform.login_fields(hint, url + "/lti/launch"))
    r.raise_for_status()
    form = first_form(r.text)
    _, token = platform.id_token(form.fields)
    return {"id_token": token, "state": form.fields["state"]}


def form_of(page: str) -> Any:
    """The first form of a page, parsed from its own text only: parsing a whole student page
    in the load generator (pure-Python HTMLParser) would hold its event loop for milliseconds
    while other students' responses wait, and count as the tool's time."""
    start = page.find("<form")
    end = page.find("</form>", start)
    return first_form(page[start : end + len("</form>")] if start >= 0 and end >= 0 else page)


def timed(times: list[float], call: Any) -> httpx.Response:
    t = time.perf_counter()
    r = call()
    times.append((time.perf_counter() - t) * 1000)
    return r


def sequential(platform: Platform, url: str, n: int) -> dict[str, Any]:
    launch_ms: list[float] = []
    round_ms: list[float] = []
    submit_ms: list[float] = []
    with httpx.Client(base_url=url, timeout=60) as c:
        for i in range(n):
            t = time.perf_counter()
            fields = login(c, platform, url, f"seq-{i}", "bench-seq")
            r = timed(launch_ms, lambda f=fields: c.post("/lti/launch", data=f))
            round_ms.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text[:300]
            token = first_form(r.text).fields["token"]
            s = timed(
                submit_ms,
                lambda tk=token: c.post(
                    "/lti/submit", data={"token": tk, "h_1": "0.5", "y_1": "0.25"}
                ),
            )
            assert s.status_code == 200 and "data-status" in s.text
    return {
        "launch_p50_ms": statistics.median(launch_ms),
        "launch_p95_ms": pct(launch_ms, 95),
        "login_and_launch_p95_ms": pct(round_ms, 95),
        "submit_p50_ms": statistics.median(submit_ms),
        "submit_p95_ms": pct(submit_ms, 95),
    }


async def _loadgen(spec: dict[str, Any]) -> dict[str, Any]:
    url, platform_url, n = spec["url"], spec["platform"], spec["students"]
    lo, hi = spec["think"]
    rng = random.Random(spec["seed"])
    thinks = [[rng.uniform(lo, hi) for _ in range(3)] for _ in range(n)]
    arrivals = sorted(rng.uniform(0, spec["spread"]) for _ in range(n))
    times: list[float] = []
    by_kind: dict[str, list[float]] = {}
    errors: list[str] = []
    go = asyncio.Event()
    starts: list[float] = []

    async def timed_async(mine: list[float], call: Any) -> httpx.Response:
        t = time.perf_counter()
        r = await call
        mine.append((time.perf_counter() - t) * 1000)
        return r

    async def student(i: int) -> None:
        mine: list[float] = []
        try:
            async with httpx.AsyncClient(timeout=120) as c:
                await go.wait()
                await asyncio.sleep(arrivals[i])  # the class clicks the activity
                starts.append(time.time())
                fields = {
                    "iss": spec["issuer"], "login_hint": f"student:load-{i}:bench-load",
                    "target_link_uri": url + "/lti/launch", "client_id": spec["client_id"],
                    "lti_deployment_id": spec["deployment_id"],
                }  # fmt: skip
                r = await timed_async(mine, c.post(url + "/lti/login", data=fields))
                auth = form_of(r.text)
                a = await c.get(platform_url + "/auth", params=auth.fields)
                post = form_of(a.text)
                r = await timed_async(mine, c.post(post.action, data=post.fields))
                if r.status_code != 200:
                    raise RuntimeError(f"launch {r.status_code}")
                token = form_of(r.text).fields["token"]
                for k in range(3):
                    await asyncio.sleep(thinks[i][k])  # reading the stem, typing an answer
                    s = await timed_async(
                        mine,
                        c.post(
                            url + "/lti/submit",
                            data={"token": token, "h_1": str(0.1 * k), "y_1": "0.3"},
                        ),
                    )
                    if s.status_code != 200:
                        raise RuntimeError(f"submit {s.status_code}")
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        times.extend(mine)
        for kind, ms in zip(("login", "launch", "submit", "submit", "submit"), mine, strict=False):
            by_kind.setdefault(kind, []).append(ms)

    tasks = [asyncio.create_task(student(i)) for i in range(n)]
    await asyncio.sleep(0.5)  # every student is waiting at the start line
    t0 = time.time()
    go.set()
    await asyncio.gather(*tasks)
    return {
        "times": times,
        "by_kind": by_kind,
        "errors": errors,
        "wall_s": time.time() - t0,
        "t0": min(starts),
    }


def loadgen(spec: dict[str, Any]) -> dict[str, Any]:
    """The students, in a process of their own (so that the platform's work is not timed),
    clicking the activity at instants drawn uniformly from the first `spread` seconds (0: all at
    the same instant): the browser's way through login, the platform's authorization and the
    launch, then 3 submissions, each after a think time drawn uniformly from `think` seconds
    (reading the stem, working out and typing an answer). `spread` 0 and `think` 0,0 make it a
    closed-loop stress test instead. Only the tool's requests are timed."""
    return asyncio.run(_loadgen(spec))


def load(
    platform: Platform, url: str, n: int, think: tuple[float, float], spread: float
) -> dict[str, Any]:
    spec = {
        "url": url, "platform": platform.url, "students": n, "issuer": platform.issuer,
        "client_id": platform.client_id, "deployment_id": platform.deployment_id,
        "think": think, "spread": spread, "seed": 7,
    }  # fmt: skip
    before = len(platform.score_times)
    out = subprocess.run(
        [sys.executable, __file__, "--loadgen", json.dumps(spec)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    res = json.loads(out.stdout)
    times, errors = res["times"], res["errors"]
    # Every student's best score must arrive; superseded ones are never sent.
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if len({u for (_, u) in platform.latest() if u.startswith("load-")}) >= n - len(errors):
            break
        time.sleep(0.2)
    arrived = platform.score_times[before:]
    # score_times are monotonic in this process; the span runs from the first score to the last
    span = arrived[-1] - arrived[0] if len(arrived) > 1 else float("nan")
    return {
        "students": n,
        "arrivals_over_s": spread,
        "think_s": list(think),
        "requests_timed": len(times),
        "errors": len(errors),
        "first_errors": errors[:3],
        "p50_ms": statistics.median(times) if times else None,
        "p99_ms": pct(times, 99) if times else None,
        "p99_ms_by_request": {k: pct(v, 99) for k, v in res["by_kind"].items()},
        "wall_s": res["wall_s"],
        "scores_received": len(arrived),
        "students_scored": len({u for (_, u) in platform.latest() if u.startswith("load-")}),
        "passback_scores_per_s": (len(arrived) - 1) / span if len(arrived) > 1 else 0.0,
        "platform_violations": platform.violations[:3],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--students", type=int, default=200)
    ap.add_argument("--sequential", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--synchronous",
        choices=["NORMAL", "FULL"],
        default="NORMAL",
        help="SEQQUIZ_SQLITE_SYNCHRONOUS of the server (the default NORMAL; FULL: every commit "
        "waits for the disk)",
    )
    ap.add_argument(
        "--think",
        default="2,8",
        help="seconds a student thinks before each submission: uniform from LO,HI (0,0: none)",
    )
    ap.add_argument(
        "--spread",
        type=float,
        default=10.0,
        help="seconds over which the students click the activity (0: all at the same instant)",
    )
    ap.add_argument("--loadgen", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.loadgen:
        print(json.dumps(loadgen(json.loads(args.loadgen))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db_url = f"sqlite:///{folder / 'lti.db'}"
        platform = Platform().start()
        with Store(db_url) as s:
            s.upgrade()
            LtiStore(s).register(
                platform.issuer, platform.client_id, [platform.deployment_id],
                platform.url + "/auth", platform.url + "/token", platform.url + "/jwks",
            )  # fmt: skip
        proc, url = serve(db_url, args.workers, folder, args.synchronous)
        platform.trust_tool(url)
        try:
            with httpx.Client(base_url=url, timeout=60) as c:  # warm both workers
                for i in range(20):
                    c.post("/lti/launch", data=login(c, platform, url, f"warm-{i}", "warm"))
            seq = sequential(platform, url, args.sequential)
            lo, hi = (float(x) for x in args.think.split(","))
            par = load(platform, url, args.students, (lo, hi), args.spread)
        finally:
            proc.terminate()
            proc.wait(30)
            platform.stop()
    out = {"synchronous": args.synchronous, "sequential": seq, "load": par, "targets": TARGETS}
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
