"""Careless use loses nothing: outputs never overwrite inputs nor end half-written, sizes are
bounded, JSONL from any editor reads as its author sees it, and no input prints a traceback."""

from __future__ import annotations

import errno
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from hypothesis import assume, given
from hypothesis import strategies as st
from lxml import etree

import jobs
from generators import REGISTRY, make_variant
from grader.parse import TooLargeNumber
from jobs import SubmissionError, problem_set
from jobs.exports import FORMATS, gift
from jobs.formats import SetInfo, dump_json
from seqquiz import cli
from worker.client import plan_lines, read_lines

ROOT = Path(__file__).resolve().parents[2]
BIG = 10**400  # beyond any float
SUB = {"submission_id": "a", "template": "rnn-forward", "seed": 1, "response": {"h_2": "0.5"}}


def line(sub: dict[str, Any]) -> bytes:
    return orjson.dumps(sub) + b"\n"


def seqquiz(*args: str, stdout: Any = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SEQQUIZ_TRACEBACK", None)
    return subprocess.run(
        [sys.executable, "-m", "seqquiz", *args],
        cwd=ROOT,
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> str:
    err = proc.stderr
    assert proc.returncode != 0, err
    assert "Traceback" not in err and "internal error" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("seqquiz: error: "), err
    assert len(err) <= 600, err[:200]
    for w in words:
        assert w in err, err
    return err


def set_file(tmp_path: Path, body: str, title: str = '"t"', name: str = "set.toml") -> Path:
    path = tmp_path / name
    path.write_text(f'title = {title}\n[[problem]]\ntemplate = "rnn-forward"\n{body}\n')
    return path


# ---- outputs over inputs -------------------------------------------------------------------


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
def test_grade_batch_refuses_to_write_over_its_input(tmp_path: Path, link: str) -> None:
    src = tmp_path / "s.jsonl"
    src.write_bytes(line(SUB))
    out = src
    if link == "symlink":
        out = tmp_path / "link.jsonl"
        out.symlink_to(src)
    elif link == "hardlink":
        out = tmp_path / "hard.jsonl"
        os.link(src, out)
    proc = seqquiz("grade-batch", str(src), "-o", str(out))
    assert_one_line_error(proc, "is the input file")
    assert src.read_bytes() == line(SUB)


def test_build_refuses_to_write_over_its_set_file(tmp_path: Path) -> None:
    path = set_file(tmp_path, "")
    before = path.read_bytes()
    assert_one_line_error(seqquiz("build", str(path), "-o", str(path)), "is the input file")
    assert path.read_bytes() == before


def test_generate_refuses_to_write_over_its_params_file(tmp_path: Path) -> None:
    params = tmp_path / "params.json"
    params.write_text('{"w_xh": 0.5}')
    proc = seqquiz("generate", "rnn-forward", "--params", f"@{params}", "-o", str(params))
    assert_one_line_error(proc, "is the input file")
    assert params.read_text() == '{"w_xh": 0.5}'


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "s.jsonl"
    src.write_bytes(line(SUB) * 3)
    out = tmp_path / "results.jsonl"
    out.write_bytes(b"yesterday's results\n")

    def eio(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "fsync", eio)
    result = CliRunner().invoke(cli.main, ["grade-batch", str(src), "-o", str(out)])
    assert result.exit_code == cli.EXIT_USER_ERROR, result.output
    assert result.stderr.strip().splitlines() == [
        f"seqquiz: error: -o: cannot write {str(out)!r}: {os.strerror(errno.EIO)}"
    ]
    assert out.read_bytes() == b"yesterday's results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.jsonl", "s.jsonl"]


def test_atomic_output_replaces_only_on_success(tmp_path: Path) -> None:
    from seqquiz.outfile import atomic_output  # here: the test file must load on older code

    out = tmp_path / "out.txt"
    out.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(out) as dst:
        dst.write(b"half of the new")
        raise RuntimeError("a failure mid-way")
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    with atomic_output(out) as dst:
        dst.write(b"new")
    assert out.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_batch_results_to_a_missing_folder_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Client:  # a complete batch, as the broker would report it
        def status(self, batch_id: str) -> dict[str, Any]:
            return {"total": 1, "complete": True, "done": 1, "chunks": 1, "chunks_sent": 1}

        def write_results(self, batch_id: str, dst: Any, **kw: Any) -> int:
            dst.write(b"{}\n")
            return 1

    monkeypatch.setattr(cli, "queue_client", Client)
    missing = tmp_path / "nonexistent" / "x.jsonl"
    result = CliRunner().invoke(cli.main, ["batch", "results", "b1", "-o", str(missing)])
    assert result.exit_code == cli.EXIT_USER_ERROR, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.strip().splitlines() == [
        f"seqquiz: error: -o: cannot write {str(missing)!r}: its folder does not exist"
    ]
    good = tmp_path / "results.jsonl"
    result = CliRunner().invoke(cli.main, ["batch", "results", "b1", "-o", str(good)])
    assert result.exit_code == 0 and good.read_bytes() == b"{}\n"


# ---- sizes ---------------------------------------------------------------------------------


def test_generate_job_refuses_count_zero_and_counts_beyond_one_result() -> None:
    for count in (0, -1, jobs.MAX_VARIANTS_PER_RESULT + 1):
        # The request's own field, not one of the template's params.
        limit = jobs.MAX_VARIANTS_PER_RESULT
        with pytest.raises(jobs.SubmissionError, match=rf"^count: must be from 1 to {limit} \(got"):
            jobs.generate({"template": "rnn-forward", "count": count})
    assert len(jobs.generate({"template": "rnn-forward", "count": 2})) == 2
    assert len(jobs.generate({"template": "rnn-forward"})) == 1


def test_a_problem_set_total_is_capped(tmp_path: Path) -> None:
    half = jobs.MAX_VARIANTS_IN_MEMORY // 2 + 1
    text = "".join(f'[[problem]]\ntemplate = "rnn-forward"\ncount = {half}\n' for _ in range(2))
    with pytest.raises(problem_set.ProblemSetError, match=f"at most {jobs.MAX_VARIANTS_IN_MEMORY}"):
        problem_set.parse(text, "big.toml")


def test_generate_in_a_whole_built_format_is_capped(tmp_path: Path) -> None:
    count = str(jobs.MAX_VARIANTS_IN_MEMORY + 1)
    out = tmp_path / "x.xml"
    proc = seqquiz(
        "generate", "rnn-forward", "--count", count, "--format", "moodle", "-o", str(out)
    )
    assert_one_line_error(proc, "--count", str(jobs.MAX_VARIANTS_IN_MEMORY))
    assert not out.exists()


@pytest.mark.parametrize("fmt", ["json", "student-json", "markdown"])
def test_streamed_formats_take_one_variant_at_a_time_and_match_the_whole(fmt: str) -> None:
    t = REGISTRY.get("rnn-bptt")
    variants = [make_variant(t, s) for s in range(4)]
    info = SetInfo(title='A "quoted" title')
    made: list[int] = []

    def lazily() -> Iterator[Any]:
        for v in variants:
            made.append(1)
            yield v

    stream = FORMATS[fmt].stream
    assert stream is not None
    chunks = stream(lazily, info)
    next(chunks)
    next(chunks)
    assert len(made) == 1  # nothing is collected ahead of the output
    assert b"".join([*chunks]) and len(made) == (8 if fmt == "markdown" else 4)
    whole = FORMATS[fmt].write(variants, info)
    assert b"".join(stream(lambda: iter(variants), info)) == whole
    if fmt != "markdown":
        answers = fmt == "json"
        expected = {"title": info.title, "variants": [v.to_json(answers) for v in variants]}
        assert whole == dump_json(expected)


# ---- JSONL as editors write it -------------------------------------------------------------


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_bom_and_every_line_end_grade_every_submission(
    tmp_path: Path, end: bytes, bom: bytes
) -> None:
    subs = [{**SUB, "submission_id": sid} for sid in ("a", "b", "c")]
    src = tmp_path / "s.jsonl"
    src.write_bytes(bom + end.join(orjson.dumps(s) for s in subs) + end)
    proc = seqquiz("grade-batch", str(src))
    assert proc.returncode == 0, proc.stderr
    results = [orjson.loads(x) for x in proc.stdout.splitlines()]
    assert [r["submission_id"] for r in results] == ["a", "b", "c"]
    assert all("error" not in r for r in results), results
    with src.open("rb") as f:  # the queue path splits the same lines
        assert len(plan_lines(read_lines(f)).fields) == 3


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64])
def test_jsonl_lines_split_at_lf_crlf_and_cr_across_chunk_edges(chunk: int) -> None:
    data = b"\xef\xbb\xbfa\r\nbb\rccc\n\r\ndd\r\r\ne"
    got = list(jobs.jsonl_lines(io.BytesIO(data), chunk=chunk))
    assert got == [b"a", b"bb", b"ccc", b"", b"dd", b"", b"e"]
    assert list(jobs.jsonl_lines(io.BytesIO(b"x\r"), chunk=chunk)) == [b"x"]
    assert list(jobs.jsonl_lines(io.BytesIO(b"\xef\xbb"), chunk=chunk)) == [b"\xef\xbb"]


