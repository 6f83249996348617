"""The command line: a thin Typer face over :class:`labsight.Workspace`.

Commands parse input, call the workspace and render the result as rich tables for people or, with
``--json``, one JSON document on stdout for programs. Exit codes: 0 ok, 1 the operation failed,
2 bad input or usage. Errors print as one line on stderr (and, with ``--json``, as a JSON object
on stdout); ``--debug`` shows the traceback. Nothing in labsight imports this package.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
import threading
from typing import NoReturn

from typer import Abort, Exit
from typer.exceptions import TyperException

from labsight.cli import (  # noqa: F401  (registers the commands)
    _accounts,
    _audit,
    _datasets,
    _demo,
    _design,
    _explore,
    _models,
    _serve,
    _train,
    _unsupervised,
)
from labsight.cli._app import app, emit_json, err_console, state
from labsight.cli._render import cell

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (used by the ``labsight`` script)."""
    from labsight.exceptions import LabsightError

    args = sys.argv[1:] if argv is None else argv
    wants_json = "--json" in args
    state.argv = list(args)
    try:
        # Without standalone mode, Typer returns the code of a `raise typer.Exit(code)`.
        code = app(args=args, prog_name="labsight", standalone_mode=False)
    except LabsightError as exc:
        if state.debug:
            raise
        err_console.print(f"[red]error:[/red] {cell(str(exc))}", highlight=False, soft_wrap=True)
        if wants_json:
            emit_json(exc.to_dict())
        return exc.exit_code
    except Exit as exc:
        return int(exc.exit_code)
    except TyperException as exc:  # usage errors: Typer prints them with the command's usage line
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err_console.print(f"error: {cell(exc.format_message())}", soft_wrap=True)
        return int(exc.exit_code)
    except Abort:
        err_console.print("aborted")
        return 1
    except KeyboardInterrupt:
        err_console.print("interrupted; nothing was changed")
        return _INTERRUPTED
    except Exception as exc:  # a bug: say so in one line, keep the traceback for --debug
        if state.debug:
            raise
        err_console.print(
            f"[red]error:[/red] internal error: {type(exc).__name__}: {cell(str(exc))} "
            "(run with --debug for the traceback, and please report it)",
            soft_wrap=True,
        )
        return 1
    if code == _INTERRUPTED:  # Typer turns Ctrl-C into this code, and Click returns it quietly
        err_console.print("interrupted; nothing was changed")
    return code if isinstance(code, int) else 0


_INTERRUPTED = 130


def run() -> None:  # pragma: no cover - console-script entry (tested in a subprocess)
    """The ``labsight`` script: :func:`main` in a process tuned to start and end quickly."""
    prepare_process()
    leave(main())


def prepare_process() -> None:
    """Importing scikit-learn, SciPy, pandas or torch allocates millions of objects, and the
    collector's default thresholds sweep them again and again as they arrive (a third of a second
    of a `predict`): in the script, young collections run every 50,000 allocations, not 700."""
    gc.set_threshold(50_000, 20, 20)


def leave(code: int) -> NoReturn:
    """End the script once the command has finished: wait for the threads the interpreter would
    wait for, run the exit handlers, flush the output, and leave without tearing down every module
    one by one (another third of a second). Every file a command writes is closed by then."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        # a closed pipe (`labsight … | head`), a closed stream
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
