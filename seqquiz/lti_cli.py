"""`seqquiz lti register|config|rotate-key|platforms`: the LTI 1.3 tool's commands (docs/lti.md),
registered on the `seqquiz` group by `register`."""

from __future__ import annotations

from datetime import timedelta

import click


@click.group("lti")
def lti_group() -> None:
    """The LTI 1.3 tool of `seqquiz serve`: platforms, keys, configuration."""


@lti_group.command("register")
@click.option("--issuer", required=True, help="The platform's issuer (iss) URL.")
@click.option("--client-id", required=True, help="The client id the platform gave the tool.")
@click.option(
    "--deployment-id", "deployment_ids", multiple=True, required=True, help="Repeat for more."
)
@click.option("--auth-login-url", required=True, help="The platform's OIDC authorization URL.")
@click.option("--auth-token-url", required=True, help="The platform's OAuth 2 token URL.")
@click.option("--jwks-url", required=True, help="The platform's public keys (JWKS).")
@click.option("--json", "as_json", is_flag=True, help="Print the registration as JSON.")
def lti_register(
    issuer: str,
    client_id: str,
    deployment_ids: tuple[str, ...],
    auth_login_url: str,
    auth_token_url: str,
    jwks_url: str,
    as_json: bool,
) -> None:
    """Register a platform (or add deployments to one registered before)."""
    from seqquiz.serve_cli import _emit, _fail, _store
    from store.lti import LtiStore, LtiStoreError

    with _store() as store:
        try:
            p = LtiStore(store).register(
                issuer, client_id, deployment_ids, auth_login_url, auth_token_url, jwks_url
            )
        except LtiStoreError as exc:
            _fail(str(exc))
    if as_json:
        _emit(p.to_json())
        return
    click.echo(
        f"registered {p.issuer} (client {p.client_id}; deployments {', '.join(p.deployments)})",
        err=True,
    )


@lti_group.command("config")
@click.option("--base-url", required=True, help="Where the tool is served: https://host[/path].")
@click.option("--json", "as_json", is_flag=True, help="The tool's URLs as JSON.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "canvas"]),
    default="json",
    show_default=True,
    help="canvas: a Canvas developer key JSON.",
)
def lti_config(base_url: str, as_json: bool, fmt: str) -> None:
    """The URLs a platform needs (login, launch, JWKS, deep linking, registration)."""
    from seqquiz.serve_cli import _emit, _fail
    from web.lti.config import ConfigError, canvas, urls

    del as_json  # JSON is the only output; the flag is the documented spelling
    try:
        _emit(canvas(base_url) if fmt == "canvas" else urls(base_url))
    except ConfigError as exc:
        _fail(str(exc))


@lti_group.command("rotate-key")
@click.option(
    "--grace-hours",
    type=click.FloatRange(0, 24 * 365),
    default=72.0,
    show_default=True,
    help="How long the old key stays published (platforms cache the JWKS).",
)
def lti_rotate_key(grace_hours: float) -> None:
    """Make a new signing key; the old one stays in /.well-known/jwks.json for the grace."""
    from seqquiz.serve_cli import _store
    from store.lti import LtiStore

    with _store() as store:
        key, old = LtiStore(store).rotate_key(timedelta(hours=grace_hours))
    click.echo(key.kid)
    click.echo(
        f"new signing key {key.kid}; retired {', '.join(old) or 'none'} (published "
        f"{grace_hours:g} h more)",
        err=True,
    )


@lti_group.command("platforms")
def lti_platforms() -> None:
    """The registered platforms as JSON."""
    from seqquiz.serve_cli import _emit, _store
    from store.lti import LtiStore

    with _store() as store:
        _emit([p.to_json() for p in LtiStore(store).platforms()])


def register(group: click.Group) -> None:
    group.add_command(lti_group)
