"""The launch, done right: a student's own variant, and every forged or replayed launch refused
with its status and nothing stored."""

from __future__ import annotations

import re

import jwt
import pytest

from tests.lti.conftest import Tool, launch, login, token_of
from tests.lti.platform import INSTRUCTOR, Key, Platform, first_form


def variant_marker(page: str) -> str:
    """What tells variants apart on the page: the stem's numbers."""
    stem = re.search(r'<div class="stem">(.*?)</div>\s*<form', page, re.S)
    assert stem is not None
    return stem.group(1)


def test_a_student_launch_shows_their_own_variant_again_on_relaunch(
    tool: Tool, platform: Platform
) -> None:
    with tool.client() as c:
        first = launch(c, platform, "alice")
        again = launch(c, platform, "alice")
        other = launch(c, platform, "bob")
    assert first.status_code == 200, first.text
    assert "<math" in first.text and "<svg" in first.text
    assert 'name="h_1"' in first.text and 'data-part="h_1"' in first.text
    assert variant_marker(first.text) == variant_marker(again.text)
    assert variant_marker(first.text) != variant_marker(other.text)
    assert "cdn" not in first.text.lower() and "set-cookie" not in first.headers


def reject(tool: Tool, platform: Platform, status: int, code: str, **tamper: object) -> None:
    before = tool.lti.counts()
    with tool.client() as c:
        r = launch(c, platform, "mallory", **tamper)
    assert r.status_code == status, r.text
    assert f'data-code="{code}"' in r.text
    assert tool.lti.counts() == before


@pytest.mark.parametrize(
    ("tamper", "status", "code"),
    [
        ({"aud": "someone-else"}, 401, "wrong-audience"),
        ({"azp": "someone-else"}, 401, "wrong-audience"),
        ({"iss": "https://evil.example"}, 401, "wrong-issuer"),
        ({"expired": 61}, 401, "expired-id-token"),
        ({"tamper_signature": True}, 401, "bad-signature"),
        ({"deployment_id": "dep-unknown"}, 403, "unknown-deployment"),
        ({"nonce": "not-the-login-nonce"}, 401, "invalid-nonce"),
        ({"alg": "HS256"}, 401, "invalid-id-token"),
        ({"version": "1.1"}, 400, "unsupported-version"),
    ],
)
def test_a_forged_launch_is_refused_and_nothing_is_stored(
    tool: Tool, platform: Platform, tamper: dict[str, object], status: int, code: str
) -> None:
    reject(tool, platform, status, code, **tamper)


def test_expiry_within_the_60_second_skew_is_accepted(tool: Tool, platform: Platform) -> None:
    with tool.client() as c:
        assert launch(c, platform, "carol", expired=59).status_code == 200


def test_an_unknown_kid_is_refetched_once_then_refused(tool: Tool, platform: Platform) -> None:
    stranger = Key.make()
    reject(tool, platform, 401, "unknown-kid", key=stranger)
    # A platform that rotated its key: the JWKS is fetched again and the launch accepted.
    rotated = Key.make()
    platform.published.append(rotated)
    with tool.client() as c:
        assert launch(c, platform, "dave", key=rotated).status_code == 200


def test_a_replayed_id_token_is_refused_and_nothing_more_is_stored(
    tool: Tool, platform: Platform
) -> None:
    with tool.client() as c:
        fields = login(c, platform, platform.plan("erin"))
        assert c.post("/lti/launch", data=fields).status_code == 200
        before = tool.lti.counts()
        again = c.post("/lti/launch", data=fields)
    assert again.status_code == 401 and 'data-code="nonce-reused"' in again.text
    assert tool.lti.counts() == before


def test_a_reused_nonce_in_a_new_token_is_refused(tool: Tool, platform: Platform) -> None:
    with tool.client() as c:
        hint = platform.plan("frank")
        fields = login(c, platform, hint)
        assert c.post("/lti/launch", data=fields).status_code == 200
        # The platform signs a second, different token with the same nonce and state.
        r = c.post("/lti/login", data=platform.login_fields(hint, tool.url + "/lti/launch"))
        auth = first_form(r.text).fields
        used = jwt.decode(fields["id_token"], options={"verify_signature": False})["nonce"]
        auth["nonce"], auth["state"] = used, fields["state"]
        _, token = platform.id_token(auth)
        assert token != fields["id_token"]
        before = tool.lti.counts()
        again = c.post("/lti/launch", data={"id_token": token, "state": fields["state"]})
    assert again.status_code == 401 and 'data-code="nonce-reused"' in again.text
    assert tool.lti.counts() == before


def test_a_forged_form_token_is_refused_and_nothing_is_stored(
    tool: Tool, platform: Platform
) -> None:
    with tool.client() as c:
        page = launch(c, platform, "gina").text
        token = token_of(page)
        body, mac = token.split(".")
        before = tool.lti.counts()
        forged = c.post("/lti/submit", data={"token": body + "." + mac[:-2] + "AA", "h_1": "1"})
        unsigned = c.post("/lti/submit", data={"h_1": "1"})
    assert forged.status_code == 401 and 'data-code="invalid-form-token"' in forged.text
    assert unsigned.status_code == 401
    assert tool.lti.counts() == before


def test_a_student_cannot_open_the_instructor_view_or_another_students_attempt(
    tool: Tool, platform: Platform
) -> None:
    with tool.client() as c:
        hank = token_of(launch(c, platform, "hank").text)
        ivy_page = launch(c, platform, "ivy").text
        ivy = token_of(ivy_page)
        assert c.post("/lti/submit", data={"token": ivy, "h_1": "0.5"}).status_code == 200
        tool.queue.wait_idle()  # the passback (and the link's line item) settled
        ivy_attempt = tool.lti.link_attempts(tool.lti.launch(_launch_id(tool, ivy)))[0].id
        before = tool.lti.counts()
        peek = c.post("/lti/attempt", data={"token": hank, "attempt": str(ivy_attempt)})
        boss = c.post("/lti/instructor", data={"token": hank})
        csv = c.post("/lti/instructor/csv", data={"token": hank})
        own = c.post("/lti/attempt", data={"token": ivy, "attempt": str(ivy_attempt)})
    assert peek.status_code == 403 and 'data-code="not-your-attempt"' in peek.text
    assert boss.status_code == 403 and csv.status_code == 403
    assert own.status_code == 200
    assert tool.lti.counts() == before


def test_an_instructor_launch_opens_the_class_view(tool: Tool, platform: Platform) -> None:
    with tool.client() as c:
        r = launch(c, platform, "prof", roles=(INSTRUCTOR,))
    assert r.status_code == 200 and "Class results" in r.text and "<svg" in r.text


def _launch_id(tool: Tool, token: str) -> str:
    from web.lti import tokens

    return tokens.verify(tool.lti.secret("lti_form_secret"), "form", token)["l"]


def test_login_sends_the_id_token_only_to_the_tools_own_launch_url(
    tool: Tool, platform: Platform
) -> None:
    with tool.client() as c:
        fields = platform.login_fields(platform.plan("kim"), "https://evil.example/steal")
        r = c.post("/lti/login", data=fields)
        unknown = c.post("/lti/login", data={**fields, "iss": "https://unknown.example"})
    assert first_form(r.text).fields["redirect_uri"] == tool.url + "/lti/launch"
    assert unknown.status_code == 400 and 'data-code="unknown-platform"' in unknown.text
