"""Every setting of the HTTP service, read once from the environment, and why it has its
default. The store's URL is `store.config`'s; the queue's settings are `worker.config`'s."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from grader.errors import SeqquizError
from worker.webhooks import WebhookSettings, WebhookSettingsError, env_number


class SettingsError(SeqquizError, ValueError):
    """Raised when an environment variable of the service has a value it cannot use."""

    code: ClassVar[str] = "invalid-config"


def _number(env: Mapping[str, str], name: str, default: float, low: float = 0.0) -> float:
    return env_number(env, name, default, low, SettingsError)


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
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    broker_url: str | None = None
    batch_threads: int = 1
    lease_seconds: float = 60.0
    # Test hook: while this file exists, in-process batches wait before grading.
    test_batch_hold: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebSettings:
        env = os.environ if env is None else env
        d = cls()
        try:
            webhooks = WebhookSettings.from_env(env)
        except WebhookSettingsError as exc:
            raise SettingsError(str(exc)) from None
        return cls(
            max_body=int(_number(env, "SEQQUIZ_MAX_BODY", d.max_body, 1)),
            max_batch_bytes=int(_number(env, "SEQQUIZ_MAX_BATCH_BYTES", d.max_batch_bytes, 1)),
            max_batch_lines=int(_number(env, "SEQQUIZ_MAX_BATCH_LINES", d.max_batch_lines, 1)),
            max_variants=int(_number(env, "SEQQUIZ_MAX_VARIANTS", d.max_variants, 1)),
            rate=_number(env, "SEQQUIZ_RATE_LIMIT", d.rate),
            burst=_number(env, "SEQQUIZ_RATE_BURST", d.burst, 1),
            webhooks=webhooks,
            broker_url=env.get("SEQQUIZ_BROKER_URL", "").strip() or None,
            batch_threads=int(_number(env, "SEQQUIZ_BATCH_THREADS", d.batch_threads, 1)),
            lease_seconds=_number(env, "SEQQUIZ_BATCH_LEASE", d.lease_seconds, 1),
            test_batch_hold=env.get("SEQQUIZ_TEST_BATCH_HOLD") or None,
        )
