"""The tool's keys and configuration: made on first start, published, rotated with a grace;
`seqquiz lti register` and `seqquiz lti config`."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import orjson

from store import Store
from store.lti import LtiStore
from tests.lti.conftest import Tool

REPO = Path(__file__).resolve().parents[2]


def cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQQUIZ_")}
    env.update(PYTHONPATH=str(REPO), SEQQUIZ_DATABASE_URL=db_url)
    return subprocess.run(
        [sys.executable, "-m", "seqquiz", *args], env=env, capture_output=True, text=True
    )


def test_jwks_publishes_the_key_made_on_first_start_and_keeps_it(tool: Tool) -> None:
    with tool.client() as c:
        first = c.get("/.well-known/jwks.json").json()
        again = c.get("/.well-known/jwks.json").json()
    assert len(first["keys"]) == 1 and first == again
    k = first["keys"][0]
    assert (k["kty"], k["alg"], k["use"]) == ("RSA", "RS256", "sig")
    assert "d" not in k and "p" not in k  # never the private part
    assert k["kid"] == tool.lti.signing_key().kid


def test_rotate_key_signs_with_the_new_key_and_keeps_the_old_published_for_the_grace(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    with Store(url) as s:
        s.upgrade()
        old = LtiStore(s).signing_key().kid
    out = cli(url, "lti", "rotate-key", "--grace-hours", "1")
    assert out.returncode == 0, out.stderr
    new = out.stdout.strip()
    with Store(url) as s:
        lti = LtiStore(s)
        assert lti.signing_key().kid == new != old
        assert [k["kid"] for k in lti.jwks()["keys"]] == [new, old]
        key, retired = lti.rotate_key(timedelta(0))  # no grace: `new` leaves at once
        assert retired == [new]
        assert [k["kid"] for k in lti.jwks()["keys"]] == [key.kid, old]  # old: 1 h still


def test_register_stores_the_platform_and_adds_deployments(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    base = [
        "lti", "register", "--issuer", "https://lms.example.edu", "--client-id", "c1",
        "--auth-login-url", "https://lms.example.edu/auth",
        "--auth-token-url", "https://lms.example.edu/token",
        "--jwks-url", "https://lms.example.edu/jwks", "--json",
    ]  # fmt: skip
    first = cli(url, *base, "--deployment-id", "d1", "--deployment-id", "d2")
    assert first.returncode == 0, first.stderr
    assert orjson.loads(first.stdout)["deployment_ids"] == ["d1", "d2"]
    second = cli(url, *base, "--deployment-id", "d3")
    assert orjson.loads(second.stdout)["deployment_ids"] == ["d1", "d2", "d3"]
    listed = orjson.loads(cli(url, "lti", "platforms").stdout)
    assert len(listed) == 1 and listed[0]["client_id"] == "c1"


def test_register_refuses_a_bad_url_naming_the_option(tmp_path: Path) -> None:
    out = cli(
        f"sqlite:///{tmp_path / 'b.db'}",
        "lti", "register", "--issuer", "https://lms.example.edu", "--client-id", "c1",
        "--deployment-id", "d1", "--auth-login-url", "ftp://x", "--auth-token-url",
        "https://lms.example.edu/token", "--jwks-url", "https://lms.example.edu/jwks",
    )  # fmt: skip
    assert out.returncode != 0
    assert "--auth-login-url" in out.stderr and "ftp://x" in out.stderr


def test_config_prints_the_tool_urls_and_a_canvas_developer_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    out = cli(url, "lti", "config", "--base-url", "https://quiz.example.edu/", "--json")
    assert out.returncode == 0, out.stderr
    assert orjson.loads(out.stdout) == {
        "login_url": "https://quiz.example.edu/lti/login",
        "launch_url": "https://quiz.example.edu/lti/launch",
        "jwks_url": "https://quiz.example.edu/.well-known/jwks.json",
        "deep_linking_url": "https://quiz.example.edu/lti/launch",
        "registration_url": "https://quiz.example.edu/lti/register",
    }
    canvas = orjson.loads(
        cli(
            url, "lti", "config", "--base-url", "https://quiz.example.edu", "--format", "canvas"
        ).stdout
    )
    assert canvas["oidc_initiation_url"] == "https://quiz.example.edu/lti/login"
    assert canvas["public_jwk_url"] == "https://quiz.example.edu/.well-known/jwks.json"
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in canvas["scopes"]
    assert canvas["extensions"][0]["platform"] == "canvas.instructure.com"
    bad = cli(url, "lti", "config", "--base-url", "quiz.example.edu", "--json")
    assert bad.returncode != 0 and "--base-url" in bad.stderr
