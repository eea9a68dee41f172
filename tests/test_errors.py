"""One error root: every error class of every package derives from `grader.errors.SeqquizError`,
states its own `code` and says when it is raised; the CLI reports any of them in one place."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator

import click
from click.testing import CliRunner

from grader.errors import SeqquizError
from tests.test_layers import LAYERS

#: Not errors of their own: `Problem` is the HTTP rendering (problem+json) of one, with its status.
NOT_ERRORS = {"web.problems.Problem"}


def project_exceptions() -> Iterator[type[BaseException]]:
    for package in LAYERS:
        root = importlib.import_module(package)
        names = [package] + [
            m.name
            for m in pkgutil.walk_packages(root.__path__, package + ".")
            if ".migrations" not in m.name and not m.name.endswith("__main__")
        ]
        for name in names:
            module = importlib.import_module(name)
            for value in vars(module).values():
                if (
                    inspect.isclass(value)
                    and issubclass(value, BaseException)
                    and value.__module__ == name
                    and not value.__name__.startswith("_")
                    and f"{name}.{value.__name__}" not in NOT_ERRORS
                ):
                    yield value


def test_every_error_derives_from_the_root_with_a_code_of_its_own() -> None:
    found = list(project_exceptions())
    assert len(found) > 20, found  # the walk reached the packages
    wrong = []
    for exc in found:
        where = f"{exc.__module__}.{exc.__name__}"
        doc = inspect.getdoc(exc) or ""
        if not issubclass(exc, SeqquizError):
            wrong.append(f"{where}: not a SeqquizError")
        elif "code" not in vars(exc) or not isinstance(exc.code, str):
            wrong.append(f"{where}: no code of its own (inherits {exc.code!r})")
        elif not doc.startswith(("Raised when", "Base class")) and exc is not SeqquizError:
            wrong.append(f"{where}: the docstring does not say when it is raised")
    assert not wrong, "\n".join(wrong)


def test_codes_are_kebab_case_names() -> None:
    for exc in project_exceptions():
        code = exc.code  # type: ignore[attr-defined]
        assert code and code == code.lower() and " " not in code and "_" not in code, exc


def test_the_cli_reports_any_project_error_in_one_line_with_status_2() -> None:
    from seqquiz.cli import main

    class MadeUpError(SeqquizError):
        """Raised when the test says so."""

        code = "made-up"

    @main.command("raise-made-up")
    def raise_made_up() -> None:
        raise MadeUpError("field: a made-up mistake (got 1)")

    try:
        result = CliRunner().invoke(main, ["raise-made-up"])
    finally:
        del main.commands["raise-made-up"]
    assert result.exit_code == 2, result.output
    assert result.output == "seqquiz: error: field: a made-up mistake (got 1)\n"


def test_the_queue_commands_hold_no_error_handling_of_their_own() -> None:
    # The CLI catches the root once, in `Group.invoke`; a queue command that caught a project
    # error itself would be a second place to keep in step.
    import seqquiz.cli as cli

    for fn in (cli.queue_client, cli._grade_batch_queue, cli._batch_results, cli.batch_status):
        source = inspect.getsource(fn.callback if isinstance(fn, click.Command) else fn)
        assert "Error" not in source.replace("ImportError", ""), fn
