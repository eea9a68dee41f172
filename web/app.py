"""The FastAPI app of `seqquiz serve`: authenticate, limit, adapt each request to a job of
`jobs`, store what was graded, answer. No grading logic lives here."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

import jobs
from generators import REGISTRY, TemplateError
from grader.errors import SeqquizError
from jobs import __version__
from store import ApiKey, Store
from store.db import IdemRecord, Stored, fingerprint, submission_row
from store.db import now as utcnow
from store.regrade import regrade
from web import gcpauses, schemas
from web.batches import BatchRunner, count_results, split_lines
from web.grouping import GroupCommit
from web.lti import mount as mount_lti
from web.problems import Problem, problem_response
from web.ratelimit import RateLimiter
from web.settings import WebSettings
from web.webhooks import Deliverer
from worker.webhooks import CallbackError, check_url

log = logging.getLogger(__name__)

JSON = "application/json"
NDJSON = "application/x-ndjson"
BEARER = [{"bearer": []}]
KEY_TTL = 1.0  # seconds a looked-up API key is trusted before the store is asked again


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status, headers=headers, media_type=JSON)


def job_problem(exc: SeqquizError) -> Problem:
    """A user mistake found by a job: 422 with the job's own error code."""
    return Problem(422, exc.code, str(exc))