@given(
    st.lists(st.tuples(st.binary(max_size=4), st.sampled_from([b"\n", b"\r\n", b"\r"]))),
    st.booleans(),
    st.integers(1, 7),
)
def test_jsonl_lines_give_back_the_lines_written(
    rows: list[tuple[bytes, bytes]], bom: bool, chunk: int
) -> None:
    lines = [text.replace(b"\r", b"").replace(b"\n", b"") for text, _ in rows]
    ends = [end for _, end in rows]
    # A lone CR then an empty LF-ended line reads as one CRLF: no reader can tell them apart.
    assume(
        not any(
            e == b"\r" and not nxt and f == b"\n"
            for e, nxt, f in zip(ends, lines[1:], ends[1:], strict=False)
        )
    )
    data = (jobs.BOM if bom else b"") + b"".join(t + e for t, e in zip(lines, ends, strict=True))
    assume(not (not bom and data.startswith(jobs.BOM)))
    assert list(jobs.jsonl_lines(io.BytesIO(data), chunk=chunk)) == lines


@pytest.mark.parametrize("sid", [2**64, 2**70, -(2**63) - 1, 10**30, -(10**400)])
def test_integer_ids_beyond_64_bits_stay_exact_ints(sid: int) -> None:
    raw = b'{"submission_id": ' + str(sid).encode() + b', "template": "rnn-forward"}'
    sub, err = jobs.parse_line(raw, 1)
    assert err is None
    assert type(sub["submission_id"]) is int and sub["submission_id"] == sid


