"""LTI Assignment and Grade Services score passback, off the request path: the tool's signed
client assertion, the platform's access token (cached until it expires), the line item of a link
that has none, and the score POST; retried with backoff, a score never sent after a newer one.
Runs on an in-process thread in the embedded default, or as a Celery task (worker.passback_tasks)
when a broker is configured."""

from __future__ import annotations

import heapq
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import jwt
import orjson

from grader.errors import SeqquizError
from store.db import aware, now
from store.lti import LtiStore, Platform

log = logging.getLogger(__name__)

SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
# One token for both services the tool calls: one token request per platform per hour.
TOKEN_SCOPES = f"{SCOPE_LINEITEM} {SCOPE_SCORE}"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_TRIES = 8
TOKEN_MARGIN = 30.0
# A passback being sent holds its user's seat this long; a server that stops while sending
# frees it when the lease runs out.
SENDING_LEASE = timedelta(seconds=120)
BUSY_WAIT = 0.5  # seconds before trying again when another server sends for the same user  # seconds before expires_in that a token is taken as expired


def backoff(tries: int) -> float:
    """Seconds before try `tries + 1`: 2, 4, 8 ... capped at 10 minutes."""
    return float(min(2**tries, 600))


class PassbackError(SeqquizError):
    """Raised when the platform refuses or cannot be reached; `retry` says whether trying again
    later may help (a network error, 5xx, 429) or not (another 4xx)."""

    code = "passback-failed"

    def __init__(self, message: str, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


def scores_url(lineitem: str) -> str:
    """AGS 3.4: the scores endpoint is the line item URL with /scores appended to its path."""
    p = urlsplit(lineitem)
    return urlunsplit((p.scheme, p.netloc, p.path.rstrip("/") + "/scores", p.query, p.fragment))


@dataclass
class _Token:
    value: str
    until: float


class AgsClient:
    """The platform-facing HTTP calls of AGS, one per process (its token cache is shared)."""

    def __init__(self, lti: LtiStore, client: httpx.Client | None = None) -> None:
        self.lti = lti
        self.http = client or httpx.Client(timeout=20)
        self._tokens: dict[tuple[int, str], _Token] = {}
        self._lock = threading.Lock()

    def assertion(self, p: Platform) -> str:
        """The client assertion (RFC 7523): signed by the tool's key, iss = sub = client id,
        aud = the token URL, a fresh jti."""
        key = self.lti.signing_key()
        t = int(time.time())
        claims = {
            "iss": p.client_id,
            "sub": p.client_id,
            "aud": p.auth_token_url,
            "iat": t,
            "exp": t + 300,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid})

    def token(self, p: Platform, scopes: str, fresh: bool = False) -> str:
        k = (p.id, scopes)
        with self._lock:
            hit = self._tokens.get(k)
            if hit is not None and hit.until > time.monotonic() and not fresh:
                return hit.value
        data = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(p),
            "scope": scopes,
        }
        r = self._send("POST", p.auth_token_url, data=data)
        try:
            body = r.json()
            value = body["access_token"]
            expires = float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise PassbackError(
                f"{p.auth_token_url}: no access_token in the answer", True
            ) from None
        with self._lock:
            self._tokens[k] = _Token(value, time.monotonic() + max(0.0, expires - TOKEN_MARGIN))
        return str(value)

    def _send(self, method: str, url: str, **kw: Any) -> httpx.Response:
        try:
            r = self.http.request(method, url, **kw)
        except httpx.HTTPError as exc:
            raise PassbackError(f"{url}: {type(exc).__name__}: {exc}", True) from None
        if r.status_code >= 400 and r.status_code != 401:
            retry = r.status_code >= 500 or r.status_code == 429
            raise PassbackError(f"{url}: HTTP {r.status_code} {r.text[:200]}", retry)
        return r

    def call(self, p: Platform, scopes: str, method: str, url: str, **kw: Any) -> httpx.Response:
        """An authorized call; on a 401 the token is fetched again, once."""
        for fresh in (False, True):
            headers = {
                **kw.pop("headers", {}),
                "Authorization": f"Bearer {self.token(p, scopes, fresh)}",
            }
            r = self._send(method, url, headers=headers, **kw)
            kw["headers"] = {k: v for k, v in headers.items() if k != "Authorization"}
            if r.status_code != 401:
                return r
        raise PassbackError(f"{url}: HTTP 401 with a fresh token", False)

    def create_line_item(self, p: Platform, lineitems: str, link: str, maximum: float) -> str:
        body = {
            "scoreMaximum": maximum,
            "label": "seqquiz",
            "resourceLinkId": link,
            "tag": "seqquiz",
        }
        r = self.call(
            p,
            TOKEN_SCOPES,
            "POST",
            lineitems,
            json=body,
            headers={"Content-Type": LINEITEM_TYPE, "Accept": LINEITEM_TYPE},
        )
        url = r.json().get("id") if r.headers.get("content-type", "").find("json") >= 0 else None
        if not isinstance(url, str):
            raise PassbackError(f"{lineitems}: the new line item has no id", True)
        return url

    def post_score(self, p: Platform, lineitem: str, score: dict[str, Any]) -> None:
        self.call(
            p,
            TOKEN_SCOPES,
            "POST",
            scores_url(lineitem),
            content=orjson.dumps(score),
            headers={"Content-Type": SCORE_TYPE},
        )


