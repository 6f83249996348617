"""Campaigns in a real workspace: suggestions and results stored and audited, results matched by id
or by conditions (pending, replicates, unsolicited), a cold restart that suggests the same, and bad
result files that change nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import labsight
from labsight.exceptions import ConflictError, InputError, NotFoundError

SPACE = """\
parameters:
  - {name: temperature, type: continuous, bounds: [25, 130], unit: degC}
  - {name: solvent, type: categorical, values: [THF, DMF, water]}
  - {name: equivalents, type: discrete, values: [1.0, 1.5, 2.0]}
constraints: ["temperature <= 100 if solvent == 'THF'"]
objectives:
  - {name: yield, goal: maximize, bounds: [0, 100], unit: "%"}
"""


def _truth(frame: pl.DataFrame) -> np.ndarray:
    t = frame["temperature"].to_numpy()
    solvent = frame["solvent"].to_numpy()
    return np.round(
        80 * np.exp(-(((t - 90) / 25) ** 2))
        + np.where(solvent == "DMF", 15, 0)
        + 2 * frame["equivalents"].to_numpy(),
        2,
    )


@pytest.fixture
def ws(tmp_path: Path) -> labsight.Workspace:
    (tmp_path / "space.yaml").write_text(SPACE)
    ws = labsight.Workspace(tmp_path / "home", user="chemist")
    ws.new_campaign("suzuki", tmp_path / "space.yaml", seed=0, reason="plate 1")
    return ws


def _run(campaign: labsight.Workspace, frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select("experiment_id").with_columns(pl.Series("yield", _truth(frame)))


def test_a_closed_loop_stores_audits_and_improves(ws: labsight.Workspace) -> None:
    c = ws.campaign("suzuki")
    first = c.suggest(4)
    assert first["experiment_id"].to_list() == ["E001", "E002", "E003", "E004"]
    assert set(first["method"]) == {"initial:sobol"}
    for _ in range(4):
        c.record(_run(ws, c.pending()))
        c.suggest(4)
    c.record(_run(ws, c.pending()))
    results = c.results()
    assert results.height == 20
    assert results["recorded_by"].unique().to_list() == ["chemist"]
    # The optimum is 99 (DMF, 90 °C, 2 equivalents); 16 experiments of BO get within a few per
    # cent of it, and well past the best of the initial Sobol batch.
    initial = results.filter(pl.col("experiment_id").is_in(first["experiment_id"].to_list()))
    assert results["yield"].max() > 93
    assert results["yield"].max() > initial["yield"].max() + 10
    actions = [e.action for e in ws.audit.entries()]
    assert actions.count("design.suggest") == 5
    assert actions.count("design.record") == 5
    assert actions[0] == "design.new"
    assert ws.audit.verify().ok
    best = c.best()[0]
    assert best["values"]["yield"] == results["yield"].max()
    assert best["predicted"]["yield"]["sd"] > 0
    # Every model batch began with its best guess, the initial one with none; the flag is stored.
    flagged = c.experiments().group_by("batch").agg(pl.col("best_guess")).sort("batch")
    assert flagged["best_guess"].to_list() == [[False] * 4] + [[True] + [False] * 3] * 4
    told: list[str] = []
    c.suggest(3, progress=told.append)
    assert told[0] == "fitting the surrogate on 20 results"
    assert [t.split(": ")[-1] for t in told[1:]] == [f"experiment {i} of 3" for i in (1, 2, 3)]
    assert told[1].startswith("scoring ")


def test_a_cold_process_suggests_exactly_what_a_warm_one_would(
    ws: labsight.Workspace, tmp_path: Path
) -> None:
    import json
    import shutil

    c = ws.campaign("suzuki")
    c.record(_run(ws, c.suggest(5)))
    home = ws.settings.home
    copy = tmp_path / "copy"
    shutil.copytree(home, copy)  # the same stored state, for the warm side
    script = (
        "import labsight, json\n"
        f"c = labsight.Workspace({str(home)!r}, user='other').campaign('suzuki')\n"
        "print(json.dumps(c.suggest(3).select('temperature', 'solvent', 'equivalents').to_dicts()))\n"
    )
    cold = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    warm = labsight.Workspace(copy, user="other").campaign("suzuki").suggest(3)
    expected = warm.select("temperature", "solvent", "equivalents").to_dicts()
    assert json.loads(cold.stdout.strip().splitlines()[-1]) == expected


def test_the_same_state_gives_the_same_suggestion_in_two_workspaces(tmp_path: Path) -> None:
    (tmp_path / "space.yaml").write_text(SPACE)
    batches = []
    for name in ("a", "b"):
        ws = labsight.Workspace(tmp_path / name, user="u")
        c = ws.new_campaign("s", tmp_path / "space.yaml", seed=7)
        c.record(_run(ws, c.suggest(4)))
        batches.append(c.suggest(3).select("temperature", "solvent", "equivalents"))
    assert batches[0].equals(batches[1])


def test_results_match_by_conditions_with_replicates_and_unsolicited_runs(
    ws: labsight.Workspace, tmp_path: Path
) -> None:
    c = ws.campaign("suzuki")
    suggested = c.suggest(2)
    row = suggested.row(0, named=True)
    path = tmp_path / "plate.csv"
    # No experiment_id: the first row matches E001 by its conditions (temperature in kelvin),
    # the second repeats it (a replicate), the third was never suggested, the fourth has no result.
    path.write_text(
        "temperature [K],solvent,equivalents,yield [%]\n"
        f"{row['temperature'] + 273.15},{row['solvent']},{row['equivalents']},61.5\n"
        f"{row['temperature'] + 273.15},{row['solvent']},{row['equivalents']},63.5\n"
        "343.15,water,1.0,20.0\n"
        "353.15,DMF,2.0,\n"
    )
    summary = c.record(path)
    assert summary.results == 3
    assert summary.replicates == 1
    assert summary.new_experiments == ["E003"]
    assert summary.skipped == 1
    results = c.results()
    assert results.filter(pl.col("experiment_id") == "E001")["yield"].to_list() == [61.5, 63.5]
    assert results.filter(pl.col("experiment_id") == "E003")["temperature"][0] == pytest.approx(
        70.0
    )
    assert c.pending()["experiment_id"].to_list() == ["E002"]
    recorded = [e for e in ws.audit.entries() if e.action == "design.record"][-1]
    assert recorded.inputs  # the file's hash
    best = c.best()[0]
    assert best["replicates"] == 2
    assert best["values"]["yield"] == pytest.approx(62.5)


BAD = [
    (
        "experiment_id,yield\nE099,50\n",
        "plate.csv line 2, column 'experiment_id': no experiment 'E099'",
    ),
    (
        "temperature,solvent,equivalents,yield\n140,DMF,1.0,50\n",
        "line 2, column 'temperature': the conditions match no suggestion and lie outside the space: 140 is outside the bounds [25, 130]",
    ),
    (
        "temperature,solvent,equivalents,yield\n120,THF,1.0,50\n",
        "line 2: the conditions match no suggestion and break the constraint",
    ),
    ("experiment_id,yield\nE001,n/a?\n", "line 2, column 'yield': 'n/a?' is not a number"),
    ("experiment_id,purity\nE001,50\n", "the results have no objective column"),
    ("temperature,yield\n50,40\n", "the row has neither an experiment id nor all the conditions"),
]


@pytest.mark.parametrize(
    ("text", "message"),
    BAD,
    ids=["unknown id", "outside", "constraint", "text", "no objective", "no conditions"],
)
def test_a_bad_results_file_is_one_error_and_stores_nothing(
    ws: labsight.Workspace, tmp_path: Path, text: str, message: str
) -> None:
    c = ws.campaign("suzuki")
    c.suggest(2)
    entries = len(ws.audit.entries())
    path = tmp_path / "plate.csv"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        c.record(path)
    assert message in str(caught.value)
    assert c.results().height == 0
    assert c.experiments().height == 2
    assert len(ws.audit.entries()) == entries


def test_a_row_whose_conditions_contradict_its_experiment_is_refused(
    ws: labsight.Workspace, tmp_path: Path
) -> None:
    c = ws.campaign("suzuki")
    row = c.suggest(1).row(0, named=True)
    path = tmp_path / "plate.csv"
    other = "water" if row["solvent"] != "water" else "DMF"
    path.write_text(
        f"experiment_id,temperature,solvent,equivalents,yield\nE001,{row['temperature']},{other},{row['equivalents']},50\n"
    )
    with pytest.raises(InputError, match="experiment E001 was suggested with solvent"):
        c.record(path)


def test_names_and_lookups(ws: labsight.Workspace, tmp_path: Path) -> None:
    with pytest.raises(ConflictError, match="exists already"):
        ws.new_campaign("suzuki", tmp_path / "space.yaml")
    with pytest.raises(NotFoundError, match="no campaign named 'suzki'"):
        ws.campaign("suzki")
    assert [r.name for r in ws.campaigns()] == ["suzuki"]


def test_status_explains_the_campaign_and_plots_it(ws: labsight.Workspace) -> None:
    c = ws.campaign("suzuki")
    for _ in range(3):
        c.record(_run(ws, c.suggest(4)))
    status = c.status()
    assert status.results == 12
    assert status.fit["yield"]["loo_r2"] > 0.5
    assert {r["parameter"] for r in status.importance} == {"temperature", "solvent", "equivalents"}
    assert status.importance[0]["parameter"] in ("temperature", "solvent")
    assert status.expected is not None
    assert status.expected["improvement"] >= 0
    assert len(status.progress) == 12
    best_so_far = [p["best_so_far"] for p in status.progress]
    assert best_so_far == sorted(best_so_far)
    figures = c.plot()
    assert {"progress", "importance", "landscape"} <= set(figures)
    assert figures["landscape"].data[0].type == "heatmap"


def test_long_level_names_do_not_crowd_the_landscape(tmp_path: Path) -> None:
    """SMILES as levels: the landscape's axis shows them shortened, the hover in full, and the
    colour bar names the objective with its unit."""
    smiles = ["CC(C)(C)P(C1=CC=CC=C1)C(C)(C)C", "C1=CC=C(C=C1)P(C2=CC=CC=C2)C3=CC=CC=C3", "CP(C)C"]
    (tmp_path / "space.yaml").write_text(
        SPACE.replace("[THF, DMF, water]", "[" + ", ".join(f"'{s}'" for s in smiles) + "]").replace(
            "THF'", f"{smiles[0]}'"
        )
    )
    ws = labsight.Workspace(tmp_path / "home", user="chemist")
    c = ws.new_campaign("ligands", tmp_path / "space.yaml", seed=0)
    for _ in range(3):
        plate = c.suggest(4)
        t = plate["temperature"].to_numpy()
        bonus = np.where(plate["solvent"].to_numpy() == smiles[1], 15.0, 0.0)
        c.record(
            plate.select("experiment_id").with_columns(
                pl.Series("yield", 80 * np.exp(-(((t - 90) / 25) ** 2)) + bonus)
            )
        )
    landscape = c.plot()["landscape"]
    axis = landscape.layout.xaxis if landscape.layout.xaxis.ticktext else landscape.layout.yaxis
    assert list(axis.tickvals) == smiles  # the levels themselves, for the hover
    assert max(len(t) for t in axis.ticktext) <= 14
    assert "CP(C)C" in axis.ticktext  # short names are shown as they are
    assert landscape.data[0].colorbar.title.text == "yield [%]"


TWO = """\
parameters:
  - {name: temperature, type: continuous, bounds: [25, 130], unit: degC}
  - {name: solvent, type: categorical, values: [THF, DMF]}
