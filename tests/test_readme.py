"""The README's tour runs as written: its ```console/```bash command lines and its ```python
blocks, in document order, in an empty folder with LABSIGHT_HOME set.

What runs: a ``$ labsight …`` line through the CLI's ``main()`` (it must exit 0), a
``$ python …`` line in a subprocess (it makes the tour's files), and every ```python block, all
blocks in one namespace as in a notebook. What does not: other shell lines (``source``, ``make``),
output lines (no ``$``), code blocks without one of those languages (usage synopses, space files),
and, by this rule, any command or block marked ``# illustrative`` (a comment on the command line,
or the first line of a ```python block) or ``# needs a server``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from labsight.cli import main
from labsight.exceptions import LabsightWarning

README = Path(__file__).resolve().parent.parent / "README.md"
SKIP_MARKERS = ("# illustrative", "# needs a server")
_FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```", re.S | re.M)


def _blocks(text: str) -> list[tuple[str, str]]:
    """``(language, body)`` of every fenced block, in order."""
    return [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(text)]


def _commands(body: str) -> list[str]:
    """The ``$ …`` lines of a console block, continuation lines (``\\``) joined."""
    commands: list[str] = []
    pending: str | None = None
    for line in body.splitlines():
        if pending is not None:
            pending += " " + line.strip()
        elif line.startswith("$ "):
            pending = line[2:].strip()
        else:
            continue
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        commands.append(pending)
        pending = None
    return commands


def _steps(text: str) -> list[tuple[str, str]]:
    """What the test runs, in order: ``("labsight" | "python-c" | "python", source)``."""
    steps: list[tuple[str, str]] = []
    for language, body in _blocks(text):
        if language in ("console", "bash", "shell", "sh"):
            for command in _commands(body):
                if any(marker in command for marker in SKIP_MARKERS):
                    continue
                program = command.split(maxsplit=1)[0]
                if program in ("labsight", "python"):
                    steps.append((program if program == "labsight" else "python-c", command))
        elif language == "python" and not body.lstrip().startswith(SKIP_MARKERS):
            steps.append(("python", body))
    return steps


def test_the_rule_picks_commands_and_blocks() -> None:
    text = (
        "```console\n$ source .venv/bin/activate\n$ labsight ingest a.csv \\\n"
        "      --name a            # a comment\noutput line\n"
        "$ labsight serve          # needs a server\n```\n"
        "```\nlabsight design new x   # a synopsis, not run\n```\n"
        "```python\nx = 1\n```\n```python\n# illustrative\nraise SystemExit\n```\n"
    )
    assert _steps(text) == [
        ("labsight", "labsight ingest a.csv --name a            # a comment"),
        ("python", "x = 1\n"),
    ]


@pytest.mark.slow
def test_the_readme_tour_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = _steps(README.read_text(encoding="utf-8"))
    kinds = {kind for kind, _ in steps}
    assert kinds == {"labsight", "python-c", "python"}, "the tour lost its commands or snippets"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LABSIGHT_HOME", str(tmp_path / ".labsight"))
    monkeypatch.delenv("LABSIGHT_DB_URL", raising=False)
    monkeypatch.delenv("LABSIGHT_ARTIFACTS", raising=False)
    namespace: dict[str, object] = {"__name__": "readme"}
    for kind, source in steps:
        if kind == "labsight":
            code = main(shlex.split(source, comments=True)[1:])
            captured = capsys.readouterr()
            assert code == 0, f"`{source}` exited {code}: {captured.err}"
        elif kind == "python-c":
            args = shlex.split(source, comments=True)
            proc = subprocess.run(
                [sys.executable, *args[1:]],
                cwd=tmp_path,
                env=os.environ.copy(),
                capture_output=True,
                text=True,
                check=False,
            )
            assert proc.returncode == 0, f"`{source}` failed: {proc.stderr[-2000:]}"
        else:
            with warnings.catch_warnings():  # as a reader sees them: printed, not raised
                warnings.simplefilter("default", LabsightWarning)
                exec(compile(source, str(README), "exec"), namespace)
