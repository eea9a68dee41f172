"""Grades to the gradebook: AGS scores at the strict platform, one line item per link however
many students launch at once, the token cached and refreshed once on a 401, retries, failures
shown to the instructor with a resend, and never a score after a newer one."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any

import jwt

import jobs
from tests.lti.conftest import Tool, launch, token_of
from tests.lti.platform import INSTRUCTOR, Platform
from tests.lti.test_launch import variant_marker
from web.lti import tokens
from worker.passback import attempt

CUSTOM = {"template": "rnn-forward", "ask": "h_1,y_1"}


def answers(tool: Tool, token: str) -> dict[str, Any]:
    launch_id = tokens.verify(tool.lti.secret("lti_form_secret"), "form", token)["l"]
    la = tool.lti.launch(launch_id)
    assert la is not None
    seed = tool.app.state.lti.seed(la)
    return jobs.solve({"template": "rnn-forward", "seed": seed, "params": {"ask": ["h_1", "y_1"]}})[
        "answers"
    ]


def take(tool: Tool, platform: Platform, user: str, right: int, **plan: Any) -> str:
    """Launch as `user` and submit with `right` of the two parts right; the launch page."""
    with tool.client() as c:
        page = launch(c, platform, user, custom=CUSTOM, **plan).text
        token = token_of(page)
        a = answers(tool, token)
        form = {"token": token, "h_1": repr(a["h_1"]), "y_1": repr(a["y_1"])}
        if right < 2:
            form["y_1"] = repr(a["y_1"] + 3)
        if right < 1:
            form["h_1"] = repr(a["h_1"] + 3)
        r = c.post("/lti/submit", data=form)
        assert r.status_code == 200, r.text
    return page


def test_twenty_students_at_once_make_twenty_scores_and_one_line_item(
    tool: Tool, platform: Platform
) -> None:
    users = [f"student-{i:02d}" for i in range(20)]
    pages: dict[str, str] = {}
    errors: list[BaseException] = []
    go = threading.Barrier(len(users))

    def student(u: str) -> None:
        try:
            go.wait()
            pages[u] = take(tool, platform, u, int(u[-1]) % 3)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=student, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert platform.wait_scores(20)
    tool.queue.wait_idle()
    assert platform.violations == []
    assert len(platform.line_items) == 1
    (item,) = platform.line_items.values()
    assert item.resource_link_id == "link-1" and item.score_maximum == 2.0
    got = {s["userId"]: s for s in item.scores}
    assert set(got) == set(users)
    for u in users:
        s = got[u]
        assert s["scoreGiven"] == float(int(u[-1]) % 3) and s["scoreMaximum"] == 2.0
        assert s["gradingProgress"] == "FullyGraded"
    assert platform.token_requests == 1  # one token, cached, for every score
    with tool.client() as c:
        again = launch(c, platform, "student-07", custom=CUSTOM).text
    assert variant_marker(again) == variant_marker(pages["student-07"])


def test_scores_go_to_the_launchs_own_line_item(tool: Tool, platform: Platform) -> None:
    item = platform.add_line_item("Week 7", 2.0)
    take(tool, platform, "ann", 2, lineitem=item)
    assert platform.wait_scores(1)
    assert list(platform.line_items) == [item]
    assert platform.line_items[item].scores[0]["scoreGiven"] == 2.0
    assert platform.violations == []


def test_a_401_fetches_a_new_token_once_and_the_score_arrives(
    tool: Tool, platform: Platform
) -> None:
    item = platform.add_line_item()
    take(tool, platform, "bea", 1, lineitem=item)
    assert platform.wait_scores(1)
    platform.expire_tokens_once = True
    take(tool, platform, "cid", 2, lineitem=item)
    assert platform.wait_scores(2)
    assert platform.token_requests == 2 and platform.violations == []


def test_a_503_is_retried_with_backoff_until_the_score_arrives(
    tool: Tool, platform: Platform
) -> None:
    item = platform.add_line_item()
    platform.fail_scores = 1
    take(tool, platform, "dora", 2, lineitem=item)
    assert platform.wait_scores(1)
    tool.queue.wait_idle()
    (row,) = tool.lti.passbacks()
    assert row.status == "sent" and row.tries == 2


def test_a_refused_score_shows_failed_to_the_instructor_who_resends_it(
    tool: Tool, platform: Platform
) -> None:
    item = platform.add_line_item()
    platform.refuse_scores = 1
    take(tool, platform, "eve", 2, lineitem=item)
    tool.queue.wait_idle()
    (row,) = tool.lti.passbacks()
    assert row.status == "failed" and "locked" in row.last_error
    with tool.client() as c:
        view = launch(c, platform, "prof", roles=(INSTRUCTOR,), custom=CUSTOM).text
        assert 'data-passback="failed"' in view and "Resend" in view
        resent = c.post(
            "/lti/instructor/resend", data={"token": token_of_instructor(view), "passback": row.id}
        )
        assert resent.status_code == 200
    assert platform.wait_scores(1)
    tool.queue.wait_idle()
    assert tool.lti.passback(row.id).status == "sent"


def token_of_instructor(page: str) -> str:
    m = re.search(r'name="token" value="([^"]+)"', page)
    assert m is not None
    return m.group(1)


def test_an_older_score_is_never_sent_after_a_newer_one(tool: Tool, platform: Platform) -> None:
    item = platform.add_line_item()
    with tool.client() as c:
        token = token_of(launch(c, platform, "finn", custom=CUSTOM, lineitem=item).text)
    la = tool.lti.launch(tokens.verify(tool.lti.secret("lti_form_secret"), "form", token)["l"])
    assert la is not None
    older = tool.lti.add_passback(la, 1.0, 2.0)
    newer = tool.lti.add_passback(la, 2.0, 2.0)
    ags = tool.app.state.lti.ags
    assert attempt(tool.lti, ags, newer)[0] == "sent"
    assert attempt(tool.lti, ags, older)[0] == "superseded"
    assert [s["scoreGiven"] for s in platform.line_items[item].scores] == [2.0]


def test_two_servers_never_send_one_users_scores_at_once(tool: Tool, platform: Platform) -> None:
    item = platform.add_line_item()
    with tool.client() as c:
        token = token_of(launch(c, platform, "gus", custom=CUSTOM, lineitem=item).text)
    la = tool.lti.launch(tokens.verify(tool.lti.secret("lti_form_secret"), "form", token)["l"])
    assert la is not None
    first = tool.lti.add_passback(la, 1.0, 2.0)
    lease = timedelta(seconds=60)
    assert tool.lti.claim_passback(first, lease) == "go"  # server A is sending it
    second = tool.lti.add_passback(la, 2.0, 2.0)
    assert tool.lti.claim_passback(second, lease) == "busy"  # server B waits for A
    assert tool.lti.passback(second).status == "pending"
    tool.lti.set_passback(first, status="sent")
    assert tool.lti.claim_passback(second, lease) == "go"
    third = tool.lti.add_passback(la, 2.0, 2.0)
    assert tool.lti.claim_passback(first, lease) == "sent"  # never twice
    tool.lti.set_passback(second, status="pending")
    assert tool.lti.claim_passback(second, lease) == "superseded"  # third is newer
    assert tool.lti.claim_passback(third, lease) == "go"


def test_the_client_assertion_is_what_the_platform_checks(tool: Tool, platform: Platform) -> None:
    p = tool.lti.platforms()[0]
    ags = tool.app.state.lti.ags
    a, b = ags.assertion(p), ags.assertion(p)
    ca = jwt.decode(a, options={"verify_signature": False})
    cb = jwt.decode(b, options={"verify_signature": False})
    assert ca["iss"] == ca["sub"] == platform.client_id and ca["aud"] == platform.url + "/token"
    assert ca["jti"] != cb["jti"] and ca["exp"] > ca["iat"]
    assert jwt.get_unverified_header(a)["kid"] == tool.lti.signing_key().kid
