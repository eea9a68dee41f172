"""The browser test: Debian's Chromium driven by Playwright (nothing downloaded at run time)
launches from the test platform as a student, types answers with the keyboard, submits and sees
feedback; as an instructor sees the chart. axe-core (installed by .ci/run with npm into
.ci/node) finds no serious or critical violation on any page. Writes the README's screenshots."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import Page, sync_playwright

from tests.lti.conftest import Tool
from tests.lti.platform import INSTRUCTOR, Platform
from tests.lti.test_passback import CUSTOM, answers, take

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"
# The README's screenshots: rewritten with SEQQUIZ_SCREENSHOTS=1 (`SEQQUIZ_SCREENSHOTS=1 pytest
# tests/lti/test_browser.py`); an ordinary run takes them in a temporary folder, so running the
# suite leaves the working tree as it was.
README_SHOTS = REPO / "docs" / "img"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def start_url(platform: Platform, tool: Tool, hint: str) -> str:
    q = {"hint": hint, "target": tool.url + "/lti/launch", "login": tool.url + "/lti/login"}
    return f"{platform.url}/start?{urlencode(q)}"


def serious_violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    return [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_a_student_answers_in_chromium_and_the_instructor_sees_the_chart(
    tool: Tool, platform: Platform, tmp_path: Path
) -> None:
    assert AXE.is_file(), f"{AXE}: run .ci/run (npm install axe-core)"
    SHOTS = README_SHOTS if os.environ.get("SEQQUIZ_SCREENSHOTS") == "1" else tmp_path
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.goto(start_url(platform, tool, platform.plan("alice", custom=CUSTOM)))
            page.wait_for_selector('[data-part="h_1"]')
            assert serious_violations(page) == []
            page.screenshot(path=str(SHOTS / "lti-student.png"), full_page=True)
            a = answers(tool, page.input_value('input[name="token"]'))
            # Keyboard only: focus the first answer box, type, Tab on, type, Enter submits.
            page.focus('input[name="h_1"]')
            page.keyboard.type(f"{a['h_1']:.6f}")
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.name") == "y_1"
            page.keyboard.type(f"{a['y_1'] + 1:.6f}")
            page.keyboard.press("Enter")
            page.wait_for_selector('[data-part="h_1"][data-status="correct"]')
            assert page.get_attribute('[data-part="y_1"]', "data-status") == "incorrect"
            assert "Attempt 1 of 3 used" in page.inner_text("#status")
            assert serious_violations(page) == []
            page.screenshot(path=str(SHOTS / "lti-feedback.png"), full_page=True)
            assert platform.wait_scores(1)
            for i in range(7):  # a class for the instructor's chart
                take(tool, platform, f"student-{i}", i % 3)
            assert platform.wait_scores(8)
            tool.queue.wait_idle()

            page.goto(
                start_url(platform, tool, platform.plan("prof", roles=(INSTRUCTOR,), custom=CUSTOM))
            )
            page.wait_for_selector("figure.chart svg rect[data-series]")
            assert (
                page.get_attribute('[data-user="alice"] td[data-passback]', "data-passback")
                == "sent"
            )
            assert serious_violations(page) == []
            page.screenshot(path=str(SHOTS / "lti-instructor.png"), full_page=True)
        finally:
            browser.close()