objectives:
  - {name: yield, goal: maximize, unit: "%"}
  - {name: cost, goal: minimize}
"""


def test_figures_status_and_analysis_take_the_objective(tmp_path: Path) -> None:
    from labsight.design.analysis import analyse

    (tmp_path / "two.yaml").write_text(TWO)
    ws = labsight.Workspace(tmp_path / "home", user="chemist")
    c = ws.new_campaign("two", tmp_path / "two.yaml", seed=0)
    plate = c.suggest(8)
    t = plate["temperature"].to_numpy()
    dmf = plate["solvent"].to_numpy() == "DMF"
    c.record(
        plate.select("experiment_id").with_columns(
            pl.Series("yield", np.round(80 * np.exp(-(((t - 90) / 25) ** 2)) + 10 * dmf, 2)),
            pl.Series("cost", np.round(t / 10 + 5 * dmf, 2)),
        )
    )
    assert c.analysis().objective == "yield"
    cost = c.analysis("cost")
    assert cost.to_dict() == analyse(c.space, c.results(), "cost").to_dict()
    assert cost.objective == "cost"
    status = c.status("cost")
    assert list(status.best[0]["values"]) == ["cost", "yield"]
    costs = [b["values"]["cost"] for b in status.best]
    assert costs == sorted(costs)  # the Pareto front, cheapest first
    figures = c.plot("cost", status=status)
    assert figures["pareto"].layout.xaxis.title.text == "cost (minimize)"
    assert c.plot()["pareto"].layout.xaxis.title.text == "yield [%] (maximize)"
    for call in (c.status, c.plot, c.analysis):
        with pytest.raises(InputError, match="unknown objective 'purity'"):
            call("purity")
    ws.close()


def _marker(ws: labsight.Workspace, pid: int) -> Path:
    """A background suggestion of 'suzuki' run by ``pid``, as ``suggest_in_background`` leaves it."""
    import json

    from labsight.workspace import jobs

    marker = jobs.marker(ws.settings.home, "design-suggest", "suzuki")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"pid": pid, "started": "now", "command": "x", "log": "y"}))
    return marker


def test_a_background_suggestion_is_marked_done_or_failed_by_suggest(
    ws: labsight.Workspace,
) -> None:
    import os

    c = ws.campaign("suzuki")
    marker = _marker(ws, os.getpid())  # this process is the job
    assert c.suggest(2, background_job=True).height == 2
    assert not marker.exists()  # done: the marker is gone
    _marker(ws, os.getpid())
    with pytest.raises(InputError, match="unknown acquisition 'EI'"):
        c.suggest(2, acquisition="EI", background_job=True)
    job = c.background()
    assert job is not None
    assert not job["alive"]
    assert "unknown acquisition 'EI'" in job["error"]


def test_a_second_background_suggestion_is_refused(ws: labsight.Workspace) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _marker(ws, sleeper.pid)
        with pytest.raises(
            ConflictError, match=f"already running in the background \\(pid {sleeper.pid}"
        ):
            ws.campaign("suzuki").suggest_in_background(["design", "suggest", "suzuki"])
    finally:
        sleeper.kill()
        sleeper.wait()
    assert ws.campaign("suzuki").experiments().height == 0


def test_status_says_how_many_results_the_initial_design_still_wants(
    ws: labsight.Workspace,
) -> None:
    """Three parameters, one continuous: suggestions come from the model from the fourth result
    on, and status says so until then."""
    from labsight.design._status_text import status_notes

    c = ws.campaign("suzuki")
    c.record(_run(ws, c.suggest(2)))
    status = c.status()
    assert status.initial_left == 2
    assert status.to_dict()["initial_left"] == 2
    assert status_notes(status)[0].startswith("initial design: 2 more results before suggestions")
    second = c.suggest(2)
    assert set(second["method"]) == {"initial:sobol"}
    c.record(_run(ws, second))
    status = c.status()
    assert status.initial_left == 0
    assert not any(n.startswith("initial design") for n in status_notes(status))
    assert set(c.suggest(2)["method"]) == {"qLogNEI"}


def test_status_names_the_warp_and_predicts_on_the_objectives_scale(
    ws: labsight.Workspace,
) -> None:
    """A space with a continuous parameter: the GP reads the yields through a Yeo–Johnson warp,
    status says so with its λ, and the prediction at the best result is a yield, not a value on
    the warped scale."""
    from labsight.design._status_text import status_notes

    c = ws.campaign("suzuki")
    for _ in range(3):
        c.record(_run(ws, c.suggest(2)))
    status = c.status()
    warp = status.to_dict()["model"]["warp"]
    assert warp["method"] == "yeo-johnson"
    assert 0.0 <= warp["lambda"][0] <= 2.0
    assert any("Yeo–Johnson warp (λ" in note for note in status_notes(status))
    yields = c.results()["yield"]
    predicted = status.best[0]["predicted"]["yield"]
    assert yields.min() - 1.0 <= predicted["mean"] <= yields.max() + 1.0
    assert predicted["sd"] >= 0.0
