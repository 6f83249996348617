"""Tables for people: every polars frame a command shows goes through one renderer, which shows
every row (or says how many it left out and how to see them), rounds numbers to 4 significant
digits and keeps units; `design analyze` shows standard errors and says n = 1 where there is none."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from rich.console import Console

from labsight.cli._render import frame_table

Run = Callable[..., tuple[int, str, str]]


def _text(table: object, width: int = 200) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(table)
    return console.export_text()


def test_frame_table_shows_every_row_with_numbers_to_four_digits() -> None:
    frame = pl.DataFrame({"run": list(range(12)), "yield": [100 / 3 + i for i in range(12)]})
    text = _text(frame_table(frame, limit=None))
    assert "…" not in text
    assert all(f"{100 / 3 + i:.4g}" in text for i in range(12))
    assert "33.333" not in text  # rounded, not polars' six decimals


def test_frame_table_pages_with_a_line_that_says_how_to_see_the_rest() -> None:
    frame = pl.DataFrame({"x": np.arange(312, dtype=float)})
    text = _text(frame_table(frame, limit=50), width=80)
    assert (
        "rows 1–50 of 312; --limit N or --all shows more" in text
    )  # one line under a narrow table
    assert " 49 " in text
    assert " 50 " not in text


def test_frame_table_keeps_units_and_escapes_text() -> None:
    frame = pl.DataFrame({"T": [20.5], "salt": ["[Na+].[Cl-]"], "y [%]": [None]})
    text = _text(frame_table(frame, units={"T": "degC", "y [%]": "%"}))
    assert "T [degC]" in text
    assert "y [%] [%]" not in text  # a name that carries its unit keeps it once
    assert "[Na+].[Cl-]" in text  # a SMILES is text, not rich markup
    assert "-" in text.splitlines()[-2]  # a missing value


SPACE = """\
parameters:
  - {name: temperature, type: continuous, bounds: [25, 130], unit: degC}
  - {name: solvent, type: categorical, values: [THF, DMF, MeCN]}
objectives:
  - {name: yield, goal: maximize, unit: "%"}
"""


@pytest.fixture
def campaign(run: Run, tmp_path: Path) -> str:
    """A campaign with 12 results recorded by conditions; MeCN was run once."""
    (tmp_path / "space.yaml").write_text(SPACE)
    assert run("design", "new", "suzuki", "--space", str(tmp_path / "space.yaml"))[0] == 0
    solvents = ["THF"] * 6 + ["DMF"] * 5 + ["MeCN"]
    temperatures = [30.0, 50.0, 70.0, 90.0, 110.0, 125.0, 35.0, 55.0, 75.0, 95.0, 115.0, 60.0]
    yields = [100 / 3 + i for i in range(12)]
    pl.DataFrame(
        {"temperature [degC]": temperatures, "solvent": solvents, "yield [%]": yields}
    ).write_csv(tmp_path / "results.csv")
    assert run("design", "record", "suzuki", str(tmp_path / "results.csv"))[0] == 0
    return "suzuki"


def test_design_show_lists_every_result_rounded(run: Run, campaign: str) -> None:
    code, out, _ = run("design", "show", campaign)
    assert code == 0
    assert "…" not in out
    assert all(f"E{i:03d}" in out.split("Results")[1] for i in range(1, 13))
    assert "yield [%]" in out.split("Results")[1]
    assert "33.33" in out
    assert "33.333" not in out
    code, out, _ = run("design", "show", campaign, "--limit", "5")
    assert "rows 1–5 of 12; --limit N or --all shows more" in out


def test_design_analyze_shows_standard_errors_and_says_n_1(run: Run, campaign: str) -> None:
    code, out, _ = run("design", "analyze", campaign)
    assert code == 0
    assert "±" in out
    mecn = next(line for line in out.splitlines() if "MeCN" in line)
    assert "n = 1" in mecn
    code, out, _ = run("design", "analyze", campaign, "--json")
    solvent = next(m for m in json.loads(out)["main_effects"] if m["parameter"] == "solvent")
    assert {lv["level"]: lv["n"] for lv in solvent["levels"]}["MeCN"] == 1
    assert solvent["effect_se"] is None or solvent["effect_se"] > 0


def test_cluster_profiles_are_tables_rounded_with_units(run: Run, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = [(t + rng.normal(0, 1), c) for t, c in ((20.0, 400.0), (50.0, 900.0)) for _ in range(30)]
    path = tmp_path / "sensors.csv"
    pl.DataFrame(rows, schema=["temperature [degC]", "co2"], orient="row").write_csv(path)
    assert run("ingest", str(path), "--name", "sensors")[0] == 0
    code, out, _ = run("cluster", "sensors", "--k", "3")
    assert code == 0
    assert "shape:" not in out  # no raw polars frame
    assert "temperature [degC]" in out
    assert "cluster 0" in out
    numbers = [w for w in out.replace("│", " ").split() if _is_number(w)]
    assert numbers
    assert max(_significant_digits(w) for w in numbers) <= 4


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _significant_digits(word: str) -> int:
    mantissa = word.lstrip("+-").split("e")[0]
    digits = mantissa.replace(".", "").lstrip("0")
    return len(digits.rstrip("0")) if "." not in mantissa else len(digits)
