"""Problem-set files: the documented example builds into every format, deterministically;
mistakes are reported with file, entry and field, on one line with exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from jobs import problem_set
from jobs.problem_set import ProblemSetError
from seqquiz.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "week7.toml"
FORMATS = ("json", "markdown", "moodle", "gift", "qti12", "qti21", "html", "latex")

GOOD = """
title = "Set"
[defaults]
count = 2
seed = 10
points = 1.5
tolerance = { "*" = { decimals = 3 } }

[[problem]]
template = "rnn-forward"
params = { activation = "linear" }
points = { h_1 = 4 }

[[problem]]
template = "rnn-gradient-flow"
count = 1
seed = 3
ask = ["regime"]
"""


def test_the_documented_example_parses() -> None:
    ps = problem_set.load(EXAMPLE)
    assert ps.title == "Week 7: Recurrent neural networks"
    assert [e.template for e in ps.entries] == [
        "rnn-forward",
        "rnn-bptt",
        "rnn-forward",
        "rnn-gradient-flow",
        "memory-capacity",
        "memory-capacity",
        "context-window",
        "hmm-forward",
        "lds-kalman",
        "lstm-cell",
        "rnn-binary-addition",
    ]
    flow = ps.entries[3]
    assert flow.count == 5  # from [defaults]
    assert flow.points == {"*": 1.0, "gain": 2.0, "regime": 1.0}
    variants = problem_set.build(ps)
    assert len(variants) == sum(e.count for e in ps.entries)
    assert variants[0].points == {"y_1": 2.0, "h_2": 2.0}


def test_defaults_merge_into_entries() -> None:
    ps = problem_set.parse(GOOD, "set.toml")
    first, second = ps.entries
    assert (first.count, first.seed) == (2, 10) and (second.count, second.seed) == (1, 3)
    assert first.points == {"*": 1.5, "h_1": 4.0}
    assert second.params == {"ask": ["regime"]}
    variants = problem_set.build(ps)
    assert [v.seed for v in variants] == [10, 11, 3]
    for v in variants[:2]:
        assert v.params["activation"] == "linear"
        for pid, spec in v.parts.items():
            assert spec.tolerance.to_json() == {"decimals": 3}
            assert v.points[pid] == (4.0 if pid == "h_1" else 1.5)
    assert list(variants[2].parts) == ["regime"]  # the choice part keeps no tolerance


BAD = [
    ('titel = "x"\n[[problem]]\ntemplate = "rnn-forward"', None, "titel", "unknown key"),
    (
        '[defaults]\ncout = 2\n[[problem]]\ntemplate = "rnn-forward"',
        None,
        "defaults.cout",
        "unknown key",
    ),
    ('[[problem]]\ntemplate = "rnn-forward"\nsed = 3', 1, "sed", "unknown key"),
    ('[[problem]]\ntemplate = "rnn-forward"\ncount = "ten"', 1, "count", "must be an integer"),
    ('[[problem]]\ntemplate = "rnn-forward"\ncount = true', 1, "count", "must be an integer"),
    ('[[problem]]\ntemplate = "rnn-forward"\ncount = 0', 1, "count", "from 1 to"),
    ('[[problem]]\ntemplate = "rnn-forward"\nseed = -1', 1, "seed", "from 0"),
    (
        '[[problem]]\ntemplate = "rnn-forward"\n[[problem]]\ntemplate = "rnn-forwrd"',
        2,
        "template",
        "unknown template 'rnn-forwrd'",
    ),
    ("[[problem]]\ncount = 2", 1, "template", "is required"),
    ("[[problem]]\ntemplate = 7", 1, "template", "must be a string"),
    (
        '[[problem]]\ntemplate = "rnn-forward"\nparams = { w_xy = 1 }',
        1,
        "params.w_xy",
        "unknown parameter",
    ),
    (
        '[[problem]]\ntemplate = "rnn-forward"\nparams = { x = "nine" }',
        1,
        "params.x",
        "must be a list of numbers",
    ),
    ('[[problem]]\ntemplate = "rnn-forward"\nparams = 3', 1, "params", "must be a table"),
    (
        '[[problem]]\ntemplate = "rnn-forward"\ntolerance = { q_9 = { decimals = 2 } }',
        1,
        "tolerance.q_9",
        "is not a part of rnn-forward",
    ),
    (
        '[[problem]]\ntemplate = "rnn-forward"\ntolerance = { h_1 = { decimals = "two" } }',
        1,
        "tolerance.h_1.decimals",
        "must be an integer",
    ),
    (
        '[[problem]]\ntemplate = "rnn-forward"\ntolerance = { h_1 = 3 }',
        1,
        "tolerance.h_1",
        "must be an object",
    ),
    (
        '[[problem]]\ntemplate = "rnn-forward"\npoints = { h_1 = -1 }',
        1,
        "points.h_1",
        "above 0",
    ),
    ('[[problem]]\ntemplate = "rnn-forward"\npoints = "many"', 1, "points", "must be a number"),
    (
        '[[problem]]\ntemplate = "rnn-forward"\nask = ["h_1"]\nparams = { ask = ["h_1"] }',
        1,
        "ask",
        "given twice",
    ),
    (
        '[[problem]]\ntemplate = "rnn-forward"\nask = ["q_7"]',
        1,
        "params.ask",
        "is not a part",
    ),
    ('[problem]\ntemplate = "rnn-forward"', None, "problem", "[[problem]]"),
    ('title = "x"', None, "problem", "is required"),
    ('title = "x\n[[problem]]', None, "", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "entry", "field", "why"), BAD)
def test_mistakes_name_file_entry_and_field(
    text: str, entry: int | None, field: str, why: str
) -> None:
    with pytest.raises(ProblemSetError) as info:
        problem_set.build(problem_set.parse(text, "week.toml"))
    err = info.value
    message = str(err)
    assert message.startswith("week.toml: "), message
    assert err.entry == entry, message
    assert err.field == field, message
    if entry is not None:
        assert f"problem {entry}" in message
    if field:
        assert f": {field}: " in message
    assert why in message
    assert "\n" not in message


def test_cli_build_writes_every_format(tmp_path: Path) -> None:
    runner = CliRunner()
    for fmt in FORMATS:
        out = tmp_path / f"week7.{fmt}"
        res = runner.invoke(main, ["build", str(EXAMPLE), "--format", fmt, "-o", str(out)])
        assert res.exit_code == 0, res.output
        assert out.stat().st_size > 1000, fmt
    res = runner.invoke(main, ["build", str(EXAMPLE), "--format", "qti21"])
    assert res.exit_code == 2 and "-o" in res.output


def test_cli_reports_a_bad_file_on_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[problem]]\ntemplate = "rnn-forward"\ncount = "ten"\n')
    res = CliRunner().invoke(main, ["build", str(bad), "--format", "moodle"])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert lines == [
        "seqquiz: error: bad.toml: problem 1 (rnn-forward): count: must be an integer (got 'ten')"
    ]
    res = CliRunner().invoke(main, ["build", str(tmp_path / "missing.toml")])
    assert res.exit_code == 2 and "missing.toml: cannot read" in res.output


def test_build_is_byte_identical_across_processes(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    outs = []
    for n in range(2):
        out = tmp_path / f"set{n}.zip"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "seqquiz",
                "build",
                str(EXAMPLE),
                "--format",
                "qti21",
                "-o",
                str(out),
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_the_docs_show_the_example_file_complete() -> None:
    doc = (ROOT / "docs" / "lms.md").read_text()
    block = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    assert block.strip() == EXAMPLE.read_text().strip()


def test_each_problem_is_its_own_group_and_moodle_marks_are_the_set_points() -> None:
    """A random question drawn from a category must be a variant of one problem: the published
    Q3 is not mixed with the tanh practice variants of the same template, nor Q1's RNN and HMM
    questions with each other. A question's mark is the points the set gives its parts."""
    from lxml import etree

    from jobs.exports import FORMATS
    from jobs.formats import SetInfo

    ps = problem_set.load(EXAMPLE)
    variants = problem_set.build(ps)
    xml = etree.fromstring(FORMATS["moodle"].write(variants, SetInfo(ps.title, False)))
    categories, marks, current = {}, {}, None
    for q in xml.iter("question"):
        if q.get("type") == "category":
            current = q.findtext("category/text")
            categories[current] = 0
        else:
            categories[current] += 1
            marks[q.findtext("name/text")] = float(q.findtext("defaultgrade"))
    assert len(categories) == len(ps.entries)
    assert list(categories.values()) == [e.count for e in ps.entries]
    first = next(name for name in marks if name.startswith("Q01 "))
    assert marks[first] == 4.0  # published Q3: two parts of 2 points
