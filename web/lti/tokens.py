"""Short-lived HMAC-signed tokens the tool hands to the browser and reads back: the OIDC login
state (which carries the nonce) and the form token that carries a launch through the page in
place of a cookie (third-party cookies are blocked in an LMS's iframe)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import orjson

from grader.errors import SeqquizError

STATE_TTL = 600  # seconds from login initiation to launch
FORM_TTL = 4 * 3600  # a student may take a while over a problem


class TokenError(SeqquizError):
    """Raised when a token was not made by this tool, is for another purpose, or expired."""

    code = "invalid-token"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: bytes, purpose: str, claims: dict[str, Any], ttl: int) -> str:
    body = _b64(orjson.dumps({**claims, "p": purpose, "exp": int(time.time()) + ttl}))
    mac = hmac.new(secret, body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify(secret: bytes, purpose: str, token: str) -> dict[str, Any]:
    body, dot, mac = token.partition(".")
    if not dot or len(token) > 4096:
        raise TokenError("malformed token")
    want = hmac.new(secret, body.encode(), hashlib.sha256).digest()
    try:
        given = _unb64(mac)
        claims = orjson.loads(_unb64(body))
    except (ValueError, orjson.JSONDecodeError):
        raise TokenError("malformed token") from None
    if not hmac.compare_digest(want, given):
        raise TokenError("the token's signature does not match")
    if not isinstance(claims, dict) or claims.get("p") != purpose:
        raise TokenError(f"not a {purpose} token")
    if not isinstance(claims.get("exp"), int) or claims["exp"] < time.time():
        raise TokenError(f"the {purpose} token expired; launch again from the course")
    return claims


def seat_seed(secret: bytes, issuer: str, deployment: str, link: str, user: str) -> int:
    """A student's own variant: a seed derived from who and where, with a server secret so that
    a student cannot compute a classmate's seed (31 bits: any template's sampler takes it)."""
    msg = orjson.dumps([issuer, deployment, link, user])
    return int.from_bytes(hmac.new(secret, msg, hashlib.sha256).digest()[:4], "big") >> 1
