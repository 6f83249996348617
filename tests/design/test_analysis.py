"""Classical analysis on designs whose truth is known: main effects and interactions of a 2³
factorial, and the optimum of a quadratic response surface."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest

from labsight.design.analysis import analyse
from labsight.design.space import space_from_dict
from labsight.exceptions import InputError


def _factorial_space():  # type: ignore[no-untyped-def]
    return space_from_dict(
        {
            "parameters": [
                {"name": "A", "type": "continuous", "bounds": [-1, 1]},
                {"name": "B", "type": "continuous", "bounds": [-1, 1]},
                {"name": "C", "type": "categorical", "values": ["lo", "hi"], "encoding": "onehot"},
            ],
            "objectives": [{"name": "y", "goal": "maximize"}],
        }
    )


def test_a_two_level_factorial_gives_its_main_effects_and_interaction() -> None:
    rows = []
    for a, b, c in itertools.product([-1.0, 1.0], [-1.0, 1.0], ["lo", "hi"]):
        cc = 1.0 if c == "hi" else -1.0
        rows.append({"A": a, "B": b, "C": c, "y": 50 + 10 * a + 3 * b + 1 * cc + 4 * a * b})
    analysis = analyse(_factorial_space(), pl.DataFrame(rows * 2))  # replicated
    effects = {m["parameter"]: m["effect"] for m in analysis.main_effects}
    assert effects["A"] == pytest.approx(20)  # effect = high mean - low mean = 2 × coefficient
    assert effects["B"] == pytest.approx(6)
    assert effects["C"] == pytest.approx(2)
    assert analysis.main_effects[0]["parameter"] == "A"
    ab = next(i for i in analysis.interactions if i["parameters"] == ["A", "B"])
    assert ab["effect"] == pytest.approx(8)  # (ȳ++ − ȳ+- − ȳ-+ + ȳ--)/2 = 2 × 4
    ac = next(i for i in analysis.interactions if i["parameters"] == ["A", "C"])
    assert ac["effect"] == pytest.approx(0)
    assert set(analysis.figures()) >= {"main_effects", "interaction A × B"}


def test_a_response_surface_finds_the_optimum_of_a_quadratic() -> None:
    space = space_from_dict(
        {
            "parameters": [
                {"name": "T", "type": "continuous", "bounds": [20, 100]},
                {"name": "t", "type": "continuous", "bounds": [0, 60]},
            ],
            "objectives": [{"name": "y", "goal": "maximize"}],
        }
    )
    rng = np.random.default_rng(0)
    T = rng.uniform(20, 100, 40)
    t = rng.uniform(0, 60, 40)
    y = 90 - 0.02 * (T - 70) ** 2 - 0.03 * (t - 25) ** 2 + rng.normal(0, 0.3, 40)
    surface = analyse(space, pl.DataFrame({"T": T, "t": t, "y": y})).surface
    assert surface is not None
    assert surface["r2"] > 0.99
    assert surface["optimum"]["conditions"]["T"] == pytest.approx(70, abs=1.5)
    assert surface["optimum"]["conditions"]["t"] == pytest.approx(25, abs=1.5)
    assert surface["optimum"]["predicted"] == pytest.approx(90, abs=0.5)
    assert not surface["optimum"]["beyond_data"]


def test_too_few_results_or_terms_are_said_plainly() -> None:
    space = _factorial_space()
    with pytest.raises(InputError, match="needs at least three results"):
        analyse(space, pl.DataFrame({"A": [0.0], "B": [0.0], "C": ["lo"], "y": [1.0]}))
    few = pl.DataFrame(
        {
            "A": [-1.0, 1.0, 0.0, 0.5],
            "B": [0.0, 0.5, 1.0, -1.0],
            "C": ["lo", "hi", "lo", "hi"],
            "y": [1.0, 2.0, 3.0, 4.0],
        }
    )
    surface = analyse(space, few).surface
    assert surface is not None
    assert not surface["fitted"]
    assert "needs more than" in surface["reason"]
