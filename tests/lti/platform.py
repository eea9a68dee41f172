"""A strict LTI 1.3 platform for the tests, written from the specs (LTI Core 1.3, Security
Framework 1.0, AGS 2.0, Deep Linking 2.0, Dynamic Registration 1.0): it issues id_tokens, serves
its JWKS and OIDC authorization endpoint, and checks what the tool sends it where real platforms
are strict: the client assertion (iss = sub = client id, aud = token URL, exp, a jti never
reused, signature against the tool's JWKS), the scopes, the score's media type and fields.
Every violation is recorded in `violations` and answered with an error."""

from __future__ import annotations

import base64
import html.parser
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import orjson
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from worker.testing import free_port

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_RESULT = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
ALLOWED_SCOPES = {SCOPE_SCORE, SCOPE_LINEITEM, SCOPE_RESULT}
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
ACTIVITY = {"Initialized", "Started", "InProgress", "Submitted", "Completed"}
GRADING = {"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"}


def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class Key:
    kid: str
    private: Any

    @classmethod
    def make(cls) -> Key:
        return cls(
            uuid.uuid4().hex[:12], rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )

    def jwk(self) -> dict[str, Any]:
        n = self.private.public_key().public_numbers()
        return {
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "use": "sig",
            "n": _b64(n.n),
            "e": _b64(n.e),
        }


