"""The LTI 1.3 tool's routes: JWKS, login initiation, launch, the student page and its submits,
the instructor view, deep linking and dynamic registration. Pages are rendered on the server
(web/lti/templates); the launch travels in a signed form token, never in a cookie."""

from __future__ import annotations

import csv
import functools
import io
import logging
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import orjson
from fastapi import APIRouter, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from generators import REGISTRY, TemplateError
from grader import GraderError
from grader.errors import SeqquizError
from jobs.exports import common
from jobs.exports.figures import svg_for
from jobs.exports.html import MATHML, key_html
from jobs.problem_set import ProblemSetError
from jobs.problem_set import parse as parse_problem_set
from store import Store
from store.db import now
from store.lti import Launch, LtiStore
from web.lti import config, problem_sets, tokens
from web.lti.activity import Activity, ActivityError, page_status
from web.lti.chart import bar_chart
from web.lti.launch import (
    DEEP_LINKING,
    JwksCache,
    LaunchError,
    is_instructor,
    launch_row,
    login,
    verify,
)
from web.settings import WebSettings
from worker.passback import SCOPE_SCORE, AgsClient, PassbackQueue

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
FORM_SECRET = "lti_form_secret"
SEED_SECRET = "lti_seed_secret"
MAX_FORM = 256 << 10  # bytes of a submitted form
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
LTI_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"


class Refused(SeqquizError):
    """Raised when a page handler answers with an error page and an HTTP status (the class's
    code is the default; each refusal sets its own)."""

    code = "refused"

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def parse_form(body: bytes) -> dict[str, list[str]]:
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise Refused(400, "bad-form", "the form is not UTF-8") from None
    return parse_qs(text, keep_blank_values=True, max_num_fields=2000)


def one(form: dict[str, list[str]]) -> dict[str, str]:
    return {k: v[0] for k, v in form.items() if v}


