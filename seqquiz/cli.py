"""The `seqquiz` command line: parse arguments, call `jobs`, print JSON; nothing more."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
import orjson

import jobs
from grader.errors import SeqquizError
from jobs import __version__
from seqquiz.outfile import OutputError, atomic_output, check_output, stdout_sink

if TYPE_CHECKING:
    from jobs.formats import SetInfo

# The generators, the formats and the queue client are imported by the commands that use them:
# they bring SymPy or Celery, and `seqquiz batch status` with Redis down must answer in moments.

EXIT_USER_ERROR = 2
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug, reported in one line (SEQQUIZ_TRACEBACK=1 shows it)


def fail(message: str, status: int = EXIT_USER_ERROR) -> NoReturn:
    if len(message) > jobs.MAX_MESSAGE:  # an error quoting a 1 MB value must not print it back
        message = message[: jobs.MAX_MESSAGE - 3] + "..."
    # One line whatever the message holds: a newline in a quoted value must not start another.
    message = message.replace("\r", "\\r").replace("\n", "\\n")
    click.echo(f"seqquiz: error: {message}", err=True)
    sys.exit(status)


def parse_json_option(name: str, text: str | None) -> Any:
    """A JSON option value, or @FILE to read it from a file."""
    if text is None:
        return None
    raw: bytes | str = text
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            raw = path.read_bytes().removeprefix(jobs.BOM).decode()
        except OSError as exc:
            fail(f"{name}: cannot read {str(path)!r}: {exc.strerror}")
        except UnicodeDecodeError:
            fail(f"{name}: {str(path)!r} is not UTF-8 text")
    try:
        return jobs.loads(raw)
    except ValueError as exc:
        shown = raw[:60] if isinstance(raw, str) else raw[:60].decode(errors="replace")
        fail(f"{name}: not valid JSON ({exc}): {shown!r}")


def emit(data: Any) -> None:
    stdout_sink().write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")


class FormatChoice(click.Choice):
    """The output format names, read from `jobs.exports.FORMATS` when first needed (a command
    that writes, or --help): the registry imports SymPy, which other commands need not wait for."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self) -> list[str]:  # type: ignore[override]
        from jobs.exports import FORMATS

        return sorted(FORMATS)

    @choices.setter
    def choices(self, value: Any) -> None:
        pass  # the registry is the one list of names


def input_paths(*texts: str | None) -> list[Path]:
    """The files named by @FILE option values: an output must not overwrite them either."""
    return [Path(t[1:]) for t in texts if t is not None and t.startswith("@")]


def _stdout_lost(exc: Exception) -> NoReturn:
    # Point fd 1 at /dev/null so the interpreter's final flush does not raise again at exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    if isinstance(exc.__cause__ or exc.__context__ or exc, BrokenPipeError):
        sys.exit(1)  # `| head`: the reader has what it wanted
    why = exc if isinstance(exc, OutputError) else f"cannot write to stdout: {exc.strerror or exc}"
    fail(str(why))