def test_long_numbers_still_parse_as_orjson_does() -> None:
    assert jobs.loads(b'{"a": "12345678901234567890123", "b": 0.5}') == {
        "a": "12345678901234567890123",
        "b": 0.5,
    }
    assert jobs.parse_line(b"[NaN, 123456789012345678901]", 3)[1]["error"]["code"] == "bad-json"
    # A number no float holds is kept as such, so that only the part it answers is invalid
    # ("number too large"), not the whole line.
    sub, err = jobs.parse_line(b'{"a": 1e999, "b": 12345678901234567890123}', 3)
    assert err is None
    assert sub == {"a": TooLargeNumber("1e999"), "b": 12345678901234567890123}


def test_a_line_with_a_huge_id_costs_no_traceback(tmp_path: Path) -> None:
    src = tmp_path / "s.jsonl"
    src.write_bytes(line(SUB) + b'{"submission_id": ' + str(2**70).encode() + b', "x": 1}\n')
    proc = seqquiz("grade-batch", str(src))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    results = [orjson.loads(x) for x in proc.stdout.splitlines()]
    assert len(results) == 2 and results[1]["submission_id"] in (2**70, None)


# ---- no tracebacks -------------------------------------------------------------------------


def _cases(tmp: Path) -> dict[str, tuple[list[str], tuple[str, ...]]]:
    sub = tmp / "s.jsonl"
    sub.write_bytes(line(SUB))
    binary = tmp / "binary"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00\xd0\xff")
    deep = tmp / "deep.toml"
    deep.write_text("a = " + "[" * 500 + "]" * 500 + "\n")
    big_key = tmp / "big.json"
    big_key.write_text('{"' + "k" * 1_000_000 + '": 1}')

    def toml(name: str, body: str, title: str = '"t"') -> str:
        return str(set_file(tmp, body, title, name))

    return {
        "params-binary-file": (["solve", "rnn-forward", "--params", f"@{binary}"], ("UTF-8",)),
        "output-dev-full": (["grade-batch", str(sub), "-o", "/dev/full"], ("/dev/full",)),
        "toml-nested-500": (["build", str(deep)], ("nested too deeply",)),
        "toml-points-huge": (["build", toml("p.toml", f"points = {BIG}")], ("points",)),
        "toml-points-inf": (["build", toml("i.toml", "points = inf")], ("points", "inf")),
        "toml-points-nan": (["build", toml("n.toml", "points = nan")], ("points",)),
        "toml-rtol-huge": (
            ["build", toml("r.toml", f'tolerance = {{ "*" = {{ rtol = {BIG} }} }}')],
            ("tolerance",),
        ),
        "toml-params-huge": (
            ["build", toml("w.toml", f"params = {{ w_xh = {BIG} }}")],
            ("params.w_xh",),
        ),
        "toml-params-list-huge": (
            ["build", toml("x.toml", f"params = {{ x = [1, {BIG}] }}")],
            ("params.x[1]",),
        ),
        "cli-params-huge": (
            ["solve", "rnn-forward", "--params", f'{{"w_xh": {BIG}}}'],
            ("params.w_xh",),
        ),
        "cli-tolerance-huge": (
            [
                "grade",
                "rnn-forward",
                "--seed",
                "1",
                "--response",
                "{}",
                "--tolerance",
                f'{{"*": {{"atol": {BIG}}}}}',
            ],
            ("tolerance",),
        ),
        "title-control": (
            ["build", toml("c.toml", "", '"a\\u0001b"'), "--format", "moodle", "-o", "x.xml"],
            ("title", "U+0001"),
        ),
        "title-fffe": (
            ["build", toml("f.toml", "", '"a\\uFFFEb"'), "--format", "qti21", "-o", "x.zip"],
            ("title", "U+FFFE"),
        ),
        "title-newline": (
            ["build", toml("l.toml", "", '"a\\nb"'), "--format", "gift"],
            ("title", "U+000A"),
        ),
        "response-key-1mb": (
            ["grade", "rnn-forward", "--seed", "1", "--response", f"@{big_key}"],
            ("response.kkk", "..."),
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "params-binary-file",
        "output-dev-full",
        "toml-nested-500",
        "toml-points-huge",
        "toml-points-inf",
        "toml-points-nan",
        "toml-rtol-huge",
        "toml-params-huge",
        "toml-params-list-huge",
        "cli-params-huge",
        "cli-tolerance-huge",
        "title-control",
        "title-fffe",
        "title-newline",
        "response-key-1mb",
    ],
)
def test_no_traceback_one_line_naming_the_problem(tmp_path: Path, case: str) -> None:
    args, words = _cases(tmp_path)[case]
    args = [str(tmp_path / a) if a in ("x.xml", "x.zip") else a for a in args]
    assert_one_line_error(seqquiz(*args), *words)


