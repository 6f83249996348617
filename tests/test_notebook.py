"""What labsight's objects show in a notebook: a quality report, a dataset version, a model and a
campaign each render as a small HTML table (``_repr_html_``), with user text escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

import labsight
from labsight.store.entities import ModelRecord

EVIL = "<script>alert(1)</script>"


def _table_file(tmp_path: Path) -> Path:
    path = tmp_path / "runs.csv"
    pl.DataFrame(
        {
            "temperature [degC]": [60.0, 70.0, 80.0, 90.0, 100.0, 1000.0],
            EVIL: ["a", "b", "a", "b", "a", "b"],
            "yield [%]": [41.5, 48.0, 55.2, 61.9, 58.3, 163.4],  # above 100 %
        }
    ).write_csv(path)
    return path


def test_a_dataset_version_and_its_quality_report_show_as_html(
    ws: labsight.Workspace, tmp_path: Path
) -> None:
    ds = ws.ingest(_table_file(tmp_path), name="runs")
    page = ds._repr_html_()
    assert "<table>" in page
    assert f"{ds.ref} (v1)" in page
    assert "<td>temperature [degC]</td><td>degC</td>" in page
    assert EVIL not in page
    assert "&lt;script&gt;" in page
    report = ds.quality()
    page = report._repr_html_()
    assert "Quality report: 6 rows × 3 columns" in page
    assert "<th>finding</th>" in page
    assert report.findings
    assert report.findings[0].check in page
    assert EVIL not in page


def test_a_model_shows_its_scores_intervals_and_leaderboard() -> None:
    record = ModelRecord(
        model_id="3f2a9c1d0b1e2f3a",
        name="runs-yield",
        number=2,
        dataset="runs@5c1e0a77d2b94f31",
        target="yield [%]",
        task="regression",
        metric="r2",
        cv_mean=0.8123456,
        cv_std=0.0456,
        family="lightgbm",
        stage="validated",
        sha256="0" * 64,
        summary={
            "cv": {"mean": 0.8123456, "std": 0.0456, "scheme": "5-fold × 3 repeats"},
            "interval": {"level": 0.9, "method": "cv+", "coverage": 0.91},
            "leaderboard": [
                {"family": "lightgbm", "mean": 0.8123456, "std": 0.0456, "fit_seconds": 0.1},
                {"family": EVIL, "mean": 0.7, "std": 0.05, "fit_seconds": 0.2},
            ],
        },
        created=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
        created_by="chemist",
    )
    page = record._repr_html_()
    assert "Model runs-yield@v2" in page
    assert "CV r2 0.8123 ± 0.046 (5-fold × 3 repeats)" in page
    assert "90% prediction intervals (cv+) covered 91%" in page
    assert "<td>lightgbm</td><td>0.8123</td>" in page
    assert EVIL not in page


def test_a_campaign_shows_its_progress_and_best_result(
    ws: labsight.Workspace, tmp_path: Path
) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(
        "parameters:\n"
        "  - {name: temperature, type: continuous, bounds: [25, 130], unit: degC}\n"
        f"  - {{name: ligand, type: categorical, values: ['{EVIL}', XPhos]}}\n"
        "objectives:\n  - {name: yield, goal: maximize, unit: '%'}\n"
    )
    campaign = ws.new_campaign("suzuki", space)
    assert "0 results of 0 experiments" in campaign._repr_html_()
    campaign.record(
        pl.DataFrame(
            {
                "temperature [degC]": [40.0, 90.0],
                "ligand": [EVIL, "XPhos"],
                "yield [%]": [81.0, 55.0],
            }
        )
    )
    page = ws.campaign("suzuki")._repr_html_()
    assert "Campaign suzuki" in page
    assert "2 results of 2 experiments; 0 pending" in page
    assert "<td>yield [%]</td><td>81</td><td>E001</td>" in page
    assert EVIL not in page
    assert "&lt;script&gt;" in page