class Group(click.Group):
    """Turns every user mistake raised below into one line on stderr and exit status 2, and
    anything else into one line too: no command prints a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
        except OutputError as exc:
            if exc.stdout:
                _stdout_lost(exc)
            fail(str(exc))
        except SeqquizError as exc:  # every error raised on purpose, from any layer
            fail(str(exc))
        except RecursionError:
            fail("the input is nested too deeply")
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename is not None else ""
            fail(f"{where}{exc.strerror or exc}")
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if os.environ.get("SEQQUIZ_TRACEBACK"):
                raise
            fail(f"internal error ({type(exc).__name__}: {exc}); please report it", EXIT_INTERNAL)
        try:
            sys.stdout.flush()  # text echoed by click: its errors surface here, not at exit
        except OSError as exc:
            _stdout_lost(exc)
        return result


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seqquiz")
def main() -> None:
    """Randomized exercises on sequence models, with worked solutions and tolerant grading."""


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def templates(as_json: bool) -> None:
    """List the templates: id, version, title, part kinds."""
    from generators import REGISTRY

    rows = [t.describe() for t in REGISTRY]
    if as_json:
        emit(rows)
        return
    width = max(len(r["id"]) for r in rows)
    for r in rows:
        click.echo(
            f"{r['id']:<{width}}  v{r['version']}  {r['title']}  [{', '.join(r['part_kinds'])}]"
        )


def output_options(f: Any) -> Any:
    """--format, --answer-key and -o, shared by generate and build."""
    f = click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write here, not stdout.",
    )(f)
    f = click.option(
        "--answer-key", is_flag=True, help="Add answers and worked solutions (html, latex)."
    )(f)
    return click.option("--format", "fmt", type=FormatChoice(), default="json", show_default=True)(
        f
    )


def variant_options(f: Any) -> Any:
    f = click.option("--params", "params_text", metavar="JSON", help="Params as JSON (or @FILE).")(
        f
    )
    f = click.option("--seed", type=int, help="Seed of the variant.")(f)
    f = click.argument("template")(f)
    return f


def variant_payload(template: str, seed: int | None, params_text: str | None) -> dict[str, Any]:
    if seed is None and params_text is None:
        fail("give --seed S or --params JSON (or both: the sampler fills what params leave out)")
    payload: dict[str, Any] = {"template": template}
    if seed is not None:
        payload["seed"] = seed
    params = parse_json_option("--params", params_text)
    if params is not None:
        if not isinstance(params, dict):
            fail(f"--params: must be a JSON object (got {params_text!r})")
        payload["params"] = params
    return payload


@main.command()
@variant_options
def solve(template: str, seed: int | None, params_text: str | None) -> None:
    """Print every answer of one variant as JSON."""
    emit(jobs.solve(variant_payload(template, seed, params_text)))


@main.command()
@variant_options
@click.option(
    "--response",
    "response_text",
    required=True,
    metavar="JSON",
    help='Answers, e.g. \'{"h_2": "0.08"}\'.',
)
@click.option(
    "--tolerance",
    "tolerance_text",
    metavar="JSON",
    help='Override tolerances: \'{"h_2": {"decimals": 3}}\'.',
)
def grade(
    template: str,
    seed: int | None,
    params_text: str | None,
    response_text: str,
    tolerance_text: str | None,
) -> None:
    """Grade one response to one variant; print the score and per-part feedback as JSON."""
    payload = variant_payload(template, seed, params_text)
    payload["response"] = parse_json_option("--response", response_text)
    if not isinstance(payload["response"], dict):
        fail(f"--response: must be a JSON object of part id -> answer (got {response_text!r})")
    tolerance = parse_json_option("--tolerance", tolerance_text)
    if tolerance is not None:
        payload["tolerance"] = tolerance
    emit(jobs.grade(payload))


@main.command()
@click.argument("template")
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the first variant; then S+1, ...",
)
@click.option(
    "--count",
    type=click.IntRange(1, jobs.MAX_VARIANTS_STREAMED),
    default=1,
    show_default=True,
    help=f"Up to {jobs.MAX_VARIANTS_STREAMED} in json, student-json and markdown (streamed), "
    f"{jobs.MAX_VARIANTS_IN_MEMORY} in the other formats.",
)
@click.option(
    "--params", "params_text", metavar="JSON", help="Fix some or all params (JSON or @FILE)."
)
@click.option(
    "--tolerance", "tolerance_text", metavar="JSON", help="Tolerance overrides per part id or '*'."
)
@output_options
def generate(
    template: str,
    seed: int,
    count: int,
    params_text: str | None,
    tolerance_text: str | None,
    fmt: str,
    answer_key: bool,
    output: Path | None,
) -> None:
    """Make COUNT variants of TEMPLATE with seeds S, S+1, ... in FORMAT."""
    from generators import REGISTRY
    from jobs.exports import FORMATS
    from jobs.formats import SetInfo

    check_output(output, *input_paths(params_text, tolerance_text))
    t = REGISTRY.get(template)
    params = parse_json_option("--params", params_text)
    if params is not None and not isinstance(params, dict):
        fail(f"--params: must be a JSON object (got {params_text!r})")
    tolerance = parse_json_option("--tolerance", tolerance_text)
    f = FORMATS[fmt]
    if f.stream is None and count > jobs.MAX_VARIANTS_IN_MEMORY:
        fail(
            f"--count: at most {jobs.MAX_VARIANTS_IN_MEMORY} variants in --format {fmt}, which "
            f"is built whole in memory (got {count}); json, student-json and markdown stream "
            f"up to {jobs.MAX_VARIANTS_STREAMED}"
        )
    limit = jobs.MAX_VARIANTS_STREAMED if f.stream else jobs.MAX_VARIANTS_IN_MEMORY
    jobs.variants(t.id, seed, count, params, tolerance, limit)  # checks all before any output

    def made() -> Any:
        return jobs.variants(t.id, seed, count, params, tolerance, limit)

    write(f, made, count, SetInfo(title=f"{t.title} ({t.id})", answer_key=answer_key), output)


def write(fmt: Any, variants: Any, count: int, info: SetInfo, output: Path | None) -> None:
    """Write a set through the format's stream when it has one (flat memory), else whole; to -o
    through a temporary file renamed on success, so an error leaves no half-written file."""
    if fmt.binary and output is None:
        fail(f"--format {fmt.name} writes a zip: give -o FILE")
    if fmt.stream is not None:
        chunks = fmt.stream(variants, info)
    else:
        chunks = iter([fmt.write(list(variants()), info)])
    if output is None:
        out = stdout_sink()
        for chunk in chunks:
            out.write(chunk)
        return
    with atomic_output(output) as dst:
        for chunk in chunks:
            dst.write(chunk)
    click.echo(f"wrote {output} ({count} variants, {fmt.name})", err=True)


@main.command()
@click.argument("set_file", type=click.Path(dir_okay=False, path_type=Path))
@output_options
def build(set_file: Path, fmt: str, answer_key: bool, output: Path | None) -> None:
    """Build a problem-set file (TOML: templates, counts, seeds, fixed params, asked parts,
    tolerance overrides, points) into FORMAT; the same file gives byte-identical output."""
    from jobs import problem_set
    from jobs.exports import FORMATS
    from jobs.formats import SetInfo

    check_output(output, set_file)
    ps = problem_set.load(set_file)
    variants = problem_set.build(ps)
    info = SetInfo(title=ps.title, answer_key=answer_key)
    write(FORMATS[fmt], lambda: variants, len(variants), info, output)


@main.command("grade-batch")
@click.argument(
    "file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path)
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write results here, not stdout.",
)
@click.option("--queue", is_flag=True, help="Grade through the Celery workers instead of locally.")
@click.option(
    "--batch-id",
    metavar="ID",
    help="With --queue: name the batch, or resume the batch of that id (same file).",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(1, 100_000),
    help="With --queue: submissions per task (default SEQQUIZ_CHUNK_SIZE or 1000).",
)
def grade_batch(
    file: Path,
    output: Path | None,
    queue: bool,
    batch_id: str | None = None,
    chunk_size: int | None = None,
) -> None:
    """Grade one submission a line (JSONL); write one result a line. Bad lines become error results."""
    if queue:
        grade_batch_queue(file, output, batch_id, chunk_size)
        return
    if batch_id is not None or chunk_size is not None:
        fail("--batch-id and --chunk-size go with --queue")
    check_output(output, file)
    graded = errors = 0
    with (
        contextlib.nullcontext(sys.stdin.buffer) if str(file) == "-" else file.open("rb") as src,
        contextlib.nullcontext(stdout_sink()) if output is None else atomic_output(output) as dst,
    ):
        for result in jobs.grade_lines(jobs.jsonl_lines(src)):
            dst.write(result_line(result))
            graded += 1
            errors += "error" in result
    if output is not None:
        click.echo(f"graded {graded} submissions ({errors} errors) -> {output}", err=True)


@main.command()
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("seqquiz-demo"),
    show_default=True,
    help="Folder for the set, submissions, results.",
)
def demo(out_dir: Path) -> None:
    """The main job on the embedded default set, no Redis needed: generate the Week 7 quiz and
    fresh variants of every template, then grade a sample class's submissions locally."""
    from seqquiz import demo as demo_job

    results = demo_job.run(out_dir)
    graded = [r for r in results if "error" not in r]
    click.echo(f"problem set: {out_dir / 'problem-set.json'} and {out_dir / 'problem-set.md'}")
    click.echo(
        f"graded {len(results)} submissions from {out_dir / 'submissions.jsonl'} "
        f"-> {out_dir / 'results.jsonl'} ({len(results) - len(graded)} error results)\n"
    )
    click.echo(f"{'submission':<24} {'score':>5}  first part's feedback")
    for r in results:
        if "error" in r:
            who = (
                r["submission_id"] if r["submission_id"] is not None else f"(line {r.get('line')})"
            )
            click.echo(
                f"{who!s:<24} {'error':>5}  {r['error']['code']}: {r['error']['message'][:60]}"
            )
            continue
        first = next(iter(r["parts"].values()))
        click.echo(f"{r['submission_id']:<24} {r['score']:>5.2f}  {first['feedback'][:70]}")