def test_stdout_on_a_full_disk_is_one_line(tmp_path: Path) -> None:
    sub = tmp_path / "s.jsonl"
    sub.write_bytes(line(SUB))
    with open("/dev/full", "w") as full:
        proc = seqquiz("grade-batch", str(sub), stdout=full)
    assert_one_line_error(proc, "stdout")


def test_big_integers_in_a_grade_job_are_refused_by_name() -> None:
    base = {"template": "rnn-forward", "seed": 1, "response": {}}
    for extra, field in (
        ({"points": {"*": BIG}}, "points.*"),
        ({"tolerance": {"*": {"rtol": BIG}}}, "tolerance.*.rtol"),
        ({"params": {"x": [1, -BIG]}}, "params.x[1]"),
    ):
        with pytest.raises(SubmissionError, match="^" + re.escape(field)):
            jobs.grade({**base, **extra})
        result = jobs.grade_submission({**base, **extra, "submission_id": "s"})
        assert result["error"]["code"] != "internal-error", result


def test_a_huge_unknown_response_key_is_not_echoed_back() -> None:
    key = "k" * 1_000_000
    result = jobs.grade_submission({**SUB, "response": {key: 1}})
    assert result["error"]["code"] == "invalid-response"
    assert len(result["error"]["message"]) <= jobs.MAX_MESSAGE


# ---- exports -------------------------------------------------------------------------------


def _week7_like() -> list[Any]:
    t = REGISTRY.get("rnn-forward")
    return [make_variant(t, 1), make_variant(t, 2)]


def test_gift_escapes_line_breaks_so_a_title_cannot_inject_a_question() -> None:
    assert gift.escape("a\nb:c") == "a\\nb\\:c"
    title = "Quiz\n\n::Injected::What is 1+1?{=2}\n"
    text = gift.write(_week7_like(), SetInfo(title=title)).decode()
    assert not any(ln.startswith("::Injected") for ln in text.splitlines())
    assert text.count("::Q0") == sum(1 for ln in text.splitlines() if ln.startswith("::Q0"))


@pytest.mark.parametrize("fmt", ["moodle", "qti12", "qti21"])
@pytest.mark.parametrize("title", ["a -- b -", "tab\there\x01\ufffe", "line\nbreak"])
def test_xml_exports_take_any_title(fmt: str, title: str) -> None:
    import zipfile

    data = FORMATS[fmt].write(_week7_like(), SetInfo(title=title))
    if fmt == "moodle":
        docs = [data]
    else:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            docs = [z.read(n) for n in z.namelist() if n.endswith(".xml")]
    for doc in docs:
        etree.fromstring(doc)  # well-formed
    if fmt == "moodle":
        comment = etree.fromstring(data).xpath("//comment()")[0].text
        assert "--" not in comment
        assert comment.startswith(" " + " ".join(title.replace("--", "- -").split())[:6])


def test_a_title_with_double_dash_builds_in_every_format(tmp_path: Path) -> None:
    path = set_file(tmp_path, "", '"Week 7 -- RNNs"')
    for fmt in ("moodle", "qti12", "qti21", "gift", "html", "latex"):
        out = tmp_path / f"out.{fmt}"
        proc = seqquiz("build", str(path), "--format", fmt, "-o", str(out))
        assert proc.returncode == 0, proc.stderr
        assert out.stat().st_size > 0
