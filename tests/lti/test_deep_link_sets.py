"""Deep linking offers problem-set entries: a TOML set the instructor uploads, or one the
operator installed (SEQQUIZ_LTI_PROBLEM_SETS); each entry becomes a resource link whose custom
parameters ask what the entry asks, and a student launched from it gets that."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.lti.conftest import Tool, launch, token_of
from tests.lti.platform import INSTRUCTOR, FormParser, Platform, first_form
from web.lti.problem_sets import ENV

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"

SET = b"""
title = "Week 7 practice"

[defaults]
points = 1

[[problem]]
template = "rnn-bptt"
seed = 4
ask = ["dEdz_1"]
points = 3
params = { x = [18, 9, -8], w_xh = -0.1, w_hh = 0.5, w_hy = 0.25, b_h = 0.4, b_y = 0.0, h_init = 0.0, activation = "logistic", targets = [0.1, -0.1, -0.2] }

[[problem]]
template = "rnn-gradient-flow"
ask = ["gain", "regime"]
points = { gain = 2, regime = 1 }

[[problem]]
template = "hmm-forward"
count = 3

[[problem]]
template = "rnn-gradient-flow"
ask = ["gain", "regime"]
points = { gain = 2, regime = 2 }

[[problem]]
template = "rnn-forward"
tolerance = { "*" = { atol = 0.01 } }
"""


def forms(page: str) -> list[FormParser]:
    return [first_form(f) for f in re.findall(r"<form\b.*?</form>", page, re.DOTALL)]


def deep_link_launch(c: httpx.Client, platform: Platform) -> str:
    page = launch(c, platform, "prof", roles=(INSTRUCTOR,), message_type="LtiDeepLinkingRequest")
    assert page.status_code == 200, page.text
    return page.text


def pick(c: httpx.Client, platform: Platform, page: str, template: str) -> dict[str, Any]:
    """Press the entry's button; the content item the platform receives."""
    (entry,) = [f for f in forms(page) if f.fields.get("template") == template]
    assert entry.action == "/lti/deep-link"
    r = c.post(entry.action, data=entry.fields)
    assert r.status_code == 200, r.text
    claims = platform.verify_deep_link(first_form(r.text).fields["JWT"])
    (item,) = claims[DL + "content_items"]
    return item


def test_an_uploaded_problem_set_entry_becomes_a_link_that_asks_what_it_asks(
    tool: Tool, platform: Platform
) -> None:
    with tool.client() as c:
        page = deep_link_launch(c, platform)
        assert 'action="/lti/deep-link/upload"' in page and 'type="file"' in page
        r = c.post(
            "/lti/deep-link/upload",
            data={"token": token_of(page)},
            files={"problem_set": ("week7.toml", SET, "application/toml")},
        )
        assert r.status_code == 200, r.text
        assert "Week 7 practice: problem 3 (hmm-forward)" in r.text
        # Per-part points a link cannot carry: listed with the reason, no button.
        assert re.search(
            r"problem 2 \(rnn-gradient-flow\): <span class=\"error\">[^<]*points", r.text
        )
        assert re.search(r"problem 5 \(rnn-forward\): <span class=\"error\">[^<]*tolerance", r.text)
        assert not [f for f in forms(r.text) if f.fields.get("template") == "rnn-forward"]
        # The default "*" = 1 falls on no asked part of problem 4: its two parts are worth 2.
        (same,) = [f for f in forms(r.text) if f.fields.get("template") == "rnn-gradient-flow"]
        assert same.fields["points"] == "2" and same.fields["ask"] == "gain,regime"
        item = pick(c, platform, r.text, "rnn-bptt")
        custom = item["custom"]
        assert custom["template"] == "rnn-bptt" and custom["ask"] == "dEdz_1"
        assert custom["points"] == "3"
        assert orjson.loads(custom["params"])["targets"] == [0.1, -0.1, -0.2]
        assert item["title"] == "Week 7 practice: problem 1 (rnn-bptt)"
        assert item["lineItem"]["scoreMaximum"] == 3.0
        student = launch(c, platform, "stu", custom=custom)
    assert student.status_code == 200, student.text
    assert re.findall(r'data-part="([^"]+)"', student.text) == ["dEdz_1"]
    assert "3 points" in student.text


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        (b'[[problem]]\ntemplate = "rnn-nope"\n', "problem 1 (rnn-nope): template"),
        (b"[[problem]\n", "not valid TOML"),
        (b'[[problem]]\ntemplate = "rnn-forward"\ncolour = 1\n', "colour"),
    ],
)
def test_an_uploaded_problem_set_that_does_not_read_shows_why(
    tool: Tool, platform: Platform, toml: bytes, needle: str
) -> None:
    with tool.client() as c:
        page = deep_link_launch(c, platform)
        before = tool.lti.counts()
        r = c.post(
            "/lti/deep-link/upload",
            data={"token": token_of(page)},
            files={"problem_set": ("bad.toml", toml)},
        )
    assert r.status_code == 422
    error = re.search(r'<p class="error" role="alert" id="upload-error">(.*?)</p>', r.text, re.S)
    assert error is not None and "bad.toml" in error.group(1) and needle in error.group(1)
    assert 'name="template"' in r.text  # the page stays usable
    assert tool.lti.counts() == before


def test_an_upload_needs_an_instructor_deep_linking_launch(tool: Tool, platform: Platform) -> None:
    with tool.client() as c:
        student = launch(c, platform, "sam", custom={"template": "rnn-forward"})
        r = c.post(
            "/lti/deep-link/upload",
            data={"token": token_of(student.text)},
            files={"problem_set": ("s.toml", SET)},
        )
        forged = c.post(
            "/lti/deep-link/upload", data={"token": "x"}, files={"problem_set": ("s.toml", SET)}
        )
        plain = c.post("/lti/deep-link/upload", data={"token": token_of(student.text)})
    assert r.status_code == 400 and "deep linking" in r.text
    assert forged.status_code == 401
    assert plain.status_code == 400 and "multipart" in plain.text


def test_the_operators_installed_problem_sets_are_offered(
    tool: Tool, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sets = tmp_path / "sets"
    sets.mkdir()
    (sets / "week7.toml").write_bytes(SET)
    (sets / "broken.toml").write_text('[[problem]]\ntemplate = "nope"\n')
    (sets / "notes.txt").write_text("not a set")
    monkeypatch.setenv(ENV, str(sets))
    with tool.client() as c:
        page = deep_link_launch(c, platform)
        assert 'data-set="week7.toml"' in page and 'data-set="broken.toml"' in page
        assert "notes.txt" not in page
        assert re.search(r"broken\.toml: problem 1 \(nope\): template", page)
        item = pick(c, platform, page, "hmm-forward")
    assert item["custom"] == {"template": "hmm-forward", "points": "1"}
    assert item["title"] == "Week 7 practice: problem 3 (hmm-forward)"


def test_without_the_setting_no_installed_sets_are_listed(
    tool: Tool, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    with tool.client() as c:
        page = deep_link_launch(c, platform)
    assert "Installed problem sets" not in page and "data-set=" not in page
