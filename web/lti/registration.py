"""LTI Dynamic Registration 1.0: the platform opens the tool's registration URL with its
OpenID configuration and a token; the tool posts its configuration and keeps the client id
and deployment the platform answers with."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from grader.errors import SeqquizError
from store.lti import LtiStore, LtiStoreError, Platform
from web.lti import config

LTI_PLATFORM = "https://purl.imsglobal.org/spec/lti-platform-configuration"
LTI_TOOL = "https://purl.imsglobal.org/spec/lti-tool-configuration"


class RegistrationError(SeqquizError):
    """Raised when the platform's configuration or registration answer cannot be used."""

    code = "registration-failed"


def register(
    lti: LtiStore,
    http: httpx.Client,
    openid_configuration: str,
    registration_token: str | None,
    base_url: str,
) -> Platform:
    if not openid_configuration.startswith(("https://", "http://")):
        raise RegistrationError(
            f"openid_configuration: must be an http(s) URL (got {openid_configuration!r:.80})"
        )
    try:
        r = http.get(openid_configuration)
        r.raise_for_status()
        conf = r.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise RegistrationError(f"openid_configuration: {exc}") from None
    issuer = conf.get("issuer")
    # The spec: the configuration URL must be under the issuer (same scheme and host).
    if not isinstance(issuer, str) or urlsplit(issuer)[:2] != urlsplit(openid_configuration)[:2]:
        raise RegistrationError(
            f"openid_configuration: issuer {issuer!r:.80} is not the configuration's host"
        )
    need = ("registration_endpoint", "authorization_endpoint", "token_endpoint", "jwks_uri")
    missing = [k for k in need if not isinstance(conf.get(k), str)]
    if missing:
        raise RegistrationError(f"openid_configuration: lacks {', '.join(missing)}")
    headers = {"Content-Type": "application/json"}
    if registration_token:
        headers["Authorization"] = f"Bearer {registration_token}"
    try:
        r = http.post(
            conf["registration_endpoint"], json=config.registration(base_url), headers=headers
        )
        r.raise_for_status()
        answer = r.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise RegistrationError(f"registration: {exc}") from None
    client_id = answer.get("client_id")
    tool_conf = answer.get(LTI_TOOL) if isinstance(answer.get(LTI_TOOL), dict) else {}
    deployment = tool_conf.get("deployment_id")
    if not isinstance(client_id, str) or not isinstance(deployment, str):
        raise RegistrationError("registration: the answer lacks client_id or deployment_id")
    try:
        return lti.register(
            issuer,
            client_id,
            [deployment],
            conf["authorization_endpoint"],
            conf["token_endpoint"],
            conf["jwks_uri"],
        )
    except LtiStoreError as exc:
        raise RegistrationError(str(exc)) from None
