"""The student page: answer in one form, feedback per part marked with data-status, attempts
counted per resource link, the answers and worked solution only once the attempts are used."""

from __future__ import annotations

import re
from typing import Any

import jobs
from tests.lti.conftest import Tool, launch, token_of
from tests.lti.platform import Platform
from web.lti import tokens


def answers_for(tool: Tool, token: str) -> dict[str, Any]:
    launch_id = tokens.verify(tool.lti.secret("lti_form_secret"), "form", token)["l"]
    la = tool.lti.launch(launch_id)
    assert la is not None
    seed = tool.app.state.lti.seed(la)
    return jobs.solve({"template": "rnn-forward", "seed": seed, "params": {"ask": ["h_1", "y_1"]}})[
        "answers"
    ]


def statuses(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-part="([^"]+)" data-status="([^"]+)"', page))


def test_submit_marks_each_part_and_the_key_waits_for_the_last_attempt(
    tool: Tool, platform: Platform
) -> None:
    with tool.client() as c:
        page = launch(
            c,
            platform,
            "alice",
            custom={"template": "rnn-forward", "ask": "h_1,y_1", "attempts": "2"},
        ).text
        assert statuses(page) == {} and "Worked solution" not in page
        token = token_of(page)
        a = answers_for(tool, token)
        first = c.post("/lti/submit", data={"token": token, "h_1": repr(a["h_1"]), "y_1": "banana"})
        assert first.status_code == 200, first.text
        assert statuses(first.text) == {"h_1": "correct", "y_1": "invalid"}
        assert "Worked solution" not in first.text
        assert f'value="{a["h_1"]!r}"' in first.text  # the answer typed stays in the box
        second = c.post(
            "/lti/submit", data={"token": token, "h_1": repr(a["h_1"]), "y_1": repr(a["y_1"] + 5)}
        )
        assert statuses(second.text) == {"h_1": "correct", "y_1": "incorrect"}
        assert "Worked solution" in second.text and "All 2 attempts are used" in second.text
        third = c.post("/lti/submit", data={"token": token, "h_1": "0", "y_1": "0"})
        assert third.status_code == 409
        relaunch = launch(
            c,
            platform,
            "alice",
            custom={"template": "rnn-forward", "ask": "h_1,y_1", "attempts": "2"},
        )
    assert "Worked solution" in relaunch.text  # attempts count per link and user, not per launch
    rows = tool.lti.passbacks()
    assert [r.score_given for r in rows] == [1.0, 1.0]  # the best attempt, sent after each


def test_a_choice_part_is_radio_buttons_named_by_the_part(tool: Tool, platform: Platform) -> None:
    with tool.client() as c:
        page = launch(c, platform, "bob", custom={"template": "memory-capacity"}).text
    names = set(re.findall(r'type="radio"[^>]*name="([^"]+)"', page)) | set(
        re.findall(r'name="([^"]+)"[^>]*type="radio"', page)
    )
    parts = set(re.findall(r'data-part="([^"]+)"', page))
    assert names and names <= parts


def test_a_misconfigured_link_is_refused_with_the_parameter_named(
    tool: Tool, platform: Platform
) -> None:
    before = tool.lti.counts()
    with tool.client() as c:
        r = launch(c, platform, "carl", custom={"template": "rnn-forward", "attempts": "zero"})
    assert r.status_code == 400 and "attempts" in r.text and "zero" in r.text
    assert tool.lti.counts() == before


def test_the_instructor_may_reveal_the_key_before_the_attempts_are_used(
    tool: Tool, platform: Platform
) -> None:
    custom = {"template": "rnn-forward", "ask": "h_1,y_1", "reveal": "yes"}
    with tool.client() as c:
        page = launch(c, platform, "dan", custom=custom).text
        bad = launch(c, platform, "dan", custom={**custom, "reveal": "maybe"})
    assert "Worked solution" in page and "Attempt 0 of 3 used" in page
    assert bad.status_code == 400 and "reveal" in bad.text and "maybe" in bad.text


def test_a_formula_part_shows_how_the_submitted_formula_was_read(
    tool: Tool, platform: Platform
) -> None:
    custom = {"template": "rnn-bptt", "ask": "expr_dEdz_1"}
    with tool.client() as c:
        page = launch(c, platform, "erin", custom=custom).text
        assert 'class="preview"' not in page  # nothing submitted yet, nothing to read back
        token = token_of(page)
        read = c.post("/lti/submit", data={"token": token, "expr_dEdz_1": "w_hy/h1*z1"})
        assert read.status_code == 200, read.text
        found = re.search(r'<p class="preview" id="preview-expr_dEdz_1">(.*?)</p>', read.text)
        assert found is not None
        # Read as (w_hy/h1)*z1: h1 alone is the denominator.
        assert "</mrow><msub><mi>h</mi><mi>1</mi></msub></mfrac>" in found.group(1)
        bad = c.post("/lti/submit", data={"token": token, "expr_dEdz_1": "w_hy*(h1 <b>"})
    assert statuses(bad.text) == {"expr_dEdz_1": "invalid"}
    error = re.search(r'<p class="preview" id="preview-expr_dEdz_1">(.*?)</p>', bad.text)
    assert error is not None and "preview-error" in error.group(1)
    assert "<b>" not in error.group(1) and "&lt;" in error.group(1)


def test_the_worked_solution_is_rendered_only_for_a_page_that_shows_it(
    tool: Tool, platform: Platform
) -> None:
    from web.lti.routes import answer_key

    answer_key.cache_clear()
    custom = {"template": "rnn-forward", "ask": "h_1,y_1", "attempts": "1"}
    with tool.client() as c:
        page = launch(c, platform, "fay", custom=custom).text
        assert "Worked solution" not in page
        assert answer_key.cache_info().misses == 0  # a launch does not pay for the key
        done = c.post("/lti/submit", data={"token": token_of(page), "h_1": "0", "y_1": "0"})
    assert "Worked solution" in done.text and answer_key.cache_info().misses == 1
