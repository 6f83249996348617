"""Training never answers wrong in silence (issue #15, items 2, 3, 4 and 14): clustering does not
change the folds of a later train, which always says how it groups them; a model no better than a
guess says so and is not staged to production unless forced with a reason; other outcomes of the
same experiments are called out and can be excluded; a SMILES column becomes molecular features
or is reported; and the importance of a small table covers every feature."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import labsight
from labsight.data.ingest import read_table
from labsight.data.table import Table
from labsight.models import _features
from labsight.models.train import train

Run = Callable[..., tuple[int, str, str]]
"""The ``run`` fixture of conftest: the CLI in-process, on ``tmp_path / "home"``."""

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
TOX21 = DATA / "tox21" / "tox21.csv.gz"
CONCRETE = DATA / "concrete_strength" / "concrete.csv"
_ASSAYS = ["NR-AR", "NR-AhR", "SR-ARE", "SR-p53"]
_CONCRETE_FEATURES = (
    "cement",
    "blast_furnace_slag",
    "fly_ash",
    "water",
    "superplasticizer",
    "coarse_aggregate",
    "fine_aggregate",
    "age",
)


def _needs(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} is not here (the shared lab datasets)")


@pytest.fixture
def sensors(tmp_path: Path) -> Path:
    """Three clear clusters in (temperature, co2); the yield follows the temperature smoothly."""
    rng = np.random.default_rng(0)
    centres = [(20.0, 400.0), (35.0, 900.0), (50.0, 600.0)]
    t = np.concatenate([rng.normal(c, 1.0, 40) for c, _ in centres])
    co2 = np.concatenate([rng.normal(c, 20.0, 40) for _, c in centres])
    frame = pl.DataFrame(
        {"temperature [degC]": t, "co2 [ppm]": co2, "yield [%]": 2 * t + rng.normal(0, 3, 120)}
    )
    path = tmp_path / "sensors.csv"
    frame.write_csv(path)
    return path


@pytest.fixture
def tox21(tmp_path: Path) -> Path:
    """300 molecules of Tox21: four assay columns (0/1, empty = not measured), mol_id, smiles."""
    _needs(TOX21)
    frame = pl.read_csv(TOX21).head(300).select(*_ASSAYS, "mol_id", "smiles")
    path = tmp_path / "tox21.csv"
    frame.write_csv(path)
    return path


def _train_cli(run: Run, source: str, target: str, *extra: str) -> tuple[str, dict]:
    code, out, err = run(
        "train", source, "--target", target, "--budget", "5", "--trials", "2", *extra
    )
    assert code == 0, err
    code, shown, err = run("model", "show", "--json", _latest(run))
    assert code == 0, err
    return out, json.loads(shown)


def _latest(run: Run) -> str:
    code, out, _ = run("models", "--json")
    assert code == 0
    return str(json.loads(out)[-1]["model_id"])


def test_cluster_labels_do_not_group_a_later_train_which_says_how_it_groups(
    run: Run, sensors: Path, tmp_path: Path
) -> None:
    assert run("ingest", str(sensors), "--name", "sensors")[0] == 0
    assert run("cluster", "sensors", "--features", "temperature [degC],co2 [ppm]")[0] == 0
    stored = labsight.Workspace(tmp_path / "home").dataset("sensors").table()
    assert stored.column("cluster").role == "id"  # derived: neither a group nor a feature
    out, shown = _train_cli(run, "sensors", "yield [%]", "--families", "ridge")
    grouping = shown["summary"]["cv"]["grouping"]
    assert grouping.startswith("not grouped")
    assert "folds: 5-fold × 3 repeats, not grouped" in " ".join(out.split())
    assert "cluster" not in shown["summary"]["features"]
    assert {"column": "cluster", "reason": _features._ROLE_REASONS["id"]} in shown["summary"][
        "left_out"
    ]


def test_a_group_column_groups_the_folds_and_train_says_why() -> None:
    rng = np.random.default_rng(1)
    frame = pl.DataFrame(
        {"batch": np.repeat(np.arange(10), 6), "T": rng.uniform(20, 80, 60)}
    ).with_columns(y=pl.col("T") * 0.5 + pl.Series(rng.normal(0, 1, 60)))
    table = Table.from_frame(frame, roles={"batch": "group", "y": "target"})
    model = train(table, "y", budget=5, max_trials=2, families=["ridge"])
    assert model.cv["grouping"] == "grouped by column 'batch' (its role is group)"


def test_a_replicate_number_column_is_not_taken_for_a_group() -> None:
    """`replicate` (1, 2, 3 within each setting) is guessed as a group by its name; grouping folds
    by it would hold out replicate 2 of every setting while its twins train: a leak. The folds
    keep each setting's replicates together instead, and train says why."""
    rng = np.random.default_rng(2)
    settings = rng.uniform(20, 80, (20, 2))
    frame = pl.DataFrame(
        {
            "T": np.repeat(settings[:, 0], 3),
            "t": np.repeat(settings[:, 1], 3),
            "replicate": np.tile([1, 2, 3], 20),
        }
    ).with_columns(y=pl.col("T") * 0.5 + pl.col("t") * 0.1 + pl.Series(rng.normal(0, 1, 60)))
    table = Table.from_frame(frame, roles={"replicate": "group", "y": "target"})
    assert table.by_role("group") == ["replicate"]  # as ingest guesses it from the name
    model = train(table, "y", budget=5, max_trials=2, families=["ridge"])
    assert model.cv["grouping"].startswith("grouped by replicates")
    assert "'replicate' numbers the replicates" in model.cv["grouping"]


