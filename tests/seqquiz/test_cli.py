"""The command line: JSON on stdout, one-line errors on stderr with exit 2, batches that lose nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from seqquiz.cli import main

Q3 = '{"x":[9,4,-2],"w_xh":0.5,"w_hh":-1.0,"w_hy":-0.7,"b_h":-1.0,"b_y":0}'


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_templates_lists_every_template_as_json() -> None:
    code, out, _ = run("templates", "--json")
    assert code == 0
    rows = orjson.loads(out)
    assert {"rnn-forward", "rnn-bptt", "rnn-gradient-flow"} <= {r["id"] for r in rows}
    assert all({"id", "version", "title", "part_kinds"} <= set(r) for r in rows)


def test_solve_prints_every_answer_id() -> None:
    code, out, _ = run("solve", "rnn-forward", "--params", Q3)
    assert code == 0
    data = orjson.loads(out)
    assert set(data) == {"template", "version", "seed", "params", "answers"}
    assert data["seed"] is None
    assert set(data["answers"]) == {f"{q}_{t}" for q in "zhy" for t in range(3)}


def test_solve_with_seed_is_deterministic() -> None:
    a = run("solve", "rnn-bptt", "--seed", "7")[1]
    assert a == run("solve", "rnn-bptt", "--seed", "7")[1]
    assert orjson.loads(a)["seed"] == 7


def test_grade_prints_score_and_parts() -> None:
    code, out, _ = run(
        "grade",
        "rnn-forward",
        "--params",
        Q3[:-1] + ',"ask":["h_2","y_1"]}',
        "--response",
        '{"h_2": "0.08", "y_1": "banana"}',
    )
    assert code == 0
    data = orjson.loads(out)
    assert data["score"] == 0.5
    assert data["parts"]["h_2"]["correct"] is True
    assert (
        data["parts"]["y_1"]["status"] == "invalid"
        and "expected a number" in data["parts"]["y_1"]["feedback"]
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("solve", "nope", "--seed", "1"), "unknown template 'nope'"),
        (
            ("solve", "rnn-forward", "--params", '{"x": "abc"}'),
            "params.x: must be a list of numbers (got 'abc')",
        ),
        (
            (
                "solve",
                "rnn-forward",
                "--params",
                '{"x": [1], "w_xh": 1, "w_hh": 1, "w_hy": 1, "activation": "relu"}',
            ),
            "params.activation: must be one of",
        ),
        (("solve", "rnn-forward", "--params", "{oops"), "--params: not valid JSON"),
        (("solve", "rnn-forward"), "give --seed S or --params JSON"),
        (
            ("solve", "rnn-forward", "--params", '{"x": [1, 2], "colour": 1}'),
            "params.colour: unknown parameter",
        ),
        (
            ("grade", "rnn-forward", "--seed", "1", "--response", "[1]"),
            "--response: must be a JSON object",
        ),
        (
            ("grade", "rnn-forward", "--seed", "1", "--response", '{"h_9": 1}'),
            "response.h_9: is not a part of this variant",
        ),
        (("generate", "rnn-forward", "--tolerance", '{"*": {"decimals": -3}}'), "tolerance"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(args: tuple[str, ...], needle: str) -> None:
    code, out, err = run(*args)
    assert code == 2, (out, err)
    assert needle in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_generate_formats(tmp_path: Path) -> None:
    code, out, _ = run("generate", "rnn-bptt", "--seed", "3", "--count", "4")
    assert code == 0
    variants = orjson.loads(out)["variants"]
    assert [v["seed"] for v in variants] == [3, 4, 5, 6]
    assert all(v["solution"] and v["answers"] for v in variants)
    code, out, _ = run("generate", "rnn-bptt", "--seed", "3", "--format", "student-json")
    student = orjson.loads(out)["variants"][0]
    assert "answers" not in student and "solution" not in student
    target = tmp_path / "set.md"
    code, _, err = run(
        "generate", "rnn-forward", "--count", "2", "--format", "markdown", "-o", str(target)
    )
    assert code == 0 and "wrote" in err
    text = target.read_text()
    assert text.count("## Problem") == 4 and "$$" in text


def test_generate_with_fixed_params_and_tolerance_override() -> None:
    code, out, _ = run(
        "generate",
        "rnn-forward",
        "--params",
        '{"activation": "tanh"}',
        "--tolerance",
        '{"*": {"decimals": 3}}',
        "--count",
        "3",
    )
    assert code == 0
    for v in orjson.loads(out)["variants"]:
        assert v["params"]["activation"] == "tanh"
        assert all(p["tolerance"] == {"decimals": 3} for p in v["parts"])


def test_grade_batch_writes_one_result_per_line_and_never_stops(tmp_path: Path) -> None:
    asked = orjson.loads(run("generate", "rnn-forward", "--seed", "1")[1])["variants"][0]["parts"]
    lines = [
        orjson.dumps(
            {
                "submission_id": "good",
                "template": "rnn-forward",
                "seed": 1,
                "response": {p["id"]: "0.5" for p in asked},
            }
        ),
        b"{not json",
        orjson.dumps(
            {"submission_id": "unknown", "template": "gru-forward", "seed": 1, "response": {}}
        ),
        orjson.dumps({"submission_id": "noseed", "template": "rnn-forward", "response": {}}),
        orjson.dumps(
            {
                "submission_id": "badparams",
                "template": "rnn-forward",
                "params": {"x": [1e999]},
                "response": {},
            }
        ),
        orjson.dumps(
            {
                "submission_id": "oldversion",
                "template": "rnn-forward",
                "version": 0,
                "seed": 1,
                "response": {},
            }
        ),
        orjson.dumps(["a", "list"]),
        b"",
        orjson.dumps(
            {"submission_id": "good", "template": "rnn-forward", "seed": 1, "response": {}}
        ),
        orjson.dumps(
            {
                "submission_id": "last",
                "template": "rnn-bptt",
                "seed": 2,
                "response": {},
            }
        ),
    ]
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out.jsonl"
    code, _, err = run("grade-batch", str(src), "-o", str(out))
    assert code == 0, err
    results = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    assert len(results) == 9  # the blank line is not a submission
    by = [(r.get("submission_id"), r.get("error", {}).get("code")) for r in results]
    assert by == [
        ("good", None),
        (None, "bad-json"),
        ("unknown", "unknown-template"),
        ("noseed", "invalid-submission"),
        ("badparams", "invalid-params"),
        ("oldversion", "version-mismatch"),
        (None, "invalid-submission"),
        ("good", "duplicate-submission"),
        ("last", None),
    ]
    assert results[0]["score"] in (0.0, 0.5, 1.0) and "parts" in results[0]
    assert all(r["error"]["message"] for r in results if "error" in r)


def test_console_script_runs_without_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "seqquiz", "solve", "rnn-forward", "--params", '{"x": []}'],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("seqquiz: error: params.x:") and "Traceback" not in proc.stderr


def test_a_queue_command_does_not_import_sympy() -> None:
    """`seqquiz batch status` with Redis down must answer in moments on a loaded machine; most of
    a slow answer was importing SymPy, which it never needs (bench/broker_down_bench.py times
    it). The CLI imports the generators and formats in the commands that use them."""
    import os

    from worker.testing import free_port

    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('sympy' in sys.modules, file=sys.stderr))\n"
        "from seqquiz.cli import main\n"
        "main(['batch', 'status', 'b1'])\n"
    )
    env = {**os.environ, "SEQQUIZ_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"}
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2 and "broker is unreachable" in lines[0], proc.stderr
    assert lines[-1] == "False", proc.stderr


@pytest.mark.parametrize("args", [["generate", "rnn-forward", "-o", "/nonexistent/dir/x.json"]])
def test_unwritable_output_is_one_line(args: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(main, args)
    assert (
        result.exit_code == 2
        and "-o: cannot write" in result.stderr
        and "Traceback" not in result.stderr
    )
    src = tmp_path / "in.jsonl"
    src.write_bytes(
        orjson.dumps({"submission_id": "a", "template": "rnn-forward", "seed": 1, "response": {}})
    )
    result = CliRunner().invoke(main, ["grade-batch", str(src), "-o", "/nonexistent/dir/out.jsonl"])
    assert result.exit_code == 2 and "-o: cannot write" in result.stderr