def parse_json_body(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Problem(400, "bad-json", f"request body: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise Problem(
            422,
            "invalid-request",
            f"request body: must be a JSON object (got {type(data).__name__})",
        )
    return data


def idempotency_key(headers: Headers) -> str | None:
    """The Idempotency-Key header: an RFC 8941 string (`"…"`); a bare token is accepted too."""
    raw = headers.get("idempotency-key")
    if raw is None:
        return None
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not value or len(value) > 255 or not value.isprintable():
        raise Problem(
            400,
            "invalid-idempotency-key",
            f"Idempotency-Key: must be 1 to 255 printable characters (got {raw[:60]!r})",
        )
    return value


@dataclass(frozen=True)
class Call:
    """One authenticated POST: its key, body and, with an Idempotency-Key, how to record it."""

    key: ApiKey
    body: bytes
    idem_key: str | None
    fingerprint: str

    def record(
        self, status: int, body: bytes, content_type: str = JSON, location: str | None = None
    ) -> IdemRecord | None:
        if self.idem_key is None:
            return None
        return IdemRecord(
            self.key.id, self.idem_key, self.fingerprint, status, content_type, location, body
        )


def replay(call: Call, stored: Stored) -> Response:
    if stored.fingerprint != call.fingerprint:
        raise Problem(
            422,
            "idempotency-key-reused",
            f"Idempotency-Key {call.idem_key!r} was used with another request; a key names one "
            "request (same method, path, query and body)",
        )
    headers = {"Idempotent-Replayed": "true"}
    if stored.location:
        headers["Location"] = stored.location
    return Response(stored.body, stored.status, headers=headers, media_type=stored.content_type)


class Service:
    """What the routes share: the store, the settings, the rate limiter, the batch runner and
    the webhook deliverer of this process."""

    def __init__(self, store: Store, settings: WebSettings) -> None:
        self.store = store
        self.settings = settings
        self.limiter = RateLimiter(settings.rate, settings.burst)
        self.deliverer = Deliverer(store, settings.webhooks, settings.broker_url)
        self.runner = BatchRunner(store, settings, self.deliverer.announce)
        self.grades = GroupCommit(store)
        self._keys: dict[str, tuple[ApiKey | None, float]] = {}
        self._in_flight: dict[tuple[str, str], asyncio.Future[None]] = {}

    # ---- the steps every request takes ----------------------------------------------------------
    def lookup(self, token: str) -> ApiKey | None:
        """The key of a token, read from the store at most once a KEY_TTL per token and
        process: a key revoked with `seqquiz keys revoke` is refused within that time."""
        now = time.monotonic()
        hit = self._keys.get(token)
        if hit is not None and hit[1] > now:
            return hit[0]
        key = self.store.authenticate(token)
        if len(self._keys) >= 10_000:  # bounded: a flood of made-up keys cannot grow it
            self._keys.clear()
        self._keys[token] = (key, now + KEY_TTL)
        return key

    def authorize(self, headers: Headers, scope: str | None) -> ApiKey:
        auth = headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        challenge = {"WWW-Authenticate": 'Bearer realm="seqquiz"'}
        if scheme.lower() != "bearer" or not token.strip():
            raise Problem(
                401, "missing-key", "send an API key: `Authorization: Bearer KEY`", challenge
            )
        key = self.lookup(token.strip())
        if key is None:
            raise Problem(401, "invalid-key", "the API key is unknown or revoked", challenge)
        if scope is not None and scope not in key.scopes:
            raise Problem(
                403,
                "missing-scope",
                f"this API key (scopes: {', '.join(key.scopes)}) lacks the {scope!r} scope",
            )
        wait = self.limiter.take(key.id)
        if wait is not None:
            raise Problem(
                429,
                "rate-limited",
                f"more than {self.settings.rate:g} requests a second with this key; retry in "
                f"{wait} s",
                {"Retry-After": str(wait)},
            )
        return key

    def post(
        self,
        headers: Headers,
        path: str,
        query: str,
        body: bytes,
        scope: str,
        work: Callable[[Call], Response],
    ) -> Response:
        key = self.authorize(headers, scope)
        idem = idempotency_key(headers)
        call = Call(key, body, idem, fingerprint("POST", path, query, body) if idem else "")
        if idem is not None:
            stored = self.store.stored_response(key.id, idem)
            if stored is not None:
                return replay(call, stored)
        return work(call)

    def keep(self, call: Call, response: Response) -> Response:
        """For POSTs with no other effect: keep the response under the Idempotency-Key."""
        record = call.record(response.status_code, bytes(response.body))
        if record is None:
            return response
        stored = self.store.save_response(record)
        return replay(call, stored) if stored is not None else response

    # ---- the jobs -------------------------------------------------------------------------------
    def prepare_grade(self, call: Call) -> tuple[dict[str, Any], bytes]:
        """Grade (CPU only): the row to store and the response body."""
        received = utcnow()
        payload = parse_json_body(call.body)
        sid = payload.get("submission_id")
        if sid is not None and (isinstance(sid, bool) or not isinstance(sid, str | int)):
            raise Problem(
                422,
                "invalid-submission",
                f"submission_id: must be a string or an integer (got {sid!r:.60})",
            )
        try:
            result = jobs.grade(payload)
        except SeqquizError as exc:
            raise job_problem(exc) from None
        body = orjson.dumps(result)
        version = REGISTRY.get(payload["template"]).version
        return submission_row(call.key.id, payload, result, body, received, version), body

    async def grade(self, headers: Headers, path: str, query: str, body: bytes) -> Response:
        """The hot path runs on the event loop (a grade takes about a millisecond of CPU); the
        store's commit is grouped with those of concurrent requests."""
        key = self.authorize(headers, "grade")
        idem = idempotency_key(headers)
        call = Call(key, body, idem, fingerprint("POST", path, query, body) if idem else "")
        if idem is None:
            return await self._grade(call)
        # A twin of a request in flight in this process waits for it and replays its answer:
        # one grade. (Twins on two servers both grade; the store keeps the first, and both
        # answer with it.)
        flight = (key.id, idem)
        while (first := self._in_flight.get(flight)) is not None:
            await asyncio.wait([first])
        # No await from here to the registration below: the check and the claim are one step.
        stored = self.store.stored_response(key.id, idem)
        if stored is not None:
            return replay(call, stored)
        done = asyncio.get_running_loop().create_future()
        self._in_flight[flight] = done
        try:
            return await self._grade(call)
        finally:
            if self._in_flight.get(flight) is done:
                del self._in_flight[flight]
            done.set_result(None)

    async def _grade(self, call: Call) -> Response:
        row, out = self.prepare_grade(call)
        stored = await self.grades.save_grade(row, call.record(200, out))
        if stored is not None:  # a request with this Idempotency-Key on another server won
            return replay(call, stored)
        return Response(out, 200, media_type=JSON)

    def solve(self, call: Call) -> Response:
        try:
            result = jobs.solve(parse_json_body(call.body))
        except SeqquizError as exc:
            raise job_problem(exc) from None
        return self.keep(call, json_response(result))

    def variants(self, call: Call) -> Response:
        payload = parse_json_body(call.body)
        answers = payload.get("answers", False)
        if not isinstance(answers, bool):
            raise Problem(
                422, "invalid-request", f"answers: must be true or false (got {answers!r:.60})"
            )
        if answers and "solve" not in call.key.scopes:
            raise Problem(
                403, "missing-scope", "answers: true needs the 'solve' scope (answers are secret)"
            )
        count = payload.get("count", 1)
        if type(count) is int and count > self.settings.max_variants:
            raise Problem(
                413,
                "too-many-variants",
                f"count: at most {self.settings.max_variants} per request (got {count})",
            )
        try:
            variants = jobs.generate({**payload, "answers": answers})
            t = REGISTRY.get(payload["template"])
        except SeqquizError as exc:
            raise job_problem(exc) from None
        return self.keep(
            call, json_response({"title": f"{t.title} ({t.id})", "variants": variants})
        )

    def create_batch(self, call: Call, callback_url: str | None) -> Response:
        if callback_url is not None:
            try:
                check_url(callback_url, self.settings.webhooks)
            except CallbackError as exc:
                raise Problem(422, "callback-not-allowed", str(exc)) from None
        total = count_results(split_lines(call.body))
        if total > self.settings.max_batch_lines:
            raise Problem(
                413,
                "batch-too-large",
                f"a batch holds at most {self.settings.max_batch_lines} submissions (got {total})",
            )
        batch_id = uuid.uuid4().hex
        location = f"/v1/batches/{batch_id}"
        body = orjson.dumps({"id": batch_id, "status": "queued"})
        stored = self.store.create_batch(
            batch_id,
            call.key.id,
            total,
            self.runner.runner,
            call.body,
            callback_url,
            call.record(202, body, location=location),
        )
        if stored is not None:
            return replay(call, stored)
        self.runner.start(batch_id, call.body)
        return Response(body, 202, headers={"Location": location}, media_type=JSON)

    def find_batch(self, key: ApiKey, batch_id: str) -> Any:
        b = self.store.batch(batch_id) if len(batch_id) <= 64 else None
        if b is None or (b.key_id != key.id and "admin" not in key.scopes):
            raise Problem(404, "unknown-batch", f"batch {batch_id!r}: no such batch for this key")
        return b

    def regrade(self, call: Call) -> Response:
        payload = parse_json_body(call.body)
        template = payload.get("template")
        if template is not None and not isinstance(template, str):
            raise Problem(
                422, "invalid-request", f"template: must be a string (got {template!r:.60})"
            )
        since = payload.get("since")
        since_t = parse_since(since) if since is not None else None
        tolerance = payload.get("tolerance")
        if tolerance is not None and not isinstance(tolerance, dict):
            raise Problem(
                422, "invalid-request", f"tolerance: must be an object (got {tolerance!r:.60})"
            )
        apply = payload.get("apply", False)
        if not isinstance(apply, bool):
            raise Problem(
                422, "invalid-request", f"apply: must be true or false (got {apply!r:.60})"
            )
        try:
            if template is not None:
                REGISTRY.get(template)
            report = regrade(self.store, template, since_t, tolerance, apply)
        except SeqquizError as exc:
            raise job_problem(exc) from None
        return self.keep(call, json_response(report.to_json()))


def parse_since(value: Any) -> datetime:
    """An ISO 8601 date or time; UTC when it names no zone."""
    try:
        t = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        t = None
    if t is None:
        raise Problem(
            422, "invalid-request", f"since: must be an ISO 8601 date or time (got {value!r:.60})"
        )
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    check_declared_size(request.headers, limit)
    return await receive_body(request.receive, limit)


def check_declared_size(headers: Headers, limit: int) -> None:
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Problem(
            413, "body-too-large", f"request body: at most {limit} bytes (got {declared})"
        )


async def receive_body(receive: Receive, limit: int) -> bytes:
    """The body from the ASGI messages (`App`'s grade route, and `read_body`), refused with 413
    as soon as it exceeds `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Problem(413, "body-too-large", f"request body: at most {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class App(FastAPI):
    """The app, with `POST /v1/grade` (the route an LMS calls once per student answer) answered
    before the framework's middleware, routing, request objects and dependency solving, which
    cost more CPU than the grade: the same `Service.grade`, the same problem documents. The
    route stays declared below, for /openapi.json; every other request goes to FastAPI."""

    service: Service
    max_body: int

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/grade" or scope["method"] != "POST":
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        headers = Headers(scope=scope)
        try:
            check_declared_size(headers, self.max_body)
            body = await receive_body(receive, self.max_body)
            response = await self.service.grade(
                headers, "/v1/grade", scope["query_string"].decode("utf-8", "replace"), body
            )
        except Problem as exc:
            response = exc.response()
        except ClientDisconnect:
            return
        except Exception as exc:  # as the app's own handler of unexpected errors
            log.exception("unhandled error")
            response = problem_response(500, "internal-error", f"{type(exc).__name__}: {exc}")
        await response(scope, receive, send)


def create_app(store: Store | None = None, settings: WebSettings | None = None) -> FastAPI:
    settings = settings or WebSettings.from_env()
    owned = store is None
    store = store or Store()
    svc = Service(store, settings)

    # The event loop grades while one thread commits: hand the GIL over within half a
    # millisecond (not 5) when the committing thread's I/O returns.
    sys.setswitchinterval(0.0005)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gcpauses.install()
        store.check_schema(create_embedded=True)
        svc.runner.resume()
        svc.deliverer.resume()
        try:
            yield
        finally:
            svc.runner.stop()
            svc.deliverer.stop()
            svc.grades.close()
            if owned:
                store.close()

    app = App(
        title="seqquiz",
        version=__version__,
        summary="Randomized exercises on sequence models: grade, solve, generate, batches.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.service = svc

    @app.exception_handler(Problem)
    async def on_problem(_: Request, exc: Problem) -> Response:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "not-found", 405: "method-not-allowed"}
        return problem_response(
            exc.status_code,
            codes.get(exc.status_code, "http-error"),
            str(exc.detail),
            getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return problem_response(422, "invalid-request", f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(Exception)
    async def on_bug(_: Request, exc: Exception) -> Response:
        log.exception("unhandled error")
        return problem_response(500, "internal-error", f"{type(exc).__name__}: {exc}")

    async def post(
        request: Request, scope: str, work: Callable[[Call], Response], limit: int | None = None
    ) -> Response:
        body = await read_body(request, limit or settings.max_body)
        return await run_in_threadpool(
            svc.post, request.headers, request.url.path, request.url.query, body, scope, work
        )

    common = schemas.problems(400, 401, 403, 413, 422, 429)

    # ---- service --------------------------------------------------------------------------------
    @app.get("/healthz", tags=["service"], responses=schemas.ok(schemas.HEALTH))
    async def healthz() -> Response:
        """The process answers (it does not check the store: see /readyz)."""
        return json_response({"status": "ok"})

    @app.get(
        "/readyz",
        tags=["service"],
        responses={**schemas.ok(schemas.HEALTH), **schemas.problems(503)},
    )
    async def readyz() -> Response:
        """The store is reachable, and the broker when one is configured."""

        def check() -> Response:
            try:
                store.ping()
            except Exception as exc:
                return problem_response(503, "store-unavailable", f"the store: {exc}")
            if settings.broker_url:
                try:
                    from redis import Redis

                    with Redis.from_url(settings.broker_url, socket_connect_timeout=2) as r:
                        r.ping()  # and the client's connection closed, not left to the GC
                except Exception as exc:
                    return problem_response(503, "broker-unavailable", f"the broker: {exc}")
            return json_response({"status": "ready"})

        return await run_in_threadpool(check)

    # ---- templates ------------------------------------------------------------------------------
    @app.get(
        "/v1/templates",
        tags=["templates"],
        responses={
            **schemas.ok({"type": "array", "items": schemas.TEMPLATE}),
            **schemas.problems(401, 429),
        },
        openapi_extra={"security": BEARER},
    )
    async def list_templates(request: Request) -> Response:
        """Every template (as `seqquiz templates --json`); any valid key."""
        await run_in_threadpool(svc.authorize, request.headers, None)
        return json_response([t.describe() for t in REGISTRY])

    @app.get(
        "/v1/templates/{template_id}",
        tags=["templates"],
        responses={**schemas.ok(schemas.TEMPLATE), **schemas.problems(401, 404, 429)},
        openapi_extra={"security": BEARER},
    )
    async def get_template(request: Request, template_id: str) -> Response:
        """One template's description."""
        await run_in_threadpool(svc.authorize, request.headers, None)
        try:
            return json_response(REGISTRY.get(template_id).describe())
        except TemplateError as exc:
            raise Problem(404, exc.code, str(exc)) from None

    # ---- jobs -----------------------------------------------------------------------------------
    @app.post(
        "/v1/grade",
        tags=["grading"],
        responses={**schemas.ok(schemas.GRADE_RESULT), **common},
        openapi_extra={**schemas.json_body(schemas.GRADE_REQUEST), "security": BEARER},
    )
    async def grade(request: Request) -> Response:
        """Grade one response (as `seqquiz grade`); stored before the answer (scope `grade`)."""
        body = await read_body(request, settings.max_body)
        return await svc.grade(request.headers, request.url.path, request.url.query, body)

    @app.post(
        "/v1/solve",
        tags=["grading"],
        responses={**schemas.ok(schemas.SOLVE_RESULT), **common},
        openapi_extra={**schemas.json_body(schemas.SOLVE_REQUEST), "security": BEARER},
    )
    async def solve(request: Request) -> Response:
        """Every answer of one variant (as `seqquiz solve`; scope `solve`)."""
        return await post(request, "solve", svc.solve)

    @app.post(
        "/v1/variants",
        tags=["generating"],
        responses={**schemas.ok(schemas.VARIANTS_RESULT), **common},
        openapi_extra={**schemas.json_body(schemas.VARIANTS_REQUEST), "security": BEARER},
    )
    async def variants(request: Request) -> Response:
        """Variants as `generate --format student-json` (scope `generate`); with `"answers":
        true` and scope `solve`, as `--format json`."""
        return await post(request, "generate", svc.variants)

    # ---- batches --------------------------------------------------------------------------------
    @app.post(
        "/v1/batches",
        tags=["batches"],
        status_code=202,
        responses={
            202: {
                "description": "Accepted; follow the Location.",
                "headers": {"Location": {"schema": {"type": "string"}}},
                "content": {JSON: {"schema": schemas.BATCH_ACCEPTED}},
            },
            **common,
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {NDJSON: {"schema": {"type": "string"}}},
            },
            "parameters": [
                {
                    "name": "callback_url",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "POSTed (signed, Standard Webhooks) when the batch completes.",
                }
            ],
            "security": BEARER,
        },
    )
    async def create_batch(request: Request) -> Response:
        """Grade a JSONL batch (the input of `grade-batch`) in the background (scope `grade`)."""
        callback = request.query_params.get("callback_url")
        return await post(
            request,
            "grade",
            lambda call: svc.create_batch(call, callback),
            settings.max_batch_bytes,
        )

    @app.get(
        "/v1/batches/{batch_id}",
        tags=["batches"],
        responses={**schemas.ok(schemas.BATCH_STATUS), **schemas.problems(401, 403, 404, 429)},
        openapi_extra={"security": BEARER},
    )
    async def batch_status(request: Request, batch_id: str) -> Response:
        """Progress of a batch: total, done, errors, complete."""

        def work() -> Response:
            key = svc.authorize(request.headers, "grade")
            b = svc.find_batch(key, batch_id)
            return json_response(
                {
                    "id": b.id,
                    "total": b.total,
                    "done": b.done,
                    "errors": b.errors,
                    "complete": b.completed_at is not None,
                }
            )

        return await run_in_threadpool(work)

    @app.get(
        "/v1/batches/{batch_id}/results",
        tags=["batches"],
        responses={
            **schemas.ok({"type": "string"}, media=NDJSON),
            **schemas.problems(401, 403, 404, 409, 429),
        },
        openapi_extra={"security": BEARER},
    )
    async def batch_results(request: Request, batch_id: str, partial: bool = False) -> Response:
        """The JSONL that `grade-batch` writes for the same input, byte for byte (409 until the
        batch is complete, unless `partial=true`)."""

        def work() -> Response:
            key = svc.authorize(request.headers, "grade")
            b = svc.find_batch(key, batch_id)
            if b.completed_at is None and not partial:
                raise Problem(
                    409,
                    "batch-incomplete",
                    f"batch {batch_id}: {b.done} of {b.total} done; ask again, or add "
                    "?partial=true for the results so far",
                )
            return StreamingResponse(lines(), media_type=NDJSON)

        def lines() -> Iterator[bytes]:
            buf: list[bytes] = []
            for raw in store.batch_results(batch_id):
                buf.append(raw)
                if len(buf) >= 1000:
                    yield b"\n".join(buf) + b"\n"
                    buf = []
            if buf:
                yield b"\n".join(buf) + b"\n"

        return await run_in_threadpool(work)

    # ---- admin ----------------------------------------------------------------------------------
    @app.post(
        "/v1/admin/regrade",
        tags=["admin"],
        responses={**schemas.ok(schemas.REGRADE_REPORT), **common},
        openapi_extra={**schemas.json_body(schemas.REGRADE_REQUEST), "security": BEARER},
    )
    async def regrade(request: Request) -> Response:
        """Regrade stored submissions with today's code or a new tolerance: what would change;
        with `"apply": true` the new results are stored beside the old (scope `admin`)."""
        return await post(request, "admin", svc.regrade)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
            )
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API key."}
            }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.state.lti = mount_lti(app, store, settings)
    app.service, app.max_body = svc, settings.max_body
    return app
