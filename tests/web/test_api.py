"""Every endpoint and error path of `seqquiz serve`, on a live server per store backend."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from pathlib import Path

import httpx
import orjson
import pytest

import jobs
from generators import REGISTRY, get_template
from store import Store
from tests.web.conftest import Live
from tests.web.live import REPO, LiveServer, make_keys

SERVER_ENV = {
    "SEQQUIZ_MAX_BODY": "65536",
    "SEQQUIZ_MAX_BATCH_LINES": "500",
    "SEQQUIZ_TEST_BATCH_HOLD": "{folder}/hold",
}

WEEK7 = {"x": [9, 4, -2], "w_xh": 0.5, "w_hh": -1.0, "w_hy": -0.7, "b_h": -1.0, "b_y": 0}
GRADE = {
    "template": "rnn-forward",
    "params": {**WEEK7, "ask": ["h_2", "y_1"]},
    "response": {"h_2": "0.0753", "y_1": "0.5"},
}


def problem(resp: httpx.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["code"] == code and body["status"] == status
    assert body["type"] == f"urn:seqquiz:problem:{code}" and body["title"] and body["detail"]
    return body


def rows(live: Live) -> list:
    with Store(live.db_url) as s:
        return s.submission_rows()


# ---- service ---------------------------------------------------------------------------------


def test_health_readiness_and_openapi_3_1(live: Live) -> None:
    c = live.client(None)
    assert c.get("/healthz").json() == {"status": "ok"}
    assert c.get("/readyz").json() == {"status": "ready"}
    spec = c.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    for path in ("/v1/grade", "/v1/solve", "/v1/variants", "/v1/batches", "/v1/templates"):
        assert path in spec["paths"]
    problem(c.get("/v1/nothing"), 404, "not-found")
    problem(c.delete("/v1/grade"), 405, "method-not-allowed")


# ---- auth ------------------------------------------------------------------------------------


def test_no_key_bad_key_revoked_key_are_401_and_a_missing_scope_403(live: Live) -> None:
    body = orjson.dumps(GRADE)
    no_key = live.client(None).post("/v1/grade", content=body)
    problem(no_key, 401, "missing-key")
    assert no_key.headers["www-authenticate"].startswith("Bearer")
    problem(
        live.client(None).post("/v1/grade", content=body, headers={"Authorization": "Basic x"}),
        401,
        "missing-key",
    )
    bad = live.keys["grade"][:-2] + "zz"
    problem(
        live.client(None).post(
            "/v1/grade", content=body, headers={"Authorization": f"Bearer {bad}"}
        ),
        401,
        "invalid-key",
    )
    problem(live.client("revoked").post("/v1/grade", content=body), 401, "invalid-key")
    problem(live.client(None).get("/v1/templates"), 401, "missing-key")
    problem(live.client("solve").post("/v1/grade", content=body), 403, "missing-scope")
    problem(live.client("grade").post("/v1/solve", content=body), 403, "missing-scope")
    problem(live.client("grade").post("/v1/variants", content=body), 403, "missing-scope")
    problem(live.client("grade").post("/v1/admin/regrade", content=b"{}"), 403, "missing-scope")
    problem(live.client("solve").post("/v1/batches", content=b""), 403, "missing-scope")
    assert rows(live) == []  # nothing refused was stored


def test_a_key_revoked_while_the_server_runs_is_refused_within_a_second(live: Live) -> None:
    import time

    with Store(live.db_url) as s:
        key, token = s.create_key("soon-revoked", ["grade"])
        c = live.track(
            httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {token}"})
        )
        assert c.get("/v1/templates").status_code == 200
        s.revoke_key(key.id)
    end = time.monotonic() + 10
    while c.get("/v1/templates").status_code != 401:
        assert time.monotonic() < end, "a revoked key was still accepted after 10 s"
        time.sleep(0.05)  # polling the server's answer, bounded by the deadline


def test_a_grade_key_never_sees_answers(live: Live) -> None:
    c = live.client("grade")
    wrong = {**GRADE, "response": {"h_2": "0.9", "y_1": "0.9"}}
    text = c.post("/v1/grade", json=wrong).text
    answers = jobs.solve({"template": "rnn-forward", "params": WEEK7})["answers"]
    for part in ("h_2", "y_1"):
        assert f"{answers[part]:.4f}"[:5] not in text and f"{answers[part]:.3g}" not in text
    ask = {"template": "rnn-forward", "seed": 3, "answers": True}
    problem(live.client("generate").post("/v1/variants", json=ask), 403, "missing-scope")
    student = live.client("generate").post("/v1/variants", json={**ask, "answers": False}).json()
    assert all("answers" not in v for v in student["variants"])


# ---- the jobs --------------------------------------------------------------------------------


def test_templates_are_the_cli_list(live: Live) -> None:
    c = live.client("grade")
    assert c.get("/v1/templates").json() == [t.describe() for t in REGISTRY]
    assert c.get("/v1/templates/hmm-forward").json() == REGISTRY.get("hmm-forward").describe()
    problem(c.get("/v1/templates/nope"), 404, "unknown-template")


def test_grade_is_the_cli_output_and_is_stored_before_the_answer(live: Live) -> None:
    before = len(rows(live))
    resp = live.client("grade").post("/v1/grade", json={**GRADE, "submission_id": "s-1"})
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "seqquiz",
            "grade",
            "rnn-forward",
            "--params",
            orjson.dumps(GRADE["params"]).decode(),
            "--response",
            orjson.dumps(GRADE["response"]).decode(),
        ],
        capture_output=True,
        check=True,
        cwd=REPO,
    )
    assert resp.json() == orjson.loads(cli.stdout)
    assert (
        resp.json()["parts"]["h_2"]["correct"] is True
        and resp.json()["parts"]["y_1"]["correct"] is False
    )
    stored = rows(live)
    assert len(stored) == before + 1
    row = stored[-1]
    assert bytes(row.result) == resp.content
    assert (row.template, row.version, row.submission_id, row.seed) == (
        "rnn-forward",
        get_template("rnn-forward").version,
        "s-1",
        None,
    )
    assert (
        orjson.loads(row.params) == GRADE["params"]
        and orjson.loads(row.response) == GRADE["response"]
    )
    assert row.received_at <= row.graded_at


def test_solve_and_variants_are_the_cli_jobs(live: Live) -> None:
    got = live.client("solve").post("/v1/solve", json={"template": "hmm-viterbi", "seed": 5}).json()
    assert got == orjson.loads(orjson.dumps(jobs.solve({"template": "hmm-viterbi", "seed": 5})))
    c = live.client("generate+solve")
    req = {"template": "lstm-cell", "seed": 7, "count": 2}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "seqquiz",
            "generate",
            "lstm-cell",
            "--seed",
            "7",
            "--count",
            "2",
            "--format",
            "student-json",
        ],
        capture_output=True,
        check=True,
        cwd=REPO,
    )
    assert c.post("/v1/variants", json=req).json() == orjson.loads(out.stdout)
    full = subprocess.run(
        [sys.executable, "-m", "seqquiz", "generate", "lstm-cell", "--seed", "7", "--count", "2"],
        capture_output=True,
        check=True,
        cwd=REPO,
    )
    assert c.post("/v1/variants", json={**req, "answers": True}).json() == orjson.loads(full.stdout)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "bad-json"),
        (b"[1, 2]", 422, "invalid-request"),
        (b'{"template": "nope", "seed": 1, "response": {}}', 422, "unknown-template"),
        (
            b'{"template": "rnn-forward", "params": {"x": "abc"}, "response": {}}',
            422,
            "invalid-params",
        ),
        (
            b'{"template": "rnn-forward", "seed": 1, "version": 99, "response": {}}',
            422,
            "version-mismatch",
        ),
        (b'{"template": "rnn-forward", "seed": 1}', 422, "invalid-submission"),
        (b'{"template": "rnn-forward", "response": {}}', 422, "invalid-submission"),
        (
            b'{"template": "rnn-forward", "seed": 1, "response": {}, "submission_id": [1]}',
            422,
            "invalid-submission",
        ),
    ],
)
def test_bad_grade_requests_are_problems_with_the_cli_codes(
    live: Live, body: bytes, status: int, code: str
) -> None:
    before = len(rows(live))
    problem(live.client("grade").post("/v1/grade", content=body), status, code)
    assert len(rows(live)) == before


def test_a_garbage_answer_is_an_invalid_part_not_an_error(live: Live) -> None:
    resp = live.client("grade").post(
        "/v1/grade", json={**GRADE, "response": {"h_2": "__import__('os')"}}
    )
    assert resp.status_code == 200
    assert resp.json()["parts"]["h_2"]["status"] == "invalid"


def test_a_body_over_the_limit_is_413(live: Live) -> None:
    big = {**GRADE, "submission_id": "x" * 70_000}
    problem(live.client("grade").post("/v1/grade", json=big), 413, "body-too-large")

    def chunks():  # no Content-Length: the limit holds while reading
        for _ in range(20):
            yield b" " * 4096

    problem(live.client("grade").post("/v1/grade", content=chunks()), 413, "body-too-large")


# ---- idempotency -----------------------------------------------------------------------------


def test_the_same_idempotency_key_and_body_replay_another_body_is_422(live: Live) -> None:
    c = live.client("grade")
    key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
    first = c.post("/v1/grade", json=GRADE, headers=key)
    n = len(rows(live))
    again = c.post("/v1/grade", json=GRADE, headers=key)
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert len(rows(live)) == n
    other = c.post("/v1/grade", json={**GRADE, "response": {}}, headers=key)
    problem(other, 422, "idempotency-key-reused")
    # The same Idempotency-Key under another API key is another request.
    mine = live.client("admin")
    problem(mine.post("/v1/grade", json=GRADE, headers=key), 403, "missing-scope")
    problem(
        c.post("/v1/grade", json=GRADE, headers={"Idempotency-Key": ""}),
        400,
        "invalid-idempotency-key",
    )
    # Solve has no effect but its response is kept all the same.
    s = live.client("solve")
    one = s.post("/v1/solve", json={"template": "rnn-forward", "seed": 1}, headers=key)
    problem(
        s.post("/v1/solve", json={"template": "rnn-forward", "seed": 2}, headers=key),
        422,
        "idempotency-key-reused",
    )
    assert (
        s.post("/v1/solve", json={"template": "rnn-forward", "seed": 1}, headers=key).content
        == one.content
    )


def test_concurrent_requests_with_one_idempotency_key_grade_once(live: Live) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = orjson.dumps({**GRADE, "submission_id": key["Idempotency-Key"]})
    n = 16
    start = threading.Barrier(n)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def send() -> None:
        with live.client("grade") as c:
            start.wait()
            r = c.post("/v1/grade", content=body, headers=key)
        with lock:
            answers.append(r)

    threads = [threading.Thread(target=send) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in answers] == [200] * n
    assert len({r.content for r in answers}) == 1
    assert len([r for r in rows(live) if r.submission_id == key["Idempotency-Key"]]) == 1


# ---- batches ---------------------------------------------------------------------------------


def batch_file(tmp_path: Path) -> bytes:
    lines = [
        {"submission_id": "a", **GRADE},
        {
            "submission_id": "b",
            "template": "hmm-forward",
            "seed": 4,
            "response": {"likelihood": "0.1"},
        },
        {"submission_id": "a", **GRADE},  # a duplicate id
        {"submission_id": 7, "template": "nope", "seed": 1, "response": {}},
        {"template": "rnn-forward", "seed": 2, "response": {"h_1": "1e400"}},
    ]
    text = b"\n".join(orjson.dumps(x) for x in lines[:2]) + b"\n{bad json\n\n"
    text += b"\n".join(orjson.dumps(x) for x in lines[2:]) + b"\r\n"
    return text


def local_grade_batch(tmp_path: Path, body: bytes) -> bytes:
    src = tmp_path / "in.jsonl"
    src.write_bytes(body)
    out = subprocess.run(
        [sys.executable, "-m", "seqquiz", "grade-batch", str(src)],
        capture_output=True,
        check=True,
        cwd=REPO,
    )
    return out.stdout


def wait_complete(c: httpx.Client, location: str, deadline: float = 120) -> dict:
    import time

    end = time.monotonic() + deadline
    while time.monotonic() < end:
        status = c.get(location).json()
        if status["complete"]:
            return status
        time.sleep(0.02)  # polling the batch's state, bounded by the deadline
    raise AssertionError(f"batch {location} not complete in {deadline} s")


def test_a_batch_over_http_equals_local_grade_batch_byte_for_byte(
    live: Live, tmp_path: Path
) -> None:
    body = batch_file(tmp_path)
    c = live.client("grade")
    hold = live.server.folder / "hold"
    hold.touch()  # the server waits before grading: the incomplete state is observable
    try:
        resp = c.post("/v1/batches", content=body, headers={"Content-Type": "application/x-ndjson"})
        assert resp.status_code == 202
        batch_id = resp.json()["id"]
        assert resp.json() == {"id": batch_id, "status": "queued"}
        location = resp.headers["location"]
        assert location == f"/v1/batches/{batch_id}"
        status = c.get(location).json()
        assert status == {"id": batch_id, "total": 6, "done": 0, "errors": 0, "complete": False}
        problem(c.get(location + "/results"), 409, "batch-incomplete")
        partial = c.get(location + "/results", params={"partial": "true"})
        assert partial.status_code == 200 and partial.content == b""
    finally:
        hold.unlink()
    status = wait_complete(c, location)
    expected = local_grade_batch(tmp_path, body)
    assert status["done"] == 6 and status["errors"] == sum(
        b'"error"' in x for x in expected.splitlines()
    )
    got = c.get(location + "/results")
    assert got.headers["content-type"] == "application/x-ndjson"
    assert got.content == expected
    stored = [r for r in rows(live) if r.batch_id == batch_id]
    assert [r.line for r in stored] == [1, 2, 3, 5, 6, 7]
    # Another key does not see the batch.
    problem(live.client("admin").get(location), 403, "missing-scope")
    other = make_other_grade_key(live)
    problem(other.get(location), 404, "unknown-batch")
    problem(c.get("/v1/batches/nope"), 404, "unknown-batch")


def make_other_grade_key(live: Live) -> httpx.Client:
    with Store(live.db_url) as s:
        token = s.create_key("other", ["grade"])[1]
    return live.track(httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {token}"}))


def test_a_batch_post_is_idempotent_and_too_many_lines_is_413(live: Live, tmp_path: Path) -> None:
    c = live.client("grade")
    body = batch_file(tmp_path)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = c.post("/v1/batches", content=body, headers=key)
    again = c.post("/v1/batches", content=body, headers=key)
    assert again.status_code == 202 and again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    problem(c.post("/v1/batches", content=body + body, headers=key), 422, "idempotency-key-reused")
    wait_complete(c, first.headers["location"])
    line = orjson.dumps({"template": "rnn-forward", "seed": 1, "response": {}}) + b"\n"
    problem(c.post("/v1/batches", content=line * 501), 413, "batch-too-large")
    problem(
        c.post("/v1/batches", content=b"", params={"callback_url": "http://10.0.0.1/x"}),
        422,
        "callback-not-allowed",
    )


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'rl.db'}"
    keys = make_keys(db)
    server = LiveServer(
        tmp_path, db, {"SEQQUIZ_RATE_LIMIT": "0.2", "SEQQUIZ_RATE_BURST": "3"}
    ).start()
    c = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {keys['grade']}"})
    other = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {keys['solve']}"})
    try:
        codes = [c.get("/v1/templates").status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        limited = c.get("/v1/templates")
        problem(limited, 429, "rate-limited")
        assert 1 <= int(limited.headers["retry-after"]) <= 5
        # Another key has its own bucket.
        other = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {keys['solve']}"}
        )
        assert other.get("/v1/templates").status_code == 200
    finally:
        c.close()
        other.close()
        server.stop()


# ---- admin -------------------------------------------------------------------------------------


def test_admin_regrade_reports_then_applies_with_history(live: Live) -> None:
    week7 = {"template": "rnn-forward", "params": {**WEEK7, "ask": ["h_2"]}}
    sid = f"regrade-{uuid.uuid4().hex[:8]}"
    graded = live.client("grade").post(
        "/v1/grade", json={**week7, "response": {"h_2": "0.10"}, "submission_id": sid}
    )
    assert graded.json()["score"] == 0.0
    admin = live.client("admin")
    ask = {"template": "rnn-forward", "tolerance": {"h_2": {"decimals": 1}}}
    dry = admin.post("/v1/admin/regrade", json=ask).json()
    mine = [c for c in dry["changes"] if c["submission_id"] == sid]
    assert len(mine) == 1 and (mine[0]["old_score"], mine[0]["new_score"]) == (0.0, 1.0)
    assert mine[0]["why"].startswith("h_2: 0.0 -> 1.0") and dry["applied"] is False
    applied = admin.post("/v1/admin/regrade", json={**ask, "apply": True}).json()
    assert applied["applied"] is True
    again = admin.post("/v1/admin/regrade", json=ask).json()
    assert not [c for c in again["changes"] if c["submission_id"] == sid]
    with Store(live.db_url) as s:
        row = next(r for r in s.submission_rows() if r.submission_id == sid)
        assert [h.new_score for h in s.regrade_history(row.id)] == [1.0]
        assert orjson.loads(row.result)["score"] == 0.0  # the answer given then is kept
    problem(admin.post("/v1/admin/regrade", json={"since": "soon"}), 422, "invalid-request")
    problem(admin.post("/v1/admin/regrade", json={"tolerance": [1]}), 422, "invalid-request")
    problem(admin.post("/v1/admin/regrade", json={"apply": "yes"}), 422, "invalid-request")
    problem(admin.post("/v1/admin/regrade", json={"template": "nope"}), 422, "unknown-template")


def test_variants_limits_and_answers_flag(live: Live) -> None:
    c = live.client("generate")
    problem(
        c.post("/v1/variants", json={"template": "rnn-forward", "count": 1001}),
        413,
        "too-many-variants",
    )
    problem(
        c.post("/v1/variants", json={"template": "rnn-forward", "answers": "yes"}),
        422,
        "invalid-request",
    )
    # count is the request's own field, as a count of the wrong type is: not a template param.
    for count in (-1, 0, "3"):
        body = problem(
            c.post("/v1/variants", json={"template": "rnn-forward", "count": count}),
            422,
            "invalid-submission",
        )
        assert body["detail"].startswith("count: must be"), body