@pytest.mark.parametrize("signal", [0.0, 3.0], ids=["noise", "signal"])
def test_the_model_is_compared_with_the_baseline_on_the_same_folds(signal: float) -> None:
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({c: rng.normal(size=60) for c in "abc"})
    frame = frame.with_columns(y=pl.col("a") * signal + pl.Series(rng.normal(size=60)))
    model = train(
        Table.from_frame(frame, roles={"y": "target"}), "y", budget=5, max_trials=4, seed=0
    )
    assert model.baseline is not None
    assert model.baseline["metric"] == "r2"
    assert model.baseline["predicts"] == "the mean of the training rows"
    assert model.better_than_baseline is (signal > 0)
    summary = model.summary()
    assert summary["better_than_baseline"] is (signal > 0)
    assert summary["baseline"] == model.baseline


def test_a_noise_model_is_flagged_and_goes_to_production_only_forced_with_a_reason(
    run: Run, tmp_path: Path
) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "noise.csv"
    pl.DataFrame({**{c: rng.normal(size=60) for c in "abc"}, "y": rng.normal(size=60)}).write_csv(
        path
    )
    out, shown = _train_cli(run, str(path), "y", "--families", "ridge,knn")
    assert "warning: not clearly better than a guess" in " ".join(out.split())
    summary = shown["summary"]
    assert summary["better_than_baseline"] is False
    assert {"metric", "mean", "std", "score", "difference", "se"} <= set(summary["baseline"])
    model = shown["model_id"]
    code, out, _ = run("model", "show", model)
    assert "not clearly better than a guess" in " ".join(out.split())
    code, _, err = run("model", "stage", model, "production", "--reason", "looks fine")
    assert code == 1
    assert "not clearly better than the baseline" in err
    assert "--force" in err
    code, _, err = run("model", "stage", model, "production", "--force")
    assert code == 2
    assert "--force needs a --reason" in err
    assert json.loads(run("model", "show", "--json", model)[1])["stage"] == "draft"
    code, out, _ = run("model", "stage", model, "production", "--force", "--reason", "interim")
    assert code == 0
    assert "forced" in out
    entry = labsight.Workspace(tmp_path / "home").audit.entries(action="model.stage")[-1]
    assert entry.new_value == "production"
    assert entry.reason == "interim"
    assert entry.details["forced"] == "not better than the baseline"


def test_sibling_targets_are_called_out_and_exclude_leaves_them_out(run: Run, tox21: Path) -> None:
    families = ("--families", "knn")
    out, shown = _train_cli(run, str(tox21), "NR-AhR", *families)
    siblings = ["NR-AR", "SR-ARE", "SR-p53"]
    assert shown["summary"]["siblings"] == siblings
    text = " ".join(out.split())
    assert (
        "3 inputs look like other outcomes of the same experiments: NR-AR, SR-ARE, SR-p53" in text
    )
    assert "--exclude NR-AR --exclude SR-ARE --exclude SR-p53" in text
    excluded = [arg for c in siblings for arg in ("--exclude", c)]
    out, shown = _train_cli(run, "tox21", "NR-AhR", *families, *excluded)
    summary = shown["summary"]
    assert summary["siblings"] == []
    assert not set(siblings) & set(summary["features"])
    assert [r["column"] for r in summary["left_out"] if r["reason"] == "excluded on request"] == (
        siblings
    )
    assert "left out: NR-AR, SR-ARE, SR-p53 (excluded on request); mol_id (role id" in " ".join(
        out.split()
    )


def test_exclude_from_python_refuses_an_unknown_column_or_the_target(tox21: Path) -> None:
    ws = labsight.Workspace(tox21.parent / "home", user="tester")
    with pytest.raises(labsight.InputError, match="unknown excluded column 'NR-XX'"):
        ws.models.train(tox21, "NR-AhR", budget=5, max_trials=1, exclude=["NR-XX"])
    with pytest.raises(labsight.InputError, match="cannot exclude the target 'NR-AhR'"):
        ws.models.train(tox21, "NR-AhR", budget=5, max_trials=1, exclude=["NR-AhR"])


def test_a_smiles_column_becomes_molecular_features_also_for_predict(tox21: Path) -> None:
    ws = labsight.Workspace(tox21.parent / "home", user="tester")
    record, model = ws.models.train(
        tox21, "NR-AhR", budget=5, max_trials=1, families=["knn"], exclude=_ASSAYS[:1]
    )
    assert model.features.molecules == ("smiles",)
    assert "smiles:MolWt" in model.features.inputs
    assert record.summary["molecules"] == ["smiles"]
    assert "smiles" not in {r["column"] for r in record.summary["left_out"]}
    new = read_table(tox21, on_issue="ignore").frame.tail(5).select("smiles", *_ASSAYS[1:])
    path = tox21.parent / "new.csv"
    new.write_csv(path)
    predicted = ws.models.predict(record.model_id, read_table(path, on_issue="ignore"))
    assert predicted.height == 5
    assert {"proba_0", "proba_1"} <= set(predicted.columns)


def test_a_smiles_column_that_cannot_be_read_is_reported(
    tox21: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_features, "rdkit_available", lambda: False)
    table = read_table(tox21, on_issue="ignore").with_roles({"NR-AhR": "target"})
    _, left_out = _features.select_features(table, "NR-AhR")
    assert left_out["smiles"].startswith("SMILES, but RDKit is not installed")
    assert left_out["mol_id"].startswith("role id")


def test_importance_covers_every_feature_of_a_small_table() -> None:
    _needs(CONCRETE)
    table = read_table(CONCRETE, on_issue="ignore")
    model = train(table, "compressive_strength", budget=8, seed=0)
    measured = set(model.importance["feature"].to_list())  # type: ignore[index]
    assert measured == set(_CONCRETE_FEATURES)  # age, the strongest, among them
    assert model.summary()["importance_measured"] == "8 of 8 features"