def result_line(result: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(result) + b"\n"
    except orjson.JSONEncodeError:
        # An integer beyond 64 bits (a submission id echoed back) is beyond orjson; the
        # standard encoder writes it exactly.
        return json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


# ---- the queue: `grade-batch --queue`, `worker`, `batch status|results` ------------------------


def queue_client(broker: bool = False) -> Any:
    """The batch client, importing the Celery side only when a queue command runs; it has
    checked that Redis answers (the store, and the broker when `broker`), so that a Redis that
    is down is one line within seconds, not a minute of retries and a traceback."""
    try:
        from worker.client import BatchClient
    except ImportError as exc:
        fail(f"the queue client cannot be loaded: {exc}")
    client = BatchClient.from_env()
    client.check_reachable(broker=broker)
    return client


@contextlib.contextmanager
def lost_redis() -> Iterator[None]:
    """Redis lost mid-command, after the store's minute of retries: one line, not a traceback."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import ConnectionError, TimeoutError

    try:
        yield
    except (ConnectionError, TimeoutError, OperationalError) as exc:
        fail(f"lost the connection to Redis ({exc}); the workers keep what they graded")


def grade_batch_queue(
    file: Path, output: Path | None, batch_id: str | None, chunk_size: int | None
) -> None:
    with lost_redis():
        _grade_batch_queue(file, output, batch_id, chunk_size)


def _grade_batch_queue(
    file: Path, output: Path | None, batch_id: str | None, chunk_size: int | None
) -> None:
    from worker.client import Progress, plan_lines, read_lines

    check_output(output, file)
    client = queue_client(broker=True)
    if str(file) == "-":
        lines = read_lines(sys.stdin.buffer)
    else:
        with file.open("rb") as src:
            lines = read_lines(src)
    plan = plan_lines(lines)
    batch_id, chunks = client.submit(plan, batch_id, chunk_size)
    click.echo(
        f"batch {batch_id}: {len(plan.fields)} submissions in {len(chunks)} chunks "
        f"(reconnect with: seqquiz batch status {batch_id})",
        err=True,
    )
    progress = Progress(len(plan.fields), f"batch {batch_id[:8]}")
    try:
        done, errors = client.wait(batch_id, len(plan.fields), chunks, progress.show)
    except KeyboardInterrupt:
        click.echo(
            f"\ninterrupted; the workers go on. Results: seqquiz batch results {batch_id}",
            err=True,
        )
        sys.exit(130)
    progress.show(done, errors, final=True)
    write_batch_results(client, batch_id, output, fields=plan.fields)
    if output is not None:
        click.echo(f"graded {done} submissions ({errors} errors) -> {output}", err=True)


def write_batch_results(
    client: Any,
    batch_id: str,
    output: Path | None,
    partial: bool = False,
    fields: list[str] | None = None,
) -> int:
    if output is None:
        return client.write_results(batch_id, stdout_sink(), partial=partial, fields=fields)
    with atomic_output(output) as dst:
        return client.write_results(batch_id, dst, partial=partial, fields=fields)


@main.command("worker")
@click.option(
    "-Q",
    "--queues",
    default="interactive,batch",
    show_default=True,
    help="Queues to consume, polled in this order.",
)
@click.option(
    "-c",
    "--concurrency",
    type=click.IntRange(1, 256),
    help="Pool processes (default: the number of CPUs).",
)
@click.option(
    "-P",
    "--pool",
    type=click.Choice(["prefork", "solo", "threads"]),
    default="prefork",
    show_default=True,
)
@click.option("-l", "--loglevel", default="info", show_default=True)
@click.option("-n", "--hostname", help="Worker name (default: celery@HOST).")
def worker_command(
    queues: str, concurrency: int | None, pool: str, loglevel: str, hostname: str | None
) -> None:
    """Start a Celery worker with seqquiz's reliability defaults (see docs/queue.md)."""
    import os

    from worker.app import app, settings
    from worker.config import DEFAULT_QUEUE

    names = [q.strip() for q in queues.split(",") if q.strip()]
    if DEFAULT_QUEUE not in names:  # first: its messages are only moved, at once, to their queue
        names.insert(0, DEFAULT_QUEUE)
    prefetch = settings.prefetch_for(names)
    settings.check_worker(names, prefetch)
    argv = [
        "worker",
        f"--queues={','.join(names)}",
        f"--concurrency={concurrency or os.cpu_count() or 1}",
        f"--pool={pool}",
        f"--prefetch-multiplier={prefetch}",
        f"--loglevel={loglevel}",
        "--optimization=fair",
        "--without-gossip",
        "--without-mingle",
    ]
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)


