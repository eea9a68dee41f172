"""The server's batches are graded by a helper process (`python -m jobs.stream`) while the server
stores: its lines are `grade-batch`'s, it is kept from one batch to the next, and when it dies
or cannot start the batch is finished in the server, with the same lines."""

from __future__ import annotations

import io
import logging
import os
import signal
import sys
import threading

import orjson
import pytest

import jobs
from jobs.stream import serve
from web.batches import GradingHelper, HelperGone, graded_lines, split_lines


def _body(n: int) -> bytes:
    out = []
    for i in range(n):
        sub = {
            "submission_id": f"s{i % (n - 3)}",  # three duplicate ids at the end
            "template": ["rnn-forward", "memory-capacity", "no-such-template"][i % 3],
            "seed": i % 11,
            "response": {"h_1": "0.5"},
        }
        out.append(orjson.dumps(sub) + b"\n" if i % 7 else b"{not json\n")
        if i % 13 == 0:
            out.append(b"\r\n")  # a blank line, no result
    return b"".join(out)


def _local(body: bytes) -> list[bytes]:
    return [orjson.dumps(r) for r in jobs.grade_lines(split_lines(body))]


def test_the_stream_protocol_answers_each_frame_with_grade_batch_lines() -> None:
    a, b = _body(40), _body(17)
    src = io.BytesIO(b"%d\n%s%d\n%s" % (len(a), a, len(b), b))
    out = io.BytesIO()
    serve(src, out)
    first, second, rest = out.getvalue().split(b"\n\n")
    assert first.split(b"\n") == _local(a)
    assert second.split(b"\n") == _local(b)
    assert rest == b""


def test_the_helper_grades_batch_after_batch_in_one_process() -> None:
    helper = GradingHelper()
    try:
        body = _body(60)
        assert list(helper.grade(body)) == _local(body)
        pid = helper._process().pid
        assert list(helper.grade(body[:200] + b"\n")) == _local(body[:200] + b"\n")
        assert helper._process().pid == pid
    finally:
        helper.close()


def test_a_helper_killed_mid_batch_is_replaced_by_the_server_from_where_it_stopped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Enough lines that their results cannot all sit in the pipe when the helper is killed.
    body = _body(3000)
    lines = split_lines(body)
    helper = GradingHelper()
    try:
        out = []
        with caplog.at_level(logging.WARNING, logger="web.batches"):
            for i, line in enumerate(graded_lines(helper, body, lines)):
                if i == 5:
                    os.kill(helper._process().pid, signal.SIGKILL)
                out.append(line)
        assert out == _local(body)
        assert "grading the rest of this batch in the server" in caplog.text
        assert list(helper.grade(b'{"x": 1}\n')) == _local(b'{"x": 1}\n')  # a new helper
    finally:
        helper.close()


def test_a_helper_that_cannot_start_leaves_the_batch_to_the_server(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    body = _body(30)
    helper = GradingHelper()
    with pytest.raises(HelperGone, match="cannot start the grading helper"):
        next(helper.grade(body))
    with caplog.at_level(logging.WARNING, logger="web.batches"):
        assert list(graded_lines(helper, body, split_lines(body))) == _local(body)
    assert "cannot start the grading helper" in caplog.text


def test_a_stopping_server_does_not_finish_the_batch_itself() -> None:
    body = _body(3000)
    helper = GradingHelper()
    stopping = threading.Event()
    results = graded_lines(helper, body, split_lines(body), stopping)
    assert next(results) == _local(body)[0]
    stopping.set()
    helper.close()  # as BatchRunner.stop does
    with pytest.raises(HelperGone):
        for _ in results:
            pass
    with pytest.raises(HelperGone, match="stopping"):
        next(helper.grade(body))  # a closed helper starts no process
