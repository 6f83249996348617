"""The planner on synthetic problems with known optima: it beats random search, repeats itself for
a seed, never proposes a point twice, and every acquisition in the registry works."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest
import torch

from labsight.design.acquisition import ACQUISITIONS, Context
from labsight.design.planner import fit, propose
from labsight.design.space import Space, space_from_dict
from labsight.design.surrogate import DTYPE, Surrogate, fit_surrogate
from labsight.exceptions import InputError


def _continuous() -> Space:
    return space_from_dict(
        {
            "parameters": [
                {"name": "x1", "type": "continuous", "bounds": [0, 1]},
                {"name": "x2", "type": "continuous", "bounds": [0, 1]},
                {
                    "name": "solvent",
                    "type": "categorical",
                    "values": ["A", "B", "C"],
                    "encoding": "onehot",
                },
            ],
            "objectives": [{"name": "y", "goal": "maximize"}],
        }
    )


def _yield(frame: pl.DataFrame) -> np.ndarray:
    """A smooth bump at (0.7, 0.3) for solvent B (max 100), lower for the others."""
    x1, x2 = frame["x1"].to_numpy(), frame["x2"].to_numpy()
    bonus = np.select(
        [frame["solvent"].to_numpy() == "B", frame["solvent"].to_numpy() == "C"],
        [0.0, -20.0],
        -40.0,
    )
    return 100 * np.exp(-((x1 - 0.7) ** 2 + (x2 - 0.3) ** 2) / 0.08) + bonus


def _loop(
    space: Space, steps: int, acquisition: str | None, seed: int, batch: int = 3
) -> pl.DataFrame:
    observed = pl.DataFrame(
        schema={"x1": pl.Float64, "x2": pl.Float64, "solvent": pl.String, "y": pl.Float64}
    )
    empty = observed.drop("y")
    for step in range(steps):
        proposal = propose(space, observed, empty, batch, seed=seed + step, acquisition=acquisition)
        points = proposal.points.with_columns(pl.Series("y", _yield(proposal.points)))
        observed = pl.concat([observed, points.select(observed.columns)])
    return observed


def test_bayesian_optimisation_finds_the_optimum_faster_than_random_search() -> None:
    space = _continuous()
    bo = [_loop(space, 8, None, seed)["y"].max() for seed in range(3)]
    random = [_loop(space, 8, "random", seed)["y"].max() for seed in range(3)]
    assert np.median(bo) > 90  # within 10 % of the optimum in 24 experiments
    assert np.median(bo) > np.median(random) + 5


def test_the_same_inputs_and_seed_give_the_same_batch() -> None:
    space = _continuous()
    observed = _loop(space, 2, None, 0)
    empty = observed.head(0).drop("y")
    a = propose(space, observed, empty, 4, seed=11)
    b = propose(space, observed, empty, 4, seed=11)
    assert a.points.equals(b.points)
    assert a.method == "qLogNEI"
    assert all(p["y"]["sd"] > 0 for p in a.predictions)


def test_a_discrete_space_is_scored_exactly_and_no_point_comes_twice() -> None:
    space = space_from_dict(
        {
            "parameters": [
                {"name": "a", "type": "discrete", "values": [float(v) for v in range(10)]},
                {"name": "b", "type": "categorical", "values": list("pqrs"), "encoding": "onehot"},
            ],
            "objectives": [{"name": "y", "goal": "minimize"}],
        }
    )
    truth = {(float(a), b): (a - 6) ** 2 + "pqrs".index(b) for a in range(10) for b in "pqrs"}
    observed = pl.DataFrame(schema={"a": pl.Float64, "b": pl.String, "y": pl.Float64})
    seen: set[tuple[float, str]] = set()
    for step in range(6):
        proposal = propose(space, observed, observed.drop("y").head(0), 4, seed=step)
        rows = [(r["a"], r["b"]) for r in proposal.points.to_dicts()]
        assert not seen & set(rows)  # never proposed again
        seen |= set(rows)
        observed = pl.concat(
            [
                observed,
                proposal.points.with_columns(pl.Series("y", [float(truth[r]) for r in rows])),
            ]
        )
    assert observed["y"].min() == 0.0  # the minimum, (6, p), is found within 24 of 40 points


def _grid() -> Space:
    return space_from_dict(
        {
            "parameters": [
                {"name": "a", "type": "discrete", "values": [float(v) for v in range(12)]},
                {"name": "b", "type": "categorical", "values": list("pqr"), "encoding": "onehot"},
            ],
            "objectives": [{"name": "y", "goal": "maximize"}],
        }
    )


def test_a_batch_starts_with_the_best_predicted_point_not_yet_run() -> None:
    # one kernel throughout: which kernel is chosen is not what this is about
    space = dataclasses.replace(_grid(), surrogate={"kernel": "onehot"})
    observed = pl.DataFrame(
        {
            "a": [0.0, 3.0, 5.0, 8.0, 11.0, 4.0, 9.0],
            "b": ["p", "q", "r", "p", "q", "p", "r"],
            "y": [1.0, 6.0, 4.0, 7.0, 2.0, 5.0, 3.0],
        }
    )
    pending = observed.drop("y").head(0)
    proposal = propose(space, observed, pending, 4, seed=3)
    surrogate, encoder = fit(space, observed, seed=3)
    pool = space.enumerate()
    run = {(r["a"], r["b"]) for r in observed.to_dicts()}
    free = pool.filter(~pl.Series([(r["a"], r["b"]) in run for r in pool.to_dicts()]))
    mean, _ = surrogate.posterior(encoder.encode(free))
    first = proposal.points.row(0, named=True)
    assert (first["a"], first["b"]) == tuple(free.row(int(np.argmax(mean[:, 0]))))
    assert [p["best_guess"] for p in proposal.predictions] == [True, False, False, False]
    # The other three are the acquisition's: an improvement-seeking pick is not the mean's
    # runner-up every time.
    ranked = [tuple(free.row(int(i))) for i in np.argsort(-mean[:, 0])[:4]]
    rest = [(r["a"], r["b"]) for r in proposal.points.to_dicts()[1:]]
    assert rest != ranked[1:]
    # While those are pending the next batch is the acquisition's alone: the mean's best of what
    # is left is a near-copy of the guess just made (the mean does not see pending points).
    again = propose(space, observed, proposal.points, 4, seed=3)
    suggested = run | set(rest) | {(first["a"], first["b"])}
    left = [i for i, r in enumerate(free.to_dicts()) if (r["a"], r["b"]) not in suggested]
    after = tuple(free.row(left[int(np.argmax(mean[left, 0]))]))
    assert tuple(again.points.row(0)) != after
    assert not any("best_guess" in p for p in again.predictions)


def test_pending_experiments_are_not_proposed_again() -> None:
    space = _continuous()
    observed = _loop(space, 2, None, 0)
    first = propose(space, observed, observed.head(0).drop("y"), 3, seed=5)
    second = propose(space, observed, first.points, 3, seed=5)
    keys = lambda f: {tuple(r.values()) for r in f.to_dicts()}  # noqa: E731
    assert not keys(first.points) & keys(second.points)


@pytest.mark.parametrize(
    "name", [n for n, a in ACQUISITIONS.items() if a.objectives in ("one", "any")]
)
def test_every_single_objective_acquisition_proposes_a_full_batch(name: str) -> None:
    space = _continuous()
    observed = _loop(space, 2, None, 0)
    proposal = propose(space, observed, observed.head(0).drop("y"), 4, seed=1, acquisition=name)
    assert proposal.points.height == 4
    assert proposal.method == name
    assert proposal.points.unique().height == 4


def _two_objectives() -> Space:
    return space_from_dict(
        {
            "parameters": [{"name": "x", "type": "continuous", "bounds": [0, 1]}],
            "objectives": [
                {"name": "yield", "goal": "maximize", "bounds": [0, 1]},
                {"name": "cost", "goal": "minimize", "bounds": [0, 1]},
            ],
        }
    )


@pytest.mark.parametrize("name", ["qLogNEHVI", "qLogNParEGO"])
def test_several_objectives_get_a_pareto_acquisition(name: str) -> None:
    space = _two_objectives()
    x = np.linspace(0.05, 0.95, 6)
    observed = pl.DataFrame({"x": x, "yield": x, "cost": x**2})  # a trade-off
    proposal = propose(space, observed, observed.head(0).select("x"), 2, seed=0, acquisition=name)
    assert proposal.points.height == 2
    assert set(proposal.predictions[0]) >= {"yield", "cost"}


def test_an_acquisition_for_the_wrong_number_of_objectives_is_refused() -> None:
    space = _two_objectives()
    observed = pl.DataFrame(
        {"x": [0.1, 0.5, 0.9], "yield": [0.1, 0.5, 0.9], "cost": [0.0, 0.2, 0.8]}
    )
    with pytest.raises(InputError, match="qLogNEI is for one objective, and the space has 2"):
        propose(space, observed, observed.head(0).select("x"), 2, acquisition="qLogNEI")
    with pytest.raises(InputError, match="unknown acquisition 'EI'"):
        propose(space, observed, observed.head(0).select("x"), 2, acquisition="EI")


def test_partial_results_count_for_the_objective_they_measured() -> None:
    space = _two_objectives()
    observed = pl.DataFrame(
        {
            "x": [0.1, 0.3, 0.5, 0.7],
            "yield": [0.1, 0.3, None, 0.7],
            "cost": [0.01, None, 0.25, 0.49],
        }
    )
    proposal = propose(space, observed, observed.head(0).select("x"), 2, seed=0)
    assert proposal.method == "qLogNEHVI"  # each objective has two results: the model is fitted


def test_before_two_results_the_initial_design_is_used() -> None:
    space = _continuous()
    proposal = propose(
        space,
        pl.DataFrame(
            schema={"x1": pl.Float64, "x2": pl.Float64, "solvent": pl.String, "y": pl.Float64}
        ),
        pl.DataFrame(schema={"x1": pl.Float64, "x2": pl.Float64, "solvent": pl.String}),
        5,
        seed=0,
    )
    assert proposal.method == "initial:sobol"
    assert proposal.points.height == 5


def test_a_space_with_numbers_keeps_to_its_initial_design_until_a_result_per_parameter_and_one() -> (
    None
):
    """Three parameters: three results (two would do for a table) still give initial points, four
    give the model's; a GP learns a length scale per number and a weight per choice."""
    space = _continuous()
    observed = _loop(space, 1, None, seed=0)  # three initial points with their results
    assert observed.height == 3
    pending = observed.head(0).drop("y")
    early = propose(space, observed, pending, 2, seed=1)
    assert early.method == "initial:sobol"
    seen = set(observed.select("x1", "x2", "solvent").rows())
    assert not seen & set(early.points.select("x1", "x2", "solvent").rows())
    more = early.points.with_columns(pl.Series("y", _yield(early.points)))
    assert (
        propose(space, pl.concat([observed, more.head(1)]), pending, 2, seed=1).method == "qLogNEI"
    )
    table = space_from_dict(
        {
            "parameters": [
                {"name": "x", "type": "discrete", "values": [0.1, 0.3, 0.5, 0.7, 0.9]},
                {"name": "z", "type": "discrete", "values": [1, 2, 3]},
                {"name": "s", "type": "categorical", "values": ["A", "B"]},
            ],
            "objectives": [{"name": "y", "goal": "maximize"}],
        }
    )
    two = pl.DataFrame({"x": [0.1, 0.9], "z": [1, 3], "s": ["A", "B"], "y": [1.0, 2.0]})
    assert propose(table, two, two.head(0).drop("y"), 1, seed=0).method == "qLogNEI"


