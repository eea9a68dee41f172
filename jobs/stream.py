"""`python -m jobs.stream`: grade batches sent over a pipe, for a server that stores results while
another core grades (`web.batches.GradingHelper`).

A frame in (stdin): the body's size in bytes as a decimal line, then the body, JSONL as
`grade-batch` reads it. Out (stdout): one result line per non-blank input line, the bytes
`grade-batch` writes, then an empty line. The process lives as long as its stdin is open, so
the variants it builds stay cached from one batch to the next; it exits when its parent goes."""

from __future__ import annotations

import io
import sys
from typing import IO

import orjson

from jobs import grade_lines, jsonl_lines

MAX_FRAME = 1 << 31


def serve(src: IO[bytes], out: IO[bytes]) -> None:
    while header := src.readline():
        size = int(header)
        if not 0 <= size <= MAX_FRAME:
            raise ValueError(f"frame size: must be from 0 to {MAX_FRAME} (got {size})")
        body = src.read(size)
        if len(body) != size:
            return  # the parent went away mid-frame
        for result in grade_lines(jsonl_lines(io.BytesIO(body))):
            out.write(orjson.dumps(result) + b"\n")
        out.write(b"\n")
        out.flush()


def main() -> None:
    serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
