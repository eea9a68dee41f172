"""API keys: `sqz_<id>_<secret>`; the id is public (it names the key in lists and logs), the
secret is 256 random bits of which the store keeps only the SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import ClassVar

from grader.errors import SeqquizError

SCOPES = ("admin", "generate", "grade", "solve")
PREFIX = "sqz_"
ID_LENGTH = 12


class KeySpecError(SeqquizError, ValueError):
    """Raised when a key name or scope given to `keys create` is not acceptable."""

    code: ClassVar[str] = "invalid-key-spec"


def new_token() -> tuple[str, str, str]:
    """(key id, secret hash, the full key to hand out once)."""
    key_id = secrets.token_hex(ID_LENGTH // 2)
    secret = secrets.token_urlsafe(32)
    return key_id, hash_secret(secret), f"{PREFIX}{key_id}_{secret}"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    if not token.startswith(PREFIX) or len(token) < len(PREFIX) + ID_LENGTH + 2:
        return None
    key_id, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or len(key_id) != ID_LENGTH or not secret:
        return None
    return key_id, secret


def matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def check_scopes(scopes: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    if not scopes:
        raise KeySpecError(f"--scope: give at least one of {', '.join(SCOPES)}")
    for s in scopes:
        if s not in SCOPES:
            raise KeySpecError(f"--scope: unknown scope {s!r} (one of {', '.join(SCOPES)})")
    return tuple(sorted(set(scopes)))


def check_name(name: str) -> str:
    if not name.strip() or len(name) > 200:
        raise KeySpecError(f"NAME: must be 1 to 200 characters (got {name[:60]!r})")
    return name
