"""The design commands as a lab uses them: new, suggest --out, fill in, record, status, analyze,
list, show; JSON contracts; one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from labsight.cli import main

SPACE = """\
parameters:
  - {name: temperature, type: continuous, bounds: [25, 130], unit: degC}
  - {name: solvent, type: categorical, values: [THF, DMF]}
objectives:
  - {name: yield, goal: maximize, unit: "%"}
"""


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    home = tmp_path / "home"

    def call(*args: str) -> tuple[int, str, str]:
        code = main(["--home", str(home), "--user", "chemist", *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call


def _fill(path: Path) -> None:
    """The lab runs the experiments of a suggestion file and writes the yields in."""
    frame = pl.read_csv(path)
    t = frame["temperature [degC]"].to_numpy()
    y = 70 * np.exp(-(((t - 80) / 30) ** 2)) + np.where(frame["solvent"].to_numpy() == "DMF", 20, 0)
    frame.with_columns(pl.Series("yield [%]", np.round(y, 1))).write_csv(path)


def test_a_lab_loop_through_the_command_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "space.yaml").write_text(SPACE)
    code, out, _ = run("design", "new", "suzuki", "--space", str(tmp_path / "space.yaml"), "--json")
    assert code == 0
    assert json.loads(out)["campaign"] == "suzuki"
    plate = tmp_path / "next.csv"
    for _ in range(3):
        code, out, _ = run(
            "design", "suggest", "suzuki", "--batch", "3", "--out", str(plate), "--json"
        )
        assert code == 0
        data = json.loads(out)
        assert len(data["experiments"]) == 3
        header = plate.read_text().splitlines()[0].split(",")
        assert header[:4] == ["experiment_id", "temperature [degC]", "solvent", "yield [%]"]
        _fill(plate)
        code, out, _ = run("design", "record", "suzuki", str(plate), "--json")
        assert code == 0
        assert json.loads(out)["results"] == 3
    assert data["method"] == "qLogNEI"  # the third batch comes from the model
    assert [e["best_guess"] for e in data["experiments"]] == [True, False, False]
    code, out, _ = run(
        "design", "status", "suzuki", "--json", "--out", str(tmp_path / "status.html")
    )
    assert code == 0
    status = json.loads(out)
    assert {"best", "progress", "fit", "importance", "expected"} <= set(status)
    assert status["results"] == 9
    html = (tmp_path / "status.html").read_text()
    assert "Progress" in html
    # The report says what the terminal says: the best result, the fit, what matters.
    assert "<h2>Best so far</h2>" in html
    assert "<th>temperature [degC]</th>" in html  # columns with their units
    assert "<th>yield [%]</th>" in html
    assert f"<td>{status['best'][0]['experiment_id']}</td>" in html
    assert "leave-one-out R²" in html
    assert "what matters: " in html
    assert "<script src=" not in html  # offline: plotly.js is inlined, nothing is fetched
    code, out, _ = run("design", "status", "suzuki")
    assert code == 0
    assert "Best so far" in out
    assert "[degC]" in out  # a unit in brackets is text, not rich markup
    assert "what matters" in out
    code, out, _ = run("design", "show", "suzuki")
    assert out.count("qLogNEI (best guess)") == 2  # one per model batch: the table says which
    code, out, _ = run("design", "list", "--json")
    assert json.loads(out)[0]["results"] == 9
    code, out, _ = run("design", "show", "suzuki", "--json")
    shown = json.loads(out)
    assert len(shown["experiments"]) == 9
    assert shown["space"]["parameters"][0]["unit"] == "degC"
    code, out, _ = run("design", "analyze", "suzuki", "--json")
    assert code == 0
    analysis = json.loads(out)
    assert analysis["main_effects"][0]["parameter"] in ("temperature", "solvent")


def test_errors_are_one_line_with_the_right_exit_code(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bad.yaml").write_text(
        "parameters:\n  - {name: t, type: continuous, bounds: [5, 1]}\nobjectives:\n  - {name: y, goal: maximize}\n"
    )
    code, _, err = run("design", "new", "x", "--space", str(tmp_path / "bad.yaml"))
    assert code == 2
    assert "bad.yaml line 2: 't': the bounds [5, 1] are empty" in err
    assert err.count("\n") == 1
    code, _, err = run("design", "suggest", "nope")
    assert code == 2
    assert "no campaign named 'nope'" in err
    (tmp_path / "space.yaml").write_text(SPACE)
    run("design", "new", "s", "--space", str(tmp_path / "space.yaml"))
    code, _, err = run("design", "new", "s", "--space", str(tmp_path / "space.yaml"))
    assert code == 1
    assert "exists already" in err
    code, _, err = run("design", "suggest", "s", "--acquisition", "EI")
    assert code == 2
    assert "unknown acquisition 'EI'" in err


@pytest.mark.parametrize(
    "command",
    [
        ["design"],
        ["design", "new"],
        ["design", "suggest"],
        ["design", "record"],
        ["design", "status"],
        ["design", "analyze"],
        ["design", "list"],
        ["design", "show"],
    ],
)
def test_every_design_command_has_help_with_examples(run, command: list[str]) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(*command, "--help")
    assert code == 0
    assert "Examples" in out


def _wait_for(campaign_json: Any, timeout: float = 180.0) -> dict[str, Any]:
    """Poll ``design show --json`` until the background suggestion is no longer alive."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown: dict[str, Any] = campaign_json()
        if shown["background"] is None or not shown["background"]["alive"]:
            return shown
        time.sleep(0.5)
    raise AssertionError("the background suggestion did not finish")


