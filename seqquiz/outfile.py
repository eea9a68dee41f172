"""The CLI's output files: never written over one of the command's inputs, never left half-written."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, ClassVar

from grader.errors import SeqquizError


class OutputError(SeqquizError):
    """Raised when an output file cannot be written, or would overwrite an input; the message
    names the option, the file and the reason."""

    code: ClassVar[str] = "cannot-write"

    def __init__(self, message: str, stdout: bool = False) -> None:
        super().__init__(message)
        self.stdout = stdout  # stdout itself failed: a full disk behind `>`, a closed pipe


def check_output(output: Path | None, *inputs: Path | None, option: str = "-o") -> None:
    """Refuse an output that is one of the inputs (also through a symlink or a hard link) and one
    that cannot be created; checked before any input is read or any work is done."""
    if output is None:
        return
    for src in inputs:
        if src is None or str(src) == "-":
            continue
        try:
            same = os.path.samefile(output, src)
        except OSError:  # one of them does not exist: they cannot be one file
            same = False
        if same:
            raise OutputError(
                f"{option}: {str(output)!r} is the input file {str(src)!r}; "
                "write the output to another file"
            )
    target = Path(os.path.realpath(output))
    if target.is_dir():
        raise OutputError(f"{option}: {str(output)!r} is a folder; give a file name")
    if not target.exists() and not target.parent.is_dir():
        raise OutputError(f"{option}: cannot write {str(output)!r}: its folder does not exist")


class _Sink:
    """A binary file whose write errors name the output (ENOSPC, EIO...) instead of a traceback."""

    def __init__(self, f: IO[bytes], shown: str, option: str) -> None:
        self._f = f
        self._shown = shown
        self._option = option

    def write(self, data: bytes) -> int:
        try:
            return self._f.write(data)
        except OSError as exc:
            raise _error(self._option, self._shown, exc) from None

    def flush(self) -> None:
        try:
            self._f.flush()
        except OSError as exc:
            raise _error(self._option, self._shown, exc) from None


def _error(option: str, shown: str, exc: OSError) -> OutputError:
    if option == "stdout":
        return OutputError(f"cannot write to stdout: {exc.strerror or exc}", stdout=True)
    return OutputError(f"{option}: cannot write {shown!r}: {exc.strerror or exc}")


def stdout_sink() -> _Sink:
    """Standard output, with a write error reported as one line (no traceback at exit)."""
    return _Sink(sys.stdout.buffer, "<stdout>", "stdout")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(output: Path, option: str = "-o") -> Iterator[_Sink]:
    """Write to a temporary file beside OUTPUT and rename it over OUTPUT once the body succeeds:
    a failure (a full disk, an error mid-way, Ctrl-C) leaves the old file, or none, never half a
    file. A device or pipe (/dev/stdout, a FIFO) is written directly: there is nothing to
    replace, and renaming over a device node would destroy it."""
    shown = str(output)
    target = Path(os.path.realpath(output))  # through a symlink: replace the file it points to
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise _error(option, shown, exc) from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{option}: {shown!r} is a folder; give a file name")
    if st is not None and not stat.S_ISREG(st.st_mode):
        try:
            f = open(target, "wb")  # noqa: SIM115 (closed below, errors named)
        except OSError as exc:
            raise _error(option, shown, exc) from None
        try:
            sink = _Sink(f, shown, option)
            yield sink
            sink.flush()
        finally:
            with contextlib.suppress(OSError):
                f.close()
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as exc:
        raise _error(option, shown, exc) from None
    try:
        os.fchmod(fd, (st.st_mode & 0o7777) if st is not None else 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            sink = _Sink(f, shown, option)
            yield sink
            sink.flush()
            try:
                os.fsync(f.fileno())
            except OSError as exc:
                raise _error(option, shown, exc) from None
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise _error(option, shown, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
