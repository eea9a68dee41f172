"""The service's commands: `serve`, `keys create|list|revoke`, `regrade`, `db upgrade`.
Registered on the `seqquiz` group by `register`; heavy imports wait until a command runs."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any, NoReturn

import click
import orjson


def _fail(message: str) -> NoReturn:
    from seqquiz.cli import fail

    fail(message)


def _emit(data: Any) -> None:
    from seqquiz.cli import emit

    emit(data)


def _store(check: bool = True) -> Any:
    from store import SchemaError, Store

    store = Store()
    if check:
        try:
            store.check_schema(create_embedded=True)
        except SchemaError as exc:
            store.close()
            _fail(str(exc))
    return store


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Processes."
)
@click.option("--log-level", default="info", show_default=True)
def serve(host: str, port: int, workers: int, log_level: str) -> None:
    """Serve the HTTP API (docs/http.md). The store is SEQQUIZ_DATABASE_URL, else an SQLite file
    (created on first start); batches run in-process, or on the Celery workers with
    SEQQUIZ_BROKER_URL set."""
    import uvicorn

    from web.settings import SettingsError, WebSettings

    try:
        WebSettings.from_env()
    except SettingsError as exc:
        _fail(str(exc))
    store = _store()
    click.echo(f"seqquiz serve: store {store.shown_url}", err=True)
    store.close()
    uvicorn.run(
        "web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
    )


@click.group("keys")
def keys_group() -> None:
    """API keys of the HTTP service (stored hashed; a key is shown once, when created)."""


@keys_group.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(["grade", "generate", "solve", "admin"]),
    help="Repeat for several scopes.",
)
@click.option("--json", "as_json", is_flag=True, help='Print {"id", "name", "scopes", "key"}.')
def keys_create(name: str, scopes: tuple[str, ...], as_json: bool) -> None:
    """Create an API key named NAME and print it (it is not stored: keep it)."""
    from store.keys import KeySpecError

    with _store() as store:
        try:
            key, token = store.create_key(name, scopes)
        except KeySpecError as exc:
            _fail(str(exc))
    if as_json:
        _emit({"id": key.id, "name": key.name, "scopes": list(key.scopes), "key": token})
        return
    click.echo(token)
    click.echo(f"key {key.id} ({key.name}; scopes {', '.join(key.scopes)}): shown once", err=True)


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def keys_list(as_json: bool) -> None:
    """List the keys: id, name, scopes, created, revoked."""
    with _store() as store:
        keys = store.list_keys()
    if as_json:
        _emit([k.to_json() for k in keys])
        return
    for k in keys:
        state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        click.echo(
            f"{k.id}  {k.name}  [{', '.join(k.scopes)}]  created {k.created_at:%Y-%m-%d %H:%M}"
            f"  {state}"
        )


@keys_group.command("revoke")
@click.argument("key_id", metavar="ID")
def keys_revoke(key_id: str) -> None:
    """Revoke the key ID: every request with it is refused (401) from now on."""
    from store import StoreError

    with _store() as store:
        try:
            key = store.revoke_key(key_id)
        except StoreError as exc:
            _fail(str(exc))
    click.echo(f"revoked {key.id} ({key.name})", err=True)


@keys_group.command("webhook-secret")
def keys_webhook_secret() -> None:
    """Print the secret that signs webhooks (Standard Webhooks `whsec_…`), for the receivers."""
    with _store() as store:
        click.echo(store.webhook_secret())


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        _fail(f"--since: not an ISO 8601 date or time (got {text!r})")
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


@click.command()
@click.option("--template", help="Only submissions to this template.")
@click.option("--since", metavar="DATE", help="Only submissions graded at or after (ISO 8601).")
@click.option(
    "--tolerance", "tolerance_text", metavar="JSON", help="New tolerances per part id or '*'."
)
@click.option("--apply", is_flag=True, help="Store the new results beside the old ones.")
def regrade(
    template: str | None, since: str | None, tolerance_text: str | None, apply: bool
) -> None:
    """Regrade stored submissions with today's code (or a new tolerance); print one JSON line
    per submission whose result would change: old score, new score, why."""
    from generators import REGISTRY
    from seqquiz.cli import parse_json_option
    from store.regrade import regrade as run

    if template is not None:
        REGISTRY.get(template)
    tolerance = parse_json_option("--tolerance", tolerance_text)
    if tolerance is not None and not isinstance(tolerance, dict):
        _fail(f"--tolerance: must be a JSON object (got {tolerance_text!r})")
    with _store() as store:
        report = run(store, template, _since(since), tolerance, apply)
    for change in report.changes:
        sys.stdout.buffer.write(orjson.dumps(change.to_json()) + b"\n")
    verb = "changed (stored beside the old results)" if apply else "would change (--apply stores)"
    click.echo(f"regraded {report.checked} submissions: {len(report.changes)} {verb}", err=True)


@click.group("db")
def db_group() -> None:
    """The grade store's schema."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Migrate the store (SEQQUIZ_DATABASE_URL, else the SQLite file) to this seqquiz's schema."""
    with _store(check=False) as store:
        try:
            before, after = store.upgrade()
        except Exception as exc:
            _fail(f"cannot migrate {store.shown_url}: {exc}")
    if before == after:
        click.echo(f"{store.shown_url}: already at schema revision {after}", err=True)
    else:
        click.echo(f"{store.shown_url}: schema {before or '(empty)'} -> {after}", err=True)


def register(group: click.Group) -> None:
    for command in (serve, keys_group, regrade, db_group):
        group.add_command(command)
