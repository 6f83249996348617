"""The Typer application, its global options, output helpers and the one error handler."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from labsight._display import visible_json
from labsight.cli._render import SafeConsole

__all__ = [
    "AllOpt",
    "LimitOpt",
    "app",
    "emit_json",
    "err_console",
    "out",
    "shown_rows",
    "state",
    "steps",
    "workspace",
]

app = typer.Typer(
    name="labsight",
    help="labsight: from a raw lab export to a trustworthy answer.\n\n"
    "Examples:\n\n"
    "  labsight ingest reactions.csv --name reactions\n\n"
    "  labsight quality reactions\n\n"
    "  labsight clean reactions --impute median --labels normalize\n\n"
    "  labsight audit verify",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Piped output (logs, files) gets room for the findings table instead of rich's default of 80.
_PIPE_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 140
# Both print user text (names, headers, reasons) with its control characters escaped.
out = SafeConsole(highlight=False, width=_PIPE_WIDTH)
err_console = SafeConsole(stderr=True, highlight=False)


@dataclass
class State:
    home: Path | None = None
    debug: bool = False
    user: str | None = None
    argv: list[str] = field(default_factory=list)  # the command line, for background jobs


state = State()


@app.callback()
def _global(
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            envvar="LABSIGHT_HOME",
            help="Workspace folder (default ./.labsight).",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    user: Annotated[
        str | None,
        typer.Option("--user", envvar="LABSIGHT_USER", help="Who acts (default: the OS user)."),
    ] = None,
) -> None:
    state.home = home
    state.debug = debug
    state.user = user


LimitOpt = Annotated[
    int, typer.Option("--limit", min=1, help="Rows to show in a table (--all: every row).")
]
AllOpt = Annotated[bool, typer.Option("--all", help="Show every row.")]


def shown_rows(limit: int, all_rows: bool) -> int | None:
    """How many rows a table shows: ``None`` (every row) with ``--all``, else ``--limit``."""
    return None if all_rows else limit


def workspace() -> Any:
    """Open the workspace the global options name."""
    from labsight.workspace import Workspace

    return Workspace(state.home, user=state.user)


def emit_json(data: Any) -> None:
    """Machine output: one JSON document on stdout. Control characters, bidi overrides and
    zero-width characters in its strings are written as JSON escapes (``\\u001b``, ``\\u202e``),
    so the document cannot drive a terminal and still parses to the exact text."""
    document = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write(visible_json(document) + "\n")
    sys.stdout.flush()


@contextmanager
def steps(title: str, enabled: bool = True) -> Iterator[Callable[[str], None]]:
    """A spinner with the current step on stderr, for work that can take more than a second."""
    if not enabled or not err_console.is_terminal:
        yield lambda _msg: None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TextColumn("{task.fields[step]}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        # both columns read their text as markup: a file or column name is escaped ("k [/s].csv")
        task = progress.add_task(escape(title), step="", total=None)
        yield lambda msg: progress.update(task, step=escape(msg))
