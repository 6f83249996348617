"""`labsight cluster` and `labsight embed` on a real workspace: labels become a new, audited
dataset version; embeddings are written as CSV."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import labsight
from labsight.cli import main


@pytest.fixture
def sensors(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    centres = [(20.0, 400.0), (35.0, 900.0), (50.0, 600.0)]
    rows = [(t + rng.normal(0, 1), c + rng.normal(0, 20)) for t, c in centres for _ in range(40)]
    path = tmp_path / "sensors.csv"
    pl.DataFrame(rows, schema=["temperature [degC]", "co2 [ppm]"], orient="row").write_csv(path)
    return path


def test_cluster_writes_labels_as_a_new_version_and_embed_writes_csv(
    tmp_path: Path, sensors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    ws = labsight.Workspace(home, user="tester")
    ws.ingest(sensors, name="sensors")
    code = main(["--home", str(home), "cluster", "sensors", "--k", "auto", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["k"] == 3
    assert len(result["profiles"]) == 3
    latest = ws.dataset("sensors")
    assert latest.record.operation == "cluster"
    assert latest.record.number == 2
    labels = latest.to_polars()["cluster"].to_numpy()
    truth = np.repeat([0, 1, 2], 40)
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, labels) > 0.95
    assert [e.action for e in ws.audit.entries()][-1] == "dataset.cluster"
    out_csv = tmp_path / "embedding.csv"
    code = main(["--home", str(home), "embed", "sensors", "--method", "pca", "--out", str(out_csv)])
    assert code == 0
    frame = pl.read_csv(out_csv)
    assert frame.columns == ["row", "dim1", "dim2"]
    assert frame.height == 120


def test_cluster_with_a_bad_k_is_one_line_exit_2(
    tmp_path: Path, sensors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    labsight.Workspace(home, user="tester").ingest(sensors, name="sensors")
    assert main(["--home", str(home), "cluster", "sensors", "--k", "many"]) == 2
    assert main(["--home", str(home), "cluster", "sensors", "--k", "1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
