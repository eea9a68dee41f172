"""Every setting of the HTTP service, read once from the environment, and why it has its
default. The store's URL is `store.config`'s; the queue's settings are `worker.config`'s."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass


class SettingsError(ValueError):
    """Raised when an environment variable of the service has a value it cannot use."""


def _number(env: Mapping[str, str], name: str, default: float, low: float = 0.0) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{name}: must be a number (got {text!r})") from None
    if value < low:
        raise SettingsError(f"{name}: must be at least {low:g} (got {text!r})")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    text = env.get(name, "").strip().lower()
    if text in ("", "0", "false", "no"):
        return False
    if text in ("1", "true", "yes"):
        return True
    raise SettingsError(f"{name}: must be 1 or 0 (got {text!r})")


@dataclass(frozen=True)
class WebSettings:
    # A grade request is a few hundred bytes; 1 MiB leaves room for the largest params.
    max_body: int = 1 << 20
    # A 100,000-line batch of ordinary submissions is ~20 MiB.
    max_batch_bytes: int = 64 << 20
    max_batch_lines: int = 100_000
    # At most this many variants per /v1/variants request (the CLI allows more, on a file).
    max_variants: int = 1_000
    # Per API key and per server process; 0 turns it off. A batch is one request, so an LMS
    # that grades a class in bulk never meets it.
    rate: float = 50.0
    burst: float = 100.0
    # Callback hosts an operator allows (exact host names, or `*.domain`); none by default.
    callback_hosts: tuple[str, ...] = ()
    # Whether a callback may reach loopback, private, link-local or reserved addresses.
    callback_allow_private: bool = False
    webhook_attempts: int = 8
    webhook_backoff: float = 5.0  # seconds before the 2nd attempt; doubled each time after
    webhook_timeout: float = 10.0
    broker_url: str | None = None
    batch_threads: int = 1
    lease_seconds: float = 60.0
    # Test hook: while this file exists, in-process batches wait before grading.
    test_batch_hold: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebSettings:
        env = os.environ if env is None else env
        d = cls()
        hosts = tuple(
            h.strip().lower() for h in env.get("SEQQUIZ_CALLBACK_HOSTS", "").split(",") if h.strip()
        )
        return cls(
            max_body=int(_number(env, "SEQQUIZ_MAX_BODY", d.max_body, 1)),
            max_batch_bytes=int(_number(env, "SEQQUIZ_MAX_BATCH_BYTES", d.max_batch_bytes, 1)),
            max_batch_lines=int(_number(env, "SEQQUIZ_MAX_BATCH_LINES", d.max_batch_lines, 1)),
            max_variants=int(_number(env, "SEQQUIZ_MAX_VARIANTS", d.max_variants, 1)),
            rate=_number(env, "SEQQUIZ_RATE_LIMIT", d.rate),
            burst=_number(env, "SEQQUIZ_RATE_BURST", d.burst, 1),
            callback_hosts=hosts,
            callback_allow_private=_flag(env, "SEQQUIZ_CALLBACK_ALLOW_PRIVATE"),
            webhook_attempts=int(_number(env, "SEQQUIZ_WEBHOOK_ATTEMPTS", d.webhook_attempts, 1)),
            webhook_backoff=_number(env, "SEQQUIZ_WEBHOOK_BACKOFF", d.webhook_backoff),
            webhook_timeout=_number(env, "SEQQUIZ_WEBHOOK_TIMEOUT", d.webhook_timeout, 0.1),
            broker_url=env.get("SEQQUIZ_BROKER_URL", "").strip() or None,
            batch_threads=int(_number(env, "SEQQUIZ_BATCH_THREADS", d.batch_threads, 1)),
            lease_seconds=_number(env, "SEQQUIZ_BATCH_LEASE", d.lease_seconds, 1),
            test_batch_hold=env.get("SEQQUIZ_TEST_BATCH_HOLD") or None,
        )

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        for pattern in self.callback_hosts:
            if pattern.startswith("*."):
                if host.endswith(pattern[1:]) and host != pattern[2:]:
                    return True
            elif host == pattern:
                return True
        return False

    def address_allowed(self, address: str) -> bool:
        if self.callback_allow_private:
            return True
        ip = ipaddress.ip_address(address.split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return ip.is_global and not ip.is_multicast
