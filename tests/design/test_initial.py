"""Initial designs: space filling, factorial, fractional factorial and D-optimal, inside the space."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from labsight.design.initial import initial_design
from labsight.design.space import space_from_dict
from labsight.exceptions import InputError


def _space(constraints: list[str] | None = None, extra: list[dict] | None = None):  # type: ignore[no-untyped-def]
    return space_from_dict(
        {
            "parameters": [
                {"name": "temperature", "type": "continuous", "bounds": [20, 100]},
                {"name": "time", "type": "continuous", "bounds": [1, 10]},
                {
                    "name": "solvent",
                    "type": "categorical",
                    "values": ["THF", "DMF"],
                    "encoding": "onehot",
                },
                *(extra or []),
            ],
            "objectives": [{"name": "yield", "goal": "maximize"}],
            "constraints": constraints or [],
        }
    )


@pytest.mark.parametrize("method", ["sobol", "lhs"])
def test_space_filling_designs_are_seeded_inside_the_bounds_and_spread(method: str) -> None:
    space = _space()
    a = initial_design(space, 16, method=method, seed=3)
    b = initial_design(space, 16, method=method, seed=3)
    assert a.equals(b)
    assert a.height == 16
    assert a["temperature"].min() >= 20
    assert a["temperature"].max() <= 100
    # Spread: every quarter of the temperature range holds some points.
    quarters = np.floor((a["temperature"].to_numpy() - 20) / 20).astype(int)
    assert set(quarters) == {0, 1, 2, 3}
    assert set(a["solvent"]) == {"THF", "DMF"}


def test_space_filling_points_keep_to_the_constraints() -> None:
    space = _space(["temperature + 10 * time <= 80"])
    design = initial_design(space, 12, method="sobol", seed=0)
    assert design.height == 12
    assert np.all(design["temperature"].to_numpy() + 10 * design["time"].to_numpy() <= 80 + 1e-9)


def test_a_full_factorial_runs_every_corner() -> None:
    design = initial_design(_space(), 0, method="factorial")
    assert design.height == 8
    assert set(design["temperature"]) == {20.0, 100.0}
    three = initial_design(_space(), 0, method="factorial", levels=3)
    assert three.height == 3 * 3 * 2


def test_a_fractional_factorial_halves_the_runs_and_keeps_main_effects_balanced() -> None:
    extra = [
        {"name": "stirring", "type": "discrete", "values": [200.0, 800.0]},
        {"name": "catalyst", "type": "categorical", "values": ["Pd", "Ni"], "encoding": "onehot"},
    ]
    design = initial_design(_space(extra=extra), 0, method="fractional", resolution=4)
    assert design.height == 16  # 2^(5-1)
    for column in ("temperature", "time", "stirring"):
        _values, counts = np.unique(design[column].to_numpy(), return_counts=True)
        assert counts.tolist() == [8, 8]
    assert design["catalyst"].value_counts()["count"].to_list() == [8, 8]


def test_a_fractional_factorial_refuses_factors_with_more_levels() -> None:
    space = _space(
        extra=[
            {"name": "base", "type": "categorical", "values": ["a", "b", "c"], "encoding": "onehot"}
        ]
    )
    with pytest.raises(InputError, match="needs two-level factors; 'base'"):
        initial_design(space, 0, method="fractional")


def test_a_d_optimal_design_for_a_linear_model_takes_the_corners() -> None:
    from labsight.design.initial import _coded

    space = _space()
    design = initial_design(space, 6, method="d-optimal", model="linear", seed=0)
    assert design.height == 6
    temperatures = design["temperature"].to_numpy()
    # A linear model is estimated best at the extremes of each factor (distinct runs: the
    # design does not repeat a point, so a sixth one sits next to a corner).
    assert np.all((np.abs(temperatures - 20) < 2) | (np.abs(temperatures - 100) < 2))

    def information(frame: pl.DataFrame) -> float:
        x = np.column_stack([np.ones(frame.height), _coded(space, frame)])
        return float(np.linalg.det(x.T @ x))

    assert information(design) > 2 * information(initial_design(space, 6, method="sobol", seed=0))


def test_a_d_optimal_design_on_a_discrete_space_picks_distinct_candidates() -> None:
    space = space_from_dict(
        {
            "parameters": [
                {"name": "a", "type": "discrete", "values": [1.0, 2.0, 3.0, 4.0, 5.0]},
                {"name": "b", "type": "discrete", "values": [1.0, 2.0, 3.0, 4.0, 5.0]},
            ],
            "objectives": [{"name": "y", "goal": "maximize"}],
        }
    )
    design = initial_design(space, 9, method="d-optimal", model="quadratic")
    assert design.unique().height == 9
    # A quadratic needs the middle as well as the ends.
    assert 3.0 in design["a"].to_list()
    assert {1.0, 5.0} <= set(design["a"].to_list())


def test_an_unknown_method_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown initial design 'box'"):
        initial_design(_space(), 4, method="box")


def test_a_discrete_space_filling_design_uses_distinct_candidates() -> None:
    space = space_from_dict(
        {
            "parameters": [
                {
                    "name": "s",
                    "type": "categorical",
                    "values": list("abcdefgh"),
                    "encoding": "onehot",
                }
            ],
            "objectives": [{"name": "y", "goal": "maximize"}],
        }
    )
    design = initial_design(space, 5, method="sobol", seed=1)
    assert design.height == 5
    assert design["s"].n_unique() == 5
    assert isinstance(design, pl.DataFrame)