def test_a_suggestion_runs_in_the_background_and_is_listed_when_done(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "space.yaml").write_text(SPACE)
    run("design", "new", "bg", "--space", str(tmp_path / "space.yaml"))
    plate = tmp_path / "next.csv"
    code, out, _ = run(
        "design", "suggest", "bg", "--batch", "2", "--out", str(plate), "--background", "--json"
    )
    assert code == 0
    job = json.loads(out)["background"]
    assert job["alive"]
    assert job["pid"] > 0
    assert job["command"].endswith("--out " + str(plate) + " --json")

    def show() -> dict[str, Any]:
        code, out, _ = run("design", "show", "bg", "--json")
        assert code == 0
        return json.loads(out)  # type: ignore[no-any-return]

    shown = _wait_for(show)
    assert shown["background"] is None, shown["background"]  # finished: the marker is gone
    assert len(shown["experiments"]) == 2
    written = pl.read_csv(plate)
    assert sorted(written["experiment_id"]) == sorted(
        e["experiment_id"] for e in shown["experiments"]
    )
    logged = json.loads(Path(job["log"]).read_text())  # the command's own output
    assert [e["experiment_id"] for e in logged["experiments"]] == list(written["experiment_id"])


def test_a_failed_background_suggestion_says_why(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "space.yaml").write_text(SPACE)
    run("design", "new", "bad", "--space", str(tmp_path / "space.yaml"))
    code, _, _ = run("design", "suggest", "bad", "--acquisition", "EI", "--background")
    assert code == 0

    def show() -> dict[str, Any]:
        return json.loads(run("design", "show", "bad", "--json")[1])  # type: ignore[no-any-return]

    job = _wait_for(show)["background"]
    assert job is not None
    assert not job["alive"]
    assert "unknown acquisition 'EI'" in job["error"]
    code, out, _ = run("design", "show", "bad")
    assert "the last background suggestion failed" in out
    assert "unknown acquisition 'EI'" in out


def test_a_second_suggestion_is_refused_while_one_runs_in_the_background(
    run, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "space.yaml").write_text(SPACE)
    run("design", "new", "busy", "--space", str(tmp_path / "space.yaml"))
    # A live process holds the campaign's marker, as a background suggestion would.
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        marker = tmp_path / "home" / "running" / "design-suggest-busy.json"
        marker.parent.mkdir(parents=True)
        marker.write_text(
            json.dumps({"pid": sleeper.pid, "started": "now", "command": "x", "log": "y"})
        )
        for extra in ([], ["--background"]):
            code, _, err = run("design", "suggest", "busy", *extra)
            assert code == 1
            assert f"running in the background (pid {sleeper.pid}" in err
        code, out, _ = run("design", "status", "busy")
        assert "a suggestion is running in the background" in out
    finally:
        sleeper.kill()
        sleeper.wait()
    code, out, _ = run("design", "show", "busy", "--json")
    assert json.loads(out)["experiments"] == []  # nothing was suggested meanwhile
    assert run("design", "suggest", "busy")[0] == 0  # the marker of a dead process does not block
    assert json.loads(run("design", "show", "busy", "--json")[1])["background"] is None


def test_design_show_names_each_numbers_scale(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "space.yaml").write_text(
        "parameters:\n"
        "  - {name: concentration, type: continuous, bounds: [0.01, 0.5], unit: M}\n"
        "  - {name: time, type: continuous, bounds: [5, 1440], unit: min, scale: linear}\n"
        "  - {name: temperature, type: continuous, bounds: [25, 130], unit: degC}\n"
        "objectives:\n  - {name: yield, goal: maximize}\n"
    )
    code, _, _ = run("design", "new", "scales", "--space", str(tmp_path / "space.yaml"))
    assert code == 0
    code, out, _ = run("design", "show", "scales")
    text = " ".join(out.split())
    assert "concentration [M]: continuous, [0.01, 0.5], log scale (inferred" in text
    assert "time [min]: continuous, [5, 1440], linear scale" in text
    assert "temperature [degC]: continuous, [25, 130]" in text
    assert "temperature [degC]: continuous, [25, 130], linear" not in text  # inferred linear: quiet
    code, out, _ = run("design", "show", "scales", "--json")
    scales = {p["name"]: p["scale"] for p in json.loads(out)["space"]["parameters"]}
    assert scales == {"concentration": "log", "time": "linear", "temperature": "linear"}
