"""Verifying an LTI 1.3 launch: the OIDC login initiation's state, then the id_token against
the platform's JWKS (RS256 only), its issuer, audience, times, nonce (used once), deployment,
message type and version. Everything is checked before anything is stored."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import orjson

from grader.errors import SeqquizError
from store.db import now
from store.lti import Launch, LtiStore, Platform
from web.lti import tokens

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
RESOURCE_LINK = "LtiResourceLinkRequest"
DEEP_LINKING = "LtiDeepLinkingRequest"
MESSAGE_TYPES = (RESOURCE_LINK, DEEP_LINKING)
SKEW = 60  # seconds of clock difference tolerated on exp and iat
JWKS_TTL = 300.0  # seconds a platform's JWKS is trusted before it is fetched again
INSTRUCTOR_ROLES = (
    "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
    "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
    "http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper",
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor",
    "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
)


class LaunchError(SeqquizError):
    """Raised when a login or launch request is refused; carries the HTTP status and a code
    (the class's code is the default; each refusal sets its own)."""

    code = "launch-refused"

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def is_instructor(roles: tuple[str, ...] | list[str]) -> bool:
    return any(r in INSTRUCTOR_ROLES for r in roles)


class JwksCache:
    """Platforms' public keys by JWKS URL, fetched again after JWKS_TTL, and at once (one time
    per launch) when a token names a kid the cached set lacks: a platform that rotated."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        self.client = client or httpx.Client(timeout=10)
        self._keys: dict[str, tuple[dict[str, Any], float]] = {}
        self._lock = threading.Lock()

    def _fetch(self, url: str) -> dict[str, Any]:
        try:
            r = self.client.get(url)
            r.raise_for_status()
            data = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise LaunchError(502, "platform-jwks-unavailable", f"{url}: {exc}") from None
        keys = {k["kid"]: k for k in data.get("keys", []) if isinstance(k, dict) and "kid" in k}
        with self._lock:
            self._keys[url] = (keys, time.monotonic() + JWKS_TTL)
        return keys

    def key(self, url: str, kid: str) -> dict[str, Any]:
        with self._lock:
            hit = self._keys.get(url)
        keys = hit[0] if hit is not None and hit[1] > time.monotonic() else self._fetch(url)
        if kid not in keys and hit is not None and keys is hit[0]:
            keys = self._fetch(url)  # the one refetch
        if kid not in keys:
            raise LaunchError(401, "unknown-kid", f"id_token: no key {kid!r} in {url}")
        return keys[kid]


@dataclass(frozen=True)
class Login:
    """Where to send the browser: the platform's authorization URL and its form fields."""

    url: str
    params: dict[str, str]


def login(lti: LtiStore, form: dict[str, str], launch_url: str) -> Login:
    """OIDC third-party login initiation (LTI 1.3 Core 5.1.1)."""
    iss = form.get("iss", "")
    hint = form.get("login_hint", "")
    if not iss or not hint:
        raise LaunchError(400, "invalid-login", "login: iss and login_hint are required")
    candidates = lti.platforms(iss)
    client_id = form.get("client_id")
    if client_id:
        candidates = [p for p in candidates if p.client_id == client_id]
    if len(candidates) != 1:
        why = "is not registered" if not candidates else "has several clients; send client_id"
        raise LaunchError(400, "unknown-platform", f"login: issuer {iss!r} {why}")
    p = candidates[0]
    nonce = uuid.uuid4().hex
    state = tokens.sign(
        lti.secret("lti_state_secret"), "state", {"n": nonce, "pl": p.id}, tokens.STATE_TTL
    )
    params = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": p.client_id,
        # Always the tool's own launch URL (the one registered), never one the request names.
        "redirect_uri": launch_url,
        "login_hint": hint,
        "state": state,
        "nonce": nonce,
    }
    if form.get("lti_message_hint"):
        params["lti_message_hint"] = form["lti_message_hint"]
    return Login(p.auth_login_url, params)


def _claim(claims: dict[str, Any], name: str, kind: type, required: bool = True) -> Any:
    value = claims.get(LTI + name)
    if value is None and not required:
        return None
    if not isinstance(value, kind):
        raise LaunchError(400, "invalid-claim", f"id_token: claim {name} must be a {kind.__name__}")
    return value