def test_candidates_are_suggested_exactly_as_listed_and_only_once() -> None:
    """Measured conditions (a table's times of 1.3467 min…) are what the lab can run: suggestions
    keep their every digit, so none falls off the list or comes back rounded as a 'new' point."""
    rng = np.random.default_rng(3)
    times = np.round(rng.uniform(1, 10, 12), 4)
    temps = np.round(rng.uniform(30, 110, 12), 3)
    candidates = {"time": times.tolist(), "temperature": temps.tolist()}
    space = space_from_dict(
        {
            "parameters": [
                {"name": "time", "type": "continuous", "bounds": [1, 10]},
                {"name": "temperature", "type": "continuous", "bounds": [30, 110]},
            ],
            "candidates": candidates,
            "objectives": [{"name": "y", "goal": "maximize"}],
        }
    )
    listed = set(zip(times.tolist(), temps.tolist(), strict=True))
    observed = pl.DataFrame(schema={"time": pl.Float64, "temperature": pl.Float64, "y": pl.Float64})
    for step in range(4):
        proposal = propose(space, observed, observed.drop("y").head(0), 3, seed=step)
        rows = [(r["time"], r["temperature"]) for r in proposal.points.to_dicts()]
        assert set(rows) <= listed  # exactly the listed values
        observed = pl.concat(
            [observed, proposal.points.with_columns(pl.Series("y", [t * 0.1 + c for t, c in rows]))]
        )
    assert observed.select("time", "temperature").n_unique() == 12  # all twelve, none twice