class Tool:
    """The LTI tool of one server process."""

    def __init__(
        self, store: Store, settings: WebSettings, http: httpx.Client | None = None
    ) -> None:
        self.lti = LtiStore(store)
        self.settings = settings
        self.http = http or httpx.Client(timeout=15)
        self.jwks = JwksCache(self.http)
        self.ags = AgsClient(self.lti, self.http)
        self.queue = PassbackQueue(self.lti, self.ags)
        self.base_url = os.environ.get("SEQQUIZ_LTI_BASE_URL", "").strip() or None
        self._issuers: dict[int, str] = {}
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def close(self) -> None:
        self.queue.stop()
        self.http.close()

    # ---- shared steps ---------------------------------------------------------------------------
    def page(self, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(name).render(**ctx), status)

    def refused(self, exc: Refused | LaunchError) -> HTMLResponse:
        return self.page("error.html", exc.status, code=exc.code, message=str(exc))

    def base(self, request: Request) -> str:
        return self.base_url or str(request.base_url).rstrip("/")

    def form_token(self, launch: Launch, preview: bool = False) -> str:
        claims: dict[str, Any] = {"l": launch.id}
        if preview:
            claims["pv"] = 1
        return tokens.sign(self.lti.secret(FORM_SECRET), "form", claims, tokens.FORM_TTL)

    def from_token(self, form: dict[str, str]) -> tuple[Launch, bool]:
        try:
            claims = tokens.verify(self.lti.secret(FORM_SECRET), "form", form.get("token", ""))
        except tokens.TokenError as exc:
            raise Refused(401, "invalid-form-token", f"token: {exc}") from None
        launch = self.lti.launch(str(claims.get("l")))
        if launch is None:
            raise Refused(401, "invalid-form-token", "token: no such launch")
        return launch, bool(claims.get("pv"))

    def activity(self, launch: Launch) -> Activity:
        try:
            return Activity.from_custom(launch.custom)
        except ActivityError as exc:
            raise Refused(400, "invalid-activity", str(exc)) from None

    def issuer(self, platform_id: int) -> str:
        """A platform's issuer (never changes for a platform id)."""
        hit = self._issuers.get(platform_id)
        if hit is None:
            p = self.lti.platform(platform_id)
            assert p is not None
            hit = self._issuers[platform_id] = p.issuer
        return hit

    def seed(self, launch: Launch, user: str | None = None) -> int:
        return tokens.seat_seed(
            self.lti.secret(SEED_SECRET),
            self.issuer(launch.platform_id),
            launch.deployment_id,
            launch.resource_link_id or "",
            user or launch.user_sub,
        )

    def instructor_only(self, launch: Launch) -> None:
        if not is_instructor(launch.roles):
            raise Refused(403, "not-an-instructor", "this page is for the course's instructors")

    # ---- the launch -----------------------------------------------------------------------------
    def do_login(self, request: Request, form: dict[str, str]) -> Response:
        out = login(self.lti, form, self.base(request) + config.LAUNCH)
        return self.page("autopost.html", action=out.url, fields=out.params, method="get")

    def do_launch(self, form: dict[str, str]) -> Response:
        launch, nonce = verify(self.lti, self.jwks, form)
        if launch.message_type == DEEP_LINKING:
            if not is_instructor(launch.roles):
                raise Refused(403, "not-an-instructor", "deep linking is for instructors")
        else:
            self.activity(launch)  # a misconfigured link is refused before anything is kept
        if not self.lti.accept_launch(nonce, launch_row(launch)):
            raise LaunchError(401, "nonce-reused", "id_token: this nonce was used before")
        if launch.message_type == DEEP_LINKING:
            return self.deep_link_page(launch)
        if is_instructor(launch.roles):
            return self.instructor_page(launch)
        return self.student_page(launch)

    # ---- the student page -----------------------------------------------------------------------
    def student_page(
        self, launch: Launch, preview: bool = False, shown: Any = None, status: int = 200
    ) -> HTMLResponse:
        act = self.activity(launch)
        v = act.variant(self.seed(launch))
        view = rendered(act, v.seed)
        attempts = self.lti.attempts(launch)
        latest = shown if shown is not None else (attempts[-1] if attempts else None)
        response = orjson.loads(latest.response) if latest is not None else {}
        result = orjson.loads(latest.result) if latest is not None else None
        used = len(attempts)
        done = used >= act.attempts
        best = max((a.score_given for a in attempts), default=None)
        parts = []
        for p, prompt in zip(common.parts_of(v), view.prompts, strict=True):
            spec = v.parts[p.id]
            value = response.get(p.id)
            if isinstance(value, list):
                value = ", ".join(str(x) for x in value)
            shown_value = None if value is None else str(value)
            pr = (result or {}).get("parts", {}).get(p.id)
            parts.append(
                {
                    "id": p.id,
                    "letter": p.letter,
                    "prompt": prompt,
                    "input": Markup(spec.html_input(p.id, f"Answer ({p.letter})", shown_value)),
                    # Only for a submitted answer: the page shows what was graded, not drafts.
                    "preview": Markup(spec.preview(value)) if latest is not None else "",
                    "points": p.points,
                    "status": page_status(pr) if pr is not None else None,
                    "feedback": pr.get("feedback") if pr is not None else None,
                    "score": pr.get("score") if pr is not None else None,
                }
            )
        return self.page(
            "student.html",
            status,
            title=v.title or v.template,
            template=v.template,
            figure=view.figure,
            stem=view.stem,
            parts=parts,
            token=self.form_token(launch, preview),
            used=used,
            allowed=act.attempts,
            done=done,
            best=best,
            maximum=act.max_points(v),
            latest=latest,
            key=answer_key(act, v.seed) if done or act.reveal else None,
            preview=preview,
            attempts=attempts,
        )

    def submit(self, form: dict[str, list[str]]) -> Response:
        launch, preview = self.from_token(one(form))
        if launch.resource_link_id is None:
            raise Refused(400, "not-a-resource-link", "this launch has no resource link")
        if is_instructor(launch.roles) and not preview:
            raise Refused(403, "instructor-launch", "instructors preview from their own view")
        act = self.activity(launch)
        v = act.variant(self.seed(launch))
        earlier = self.lti.attempts(launch)
        used = len(earlier)
        if used >= act.attempts:
            raise Refused(409, "no-attempts-left", f"all {act.attempts} attempts are used")
        response = act.response(v, form)
        try:
            result = act.grade(v, response)
        except (TemplateError, GraderError) as exc:
            raise Refused(422, getattr(exc, "code", "invalid-response"), str(exc)) from None
        maximum = act.max_points(v)
        given = round(result["score"] * maximum, 9)
        row = {
            "template": v.template,
            "version": v.version,
            "seed": v.seed,
            "params": act.params,
            "points": orjson.dumps({"*": act.points}).decode(),
            "response": orjson.dumps(response).decode(),
            "result": orjson.dumps(result).decode(),
            "score_given": given,
            "score_maximum": maximum,
            "submitted_at": now(),
        }
        # The best attempt is the score sent (documented); it goes with the attempt, in one
        # commit, and is sent off the request path.
        best = max([a.score_given for a in earlier] + [given])
        send = None if preview or not self.sends_scores(launch) else (best, maximum)
        stored = self.lti.add_attempt(launch, used + 1, row, send)
        if stored is None:
            raise Refused(409, "attempt-conflict", "another submission took this attempt; reload")
        if stored[1] is not None:
            self.enqueue(stored[1])
        return self.student_page(launch, preview)

    @staticmethod
    def sends_scores(launch: Launch) -> bool:
        return SCOPE_SCORE in launch.ags_scopes and bool(
            launch.lineitem_url or launch.lineitems_url
        )

    def send_best(self, launch: Launch, maximum: float) -> None:
        """Queue the best attempt's score for the gradebook (after a regrade)."""
        if not self.sends_scores(launch):
            return
        best = max(a.score_given for a in self.lti.attempts(launch))
        self.enqueue(self.lti.add_passback(launch, best, maximum))

    def enqueue(self, passback_id: int) -> None:
        if self.settings.broker_url:
            from worker.app import app as celery_app
            from worker.config import BATCH
            from worker.passback_tasks import TASK

            celery_app.send_task(TASK, args=[{"passback_id": passback_id}], queue=BATCH)
        else:
            self.queue.put(passback_id)

    def show_attempt(self, form: dict[str, str]) -> Response:
        launch, preview = self.from_token(form)
        try:
            attempt = self.lti.attempt(int(form.get("attempt", "")))
        except ValueError:
            raise Refused(400, "invalid-attempt", "attempt: must be an attempt number") from None
        mine = attempt is not None and (
            attempt.user_sub,
            attempt.resource_link_id,
            attempt.platform_id,
            attempt.deployment_id,
        ) == (launch.user_sub, launch.resource_link_id, launch.platform_id, launch.deployment_id)
        if not mine:
            raise Refused(403, "not-your-attempt", "this attempt is not yours")
        return self.student_page(launch, preview, shown=attempt)

    # ---- the instructor -------------------------------------------------------------------------
    def class_summary(self, launch: Launch) -> dict[str, Any]:
        act = self.activity(launch)
        rows = self.lti.link_attempts(launch)
        students: dict[str, dict[str, Any]] = {}
        by_part: dict[str, Counter[str]] = {}
        mistakes: Counter[str] = Counter()
        passbacks = self.lti.passbacks(
            platform_id=launch.platform_id,
            deployment_id=launch.deployment_id,
            resource_link_id=launch.resource_link_id,
        )
        last_pb = {p.user_sub: p for p in passbacks if p.status != "superseded"}
        for a in rows:
            s = students.setdefault(
                a.user_sub,
                {"sub": a.user_sub, "attempts": 0, "best": 0.0, "maximum": a.score_maximum},
            )
            s["attempts"] += 1
            s["best"] = max(s["best"], a.score_given)
            for pid, pr in orjson.loads(a.result).get("parts", {}).items():
                by_part.setdefault(pid, Counter())[page_status(pr)] += 1
                if pr.get("misconception"):
                    mistakes[str(pr["misconception"])] += 1
        for sub, s in students.items():
            pb = last_pb.get(sub)
            s["passback"] = pb.status if pb is not None else "none"
            s["passback_id"] = pb.id if pb is not None else None
            s["passback_error"] = pb.last_error if pb is not None else None
        order = list(act.variant(0).parts)
        parts = sorted(
            by_part.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else 99, kv[0])
        )
        return {
            "activity": act,
            "students": sorted(students.values(), key=lambda s: s["sub"]),
            "parts": parts,
            "mistakes": mistakes,
        }

    def instructor_page(self, launch: Launch, note: str | None = None) -> HTMLResponse:
        self.instructor_only(launch)
        s = self.class_summary(launch)
        chart = bar_chart(
            s["parts"], s["mistakes"], "Answers per part and misconceptions made by the class"
        )
        return self.page(
            "instructor.html",
            template=s["activity"].template,
            activity=s["activity"],
            students=s["students"],
            parts=s["parts"],
            mistakes=s["mistakes"],
            chart=Markup(chart),
            token=self.form_token(launch),
            note=note,
        )

    def instructor_csv(self, form: dict[str, str]) -> Response:
        launch, _ = self.from_token(form)
        self.instructor_only(launch)
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["user", "attempt", "submitted_at", "score_given", "score_maximum", "parts"])
        for a in self.lti.link_attempts(launch):
            parts = orjson.loads(a.result).get("parts", {})
            w.writerow(
                [
                    a.user_sub,
                    a.n,
                    a.submitted_at,
                    a.score_given,
                    a.score_maximum,
                    " ".join(f"{k}={page_status(v)}" for k, v in parts.items()),
                ]
            )
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="seqquiz-attempts.csv"'},
        )

    def regrade(self, form: dict[str, str]) -> Response:
        """Grade every attempt at the link again with today's code; a changed best score is
        sent to the gradebook again."""
        launch, _ = self.from_token(form)
        self.instructor_only(launch)
        act = self.activity(launch)
        changed: set[str] = set()
        checked = 0
        for a in self.lti.link_attempts(launch):
            v = act.variant(a.seed)
            result = act.grade(v, orjson.loads(a.response))
            given = round(result["score"] * a.score_maximum, 9)
            checked += 1
            if given != a.score_given or orjson.dumps(result).decode() != a.result:
                self.lti.update_attempt_result(a.id, orjson.dumps(result).decode(), given)
                changed.add(a.user_sub)
        for sub in sorted(changed):
            seat = self.lti.attempts(launch, sub)
            if seat and SCOPE_SCORE in launch.ags_scopes:
                # the student's own launch holds their AGS endpoints
                student = self.lti.launch(seat[-1].launch_id) or launch
                self.send_best(student, seat[0].score_maximum)
        return self.instructor_page(
            launch, f"Regraded {checked} attempts; {len(changed)} students' results changed."
        )

    def resend(self, form: dict[str, str]) -> Response:
        launch, _ = self.from_token(form)
        self.instructor_only(launch)
        try:
            row = self.lti.passback(int(form.get("passback", "")))
        except ValueError:
            row = None
        if row is None or (row.platform_id, row.resource_link_id) != (
            launch.platform_id,
            launch.resource_link_id,
        ):
            raise Refused(404, "unknown-passback", "no such score passback for this link")
        if row.status == "failed":
            self.lti.set_passback(row.id, status="pending", tries=0, next_try_at=now())
            self.enqueue(row.id)
        return self.instructor_page(launch, "The score was queued to be sent again.")

    def preview(self, form: dict[str, str]) -> Response:
        launch, _ = self.from_token(form)
        self.instructor_only(launch)
        return self.student_page(launch, preview=True)

    # ---- deep linking ---------------------------------------------------------------------------
    def deep_link_page(
        self,
        launch: Launch,
        uploaded: problem_sets.Offered | None = None,
        upload_error: str | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        return self.page(
            "deep_link.html",
            status,
            templates=[(t.id, t.title) for t in REGISTRY],
            token=self.form_token(launch),
            points=1,
            attempts=3,
            installed=problem_sets.installed(),
            uploaded=uploaded,
            upload_error=upload_error,
        )

    def deep_link_upload(self, content_type: str, body: bytes) -> Response:
        """An uploaded TOML problem set, listed on the deep linking page with a button per entry
        (or its error, naming the problem and the field); nothing is stored."""
        try:
            fields, filename, data = problem_sets.read_upload(content_type, body)
        except problem_sets.UploadError as exc:
            raise Refused(400, exc.code, str(exc)) from None
        launch, _ = self.from_token(fields)
        if launch.message_type != DEEP_LINKING:
            raise Refused(400, "not-deep-linking", "this launch is not a deep linking request")
        self.instructor_only(launch)
        name = Path(filename).name[:100]
        try:
            ps = parse_problem_set(data.decode("utf-8"), name)
        except UnicodeDecodeError:
            return self.deep_link_page(launch, None, f"{name}: is not UTF-8 text", 422)
        except ProblemSetError as exc:
            return self.deep_link_page(launch, None, str(exc), 422)
        return self.deep_link_page(launch, problem_sets.offer(ps, name))

    def deep_link_answer(self, request: Request, form: dict[str, str]) -> Response:
        launch, _ = self.from_token(form)
        if launch.message_type != DEEP_LINKING:
            raise Refused(400, "not-deep-linking", "this launch is not a deep linking request")
        self.instructor_only(launch)
        custom = {
            k: form[k].strip()
            for k in ("template", "params", "ask", "points", "attempts")
            if form.get(k, "").strip()
        }
        if form.get("reveal") == "yes":
            custom["reveal"] = "yes"
        try:
            act = Activity.from_custom(custom)
        except ActivityError as exc:
            raise Refused(422, "invalid-activity", str(exc)) from None
        v = act.variant(0)
        p = self.lti.platform(launch.platform_id)
        assert p is not None
        title = form.get("title", "").strip() or (v.title or v.template)
        item = {
            "type": "ltiResourceLink",
            "title": title,
            "url": self.base(request) + config.LAUNCH,
            "custom": custom,
            "lineItem": {
                "scoreMaximum": act.max_points(v),
                "label": title,
                "resourceId": act.template,
                "tag": "seqquiz",
            },
        }
        key = self.lti.signing_key()
        t = int(time.time())
        claims: dict[str, Any] = {
            "iss": p.client_id,
            "aud": p.issuer,
            "iat": t,
            "exp": t + 600,
            "nonce": uuid.uuid4().hex,
            LTI_CLAIM + "message_type": "LtiDeepLinkingResponse",
            LTI_CLAIM + "version": "1.3.0",
            LTI_CLAIM + "deployment_id": launch.deployment_id,
            DL_CLAIM + "content_items": [item],
        }
        if launch.deep_link_data is not None:
            claims[DL_CLAIM + "data"] = launch.deep_link_data
        token = jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid})
        return self.page(
            "autopost.html",
            action=launch.deep_link_return_url,
            fields={"JWT": token},
            method="post",
        )

    # ---- dynamic registration -------------------------------------------------------------------
    def dynamic_registration(self, request: Request, query: dict[str, str]) -> Response:
        from web.lti.registration import RegistrationError, register

        try:
            p = register(
                self.lti,
                self.http,
                query.get("openid_configuration", ""),
                query.get("registration_token"),
                self.base(request),
            )
        except RegistrationError as exc:
            raise Refused(400, "registration-failed", str(exc)) from None
        return self.page("registered.html", platform=p)


