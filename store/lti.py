"""The LTI 1.3 tool's share of the store: registered platforms and deployments, the tool's RSA
keys, used nonces, launches, attempts, per-link line items and the score passback log."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from grader.errors import SeqquizError
from store.db import Store, aware, now
from store.schema import (
    lti_attempts,
    lti_deployments,
    lti_launches,
    lti_line_items,
    lti_nonces,
    lti_passbacks,
    lti_platforms,
    lti_tool_keys,
    settings,
)

KEY_BITS = 2048
# A platform caches the tool's JWKS; a retired key stays published this long by default.
DEFAULT_GRACE = timedelta(days=3)
# A claimed line item whose creation did not finish in this time (its server stopped) is
# claimed again.
LINE_ITEM_CLAIM = timedelta(seconds=60)


class LtiStoreError(SeqquizError):
    """Raised when a registration given to `seqquiz lti register` is not acceptable."""

    code = "invalid-registration"


@dataclass(frozen=True)
class Platform:
    id: int
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    jwks_url: str
    deployments: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "issuer": self.issuer,
            "client_id": self.client_id,
            "auth_login_url": self.auth_login_url,
            "auth_token_url": self.auth_token_url,
            "jwks_url": self.jwks_url,
            "deployment_ids": list(self.deployments),
        }


@dataclass(frozen=True)
class ToolKey:
    kid: str
    private_pem: str
    public_jwk: dict[str, Any]


@dataclass(frozen=True)
class Launch:
    id: str
    platform_id: int
    deployment_id: str
    message_type: str
    context_id: str | None
    resource_link_id: str | None
    user_sub: str
    user_name: str | None
    roles: tuple[str, ...]
    custom: dict[str, Any]
    lineitem_url: str | None
    lineitems_url: str | None
    ags_scopes: tuple[str, ...]
    deep_link_return_url: str | None
    deep_link_data: str | None
    created_at: datetime


def _launch(row: Any) -> Launch:
    return Launch(
        row.id,
        row.platform_id,
        row.deployment_id,
        row.message_type,
        row.context_id,
        row.resource_link_id,
        row.user_sub,
        row.user_name,
        tuple(row.roles.split()),
        orjson.loads(row.custom),
        row.lineitem_url,
        row.lineitems_url,
        tuple((row.ags_scopes or "").split()),
        row.deep_link_return_url,
        row.deep_link_data,
        aware(row.created_at),  # type: ignore[arg-type]
    )


def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_key() -> ToolKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    numbers = private.public_key().public_numbers()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    n, e = _b64(numbers.n), _b64(numbers.e)
    # RFC 7638 thumbprint as the kid: stable, and different for every key.
    canonical = orjson.dumps({"e": e, "kty": "RSA", "n": n})
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
    jwk = {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": n, "e": e}
    return ToolKey(kid, pem, jwk)


class LtiStore:
    """The LTI tables of one Store (the same engine as the service's)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine
        self._secrets: dict[str, bytes] = {}  # a secret never changes once made

    # ---- server secrets -------------------------------------------------------------------------
    def secret(self, name: str) -> bytes:
        """A 256-bit server secret kept in the store (the same on every server), made on first
        use: it derives students' seeds and signs form tokens and login states."""
        hit = self._secrets.get(name)
        if hit is not None:
            return hit
        with self.engine.connect() as conn:
            value = conn.execute(select(settings.c.value).where(settings.c.name == name)).scalar()
        if value is None:
            made = secrets.token_urlsafe(32)
            try:
                with self.store.transaction() as conn:
                    conn.execute(insert(settings).values(name=name, value=made))
            except IntegrityError:
                pass  # another server made it first: use that one
            return self.secret(name)
        self._secrets[name] = str(value).encode()
        return self._secrets[name]

    # ---- platforms ------------------------------------------------------------------------------
    def register(
        self,
        issuer: str,
        client_id: str,
        deployment_ids: Sequence[str],
        auth_login_url: str,
        auth_token_url: str,
        jwks_url: str,
    ) -> Platform:
        """Register a platform, or add deployments to (and update the URLs of) a known one."""
        for name, value in (
            ("--auth-login-url", auth_login_url),
            ("--auth-token-url", auth_token_url),
            ("--jwks-url", jwks_url),
            ("--issuer", issuer),
        ):
            if not value.startswith(("https://", "http://")):
                raise LtiStoreError(f"{name}: must be an http(s) URL (got {value!r:.80})")
        if not client_id.strip():
            raise LtiStoreError(f"--client-id: must not be empty (got {client_id!r})")
        for d in deployment_ids:
            if not d.strip() or len(d) > 255:
                raise LtiStoreError(f"--deployment-id: 1 to 255 characters (got {d!r:.80})")
        urls = {
            "auth_login_url": auth_login_url,
            "auth_token_url": auth_token_url,
            "jwks_url": jwks_url,
        }
        with self.store.transaction() as conn:
            pid = conn.execute(
                select(lti_platforms.c.id).where(
                    lti_platforms.c.issuer == issuer, lti_platforms.c.client_id == client_id
                )
            ).scalar()
            if pid is None:
                pid = conn.execute(
                    insert(lti_platforms).values(
                        issuer=issuer, client_id=client_id, created_at=now(), **urls
                    )
                ).inserted_primary_key[0]
            else:
                conn.execute(update(lti_platforms).where(lti_platforms.c.id == pid).values(urls))
            known = set(
                conn.execute(
                    select(lti_deployments.c.deployment_id).where(
                        lti_deployments.c.platform_id == pid
                    )
                ).scalars()
            )
            for d in dict.fromkeys(deployment_ids):
                if d not in known:
                    conn.execute(insert(lti_deployments).values(platform_id=pid, deployment_id=d))
        found = self.platform(int(pid))
        assert found is not None
        return found

    def _platform(self, conn: Any, row: Any) -> Platform:
        deps = conn.execute(
            select(lti_deployments.c.deployment_id)
            .where(lti_deployments.c.platform_id == row.id)
            .order_by(lti_deployments.c.deployment_id)
        ).scalars()
        return Platform(
            row.id,
            row.issuer,
            row.client_id,
            row.auth_login_url,
            row.auth_token_url,
            row.jwks_url,
            tuple(deps),
        )

    def platform(self, platform_id: int) -> Platform | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(lti_platforms).where(lti_platforms.c.id == platform_id)
            ).first()
            return None if row is None else self._platform(conn, row)

    def platforms(self, issuer: str | None = None) -> list[Platform]:
        q = select(lti_platforms).order_by(lti_platforms.c.id)
        if issuer is not None:
            q = q.where(lti_platforms.c.issuer == issuer)
        with self.engine.connect() as conn:
            return [self._platform(conn, r) for r in conn.execute(q).all()]

    # ---- tool keys ------------------------------------------------------------------------------
    def signing_key(self) -> ToolKey:
        """The key that signs (the newest unretired), made on first use."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(lti_tool_keys)
                .where(lti_tool_keys.c.retired_at.is_(None))
                .order_by(lti_tool_keys.c.created_at.desc(), lti_tool_keys.c.kid)
                .limit(1)
            ).first()
        if row is None:
            self._add_key(new_key())
            return self.signing_key()
        return ToolKey(row.kid, row.private_pem, orjson.loads(row.public_jwk))

    def _add_key(self, key: ToolKey) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                insert(lti_tool_keys).values(
                    kid=key.kid,
                    private_pem=key.private_pem,
                    public_jwk=orjson.dumps(key.public_jwk).decode(),
                    created_at=now(),
                )
            )

    def rotate_key(self, grace: timedelta = DEFAULT_GRACE) -> tuple[ToolKey, list[str]]:
        """A new signing key; the keys it replaces stay published for `grace`. Returns the new
        key and the kids retired."""
        self.signing_key()  # a first rotation on a fresh store retires the key made now
        t = now()
        with self.store.transaction() as conn:
            old = list(
                conn.execute(
                    select(lti_tool_keys.c.kid).where(lti_tool_keys.c.retired_at.is_(None))
                ).scalars()
            )
            conn.execute(
                update(lti_tool_keys)
                .where(lti_tool_keys.c.retired_at.is_(None))
                .values(retired_at=t, published_until=t + grace)
            )
        key = new_key()
        self._add_key(key)
        return key, old

    def jwks(self) -> dict[str, Any]:
        """The published keys: the signing key and the retired ones still in their grace."""
        self.signing_key()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(lti_tool_keys.c.public_jwk)
                .where(
                    or_(
                        lti_tool_keys.c.retired_at.is_(None),
                        lti_tool_keys.c.published_until > now(),
                    )
                )
                .order_by(lti_tool_keys.c.created_at.desc(), lti_tool_keys.c.kid)
            ).scalars()
            return {"keys": [orjson.loads(r) for r in rows]}

    # ---- launches -------------------------------------------------------------------------------
    def accept_launch(self, nonce: str, row: dict[str, Any]) -> bool:
        """Use the nonce and store the launch, in one transaction; False (nothing stored) when
        the nonce was used before."""
        try:
            with self.store.transaction() as conn:
                conn.execute(
                    insert(lti_nonces).values(
                        platform_id=row["platform_id"], nonce=nonce, used_at=now()
                    )
                )
                conn.execute(insert(lti_launches).values({**row, "created_at": now()}))
        except IntegrityError:
            return False
        return True

    def launch(self, launch_id: str) -> Launch | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(lti_launches).where(lti_launches.c.id == launch_id)).first()
        return None if row is None else _launch(row)

    def counts(self) -> dict[str, int]:
        """Rows per LTI table (what the rejection tests check stays unchanged)."""
        out = {}
        with self.engine.connect() as conn:
            for t in (lti_nonces, lti_launches, lti_attempts, lti_passbacks, lti_line_items):
                out[t.name] = int(conn.execute(select(func.count()).select_from(t)).scalar_one())
        return out

    def forget_nonces(self, before: datetime) -> int:
        """Nonces older than any id_token still valid are no longer needed."""
        with self.store.transaction() as conn:
            return conn.execute(delete(lti_nonces).where(lti_nonces.c.used_at < before)).rowcount

    # ---- attempts -------------------------------------------------------------------------------
    @staticmethod
    def _seat(launch: Launch) -> dict[str, Any]:
        return {
            "platform_id": launch.platform_id,
            "deployment_id": launch.deployment_id,
            "resource_link_id": launch.resource_link_id,
            "user_sub": launch.user_sub,
        }

    def attempts(self, launch: Launch, user_sub: str | None = None) -> list[Any]:
        seat = self._seat(launch)
        if user_sub is not None:
            seat["user_sub"] = user_sub
        q = select(lti_attempts).order_by(lti_attempts.c.n)
        for k, v in seat.items():
            q = q.where(lti_attempts.c[k] == v)
        with self.engine.connect() as conn:
            return list(conn.execute(q))

    def link_attempts(self, launch: Launch) -> list[Any]:
        """Every attempt at the launch's resource link, by user then number."""
        q = (
            select(lti_attempts)
            .where(
                lti_attempts.c.platform_id == launch.platform_id,
                lti_attempts.c.deployment_id == launch.deployment_id,
                lti_attempts.c.resource_link_id == launch.resource_link_id,
            )
            .order_by(lti_attempts.c.user_sub, lti_attempts.c.n)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(q))

    def attempt(self, attempt_id: int) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(select(lti_attempts).where(lti_attempts.c.id == attempt_id)).first()

    def add_attempt(
        self,
        launch: Launch,
        n: int,
        row: dict[str, Any],
        passback: tuple[float, float] | None = None,
    ) -> tuple[int, int | None] | None:
        """Store attempt `n`, and with `passback` = (score given, maximum) the score to send,
        in one transaction: (attempt id, passback id), or None when that attempt number was
        taken by a concurrent submission (then nothing is stored)."""
        try:
            with self.store.transaction() as conn:
                aid = int(
                    conn.execute(
                        insert(lti_attempts).values(
                            {**self._seat(launch), **row, "n": n, "launch_id": launch.id}
                        )
                    ).inserted_primary_key[0]
                )
                pid = None if passback is None else self._add_passback(conn, launch, *passback)
        except IntegrityError:
            return None
        return aid, pid

    def update_attempt_result(self, attempt_id: int, result: str, score_given: float) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                update(lti_attempts)
                .where(lti_attempts.c.id == attempt_id)
                .values(result=result, score_given=score_given)
            )

    # ---- passback -------------------------------------------------------------------------------
    def add_passback(self, launch: Launch, score_given: float, score_maximum: float) -> int:
        with self.store.transaction() as conn:
            return self._add_passback(conn, launch, score_given, score_maximum)

    def _add_passback(
        self, conn: Any, launch: Launch, score_given: float, score_maximum: float
    ) -> int:
        t = now()
        seat = self._seat(launch)
        # An older score of the seat not yet taken by a sender is superseded by this one (which
        # carries the best score so far), here in the writing transaction the insert opens
        # anyway: its sender then finds it settled without a write transaction of its own.
        conn.execute(
            update(lti_passbacks)
            .where(*(lti_passbacks.c[k] == v for k, v in seat.items()))
            .where(lti_passbacks.c.status == "pending")
            .values(status="superseded", next_try_at=None)
        )
        return int(
            conn.execute(
                insert(lti_passbacks).values(
                    **seat,
                    lineitem_url=launch.lineitem_url,
                    lineitems_url=launch.lineitems_url,
                    score_given=score_given,
                    score_maximum=score_maximum,
                    scored_at=t,
                    status="pending",
                    tries=0,
                    next_try_at=t,
                )
            ).inserted_primary_key[0]
        )

    def passback(self, passback_id: int) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(
                select(lti_passbacks).where(lti_passbacks.c.id == passback_id)
            ).first()

    def passbacks(self, **where: Any) -> list[Any]:
        q = select(lti_passbacks).order_by(lti_passbacks.c.id)
        for k, v in where.items():
            q = q.where(lti_passbacks.c[k] == v)
        with self.engine.connect() as conn:
            return list(conn.execute(q))

    def claim_passback(self, passback_id: int, lease: timedelta) -> str:
        """Take a pending passback to send it: "go" (it is now `sending` for `lease`),
        "superseded" (a later score of the same user and link is sent or on its way: this one
        must never be sent, the platform would take it as the latest, and the later one carries
        the best score so far too), "busy" (another server is sending one for the same user and
        link: try again soon) or the row's status when it is not pending. One transaction that
        writes first: SQLite serializes it; on PostgreSQL the seat's rows are locked first."""
        t = now()
        with self.engine.connect() as conn:
            status = conn.execute(
                select(lti_passbacks.c.status).where(lti_passbacks.c.id == passback_id)
            ).scalar()
        if status is None:
            return "gone"
        if status not in ("pending", "sending"):
            return str(status)  # settled (sent, failed, superseded): no write needed
        with self.store.transaction() as conn:
            row = conn.execute(
                select(lti_passbacks).where(lti_passbacks.c.id == passback_id)
            ).first()
            if row is None:
                return "gone"
            seat = (
                lti_passbacks.c.platform_id == row.platform_id,
                lti_passbacks.c.deployment_id == row.deployment_id,
                lti_passbacks.c.resource_link_id == row.resource_link_id,
                lti_passbacks.c.user_sub == row.user_sub,
            )
            if not self.store.is_sqlite:
                conn.execute(select(lti_passbacks.c.id).where(*seat).with_for_update())
            taken = conn.execute(
                update(lti_passbacks)
                .where(
                    lti_passbacks.c.id == passback_id,
                    or_(
                        lti_passbacks.c.status == "pending",
                        # a server that stopped while sending: its lease ran out
                        (lti_passbacks.c.status == "sending") & (lti_passbacks.c.next_try_at < t),
                    ),
                )
                .values(status="sending", next_try_at=t + lease)
            ).rowcount
            if taken != 1:
                return str(row.status)
            others = conn.execute(
                select(
                    lti_passbacks.c.id, lti_passbacks.c.status, lti_passbacks.c.next_try_at
                ).where(*seat, lti_passbacks.c.id != passback_id)
            ).all()
            if any(
                o.id > passback_id and o.status in ("pending", "sending", "sent") for o in others
            ):
                conn.execute(
                    update(lti_passbacks)
                    .where(lti_passbacks.c.id == passback_id)
                    .values(status="superseded", next_try_at=None)
                )
                return "superseded"
            if any(o.status == "sending" and aware(o.next_try_at) > t for o in others):  # type: ignore[operator]
                conn.execute(
                    update(lti_passbacks)
                    .where(lti_passbacks.c.id == passback_id)
                    .values(status="pending", next_try_at=t)
                )
                return "busy"
        return "go"

    def set_passback(self, passback_id: int, **values: Any) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                update(lti_passbacks).where(lti_passbacks.c.id == passback_id).values(values)
            )

    def due_passbacks(self) -> list[int]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(lti_passbacks.c.id)
                    .where(
                        # "sending" past its lease: the server sending it stopped
                        lti_passbacks.c.status.in_(("pending", "sending")),
                        lti_passbacks.c.next_try_at <= now(),
                    )
                    .order_by(lti_passbacks.c.id)
                ).scalars()
            )

    # ---- line items -----------------------------------------------------------------------------
    def claim_line_item(self, row: Any) -> tuple[bool, str | None]:
        """(claimed, url): the url of the link's line item when it exists; else whether this
        caller claimed its creation (then it must call `set_line_item`)."""
        key = {
            "platform_id": row.platform_id,
            "deployment_id": row.deployment_id,
            "resource_link_id": row.resource_link_id,
        }
        try:
            with self.store.transaction() as conn:
                conn.execute(insert(lti_line_items).values(**key, claimed_at=now()))
            return True, None
        except IntegrityError:
            pass
        with self.store.transaction() as conn:
            q = select(lti_line_items)
            for k, v in key.items():
                q = q.where(lti_line_items.c[k] == v)
            found = conn.execute(q).one()
            if found.url is not None:
                return False, str(found.url)
            stale = now() - LINE_ITEM_CLAIM
            res = conn.execute(
                update(lti_line_items)
                .where(*(lti_line_items.c[k] == v for k, v in key.items()))
                .where(lti_line_items.c.url.is_(None), lti_line_items.c.claimed_at < stale)
                .values(claimed_at=now())
            )
            return res.rowcount == 1, None

    def set_line_item(self, row: Any, url: str | None) -> None:
        where = (
            lti_line_items.c.platform_id == row.platform_id,
            lti_line_items.c.deployment_id == row.deployment_id,
            lti_line_items.c.resource_link_id == row.resource_link_id,
        )
        with self.store.transaction() as conn:
            if url is None:  # creation failed: let the next try claim it again
                conn.execute(delete(lti_line_items).where(*where))
            else:
                conn.execute(update(lti_line_items).where(*where).values(url=url))