def _narrow_bump_surrogate() -> tuple[Surrogate, torch.Tensor]:
    """A GP on a narrow bump at x = 0.537 (column 0), with a 0/1 'choice' column that adds 0.5,
    and a coarse grid of candidates around it that misses the peak."""
    x = np.array([[v, c] for v in (0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0) for c in (0.0, 1.0)])
    y = np.exp(-((x[:, 0] - 0.537) ** 2) / 0.01) + 0.5 * x[:, 1]
    grid = torch.as_tensor([[v, c] for v in np.linspace(0, 1, 11) for c in (0.0, 1.0)], dtype=DTYPE)
    return fit_surrogate(x, y[:, None], [], seed=0), grid


def test_gradient_steps_move_a_pick_past_the_candidates_to_the_peak() -> None:
    surrogate, grid = _narrow_bump_surrogate()
    used = np.zeros(len(grid), dtype=bool)
    select = ACQUISITIONS["qLogNEI"].select
    with torch.random.fork_rng():
        torch.manual_seed(0)
        [on_grid], [grid_value] = select(Context(surrogate, None, 0), grid.clone(), 1, used)
    pool = grid.clone()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        [pick], [value] = select(Context(surrogate, None, 0, movable=[0]), pool, 1, used)
    assert float(grid[on_grid, 1]) == 1.0  # the pass chose the better choice
    assert pick == on_grid  # the pick is the pass's, moved in place
    assert float(pool[pick, 1]) == 1.0  # its choice held
    assert float(pool[pick, 0]) not in {round(v, 1) for v in np.linspace(0, 1, 11)}
    assert abs(float(pool[pick, 0]) - 0.537) < abs(float(grid[on_grid, 0]) - 0.537)
    assert value > grid_value


