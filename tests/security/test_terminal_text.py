"""Text from files and people reaches the terminal as text: ``--json`` writes control characters,
bidi overrides and zero-width characters as JSON escapes; the tables show zero-width and bidi
characters as escapes (``temp\\u200b`` is not ``temp``); and a header such as ``k [/s]`` is never
read as rich markup."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from labsight._display import visible, visible_json
from labsight.cli._app import emit_json

Run = Callable[..., tuple[int, str, str]]
"""The ``run`` fixture of conftest: the CLI in-process."""

# zero-width characters, bidi marks, embeddings, overrides and isolates, the byte order mark
INVISIBLE = [
    "\u061c",
    *map(chr, range(0x200B, 0x2010)),
    *map(chr, range(0x202A, 0x202F)),
    *map(chr, range(0x2060, 0x2065)),
    *map(chr, range(0x2066, 0x206A)),
    "\ufeff",
]
CONTROLS = ["\x00", "\x07", "\x1b", "\r", "\t", "\x7f", "\x85", "\x9b"]
HOSTILE = "".join(CONTROLS + INVISIBLE + ["\u2028", "\u2029"])


def _raw(text: str) -> list[str]:
    """Characters in ``text`` that drive, reorder or hide terminal output (the newlines that lay
    the output out aside)."""
    return [
        ch
        for ch in text
        if ch != "\n" and (unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") or ch in HOSTILE)
    ]


# -- zero-width and bidi characters are shown ---------------------------------------------------


@pytest.mark.parametrize("char", INVISIBLE)
def test_zero_width_and_bidi_characters_are_shown_as_escapes(char: str) -> None:
    shown = visible(f"temp{char}")
    assert shown == f"temp\\u{ord(char):04x}"
    assert shown != visible("temp")
    assert visible(f"temp{char}\nnext", keep_newlines=True) == f"{shown}\nnext"


def test_ordinary_non_ascii_text_is_left_as_it_is() -> None:
    text = "Größe [µmol/L] — 温度 °C ±5 % α→β"
    assert visible(text) == text


@pytest.fixture
def lookalikes(tmp_path: Path) -> Path:
    """Columns that print alike unless the invisible characters show: ``temp`` and
    ``temp\\u200b``, and a header reversed by U+202E holding a C1 control."""
    path = tmp_path / "lookalikes.csv"
    pl.DataFrame(
        {
            "temp": [20.0, 21.0, 22.0, 23.0],
            "temp\u200b": [20.0, 21.5, 22.0, 23.5],
            "abc\u202edef\x9b": [1.0, 2.0, 3.0, 4.0],
        }
    ).write_csv(path)
    return path


@pytest.mark.parametrize("command", [["ingest"], ["dataset", "show"], ["quality"]])
def test_lookalike_column_names_print_differently(
    run: Run, lookalikes: Path, command: list[str]
) -> None:
    code, out, err = run("ingest", str(lookalikes), "--name", "look")
    assert code == 0, err
    if command != ["ingest"]:
        code, out, err = run(*command, "look")
        assert code == 0, err
    assert not _raw(out + err)
    if command != ["quality"]:
        assert "temp\\u200b" in out
        assert "abc\\u202edef\\x9b" in out


# -- --json ---------------------------------------------------------------------------------------


def test_emit_json_escapes_what_would_drive_the_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = {"name": f"a{HOSTILE}b", "list": [HOSTILE, "µ [degC] → ok"], HOSTILE: 1}
    emit_json(data)
    out = capsys.readouterr().out
    assert not _raw(out)
    assert json.loads(out) == data
    assert "µ [degC] → ok" in out  # readable text stays readable
    assert "\\u202e" in out
    assert "\\u009b" in out


def test_visible_json_keeps_the_document_and_backslashes() -> None:
    data = {"path": "C:\\runs\\\u202eexe.txt", "x": ["\\\u200b", 1.5, None]}
    text = json.dumps(data, indent=2, ensure_ascii=False)
    assert json.loads(visible_json(text)) == data
    assert not _raw(visible_json(text))


def test_json_output_of_the_commands_is_escaped_and_exact(run: Run, lookalikes: Path) -> None:
    reason = "why\x1b[2J\u202eevil\x9b\u200b"
    code, out, err = run("ingest", str(lookalikes), "--name", "look", "--reason", reason, "--json")
    assert code == 0, err
    assert not _raw(out)
    columns = [c["name"] for c in json.loads(out)["columns"]]
    assert columns == ["temp", "temp\u200b", "abc\u202edef\x9b"]
    for command in (["audit", "log", "--json"], ["dataset", "show", "look", "--json"]):
        code, out, err = run(*command)
        assert code == 0, err
        assert not _raw(out)
        data = json.loads(out)
        if command[0] == "audit":
            assert [e["reason"] for e in data] == [reason]
        else:
            assert [c["name"] for c in data["columns"]] == columns


# -- rich markup --------------------------------------------------------------------------------


@pytest.fixture
def rates(tmp_path: Path) -> Path:
    """Rate constants with a real unit header, ``k [/s]``: ``[/s]`` is a closing tag to rich."""
    rng = np.random.default_rng(0)
    t = rng.uniform(20, 80, 30)
    k = rng.uniform(0.01, 0.5, 30)
    path = tmp_path / "rates [bold].csv"
    pl.DataFrame(
        {"T [degC]": t, "k [/s]": k, "y": 0.3 * t + 40 * k + rng.normal(0, 1, 30)}
    ).write_csv(path)
    return path


@pytest.fixture
def rate_model(run: Run, rates: Path) -> str:
    code, _, err = run("ingest", str(rates), "--name", "rates")
    assert code == 0, err
    train = ["train", "rates", "--target", "y", "--families", "ridge", "--trials", "1"]
    code, _, err = run(*train, "--budget", "60", "--name", "rate-model")
    assert code == 0, err
    return "rate-model"


def test_model_show_prints_units_in_brackets_as_text(run: Run, rate_model: str) -> None:
    code, out, err = run("model", "show", rate_model)
    assert code == 0, err
    assert "features (2): T [degC], k [/s]" in out
    assert out.count("k [/s]") >= 3  # features, importance, partial dependence, coefficients


def test_model_export_prints_units_in_brackets_as_text(
    run: Run, rate_model: str, tmp_path: Path
) -> None:
    target = tmp_path / "[bold]model.onnx"
    code, out, err = run("model", "export", rate_model, "--out", str(target))
    assert code == 0, err
    assert "inputs: T [degC] (double, degC), k [/s] (double)" in out
    assert f"wrote {target}" in out
    assert target.exists()


def test_a_file_name_in_brackets_prints_as_it_is(run: Run, rates: Path, tmp_path: Path) -> None:
    code, out, err = run("quality", str(rates))
    assert code == 0, err
    assert f"{rates}:" in out  # the title: "[bold]" is text, not a style
    preds = tmp_path / "[/s] preds.csv"
    code, _, err = run("ingest", str(rates), "--name", "rates")
    assert code == 0, err
    train = ["train", "rates", "--target", "y", "--families", "ridge", "--trials", "1"]
    assert run(*train, "--budget", "60", "--name", "m")[0] == 0
    code, out, err = run("predict", "m", str(rates), "--out", str(preds))
    assert code == 0, err
    assert f"wrote {preds} (30 rows)" in out


def test_the_spinner_reads_names_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """The spinner on a terminal renders its title and step as markup: a file name holding
    ``[/s]`` raised a MarkupError when it was drawn."""
    from labsight.cli import _app

    monkeypatch.setattr(_app.err_console, "_force_terminal", True)
    with _app.steps("ingest k [/s].csv") as step:
        step("reading k [/s].csv")


def test_json_lines_on_stdout_are_escaped_and_exact(run: Run, lookalikes: Path) -> None:
    reason = "why\x1b[2J\u202eevil\x9b\u200b"
    assert run("ingest", str(lookalikes), "--name", "look", "--reason", reason)[0] == 0
    code, out, err = run("audit", "export", "--format", "jsonl")
    assert code == 0, err
    assert not _raw(out)
    (entry,) = [json.loads(line) for line in out.splitlines()]
    assert entry["reason"] == reason
