"""False alarms: tables with nothing wrong must give no finding (or, for gaps, no pattern)."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from labsight.data.quality import check_table, robust_bounds
from labsight.data.table import Table


def make_table(
    data: dict[str, Any], roles: dict[str, Any] | None = None, units: dict[str, str] | None = None
) -> Table:
    return Table.from_frame(pl.DataFrame(data), roles=roles, units=units)  # type: ignore[arg-type]


def clean_lab_table(n: int, seed: int) -> Table:
    rng = np.random.default_rng(seed)
    return make_table(
        {
            "run": np.arange(n),
            "temperature [degC]": rng.normal(80, 5, n),
            "time [min]": rng.uniform(10, 120, n),
            "loading [mol%]": rng.lognormal(0, 0.8, n),
            "colonies": rng.poisson(30, n),
            "catalyst": rng.choice(["Pd(OAc)2", "Pd/C", "Ni(cod)2", "CuI"], n),
            "yield [%]": rng.uniform(5, 95, n),
        },
        roles={"run": "id", "catalyst": "condition", "yield [%]": "target"},
        units={"temperature [degC]": "degC", "time [min]": "min", "yield [%]": "%"},
    )


@pytest.mark.parametrize("n", [20, 50, 200, 2000, 20_000])
@pytest.mark.parametrize("seed", [0, 1])
def test_clean_lab_table_gives_no_finding(n: int, seed: int) -> None:
    report = check_table(clean_lab_table(n, seed))
    assert report.findings == []


def test_multivariate_false_alarms_are_rare() -> None:
    # The design level is a 5 % family-wise rate per table; allow a little sampling slack.
    alarms = sum(
        bool(
            check_table(clean_lab_table(120, seed), checks=["outlier"], multivariate=True).findings
        )
        for seed in range(40)
    )
    assert alarms <= 4


@pytest.mark.parametrize(
    "draw",
    [
        pytest.param(lambda r, n: r.normal(10, 2, n), id="gaussian"),
        pytest.param(lambda r, n: r.uniform(0, 1, n), id="uniform"),
        pytest.param(lambda r, n: r.lognormal(0, 1, n), id="lognormal"),
        pytest.param(lambda r, n: r.poisson(4, n).astype(float), id="poisson-counts"),
        pytest.param(lambda r, n: r.exponential(2, n), id="exponential"),
    ],
)
@pytest.mark.parametrize("n", [20, 100, 1000, 100_000, 1_000_000])
def test_robust_bounds_quiet_on_clean_columns(draw: Any, n: int) -> None:
    x = draw(np.random.default_rng(n), n)
    bounds = robust_bounds(x)
    assert bounds is not None
    assert not bounds.mask(x).any()


def test_mcar_gaps_give_a_missing_finding_without_a_pattern() -> None:
    rng = np.random.default_rng(7)
    table = clean_lab_table(600, 3)
    gaps = rng.random(600) < 0.15
    frame = table.frame.with_columns(
        pl.when(pl.Series(gaps))
        .then(None)
        .otherwise(pl.col("temperature [degC]"))
        .alias("temperature [degC]")
    )
    report = check_table(Table(frame, table.columns))
    [finding] = report.findings
    assert finding.check == "missing"
    assert finding.details["patterns"] == []
    assert finding.rows == np.flatnonzero(gaps).tolist()
    assert " is on " not in finding.message


def test_equally_noisy_replicates_stay_quiet() -> None:
    rng = np.random.default_rng(11)
    batches = np.repeat([f"B{i}" for i in range(30)], 4)
    means = np.repeat(rng.normal(60, 10, 30), 4)
    table = make_table(
        {"batch": batches, "yield": means + rng.normal(0, 2, 120)},
        roles={"batch": "group", "yield": "target"},
    )
    assert check_table(table, checks=["replicate_noise"]).findings == []


def test_balanced_categorical_target_is_quiet() -> None:
    rng = np.random.default_rng(2)
    table = make_table(
        {"x": rng.normal(size=300), "outcome": rng.choice(["pass", "fail", "retest"], 300)},
        roles={"outcome": "target"},
    )
    assert check_table(table).findings == []