@main.group("batch")
def batch_group() -> None:
    """Follow a batch sent with `grade-batch --queue`: its progress, its results."""


@batch_group.command("status")
@click.argument("batch_id")
def batch_status(batch_id: str) -> None:
    """Print the batch's progress as JSON: total, done, errors, complete, expires_in."""
    with lost_redis():
        emit(queue_client().status(batch_id))


@batch_group.command("results")
@click.argument("batch_id")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write results here, not stdout.",
)
@click.option(
    "--wait", is_flag=True, help="Wait (with a progress bar) until the batch is complete."
)
@click.option("--partial", is_flag=True, help="Write the results that are in; skip the others.")
def batch_results(batch_id: str, output: Path | None, wait: bool, partial: bool) -> None:
    """Write the batch's results as JSONL in input order (the same lines as grade-batch)."""
    with lost_redis():
        _batch_results(batch_id, output, wait, partial)


def _batch_results(batch_id: str, output: Path | None, wait: bool, partial: bool) -> None:
    from worker.client import Progress

    check_output(output)
    client = queue_client()
    status = client.status(batch_id)
    total = status["total"]
    if not status["complete"] and total is not None and not partial:
        if status["chunks"] is not None and status["chunks_sent"] < status["chunks"]:
            fail(
                f"batch {batch_id}: only {status['chunks_sent']} of {status['chunks']} chunks were "
                f"sent (the sending client stopped); resume it with `seqquiz grade-batch FILE "
                f"--queue --batch-id {batch_id}`, or use --partial for the results so far"
            )
        if not wait:
            fail(
                f"batch {batch_id}: {status['done']} of {total} done; add --wait, or --partial "
                "for the results so far"
            )
        progress = Progress(total, f"batch {batch_id[:8]}")
        done, errors = client.wait(batch_id, total, on_progress=progress.show)
        progress.show(done, errors, final=True)
    n = write_batch_results(client, batch_id, output, partial=partial)
    if output is not None:
        click.echo(f"wrote {n} results -> {output}", err=True)


from seqquiz.serve_cli import register  # noqa: E402  (the HTTP service's commands)

register(main)

from seqquiz import lti_cli  # noqa: E402  (the LTI tool's commands)

lti_cli.register(main)

if __name__ == "__main__":
    main()
