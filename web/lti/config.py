"""The tool's URLs for a base URL, and the configuration documents platforms import: the
`seqquiz lti config` JSON, a Canvas developer key, the Dynamic Registration tool configuration."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from grader.errors import SeqquizError

LOGIN = "/lti/login"
LAUNCH = "/lti/launch"
DEEP_LINK = "/lti/launch"  # one endpoint; the id_token's message type tells them apart
JWKS = "/.well-known/jwks.json"
REGISTER = "/lti/register"

TITLE = "seqquiz"
DESCRIPTION = (
    "Randomized exercises on sequence models (RNNs, BPTT, HMMs, Kalman filters, LSTMs): a "
    "variant per student, feedback naming the mistake, worked solutions, grades to the gradebook."
)
SCOPES = (
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
)


class ConfigError(SeqquizError, ValueError):
    """Raised when a base URL is not an absolute http(s) URL."""

    code = "invalid-base-url"


def check_base(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise ConfigError(
            f"--base-url: must be an absolute http(s) URL such as https://quiz.example.edu "
            f"(got {base_url!r:.80})"
        )
    return base_url.rstrip("/")


def urls(base_url: str) -> dict[str, str]:
    base = check_base(base_url)
    return {
        "login_url": base + LOGIN,
        "launch_url": base + LAUNCH,
        "jwks_url": base + JWKS,
        "deep_linking_url": base + DEEP_LINK,
        "registration_url": base + REGISTER,
    }


def canvas(base_url: str) -> dict[str, Any]:
    """A Canvas developer key (LTI key, "Paste JSON")."""
    u = urls(base_url)
    domain = urlsplit(u["launch_url"]).netloc
    placements = [
        {
            "placement": p,
            "message_type": "LtiDeepLinkingRequest",
            "target_link_uri": u["deep_linking_url"],
            "text": TITLE,
        }
        for p in ("assignment_selection", "link_selection")
    ]
    return {
        "title": TITLE,
        "description": DESCRIPTION,
        "oidc_initiation_url": u["login_url"],
        "target_link_uri": u["launch_url"],
        "public_jwk_url": u["jwks_url"],
        "scopes": list(SCOPES),
        "extensions": [
            {
                "domain": domain,
                "tool_id": "seqquiz",
                "platform": "canvas.instructure.com",
                "privacy_level": "name_only",
                "settings": {"text": TITLE, "placements": placements},
            }
        ],
        "custom_fields": {},
    }


def registration(base_url: str) -> dict[str, Any]:
    """The tool configuration of LTI Dynamic Registration 1.0 (section 3.5.2)."""
    u = urls(base_url)
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": u["login_url"],
        "redirect_uris": [u["launch_url"]],
        "client_name": TITLE,
        "jwks_uri": u["jwks_url"],
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(SCOPES),
        "https://purl.imsglobal.org/spec/lti-tool-configuration": {
            "domain": urlsplit(u["launch_url"]).netloc,
            "description": DESCRIPTION,
            "target_link_uri": u["launch_url"],
            "claims": ["iss", "sub", "name"],
            "messages": [
                {"type": "LtiResourceLinkRequest"},
                {"type": "LtiDeepLinkingRequest", "target_link_uri": u["deep_linking_url"]},
            ],
        },
    }