def test_a_polished_pick_keeps_to_the_constraints() -> None:
    surrogate, grid = _narrow_bump_surrogate()
    grid = grid[grid[:, 0] <= 0.52]  # the candidates keep to the constraint
    used = np.zeros(len(grid), dtype=bool)

    def allowed(x: torch.Tensor, rows: list[int]) -> np.ndarray:
        return (x[:, 0] <= 0.52).numpy()  # the peak, 0.537, is out of bounds

    pool = grid.clone()
    [pick], _ = ACQUISITIONS["qLogNEI"].select(
        Context(surrogate, None, 0, movable=[0], allowed=allowed), pool, 1, used
    )
    assert float(pool[pick, 0]) <= 0.52
    assert float(pool[pick, 0]) > 0.5  # moved from the grid's 0.5 towards the peak, no further


def test_a_continuous_batch_lands_closer_to_a_narrow_optimum_than_its_candidates() -> None:
    """End to end: with a constraint that cuts the bump at (0.7, 0.3) in half, the points
    proposed keep to it, and the best of them comes closer to the peak than any Sobol
    candidate of the pool could be expected to alone (and by more than its rounding)."""
    space = space_from_dict(
        {
            "parameters": [
                {"name": "x1", "type": "continuous", "bounds": [0, 1]},
                {"name": "x2", "type": "continuous", "bounds": [0, 1]},
            ],
            "constraints": ["x1 <= 0.69"],
            "objectives": [{"name": "y", "goal": "maximize"}],
        }
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 0.69, (12, 2))
    observed = pl.DataFrame({"x1": x[:, 0], "x2": x[:, 1]})
    observed = observed.with_columns(
        pl.Series("y", 100 * np.exp(-((x[:, 0] - 0.7) ** 2 + (x[:, 1] - 0.3) ** 2) / 0.08))
    )
    proposal = propose(space, observed, observed.head(0).drop("y"), 3, seed=0)
    points = proposal.points
    assert (points["x1"] <= 0.69).all()
    assert points["x1"].max() > 0.66  # pushed against the constraint, towards the peak