class FormParser(html.parser.HTMLParser):
    """The first form of a page: its action, method and every named input's value."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method = "get"
        self.fields: dict[str, str] = {}
        self._in_form = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done and self.action is None:
            self.action, self.method, self._in_form = a.get("action"), a.get("method", "get"), True
        elif tag == "input" and self._in_form and "name" in a:
            self.fields[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form, self._done = False, True


def first_form(page: str) -> FormParser:
    p = FormParser()
    p.feed(page)
    assert p.action is not None, page[:2000]
    return p


@dataclass
class LineItem:
    id: str
    label: str
    score_maximum: float
    resource_link_id: str | None
    scores: list[dict[str, Any]] = field(default_factory=list)


class Platform:
    """The platform; `start()` serves it on a free port in a thread."""

    def __init__(self, issuer: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.issuer = issuer or self.url
        self.client_id = "seqquiz-client-" + uuid.uuid4().hex[:6]
        self.deployment_id = "dep-1"
        self.key = Key.make()
        self.published: list[Key] = [self.key]
        self.tool_jwks_url: str | None = None
        self.tool_redirect_uris: list[str] = []
        self.violations: list[str] = []
        self.jtis: set[str] = set()
        self.tokens: dict[str, tuple[set[str], float]] = {}
        self.token_requests = 0
        self.line_items: dict[str, LineItem] = {}
        self.launch_line_item: str | None = None  # a line item the launches carry
        self.fail_scores = 0  # answer this many score POSTs with 503
        self.refuse_scores = 0  # answer this many score POSTs with 400 (not retried)
        self.expire_tokens_once = False  # answer the next score with 401 (a token revoked early)
        self.registration_token = "reg-" + uuid.uuid4().hex
        self.pending: dict[str, dict[str, Any]] = {}  # login_hint -> what to launch
        self.deep_link_answers: list[str] = []
        self.score_times: list[float] = []  # when each score arrived (bench/lti_bench.py)
        self.lock = threading.Lock()
        self.scores_seen = threading.Condition(self.lock)
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    # ---- serving --------------------------------------------------------------------------------
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/jwks", self.jwks_endpoint),
                Route("/auth", self.auth_endpoint, methods=["GET", "POST"]),
                Route("/token", self.token_endpoint, methods=["POST"]),
                Route("/lineitems", self.lineitems_endpoint, methods=["GET", "POST"]),
                Route("/lineitems/{item}/scores", self.scores_endpoint, methods=["POST"]),
                Route("/.well-known/openid-configuration", self.openid_endpoint),
                Route("/register", self.register_endpoint, methods=["POST"]),
                Route("/start", self.start_endpoint),
                Route("/deep-link-return", self.deep_link_return, methods=["POST"]),
            ]
        )

    def start(self) -> Platform:
        cfg = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(10)

    def violate(self, message: str, status: int = 400) -> Response:
        self.violations.append(message)
        return JSONResponse({"error": message}, status)

    # ---- registration ---------------------------------------------------------------------------
    def register_args(self) -> list[str]:
        return [
            "--issuer", self.issuer, "--client-id", self.client_id,
            "--deployment-id", self.deployment_id, "--auth-login-url", self.url + "/auth",
            "--auth-token-url", self.url + "/token", "--jwks-url", self.url + "/jwks",
        ]  # fmt: skip

    def trust_tool(self, base_url: str) -> None:
        self.tool_jwks_url = base_url + "/.well-known/jwks.json"
        self.tool_redirect_uris = [base_url + "/lti/launch"]

    async def openid_endpoint(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": self.url + "/auth",
                "token_endpoint": self.url + "/token",
                "jwks_uri": self.url + "/jwks",
                "registration_endpoint": self.url + "/register",
                "scopes_supported": ["openid", *sorted(ALLOWED_SCOPES)],
                "response_types_supported": ["id_token"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                    "product_family_code": "seqquiz-test",
                    "version": "1",
                    "messages_supported": [{"type": "LtiResourceLinkRequest"}],
                },
            }
        )

    async def register_endpoint(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.registration_token}":
            return self.violate("register: wrong or missing registration token", 401)
        conf = orjson.loads(await request.body())
        tool = conf.get("https://purl.imsglobal.org/spec/lti-tool-configuration", {})
        for k in ("initiate_login_uri", "redirect_uris", "jwks_uri", "client_name"):
            if k not in conf:
                return self.violate(f"register: {k} missing")
        if conf.get("token_endpoint_auth_method") != "private_key_jwt":
            return self.violate("register: token_endpoint_auth_method must be private_key_jwt")
        if "domain" not in tool or "target_link_uri" not in tool:
            return self.violate("register: the LTI tool configuration lacks domain or target")
        self.tool_jwks_url = conf["jwks_uri"]
        self.tool_redirect_uris = list(conf["redirect_uris"])
        return JSONResponse(
            {
                **conf,
                "client_id": self.client_id,
                "https://purl.imsglobal.org/spec/lti-tool-configuration": {
                    **tool,
                    "deployment_id": self.deployment_id,
                },
            }
        )

    # ---- launches -------------------------------------------------------------------------------
    async def jwks_endpoint(self, request: Request) -> Response:
        return JSONResponse({"keys": [k.jwk() for k in self.published]})

    def plan(
        self,
        user: str,
        link: str = "link-1",
        roles: tuple[str, ...] = (LEARNER,),
        custom: dict[str, str] | None = None,
        message_type: str = "LtiResourceLinkRequest",
        lineitem: str | None = None,
        ags: bool = True,
        **tamper: Any,
    ) -> str:
        """Remember what the next login for `user` launches; returns the login_hint."""
        hint = uuid.uuid4().hex
        self.pending[hint] = {
            "user": user,
            "link": link,
            "roles": roles,
            "custom": custom or {"template": "rnn-forward", "ask": "h_1,y_1"},
            "message_type": message_type,
            "lineitem": lineitem,
            "ags": ags,
            "tamper": tamper,
        }
        return hint

    def login_fields(self, hint: str, target: str) -> dict[str, str]:
        return {
            "iss": self.issuer,
            "login_hint": hint,
            "target_link_uri": target,
            "client_id": self.client_id,
            "lti_deployment_id": self.deployment_id,
            "lti_message_hint": "m-" + hint[:6],
        }

    async def start_endpoint(self, request: Request) -> Response:
        """A browser's way in: /start?hint=H&target=URL&login=URL posts the login form."""
        q = request.query_params
        fields = self.login_fields(q["hint"], q["target"])
        inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
        return HTMLResponse(
            f'<!DOCTYPE html><html lang="en"><head><title>LMS</title></head><body>'
            f'<form id="f" method="post" action="{q["login"]}">{inputs}'
            '<button type="submit">Go</button></form>'
            '<script>document.getElementById("f").submit()</script></body></html>'
        )

    def id_token(self, params: dict[str, str]) -> tuple[str, str]:
        """Check the authorization request as a platform must, and answer (redirect, token)."""
        want = {
            "scope": "openid",
            "response_type": "id_token",
            "response_mode": "form_post",
            "prompt": "none",
            "client_id": self.client_id,
        }
        for k, v in want.items():
            if params.get(k) != v:
                raise ValueError(f"auth: {k} must be {v!r} (got {params.get(k)!r})")
        if params.get("redirect_uri") not in self.tool_redirect_uris:
            raise ValueError(f"auth: redirect_uri {params.get('redirect_uri')!r} not registered")
        if not params.get("nonce") or not params.get("state"):
            raise ValueError("auth: nonce and state are required")
        hint = params.get("login_hint", "")
        plan = self.pending.get(hint)
        if plan is None and hint.startswith("student:"):  # a load generator's own students
            _, user, link = hint.split(":", 2)
            plan = {
                "user": user, "link": link, "roles": (LEARNER,),
                "custom": {"template": "rnn-forward", "ask": "h_1,y_1"},
                "message_type": "LtiResourceLinkRequest", "lineitem": None, "ags": True,
                "tamper": {},
            }  # fmt: skip
        if plan is None:
            raise ValueError("auth: unknown login_hint")
        t = int(time.time())
        tamper = plan["tamper"]
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "azp": self.client_id,
            "sub": plan["user"],
            "name": plan["user"].title(),
            "iat": t,
            "exp": t + 300,
            "nonce": params["nonce"],
            "jti": uuid.uuid4().hex,
            LTI + "message_type": plan["message_type"],
            LTI + "version": "1.3.0",
            LTI + "deployment_id": self.deployment_id,
            LTI + "target_link_uri": params["redirect_uri"],
            LTI + "roles": list(plan["roles"]),
            LTI + "context": {"id": "course-1", "title": "Sequence models"},
            LTI + "custom": plan["custom"],
        }
        if plan["message_type"] == "LtiResourceLinkRequest":
            claims[LTI + "resource_link"] = {"id": plan["link"], "title": "Quiz"}
        else:
            claims[DL + "deep_linking_settings"] = {
                "deep_link_return_url": self.url + "/deep-link-return",
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "data": "opaque-" + plan["link"],
            }
        if plan["ags"]:
            ags: dict[str, Any] = {
                "scope": [SCOPE_SCORE, SCOPE_LINEITEM, SCOPE_RESULT],
                "lineitems": self.url + "/lineitems",
            }
            lineitem = plan["lineitem"] or self.launch_line_item
            if lineitem:
                ags["lineitem"] = lineitem
            claims[AGS] = ags
        for k in ("aud", "iss", "azp", "nonce"):
            if k in tamper:
                claims[k] = tamper[k]
        if "deployment_id" in tamper:
            claims[LTI + "deployment_id"] = tamper["deployment_id"]
        if "expired" in tamper:
            claims["iat"], claims["exp"] = t - 300 - tamper["expired"], t - tamper["expired"]
        if "version" in tamper:
            claims[LTI + "version"] = tamper["version"]
        key = tamper.get("key", self.key)
        if tamper.get("alg") == "HS256":  # the classic confusion: a MAC keyed with public data
            token = jwt.encode(claims, "k" * 32, algorithm="HS256", headers={"kid": key.kid})
        else:
            token = jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": key.kid})
        if tamper.get("tamper_signature"):
            head, body, sig = token.split(".")
            token = f"{head}.{body}.{sig[:-6]}{'A' if sig[-6] != 'A' else 'B'}{sig[-5:]}"
        return params["redirect_uri"], token

    async def auth_endpoint(self, request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update({k: v[0] for k, v in parse_qs((await request.body()).decode()).items()})
        try:
            redirect, token = self.id_token(params)
        except ValueError as exc:
            return self.violate(str(exc))
        return HTMLResponse(
            f'<!DOCTYPE html><html lang="en"><head><title>LMS</title></head><body>'
            f'<form id="f" method="post" action="{redirect}">'
            f'<input type="hidden" name="id_token" value="{token}">'
            f'<input type="hidden" name="state" value="{params["state"]}">'
            '<button type="submit">Go</button></form>'
            '<script>document.getElementById("f").submit()</script></body></html>'
        )

    # ---- services (AGS) -------------------------------------------------------------------------
    def _check_assertion(self, assertion: str) -> str | None:
        if self.tool_jwks_url is None:
            return "token: the tool's JWKS URL is not known"
        try:
            kid = jwt.get_unverified_header(assertion).get("kid")
            keys = httpx.get(self.tool_jwks_url, timeout=10).json()["keys"]
            jwk = next((k for k in keys if k.get("kid") == kid), None)
            if jwk is None:
                return f"token: kid {kid!r} not in the tool's JWKS"
            claims = jwt.decode(
                assertion,
                jwt.PyJWK(jwk, algorithm="RS256").key,
                algorithms=["RS256"],
                audience=self.url + "/token",
                options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
            )
        except jwt.PyJWTError as exc:
            return f"token: client assertion refused: {exc}"
        if claims["iss"] != self.client_id or claims["sub"] != self.client_id:
            return "token: client assertion iss and sub must be the client id"
        if claims["exp"] - claims["iat"] > 3600:
            return "token: client assertion lives too long"
        with self.lock:
            if claims["jti"] in self.jtis:
                return f"token: jti {claims['jti']} reused"
            self.jtis.add(claims["jti"])
        return None

    async def token_endpoint(self, request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return self.violate("token: the request must be form-encoded")
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return self.violate("token: grant_type must be client_credentials")
        if form.get("client_assertion_type") != (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            return self.violate("token: wrong client_assertion_type")
        problem = self._check_assertion(form.get("client_assertion", ""))
        if problem is not None:
            return self.violate(problem, 401)
        scopes = set(form.get("scope", "").split())
        if not scopes or not scopes <= ALLOWED_SCOPES:
            return self.violate(f"token: scopes {sorted(scopes)} not allowed")
        token = uuid.uuid4().hex
        with self.lock:
            self.token_requests += 1
            self.tokens[token] = (scopes, time.monotonic() + 3600)
        return JSONResponse(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": " ".join(sorted(scopes)),
            }
        )

    def _authorized(self, request: Request, scope: str) -> str | None:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return "no bearer token"
        hit = self.tokens.get(auth[7:])
        if hit is None or hit[1] < time.monotonic():
            return "unknown or expired token"
        if scope not in hit[0]:
            return f"the token lacks scope {scope}"
        return None

    async def lineitems_endpoint(self, request: Request) -> Response:
        scope = SCOPE_LINEITEM if request.method == "POST" else SCOPE_RESULT
        problem = self._authorized(request, scope)
        if problem is not None:
            return self.violate(f"lineitems: {problem}", 401)
        if request.method == "GET":
            return JSONResponse(
                [{"id": li.id, "label": li.label} for li in self.line_items.values()]
            )
        if request.headers.get("content-type") != LINEITEM_TYPE:
            return self.violate("lineitems: Content-Type must be " + LINEITEM_TYPE, 415)
        body = orjson.loads(await request.body())
        if not isinstance(body.get("scoreMaximum"), int | float) or body["scoreMaximum"] <= 0:
            return self.violate("lineitems: scoreMaximum must be > 0")
        if not isinstance(body.get("label"), str) or not body["label"]:
            return self.violate("lineitems: label is required")
        with self.lock:
            item_id = f"{self.url}/lineitems/{len(self.line_items) + 1}"
            self.line_items[item_id] = LineItem(
                item_id, body["label"], body["scoreMaximum"], body.get("resourceLinkId")
            )
        return JSONResponse({**body, "id": item_id}, 201, media_type=LINEITEM_TYPE)

    def add_line_item(self, label: str = "Quiz", maximum: float = 2.0) -> str:
        with self.lock:
            item_id = f"{self.url}/lineitems/{len(self.line_items) + 1}"
            self.line_items[item_id] = LineItem(item_id, label, maximum, None)
        return item_id

    async def scores_endpoint(self, request: Request) -> Response:
        item_id = f"{self.url}/lineitems/{request.path_params['item']}"
        if self.expire_tokens_once:
            self.expire_tokens_once = False
            with self.lock:
                self.tokens.clear()
        problem = self._authorized(request, SCOPE_SCORE)
        if problem is not None:
            return JSONResponse({"error": problem}, 401)  # a refresh is the tool's to do
        if self.fail_scores > 0:
            self.fail_scores -= 1
            return JSONResponse({"error": "try later"}, 503)
        if self.refuse_scores > 0:
            self.refuse_scores -= 1
            return JSONResponse({"error": "the gradebook column is locked"}, 400)
        if request.headers.get("content-type") != SCORE_TYPE:
            return self.violate(f"scores: Content-Type must be {SCORE_TYPE}", 415)
        s = orjson.loads(await request.body())
        for k in ("userId", "timestamp", "activityProgress", "gradingProgress"):
            if not isinstance(s.get(k), str):
                return self.violate(f"scores: {k} is required")
        if s["activityProgress"] not in ACTIVITY or s["gradingProgress"] not in GRADING:
            return self.violate("scores: activityProgress or gradingProgress not in the spec")
        try:
            ts = datetime.fromisoformat(s["timestamp"])
        except ValueError:
            return self.violate(f"scores: timestamp {s['timestamp']!r} is not ISO 8601")
        if ts.tzinfo is None:
            return self.violate("scores: timestamp needs a time zone")
        if "scoreGiven" in s:
            if not isinstance(s.get("scoreMaximum"), int | float) or s["scoreMaximum"] <= 0:
                return self.violate("scores: scoreMaximum must be > 0 with scoreGiven")
            if not isinstance(s["scoreGiven"], int | float) or s["scoreGiven"] < 0:
                return self.violate("scores: scoreGiven must be >= 0")
        with self.scores_seen:
            item = self.line_items.get(item_id)
            if item is None:
                return self.violate(f"scores: no line item {item_id}", 404)
            older = [
                x for x in item.scores if x["userId"] == s["userId"]
                and datetime.fromisoformat(x["timestamp"]) >= ts
            ]  # fmt: skip
            if older:
                return self.violate(f"scores: {s['userId']} sent a score older than one kept", 409)
            item.scores.append(s)
            self.score_times.append(time.monotonic())
            self.scores_seen.notify_all()
        return Response(status_code=204)

    def wait_scores(self, n: int, timeout: float = 120) -> bool:
        """Until `n` scores in all were received."""
        with self.scores_seen:
            return self.scores_seen.wait_for(
                lambda: sum(len(i.scores) for i in self.line_items.values()) >= n, timeout
            )

    def latest(self) -> dict[tuple[str, str], dict[str, Any]]:
        """(line item, user) -> the last score kept."""
        out = {}
        for item in self.line_items.values():
            for s in item.scores:
                out[(item.id, s["userId"])] = s
        return out

    async def deep_link_return(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        self.deep_link_answers.append(form.get("JWT", ""))
        return HTMLResponse("<!DOCTYPE html><html lang='en'><title>ok</title><p>added</p></html>")

    def verify_deep_link(self, token: str) -> dict[str, Any]:
        assert self.tool_jwks_url is not None
        kid = jwt.get_unverified_header(token)["kid"]
        keys = httpx.get(self.tool_jwks_url, timeout=10).json()["keys"]
        jwk = next(k for k in keys if k["kid"] == kid)
        return jwt.decode(
            token,
            jwt.PyJWK(jwk, algorithm="RS256").key,
            algorithms=["RS256"],
            audience=self.issuer,
            issuer=self.client_id,
        )