@dataclass(frozen=True)
class Rendered:
    """What a variant's page shows whoever looks: rendered once per variant (MathML, SVG)."""

    figure: Markup | None
    stem: Markup
    prompts: tuple[Markup, ...]


@functools.lru_cache(maxsize=2048)
def rendered(act: Activity, seed: int | None) -> Rendered:
    v = act.variant(seed or 0)
    parts = common.parts_of(v)
    svg = svg_for(v)
    return Rendered(
        Markup(svg) if svg else None,
        Markup(MATHML.render(common.stem_body(v))),
        tuple(Markup(MATHML.inline(p.prompt)) for p in parts),
    )


@functools.lru_cache(maxsize=2048)
def answer_key(act: Activity, seed: int | None) -> Markup:
    """The answers and worked solution: rendered only when a page shows them (most launches
    do not), since the worked solution's math is the costliest part of a page to render."""
    v = act.variant(seed or 0)
    return Markup(key_html(v, common.parts_of(v)))


def router(tool: Tool) -> APIRouter:
    r = APIRouter(tags=["lti"], include_in_schema=False)

    async def run(work: Callable[[], Response]) -> Response:
        def guarded() -> Response:
            try:
                return work()
            except (Refused, LaunchError) as exc:
                return tool.refused(exc)

        return await run_in_threadpool(guarded)

    async def body(request: Request) -> dict[str, list[str]]:
        raw = await request.body()
        if len(raw) > MAX_FORM:
            raise Refused(413, "form-too-large", f"the form: at most {MAX_FORM} bytes")
        return parse_form(raw)

    def handler(work: Callable[[Request, dict[str, list[str]]], Response]) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            try:
                form = await body(request)
            except Refused as exc:
                return tool.refused(exc)
            return await run(lambda: work(request, form))

        return endpoint

    @r.get("/.well-known/jwks.json")
    async def jwks() -> Response:
        keys = await run_in_threadpool(tool.lti.jwks)
        return Response(
            orjson.dumps(keys),
            media_type="application/json",
            headers={"Cache-Control": "public, max-age=300"},
        )

    @r.get("/lti/login")
    async def login_get(request: Request) -> Response:
        q = dict(request.query_params)
        return await run(lambda: tool.do_login(request, q))

    r.add_api_route(
        "/lti/login", handler(lambda rq, f: tool.do_login(rq, one(f))), methods=["POST"]
    )
    r.add_api_route("/lti/launch", handler(lambda rq, f: tool.do_launch(one(f))), methods=["POST"])
    r.add_api_route("/lti/submit", handler(lambda rq, f: tool.submit(f)), methods=["POST"])
    r.add_api_route(
        "/lti/attempt", handler(lambda rq, f: tool.show_attempt(one(f))), methods=["POST"]
    )
    r.add_api_route(
        "/lti/instructor",
        handler(lambda rq, f: tool.instructor_page(_instructor(tool, one(f)))),
        methods=["POST"],
    )
    r.add_api_route(
        "/lti/instructor/csv", handler(lambda rq, f: tool.instructor_csv(one(f))), methods=["POST"]
    )
    r.add_api_route(
        "/lti/instructor/regrade", handler(lambda rq, f: tool.regrade(one(f))), methods=["POST"]
    )
    r.add_api_route(
        "/lti/instructor/resend", handler(lambda rq, f: tool.resend(one(f))), methods=["POST"]
    )
    r.add_api_route(
        "/lti/instructor/preview", handler(lambda rq, f: tool.preview(one(f))), methods=["POST"]
    )
    r.add_api_route(
        "/lti/deep-link",
        handler(lambda rq, f: tool.deep_link_answer(rq, one(f))),
        methods=["POST"],
    )

    @r.post("/lti/deep-link/upload")
    async def deep_link_upload(request: Request) -> Response:
        raw = await request.body()
        if len(raw) > MAX_FORM:
            exc = Refused(413, "form-too-large", f"the upload: at most {MAX_FORM} bytes")
            return tool.refused(exc)
        ctype = request.headers.get("content-type", "")
        return await run(lambda: tool.deep_link_upload(ctype, raw))

    @r.get("/lti/register")
    async def dynamic_registration(request: Request) -> Response:
        q = dict(request.query_params)
        return await run(lambda: tool.dynamic_registration(request, q))

    @r.get("/lti/config.json")
    async def tool_config(request: Request) -> Response:
        return Response(
            orjson.dumps(config.urls(tool.base(request))), media_type="application/json"
        )

    return r


def _instructor(tool: Tool, form: dict[str, str]) -> Launch:
    launch, _ = tool.from_token(form)
    return launch