def verify(lti: LtiStore, jwks: JwksCache, form: dict[str, str]) -> tuple[Launch, str]:
    """A verified launch (not stored yet) and its nonce; LaunchError otherwise."""
    token, state = form.get("id_token", ""), form.get("state", "")
    if not token or not state:
        raise LaunchError(400, "invalid-launch", "launch: id_token and state are required")
    try:
        st = tokens.verify(lti.secret("lti_state_secret"), "state", state)
    except tokens.TokenError as exc:
        raise LaunchError(401, "invalid-state", f"state: {exc}") from None
    platform = lti.platform(int(st["pl"]))
    if platform is None:
        raise LaunchError(401, "invalid-state", "state: its platform is no longer registered")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise LaunchError(401, "invalid-id-token", f"id_token: {exc}") from None
    if header.get("alg") != "RS256":
        raise LaunchError(
            401, "invalid-id-token", f"id_token: alg must be RS256 (got {header.get('alg')!r})"
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise LaunchError(401, "invalid-id-token", "id_token: the header names no kid")
    jwk = jwks.key(platform.jwks_url, kid)
    claims = _decode(token, jwk, platform)
    if claims.get("nonce") != st["n"]:
        raise LaunchError(401, "invalid-nonce", "id_token: the nonce is not the one of this login")
    return _launch(platform, claims), str(claims["nonce"])


def _decode(token: str, jwk: dict[str, Any], p: Platform) -> dict[str, Any]:
    try:
        key = jwt.PyJWK(jwk, algorithm="RS256").key
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=p.client_id,
            issuer=p.issuer,
            leeway=SKEW,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "nonce"]},
        )
    except jwt.ExpiredSignatureError:
        raise LaunchError(401, "expired-id-token", "id_token: expired") from None
    except jwt.InvalidAudienceError:
        raise LaunchError(401, "wrong-audience", f"id_token: aud is not {p.client_id!r}") from None
    except jwt.InvalidIssuerError:
        raise LaunchError(401, "wrong-issuer", f"id_token: iss is not {p.issuer!r}") from None
    except jwt.InvalidSignatureError:
        raise LaunchError(401, "bad-signature", "id_token: the signature does not verify") from None
    except jwt.PyJWTError as exc:
        raise LaunchError(401, "invalid-id-token", f"id_token: {exc}") from None
    iat = claims["iat"]
    if not isinstance(iat, int | float) or iat > time.time() + SKEW:
        raise LaunchError(401, "invalid-id-token", "id_token: iat is in the future")
    aud = claims["aud"]
    azp = claims.get("azp")
    if (isinstance(aud, list) and len(aud) > 1 and azp is None) or (
        azp is not None and azp != p.client_id
    ):
        raise LaunchError(401, "wrong-audience", f"id_token: azp must be {p.client_id!r}")
    return claims


def _launch(p: Platform, claims: dict[str, Any]) -> Launch:
    mtype = _claim(claims, "message_type", str)
    if mtype not in MESSAGE_TYPES:
        raise LaunchError(400, "unsupported-message", f"id_token: message type {mtype!r}")
    version = _claim(claims, "version", str)
    if version != "1.3.0":
        raise LaunchError(400, "unsupported-version", f"id_token: LTI version {version!r}")
    deployment = _claim(claims, "deployment_id", str)
    if deployment not in p.deployments:
        raise LaunchError(
            403, "unknown-deployment", f"id_token: deployment {deployment!r} is not registered"
        )
    link = None
    if mtype == RESOURCE_LINK:
        link = _claim(claims, "resource_link", dict).get("id")
        if not isinstance(link, str) or not link:
            raise LaunchError(400, "invalid-claim", "id_token: resource_link.id is required")
    roles = _claim(claims, "roles", list)
    context = _claim(claims, "context", dict, required=False) or {}
    custom = _claim(claims, "custom", dict, required=False) or {}
    ags = claims.get(AGS_ENDPOINT) if isinstance(claims.get(AGS_ENDPOINT), dict) else {}
    dl = claims.get(DL_SETTINGS) if isinstance(claims.get(DL_SETTINGS), dict) else {}
    if mtype == DEEP_LINKING and not isinstance(dl.get("deep_link_return_url"), str):
        raise LaunchError(400, "invalid-claim", "id_token: deep_link_return_url is required")
    scopes = ags.get("scope") if isinstance(ags.get("scope"), list) else []
    return Launch(
        id=uuid.uuid4().hex,
        platform_id=p.id,
        deployment_id=deployment,
        message_type=mtype,
        context_id=context.get("id") if isinstance(context.get("id"), str) else None,
        resource_link_id=link,
        user_sub=str(claims["sub"]),
        user_name=claims.get("name") if isinstance(claims.get("name"), str) else None,
        roles=tuple(r for r in roles if isinstance(r, str)),
        custom={str(k): str(v) for k, v in custom.items()},
        lineitem_url=ags.get("lineitem") if isinstance(ags.get("lineitem"), str) else None,
        lineitems_url=ags.get("lineitems") if isinstance(ags.get("lineitems"), str) else None,
        ags_scopes=tuple(s for s in scopes if isinstance(s, str)),
        deep_link_return_url=dl.get("deep_link_return_url"),
        deep_link_data=dl.get("data") if isinstance(dl.get("data"), str) else None,
        created_at=now(),
    )


def launch_row(launch: Launch) -> dict[str, Any]:
    return {
        "id": launch.id,
        "platform_id": launch.platform_id,
        "deployment_id": launch.deployment_id,
        "message_type": launch.message_type,
        "context_id": launch.context_id,
        "resource_link_id": launch.resource_link_id,
        "user_sub": launch.user_sub,
        "user_name": launch.user_name,
        "roles": " ".join(launch.roles),
        "custom": orjson.dumps(launch.custom).decode(),
        "lineitem_url": launch.lineitem_url,
        "lineitems_url": launch.lineitems_url,
        "ags_scopes": " ".join(launch.ags_scopes),
        "deep_link_return_url": launch.deep_link_return_url,
        "deep_link_data": launch.deep_link_data,
    }
