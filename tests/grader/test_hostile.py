"""Hostile responses to a symbolic part, and the sandbox that contains runaway work."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from grader import SymbolicAnswer
from grader.equivalence import EquivalenceSettings, default_sandbox
from grader.result import Status
from grader.sandbox import Sandbox, SandboxCrashed, SandboxTimeout, SandboxUnavailable
from grader.symbolic_answer import clear_cache
from tests.grader.sandbox_jobs import job

BUDGET = 2.0  # seconds for one graded response, whatever it is
SPEC = SymbolicAnswer("h1*(1-h1)*w_xh*x0", ("x0", "h1", "w_xh"), {"h1": (0, 1)})


def hostile(target: Path) -> list[str]:
    pwned = target / "pwned"
    return [
        # code injection and attribute access
        f"__import__('os').system('touch {pwned}')",
        f"eval(\"__import__('os').system('touch {pwned}')\")",
        f'exec(\'open("{pwned}", "w")\')',
        f"open('{pwned}', 'w').write('x')",
        "import os",
        "x0; import os",
        "x0\n__import__('os')",
        "x0.__class__",
        "x0.__class__.__bases__[0].__subclasses__()",
        "().__class__.__base__",
        "lambda: 0",
        "(lambda x: x)(1)",
        "x0 if 1 else 0",
        "[x0]*10**9",
        "${jndi:ldap://example.org/a}",
        "<script>alert(1)</script>",
        "'; DROP TABLE grades; --",
        # huge numbers and work
        "9**9**9**9",
        "9^9^9^9",
        "10**10**10",
        "2**(2**(2**(2**(2**2))))",
        "factorial(10**7)",
        "(1e300)^100",
        "1e308*1e308",
        "1e999999",
        "x0**-1e300",
        "exp(exp(exp(exp(exp(exp(x0))))))",
        "exp(1000000*x0)",
        "x0^(x0^(x0^(x0^(x0^(x0^x0)))))",
        "(h1+w_xh+x0)^100*(h1+x0)^100",
        "x0/(x0-x0)*(x0+h1+w_xh+1)^90",  # undefined everywhere, then a heavy simplify
        # size and depth
        "1" + "0" * 100_000,
        "x0+" * 33_333 + "x0",
        "(" * 10_000 + "x0" + ")" * 10_000,
        "-" * 400 + "x0",
        "sigma(" * 60 + "x0" + ")" * 60,
        # not numbers
        "nan",
        "NaN*x0",
        "inf",
        "Infinity",
        "oo",
        "1/0",
        "log(0)",
        "sqrt(-1)",
        # unicode tricks
        "１＋x0",  # fullwidth digits
        "х0*h1",  # Cyrillic х
        "x0\u200b*h1",  # zero-width space
        "\u202eh1*x0",  # right-to-left override
        "x0\x00",
        "𝑥0",  # mathematical italic x
        "h1*(1−h1)*w_xh*x0\ufeff",  # a byte-order mark at the end
        "ｈ1",
    ]


@pytest.fixture(scope="module", autouse=True)
def warm_sandbox() -> None:
    default_sandbox().warm()  # the first start imports SymPy; not part of any response's budget


def test_at_least_thirty_hostile_responses(tmp_path: Path) -> None:
    assert len(hostile(tmp_path)) >= 30


@pytest.mark.parametrize("index", range(len(hostile(Path("/tmp")))))
def test_hostile_response_is_refused_quickly_and_harmlessly(index: int, tmp_path: Path) -> None:
    response = hostile(tmp_path)[index]
    clear_cache()  # time the real work, never a cached answer
    started = time.perf_counter()
    result = SPEC.grade(response)
    elapsed = time.perf_counter() - started
    assert elapsed < BUDGET, f"{response[:60]!r} took {elapsed:.2f} s"
    assert result.status in (Status.INVALID, Status.INCORRECT), (response[:60], result)
    assert result.score == 0.0
    assert result.feedback
    assert list(tmp_path.iterdir()) == []  # nothing was created
    assert not Path("/tmp/pwned").exists()


@pytest.mark.parametrize(
    "raw",
    [None, True, 10**400, 10**5000, float("nan"), -float("inf"), b"x0", [1], {}],
    ids=lambda raw: type(raw).__name__,  # str() of 10**5000 itself raises
)
def test_hostile_json_values_are_invalid(raw: object) -> None:
    assert SPEC.grade(raw).status is Status.INVALID


def _children(pid: int) -> set[int]:
    """Live (not zombie) direct children of `pid`, from /proc."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_process_is_healthy_afterwards(tmp_path: Path) -> None:
    for response in hostile(tmp_path):
        SPEC.grade(response)
    assert SPEC.grade("x0*w_xh*(h1-h1^2)").status is Status.CORRECT
    assert SPEC.grade("x0*w_xh*(h1-h1^3)").status is Status.INCORRECT
    box = default_sandbox()
    # One zygote for the default sandbox, and under it at most the one current worker.
    assert box.zygote_pid in _children(os.getpid())
    assert _children(box.zygote_pid) <= {box.pid}  # type: ignore[arg-type]