def test_a_batch_holds_no_near_copies_unless_replicates_are_asked_for() -> None:
    from labsight.design.planner import NEAR, NEAR_RUN

    space = space_from_dict(
        {
            "parameters": [{"name": "x", "type": "continuous", "bounds": [0, 1]}],
            "objectives": [{"name": "y", "goal": "maximize"}],
        }
    )
    x = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 1.0])
    observed = pl.DataFrame({"x": x, "y": np.exp(-(((x - 0.5) / 0.05) ** 2))})  # a sharp peak
    empty = observed.head(0).drop("y")

    def closest(replicates: bool) -> tuple[float, float]:
        """The batch's closest pair of its own points, and its closest point to a run."""
        b = propose(space, observed, empty, 6, seed=0, replicates=replicates).points["x"]
        b = b.to_numpy()
        within = min(float(np.min(np.abs(np.delete(b, i) - v))) for i, v in enumerate(b))
        return within, float(np.min(np.abs(b[:, None] - x[None, :])))

    # left to itself the acquisition piles every pick onto the peak; the batch spreads instead
    assert min(closest(replicates=True)) < NEAR / 2
    within, to_run = closest(replicates=False)
    assert within >= NEAR - 1e-3  # rounding to the step may touch the edge
    assert to_run >= NEAR_RUN - 1e-3


def test_a_run_point_may_be_refined_but_not_repeated() -> None:
    """Beside a point already run the rule is NEAR_RUN, not NEAR: its result is known, so a
    step towards a peak next to it is a refinement (with NEAR there, Branin stopped short)."""
    from labsight.design.planner import NEAR, NEAR_RUN

    space = space_from_dict(
        {
            "parameters": [{"name": "x", "type": "continuous", "bounds": [0, 1]}],
            "objectives": [{"name": "y", "goal": "maximize"}],
        }
    )
    x = np.linspace(0.0, 1.0, 21)  # 0.5 is run; the peak is at 0.508
    observed = pl.DataFrame({"x": x, "y": np.exp(-(((x - 0.508) / 0.08) ** 2))})
    empty = observed.head(0).drop("y")
    picked = float(propose(space, observed, empty, 1, seed=0).points["x"][0])
    assert NEAR_RUN - 1e-3 <= abs(picked - 0.5) < NEAR
    assert abs(picked - 0.508) < abs(0.5 - 0.508)  # closer to the peak than the run point


def test_the_kernel_is_chosen_by_leave_one_out_once_there_are_enough_results() -> None:
    from labsight.design.planner import MIN_COMPARED

    space = _continuous()
    few = _loop(space, 2, None, 0)  # 6 results: too few to compare
    surrogate, _ = fit(space, few, seed=0)
    assert (surrogate.chosen_by, surrogate.compared) == ("default", None)
    many = _loop(space, 4, None, 0)
    assert many.height >= MIN_COMPARED
    surrogate, encoder = fit(space, many, seed=0)
    assert surrogate.chosen_by == "leave-one-out"
    assert surrogate.compared is not None
    assert set(surrogate.compared) == {"mixed", "onehot"}
    assert surrogate.compared[surrogate.kernel] == max(surrogate.compared.values())
    assert encoder.categorical_kernel == (surrogate.kernel == "mixed")
    asked = fit(dataclasses.replace(space, surrogate={"kernel": "onehot"}), many, seed=0)[0]
    assert (asked.kernel, asked.chosen_by) == ("onehot", "asked")
    # a space of numbers only has one kernel to use
    numbers = space_from_dict(
        {
            "parameters": [
                {"name": "x1", "type": "continuous", "bounds": [0, 1]},
                {"name": "x2", "type": "continuous", "bounds": [0, 1]},
            ],
            "objectives": [{"name": "y", "goal": "maximize"}],
        }
    )
    plain = fit(numbers, many.drop("solvent"), seed=0)[0]
    assert (plain.kernel, plain.compared) == ("onehot", None)


def test_a_batch_takes_one_point_per_combination_of_choices() -> None:
    space = space_from_dict(
        {
            "parameters": [
                {"name": "x", "type": "continuous", "bounds": [0, 1]},
                {"name": "solvent", "type": "categorical", "values": ["A", "B", "C"]},
            ],
            "objectives": [{"name": "y", "goal": "maximize"}],
        }
    )
    rows = [{"x": x, "solvent": s, "y": 0.0} for x in np.linspace(0, 1, 6) for s in ("A", "C")]
    rows += [
        {"x": x, "solvent": "B", "y": float(np.exp(-(((x - 0.5) / 0.2) ** 2)))}
        for x in (0.1, 0.3, 0.45, 0.7, 0.9)
    ]
    observed = pl.DataFrame(rows)
    empty = observed.head(0).drop("y")
    crowded = propose(space, observed, empty, 3, seed=0, replicates=True).points
    assert crowded["solvent"].n_unique() < 3  # left alone, two picks share a solvent
    batch = propose(space, observed, empty, 3, seed=0).points
    assert sorted(batch["solvent"].to_list()) == ["A", "B", "C"]
