"""The README's main job: the embedded default set generated and a sample class graded locally."""

from pathlib import Path

import orjson
import pytest

from seqquiz import demo


def test_demo_generates_the_set_and_grades_every_line(tmp_path: Path) -> None:
    results = demo.run(tmp_path)
    subs = (tmp_path / "submissions.jsonl").read_bytes().splitlines()
    written = [orjson.loads(x) for x in (tmp_path / "results.jsonl").read_bytes().splitlines()]
    assert len(written) == len(subs) == len(results)
    by_id = {r["submission_id"]: r for r in written}
    alices = [r for sid, r in by_id.items() if sid and sid.endswith("-alice")]
    assert alices and all(r["score"] == 1.0 for r in alices)
    assert all(r["score"] < 1.0 for sid, r in by_id.items() if sid and sid.endswith("-bob"))
    carols = [r for sid, r in by_id.items() if sid and sid.endswith("-carol")]
    assert all(p["status"] == "invalid" for r in carols for p in r["parts"].values())
    assert by_id["q3-dave"]["score"] == 1.0  # unicode minus, two decimals
    assert by_id["q4-dave"]["score"] == 1.0  # from the stem's rounded hidden values
    assert by_id["q4-erin"]["score"] == 0.0
    assert by_id["unknown-template"]["error"]["code"] == "unknown-template"
    assert any(r.get("error", {}).get("code") == "bad-json" for r in written)
    problem_set = orjson.loads((tmp_path / "problem-set.json").read_bytes())
    assert problem_set["variants"][0]["answers"]["h_2"] == pytest.approx(0.0753, abs=5e-5)
    markdown = (tmp_path / "problem-set.md").read_text()
    assert "# Answers and worked solutions" in markdown and "$$" in markdown
