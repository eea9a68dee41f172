"""The instructor: deep linking, dynamic registration, the class view (chart, CSV, regrade,
preview as a student), and the link's line item created once by concurrent servers."""

from __future__ import annotations

import csv
import io
import re
import threading

import httpx

from store.lti import LtiStore
from tests.lti.conftest import Tool, launch, token_of
from tests.lti.platform import INSTRUCTOR, Platform, first_form
from tests.lti.test_passback import CUSTOM, take
from worker.passback import AgsClient, line_item

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"


def test_deep_linking_answers_a_signed_resource_link_with_custom_params_and_a_line_item(
    tool: Tool, platform: Platform
) -> None:
    with tool.client() as c:
        page = launch(
            c, platform, "prof", roles=(INSTRUCTOR,), message_type="LtiDeepLinkingRequest"
        )
        assert page.status_code == 200 and 'name="template"' in page.text
        r = c.post(
            "/lti/deep-link",
            data={
                "token": token_of(page.text),
                "template": "hmm-forward",
                "points": "2",
                "attempts": "5",
                "title": "Week 8: forward algorithm",
            },
        )
    assert r.status_code == 200, r.text
    form = first_form(r.text)
    assert form.action == platform.url + "/deep-link-return" and form.method == "post"
    claims = platform.verify_deep_link(form.fields["JWT"])
    assert claims[LTI_MT] == "LtiDeepLinkingResponse"
    assert claims[DL + "data"] == "opaque-link-1"
    (item,) = claims[DL + "content_items"]
    assert item["type"] == "ltiResourceLink" and item["url"] == tool.url + "/lti/launch"
    assert item["custom"] == {"template": "hmm-forward", "points": "2", "attempts": "5"}
    assert item["lineItem"]["scoreMaximum"] > 0 and item["lineItem"]["label"].startswith("Week 8")


LTI_MT = "https://purl.imsglobal.org/spec/lti/claim/message_type"


def test_a_student_cannot_deep_link(tool: Tool, platform: Platform) -> None:
    before = tool.lti.counts()
    with tool.client() as c:
        r = launch(c, platform, "sam", message_type="LtiDeepLinkingRequest")
    assert r.status_code == 403 and tool.lti.counts() == before


def test_dynamic_registration_registers_the_platform_and_a_launch_follows(tool: Tool) -> None:
    platform = Platform().start()
    try:
        with tool.client() as c:
            r = c.get(
                "/lti/register",
                params={
                    "openid_configuration": platform.url + "/.well-known/openid-configuration",
                    "registration_token": platform.registration_token,
                },
            )
            assert r.status_code == 200, r.text
            assert "org.imsglobal.lti.close" in r.text
            (p,) = tool.lti.platforms(platform.issuer)
            assert p.client_id == platform.client_id and p.deployments == ("dep-1",)
            assert launch(c, platform, "reg-student").status_code == 200
            bad = c.get(
                "/lti/register",
                params={
                    "openid_configuration": platform.url + "/.well-known/openid-configuration",
                    "registration_token": "wrong",
                },
            )
            assert bad.status_code == 400
        assert platform.violations == ["register: wrong or missing registration token"]
    finally:
        platform.stop()


def test_the_class_view_counts_parts_charts_them_and_exports_csv(
    tool: Tool, platform: Platform
) -> None:
    for user, right in (("a1", 2), ("a2", 1), ("a3", 0)):
        take(tool, platform, user, right)
    assert platform.wait_scores(3)
    tool.queue.wait_idle()
    with tool.client() as c:
        view = launch(c, platform, "prof", roles=(INSTRUCTOR,), custom=CUSTOM).text
        token = token_of_view(view)
        rows = dict(re.findall(r'<tr data-part="([^"]+)"><td>[^<]+</td><td>(\d+)</td>', view))
        assert rows == {"h_1": "2", "y_1": "1"}  # correct answers per part
        assert re.search(r'<rect[^>]*data-series="correct" data-count="2"', view)
        assert view.count('data-passback="sent"') == 3
        got = c.post("/lti/instructor/csv", data={"token": token})
        assert got.headers["content-type"].startswith("text/csv")
        table = list(csv.DictReader(io.StringIO(got.text)))
        assert sorted((r["user"], r["score_given"]) for r in table) == [
            ("a1", "2.0"),
            ("a2", "1.0"),
            ("a3", "0.0"),
        ]
        regraded = c.post("/lti/instructor/regrade", data={"token": token})
        assert "Regraded 3 attempts; 0 students" in regraded.text
        preview = c.post("/lti/instructor/preview", data={"token": token})
        assert "Preview as a student" in preview.text and 'name="h_1"' in preview.text
        before = len(tool.lti.passbacks())
        ptoken = token_of(preview.text)
        tried = c.post("/lti/submit", data={"token": ptoken, "h_1": "0", "y_1": "0"})
        assert tried.status_code == 200 and 'data-status="incorrect"' in tried.text
    assert len(tool.lti.passbacks()) == before  # a preview sends no grade


def token_of_view(page: str) -> str:
    m = re.search(r'name="token" value="([^"]+)"', page)
    assert m is not None
    return m.group(1)


def test_servers_racing_for_a_links_line_item_create_exactly_one(
    tool: Tool, platform: Platform
) -> None:
    take(tool, platform, "z1", 2, ags=False)  # an attempt, no passback
    with tool.client() as c:
        token = token_of(launch(c, platform, "z2", custom=CUSTOM).text)
    del token
    la = tool.lti.platforms()[0]
    rows = []
    launches = [x for x in _launches(tool) if x.lineitems_url]
    for _ in range(8):
        rows.append(tool.lti.passback(tool.lti.add_passback(launches[0], 1.0, 2.0)))
    urls: list[str | None] = []
    go = threading.Barrier(len(rows))

    def server(row: object) -> None:
        ags = AgsClient(LtiStore(tool.store), httpx.Client(timeout=30))  # a server of its own
        go.wait()
        try:
            for _ in range(50):  # the losers find the winner's URL once it is set
                url = line_item(ags.lti, ags, la, row)
                if url is not None:
                    urls.append(url)
                    return
        finally:
            ags.http.close()

    threads = [threading.Thread(target=server, args=(r,)) for r in rows]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(platform.line_items) == 1
    assert set(urls) == set(platform.line_items)


def _launches(tool: Tool) -> list:
    from sqlalchemy import select

    from store.lti import _launch
    from store.schema import lti_launches

    with tool.store.engine.connect() as conn:
        return [_launch(r) for r in conn.execute(select(lti_launches))]