def score_body(row: Any) -> dict[str, Any]:
    return {
        "userId": row.user_sub,
        "scoreGiven": row.score_given,
        "scoreMaximum": row.score_maximum,
        "timestamp": aware(row.scored_at).astimezone(UTC).isoformat(timespec="milliseconds"),  # type: ignore[union-attr]
        "activityProgress": "Submitted",
        "gradingProgress": "FullyGraded",
    }


def attempt(lti: LtiStore, ags: AgsClient, passback_id: int) -> tuple[str, float]:
    """One try at one passback: (status, seconds until the next try when pending)."""
    claim = lti.claim_passback(passback_id, SENDING_LEASE)
    if claim == "busy":
        return "pending", BUSY_WAIT
    if claim != "go":
        return claim, 0.0
    row = lti.passback(passback_id)
    p = lti.platform(row.platform_id)
    tries = row.tries + 1
    try:
        if p is None:
            raise PassbackError("the platform is no longer registered", False)
        url = row.lineitem_url or line_item(lti, ags, p, row)
        if url is None:  # another sender is creating the link's line item: not a failed try
            lti.set_passback(
                passback_id, status="pending", next_try_at=now() + timedelta(seconds=BUSY_WAIT)
            )
            return "pending", BUSY_WAIT
        ags.post_score(p, url, score_body(row))
    except PassbackError as exc:
        retry = exc.retry and tries < MAX_TRIES
        wait = backoff(tries)
        lti.set_passback(
            passback_id,
            tries=tries,
            last_error=str(exc)[:1000],
            status="pending" if retry else "failed",
            next_try_at=now() + timedelta(seconds=wait) if retry else None,
        )
        return ("pending", wait) if retry else ("failed", 0.0)
    lti.set_passback(
        passback_id, tries=tries, status="sent", sent_at=now(), last_error=None, next_try_at=None
    )
    return "sent", 0.0


def line_item(lti: LtiStore, ags: AgsClient, p: Platform, row: Any) -> str | None:
    """The link's own line item: created by the one caller that claims it."""
    if not row.lineitems_url:
        raise PassbackError("the launch gave neither a lineitem nor a lineitems URL", False)
    claimed, url = lti.claim_line_item(row)
    if url is not None or not claimed:
        return url
    try:
        url = ags.create_line_item(p, row.lineitems_url, row.resource_link_id, row.score_maximum)
    except PassbackError:
        lti.set_line_item(row, None)
        raise
    lti.set_line_item(row, url)
    return url


class PassbackQueue:
    """The embedded default: a few threads send passbacks, each retried at its time (the
    platform's latency, not the CPU, bounds the rate; the store keeps one sender per student)."""

    def __init__(self, lti: LtiStore, ags: AgsClient, threads: int = 4) -> None:
        self.lti = lti
        self.ags = ags
        self.size = threads
        self._heap: list[tuple[float, int]] = []
        self._cv = threading.Condition()
        self._busy = 0
        self._stop = False
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        with self._cv:
            if self._threads:
                return
            for k in range(self.size):
                t = threading.Thread(target=self._run, name=f"lti-passback-{k}", daemon=True)
                t.start()
                self._threads.append(t)
        for pid in self.lti.due_passbacks():  # left pending by a server that stopped
            self.put(pid)

    def put(self, passback_id: int, delay: float = 0.0) -> None:
        self.start()
        with self._cv:
            heapq.heappush(self._heap, (time.monotonic() + delay, passback_id))
            self._cv.notify_all()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stop and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cv.wait(timeout)
                if self._stop:
                    return
                _, pid = heapq.heappop(self._heap)
                self._busy += 1
            try:
                status, wait = attempt(self.lti, self.ags, pid)
                if status == "pending":
                    self.put(pid, wait)
            except Exception:  # a bug costs this passback, not the queue
                log.exception("passback %s", pid)
            finally:
                with self._cv:
                    self._busy -= 1
                    self._cv.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Until nothing is due now or running (retries scheduled later do not count)."""
        with self._cv:
            return self._cv.wait_for(
                lambda: (
                    self._busy == 0
                    and (not self._heap or self._heap[0][0] > time.monotonic() + 0.001)
                ),
                timeout,
            )

    def stop(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()