def test_the_budget_is_enforced_by_killing_the_worker() -> None:
    # With the in-worker alarm set beyond the budget, only the kill can stop the simplify.
    spec = SymbolicAnswer(
        "h1*(1-h1)*w_xh*x0",
        ("x0", "h1", "w_xh"),
        settings=EquivalenceSettings(symbolic_seconds=30, budget_seconds=0.5),
    )
    box = default_sandbox()
    restarts, worker = box.restarts, box.pid
    started = time.perf_counter()
    result = spec.grade("sqrt(-1-x0^2)*(x0+h1+w_xh+1)^90")
    assert time.perf_counter() - started < BUDGET
    assert result.status is Status.INVALID and "too long" in result.feedback
    assert box.restarts == restarts + 1 and worker is not None and not _alive(worker)
    assert SPEC.grade("x0*w_xh*(h1-h1^2)").status is Status.CORRECT


# -- the sandbox itself ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def box() -> Sandbox:
    sandbox = Sandbox(job, memory_mb=256)
    sandbox.warm()
    yield sandbox
    zygote, worker = sandbox.zygote_pid, sandbox.pid
    sandbox.close()
    assert not _alive(zygote) and not _alive(worker)  # type: ignore[arg-type]


def test_a_job_runs_in_a_worker_process(box: Sandbox) -> None:
    reply = box.call({"do": "echo", "value": [1, "a"]}, timeout=5)
    assert reply["echo"] == [1, "a"] and reply["pid"] == box.pid != os.getpid()


@pytest.mark.parametrize("what", ["huge-float", "big-power"])
def test_a_long_c_call_is_killed_at_the_deadline(box: Sandbox, what: str) -> None:
    before = box.pid
    started = time.perf_counter()
    with pytest.raises(SandboxTimeout):
        box.call({"do": what}, timeout=0.5)
    assert time.perf_counter() - started < BUDGET
    assert before is not None and not _alive(before)  # killed and reaped: no zombie
    assert box.call({"do": "echo", "value": 1}, timeout=5)["pid"] == box.pid != before


def test_memory_is_capped(box: Sandbox) -> None:
    with pytest.raises(SandboxCrashed, match="memory"):
        box.call({"do": "allocate"}, timeout=5)
    assert box.call({"do": "echo", "value": 2}, timeout=5)["echo"] == 2


@pytest.mark.parametrize(("what", "words"), [("exit", "died"), ("raise", "the job failed")])
def test_a_failing_job_is_reported_and_the_sandbox_recovers(
    box: Sandbox, what: str, words: str
) -> None:
    with pytest.raises(SandboxCrashed, match=words):
        box.call({"do": what}, timeout=5)
    assert box.call({"do": "echo", "value": 3}, timeout=5)["echo"] == 3


def test_a_killed_worker_between_jobs_is_replaced(box: Sandbox) -> None:
    pid = box.pid
    assert pid is not None
    os.kill(pid, 9)
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert box.call({"do": "echo", "value": 4}, timeout=5)["echo"] == 4
    assert box.pid != pid


def test_handlers_must_be_module_level_functions() -> None:
    with pytest.raises(ValueError, match="module-level"):
        Sandbox(lambda payload: payload)


def test_a_sandbox_that_cannot_start_says_so() -> None:
    broken = Sandbox("tests.grader.no_such_module:job", start_timeout=20)
    with pytest.raises(SandboxUnavailable, match="could not start"):
        broken.warm()
    broken.close()
