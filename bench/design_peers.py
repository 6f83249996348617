"""The design benchmark's loops for BayBE and Ax, run in their own venvs (numpy and pandas only
besides the tool).

The driver (:func:`bench.design.export`) writes each problem as ``spec.json`` (parameters with their
descriptors, objectives, budget, the top-1 % target, the hypervolume reference) and, for table
problems, ``pool.csv`` (conditions and results). A loop here reads them, asks the tool for batches of
5, answers from the pool (or the synthetic function) and scores with :mod:`bench.design_score`, so
every method is measured the same way.

* **BayBE**: its default campaign (random initial batch, then its BoTorch recommender), a discrete
  search space built from the pool (``SearchSpace.from_dataframe``), descriptor choices as
  ``CustomDiscreteParameter`` (the same DFT descriptors labsight gets), other choices one-hot;
  synthetic problems as continuous and categorical parameters.
* **Ax**: its default generation strategy (Sobol, then BoTorch); choices as choice parameters and
  numbers as ranges; on a pool that is not a full factorial, each suggestion is taken to the nearest
  untried pool point (in the coordinates scaled to [0, 1]).

``python -m bench.design_peers TOOL SPEC SEED`` prints one JSON line; ``python -m bench.design_peers
speed TOOL SPEC REPEATS BATCH`` times one recommendation (see :mod:`bench.design_speed`).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench import design_score

BATCH = 5
CHECK_AT = 50


class _Oracle:
    """The pool (or the synthetic function) and the scoring of one problem."""

    def __init__(self, spec: dict[str, Any], folder: Path) -> None:
        self.spec = spec
        self.names = [p["name"] for p in spec["parameters"]]
        self.objectives = spec["objectives"]
        self.pool = (
            pd.read_csv(folder / "pool.csv", keep_default_na=False) if spec["pooled"] else None
        )
        if self.pool is not None:
            for p in spec["parameters"]:
                if p["type"] in ("categorical", "molecule"):
                    self.pool[p["name"]] = self.pool[p["name"]].astype(str)
        self.ref = np.asarray(spec["ref"]) if spec.get("ref") is not None else None
        self.total = spec.get("total")

    def run(self, points: pd.DataFrame) -> pd.DataFrame:
        if self.pool is None:
            formula = getattr(design_score, self.spec["function"])
            values = formula({c: points[c].to_numpy() for c in self.names})
            return pd.DataFrame({self.objectives[0]["name"]: values})
        keys = points[self.names].copy()
        merged = keys.merge(self.pool, on=self.names, how="left")
        return merged[[o["name"] for o in self.objectives]].reset_index(drop=True)

    def signed(self, frame: pd.DataFrame) -> np.ndarray:
        return np.column_stack(
            [
                (1.0 if o["goal"] == "maximize" else -1.0) * frame[o["name"]].to_numpy(dtype=float)
                for o in self.objectives
            ]
        )


def _loop(oracle: _Oracle, recommend: Any, record: Any) -> dict[str, Any]:
    spec = oracle.spec
    target, budget = spec["target"], spec["budget"]
    observed = pd.DataFrame()
    trace: list[float] = []
    seconds: list[float] = []
    reached = None
    while len(observed) < budget:
        start = time.perf_counter()
        points = recommend(min(BATCH, budget - len(observed)))
        seconds.append(time.perf_counter() - start)
        if len(points) == 0:  # the tool proposes nothing more: the loop ends where it is
            break
        results = oracle.run(points)
        batch = pd.concat([points[oracle.names].reset_index(drop=True), results], axis=1)
        record(batch)
        for i in range(len(batch)):
            observed = pd.concat([observed, batch.iloc[[i]]], ignore_index=True)
            value = design_score.progress(oracle.signed(observed), oracle.ref, oracle.total)
            trace.append(value)
            if reached is None and value >= target - 1e-9:
                reached = len(observed)
        if reached is not None and len(observed) >= CHECK_AT:
            break
    return {
        "reached": reached,
        "budget": budget,
        "best_at_50": trace[min(CHECK_AT, len(trace)) - 1],
        "suggest_s": float(np.median(seconds[1:] if len(seconds) > 1 else seconds)),
        "experiments": len(observed),
    }


Tool = tuple[Any, Any, Any]  # recommend(n) -> points, record(batch), prime(results)


def _baybe(oracle: _Oracle, seed: int) -> Tool:
    from baybe import Campaign
    from baybe.objectives import ParetoObjective, SingleTargetObjective
    from baybe.parameters import (
        CategoricalParameter,
        CustomDiscreteParameter,
        NumericalContinuousParameter,
        NumericalDiscreteParameter,
    )
    from baybe.searchspace import SearchSpace
    from baybe.targets import NumericalTarget
    from baybe.utils.random import set_random_seed

    set_random_seed(seed)
    spec = oracle.spec
    parameters = []
    for p in spec["parameters"]:
        if p["type"] in ("categorical", "molecule"):
            if p.get("descriptors"):
                data = pd.DataFrame(p["descriptors"], index=p["descriptor_names"]).T
                data = data.loc[:, data.nunique() > 1]  # BayBE refuses constant columns
                parameters.append(CustomDiscreteParameter(p["name"], data=data))
            else:
                parameters.append(
                    CategoricalParameter(
                        p["name"], values=[str(v) for v in p["values"]], encoding="OHE"
                    )
                )
        elif oracle.pool is not None:
            parameters.append(
                NumericalDiscreteParameter(
                    p["name"], values=sorted(oracle.pool[p["name"]].unique().tolist())
                )
            )
        elif p["type"] == "continuous":
            parameters.append(NumericalContinuousParameter(p["name"], bounds=tuple(p["bounds"])))
        else:
            parameters.append(NumericalDiscreteParameter(p["name"], values=p["values"]))
    if oracle.pool is not None:
        searchspace = SearchSpace.from_dataframe(oracle.pool[oracle.names], parameters=parameters)
    else:
        searchspace = SearchSpace.from_product(parameters)
    targets = [
        NumericalTarget(o["name"], minimize=o["goal"] == "minimize") for o in oracle.objectives
    ]
    objective = SingleTargetObjective(targets[0]) if len(targets) == 1 else ParetoObjective(targets)
    campaign = Campaign(searchspace, objective)

    def recommend(n: int) -> pd.DataFrame:
        return campaign.recommend(batch_size=n).reset_index(drop=True)

    def record(batch: pd.DataFrame) -> None:
        campaign.add_measurements(batch)

    return recommend, record, record


def _ax(oracle: _Oracle, seed: int) -> Tool:
    from ax import ChoiceParameterConfig, Client, RangeParameterConfig

    spec = oracle.spec
    client = Client(random_seed=seed)
    configs: list[Any] = []
    scale: dict[str, tuple[float, float]] = {}
    for p in spec["parameters"]:
        if p["type"] in ("categorical", "molecule"):
            configs.append(
                ChoiceParameterConfig(
                    name=p["name"],
                    parameter_type="str",
                    values=[str(v) for v in p["values"]],
                    is_ordered=False,
                )
            )
        elif oracle.pool is not None or p["type"] == "discrete":
            values = (
                sorted(oracle.pool[p["name"]].unique().tolist())
                if oracle.pool is not None
                else p["values"]
            )
            low, high = float(min(values)), float(max(values))
            scale[p["name"]] = (low, high)
            if len(values) <= 12:
                configs.append(
                    ChoiceParameterConfig(
                        name=p["name"],
                        parameter_type="float",
                        values=[float(v) for v in values],
                        is_ordered=True,
                    )
                )
            else:
                configs.append(
                    RangeParameterConfig(name=p["name"], parameter_type="float", bounds=(low, high))
                )
        else:
            scale[p["name"]] = (float(p["bounds"][0]), float(p["bounds"][1]))
            configs.append(
                RangeParameterConfig(
                    name=p["name"],
                    parameter_type="float",
                    bounds=tuple(float(b) for b in p["bounds"]),
                )
            )
    client.configure_experiment(parameters=configs)
    # Metrics get neutral names: Ax parses the objective with sympy, which rejects "yield".
    metric = {o["name"]: f"objective_{i}" for i, o in enumerate(oracle.objectives)}
    terms = [
        ("-" if o["goal"] == "minimize" else "") + metric[o["name"]] for o in oracle.objectives
    ]
    client.configure_optimization(objective=", ".join(terms))
    used: set[int] = set()
    pending: dict[int, int] = {}

    def snap(point: dict[str, Any]) -> dict[str, Any]:
        """The nearest untried pool point (exact when the pool holds the point)."""
        assert oracle.pool is not None
        pool = oracle.pool
        distance = np.zeros(len(pool))
        for p in spec["parameters"]:
            name = p["name"]
            if name in scale:
                low, high = scale[name]
                distance += (
                    (pool[name].to_numpy(dtype=float) - float(point[name])) / max(high - low, 1e-12)
                ) ** 2
            else:
                distance += (pool[name].to_numpy() != str(point[name])).astype(float)
        distance[list(used)] = np.inf
        i = int(np.argmin(distance))
        used.add(i)
        return {n: pool.iloc[i][n] for n in oracle.names}

    def recommend(n: int) -> pd.DataFrame:
        trials = client.get_next_trials(max_trials=n)
        rows = []
        for index, params in list(trials.items())[:n]:
            point = snap(params) if oracle.pool is not None else dict(params)
            exact = all(
                (abs(float(point[k]) - float(params[k])) < 1e-9)
                if k in scale
                else str(point[k]) == str(params[k])
                for k in oracle.names
            )
            if not exact:
                # Ax learns from what was run: the asked trial is abandoned and the pool point that
                # was run is attached in its place.
                client.mark_trial_abandoned(trial_index=index)
                index = client.attach_trial(
                    parameters={
                        k: (float(point[k]) if k in scale else str(point[k])) for k in oracle.names
                    }
                )
            pending[len(rows)] = index
            rows.append(point)
        return pd.DataFrame(rows)

    def record(batch: pd.DataFrame) -> None:
        for j, index in list(pending.items()):
            row = batch.iloc[j]
            client.complete_trial(
                trial_index=index,
                raw_data={metric[o["name"]]: float(row[o["name"]]) for o in oracle.objectives},
            )
        pending.clear()

    def prime(results: pd.DataFrame) -> None:
        """Results of conditions Ax did not suggest, attached as completed trials."""
        for row in results.to_dict("records"):
            index = client.attach_trial(
                parameters={k: (float(row[k]) if k in scale else str(row[k])) for k in oracle.names}
            )
            client.complete_trial(
                trial_index=index,
                raw_data={metric[o["name"]]: float(row[o["name"]]) for o in oracle.objectives},
            )

    return recommend, record, prime


TOOLS = {"baybe": _baybe, "ax": _ax}


def speed(tool: str, spec_path: Path, repeats: int, batch: int) -> dict[str, Any]:
    """Seconds of one recommendation of ``batch`` after the results in ``observed.csv`` were
    added, for ``repeats`` fresh campaigns in this (warm) process."""
    spec = json.loads(spec_path.read_text())
    oracle = _Oracle(spec, spec_path.parent)
    observed = pd.read_csv(spec_path.parent / "observed.csv", keep_default_na=False)
    for p in spec["parameters"]:
        if p["type"] in ("categorical", "molecule"):
            observed[p["name"]] = observed[p["name"]].astype(str)
    seconds = []
    for repeat in range(repeats):
        recommend, _, prime = TOOLS[tool](oracle, repeat)
        prime(observed)
        start = time.perf_counter()
        points = recommend(batch)
        seconds.append(time.perf_counter() - start)
        assert len(points) == batch, points
    return {"tool": tool, "case": spec["key"], "seconds": seconds}


def main() -> None:
    warnings.simplefilter("ignore")
    import logging

    logging.disable(logging.WARNING)
    if sys.argv[1] == "speed":
        tool, spec_path = sys.argv[2], Path(sys.argv[3])
        print(json.dumps(speed(tool, spec_path, int(sys.argv[4]), int(sys.argv[5]))))
        return
    tool, spec_path, seed = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    spec = json.loads(spec_path.read_text())
    oracle = _Oracle(spec, spec_path.parent)
    recommend, record, _ = TOOLS[tool](oracle, seed)
    result = _loop(oracle, recommend, record)
    from importlib.metadata import version

    package = {"baybe": "baybe", "ax": "ax-platform"}[tool]
    print(
        json.dumps(
            {"problem": spec["key"], "method": tool, "seed": seed, **result}
            | {"version": version(package)}
        )
    )


if __name__ == "__main__":
    main()
