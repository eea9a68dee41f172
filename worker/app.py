"""The Celery app of seqquiz: settings read once from the environment, tasks in `worker.tasks`.

Start a worker with `seqquiz worker` (or `celery -A worker.app worker`); see `worker.config` for
every setting and why it is chosen.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from celery import Celery, signals

from worker.config import ConfigError, Settings
from worker.store import Store, connect

log = logging.getLogger(__name__)

settings = Settings.from_env()
app = Celery("seqquiz", include=["worker.tasks", "worker.webhook_tasks", "worker.passback_tasks"])
app.conf.update(settings.celery_conf())


@functools.cache
def store() -> Store:
    """The results store, made on first use: importing this module (the CLI's `batch status`, a
    test) opens no connection pool. Forked pool processes each check their connections' pid."""
    return Store(connect(settings.store_url), settings.result_ttl)


@signals.worker_init.connect
def refuse_unsafe_limits(sender: Any = None, **_: Any) -> None:
    """Check, with the queues and prefetch multiplier this worker really got, that every task
    finishes before the visibility timeout; refuse to start otherwise."""
    if sender is None or getattr(sender, "app", None) is not app:
        return
    amqp = sender.app.amqp
    queues = sorted(amqp.queues.consume_from or amqp.queues)  # no -Q: every declared queue
    prefetch = int(sender.prefetch_multiplier or app.conf.worker_prefetch_multiplier)
    try:
        settings.check_worker(queues, prefetch)
    except ConfigError as exc:
        log.critical("seqquiz worker refuses to start: %s", exc)
        raise SystemExit(f"seqquiz worker: error: {exc}") from exc
    from worker.tasks import warm_up

    warm_up(settings.warmup_seeds)
