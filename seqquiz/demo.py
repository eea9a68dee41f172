"""The embedded default job of `seqquiz demo`: the published Week 7 quiz plus fresh variants,
sample submissions (right, rounded, wrong, garbage, broken lines), graded locally."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

import jobs
from generators import REGISTRY, Variant, get_template, make_variant
from generators.families import rnn
from grader.examples import correct_response, near_miss
from jobs.exports import FORMATS
from jobs.formats import SetInfo
from seqquiz.outfile import atomic_output

# The published quiz's questions, exactly as SPEC.md states them.
PUBLISHED = [
    ("rnn-forward", {**rnn.PUBLISHED_FORWARD, "ask": ["h_2", "y_1"]}),
    ("rnn-bptt", {**rnn.PUBLISHED_BPTT, "ask": ["dEdz_1"]}),
]
FRESH_PER_TEMPLATE = 2


def default_set() -> list[tuple[Variant, dict[str, Any]]]:
    """(variant, how to name it in a submission) for every problem of the default set."""
    out = []
    for tid, params in PUBLISHED:
        v = make_variant(get_template(tid), None, params)
        out.append((v, {"template": tid, "params": params}))
    for t in REGISTRY:
        for seed in range(1, FRESH_PER_TEMPLATE + 1):
            out.append((make_variant(t, seed), {"template": t.id, "seed": seed}))
    return out


def sample_submissions(problems: list[tuple[Variant, dict[str, Any]]]) -> Iterator[bytes]:
    """What a class hands in: right answers, near misses, garbage, and two broken lines."""
    for i, (v, key) in enumerate(problems):
        right = {pid: correct_response(spec) for pid, spec in v.parts.items()}
        wrong = {pid: near_miss(spec) for pid, spec in v.parts.items()}
        garbage = dict.fromkeys(v.parts, "no idea")
        for who, response in (("alice", right), ("bob", wrong), ("carol", garbage)):
            yield orjson.dumps({"submission_id": f"p{i}-{who}", **key, "response": response})
    # The published questions as students really type them: a unicode minus, the answer worked
    # from the rounded hidden values the stem gives, and the local term alone (a known mistake).
    for sid, tid, params, response in (
        ("q3-dave", *PUBLISHED[0], {"h_2": "0.08", "y_1": "\u22120.36"}),
        ("q4-dave", *PUBLISHED[1], {"dEdz_1": "0.01392"}),
        ("q4-erin", *PUBLISHED[1], {"dEdz_1": "0.012"}),
    ):
        yield orjson.dumps(
            {"submission_id": sid, "template": tid, "params": params, "response": response}
        )
    yield b'{"submission_id": "broken-line", "template": '
    yield orjson.dumps(
        {"submission_id": "unknown-template", "template": "gru-forward", "seed": 1, "response": {}}
    )


def run(out_dir: Path) -> list[dict[str, Any]]:
    out_dir.mkdir(parents=True, exist_ok=True)
    problems = default_set()
    variants = [v for v, _ in problems]
    info = SetInfo(title="Week 7: modelling sequences (seqquiz demo)", answer_key=True)
    _save(out_dir / "problem-set.json", FORMATS["json"].write(variants, info))
    _save(out_dir / "problem-set.md", FORMATS["markdown"].write(variants, info))
    subs = list(sample_submissions(problems))
    _save(out_dir / "submissions.jsonl", b"\n".join(subs) + b"\n")
    results = list(jobs.grade_lines(subs))
    _save(out_dir / "results.jsonl", b"".join(orjson.dumps(r) + b"\n" for r in results))
    return results


def _save(path: Path, data: bytes) -> None:
    with atomic_output(path) as dst:
        dst.write(data)
