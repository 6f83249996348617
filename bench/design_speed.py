"""Design speed benchmark: the seconds one suggestion of a batch of 5 takes, side by side.

Two inputs, as issue #5 states them, each with 50 recorded results:

* ``discrete``: 4,000 candidates enumerated exactly (catalyst: 10 choices, base: 4 choices,
  temperature: 10 set points, concentration: 10 set points), the results from a reaction-like
  function at 50 random candidates;
* ``mixed``: six parameters (four continuous, two choices of 4 and 3 levels), 50 random points.

labsight is timed through the Python API a user calls (``Campaign.suggest(5)`` on a campaign in a
fresh workspace that holds the 50 results: store reads, surrogate fit, acquisition over every
candidate, store writes); BayBE (``Campaign.recommend``) and Ax (``Client.get_next_trials``) through
theirs, with the same 50 results added first. Each repeat builds a fresh campaign in the same warm
process, so imports are not timed.

``python -m bench.design_speed labsight CASE`` prints one JSON line; the peers run
``python -m bench.design_peers speed TOOL SPEC`` in their venvs. The driver is
``python bench/run.py --only design_speed``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

BATCH = 5
RESULTS = 50
REPEATS = 3
CASES = {
    "discrete": "4,000 discrete candidates (2 choices, 2 set-point lists), 50 results",
    "mixed": "6-parameter mixed space (4 continuous, 2 choices), 50 results",
}
_CATALYSTS = [f"cat{i}" for i in range(10)]
_BASES = ["K2CO3", "Cs2CO3", "Et3N", "DBU"]


def parameters(case: str) -> list[dict[str, Any]]:
    """The space of ``case`` as labsight space parameters (the peers read the same list)."""
    if case == "discrete":
        return [
            {"name": "catalyst", "type": "categorical", "values": _CATALYSTS},
            {"name": "base", "type": "categorical", "values": _BASES},
            {
                "name": "temperature",
                "type": "discrete",
                "values": [float(t) for t in range(30, 130, 10)],
            },
            {
                "name": "concentration",
                "type": "discrete",
                "values": [round(0.1 * k, 1) for k in range(1, 11)],
            },
        ]
    return [
        {"name": "temperature", "type": "continuous", "bounds": [25.0, 150.0]},
        {"name": "time", "type": "continuous", "bounds": [5.0, 240.0]},
        {"name": "loading", "type": "continuous", "bounds": [0.5, 10.0]},
        {"name": "concentration", "type": "continuous", "bounds": [0.05, 1.0]},
        {"name": "catalyst", "type": "categorical", "values": _CATALYSTS[:4]},
        {"name": "base", "type": "categorical", "values": _BASES[:3]},
    ]


def _response(columns: dict[str, np.ndarray]) -> np.ndarray:
    """A reaction-like yield: a smooth bump in the numbers plus an effect of each choice."""
    t = np.asarray(columns["temperature"], dtype=float)
    c = np.asarray(columns["concentration"], dtype=float)
    cat = np.array([int(str(v)[3:]) for v in columns["catalyst"]])
    base = np.array([_BASES.index(str(v)) for v in columns["base"]])
    value = 70 * np.exp(-(((t - 90) / 30) ** 2) - ((c - 0.6) / 0.3) ** 2) + 2.0 * cat - 3.0 * base
    if "loading" in columns:
        value += 5 * np.log(np.asarray(columns["loading"], dtype=float))
    return np.asarray(value)


def write(case: str, folder: Path, seed: int = 0) -> Path:
    """Write ``case`` for every tool: ``spec.json``, ``observed.csv`` (the 50 results) and, for
    the discrete case, ``pool.csv`` (every candidate). Needs only numpy (runs in the driver)."""
    import csv
    import itertools

    rng = np.random.default_rng(seed)
    params = parameters(case)
    names = [p["name"] for p in params]
    folder.mkdir(parents=True, exist_ok=True)
    if case == "discrete":
        pool = list(itertools.product(*(p["values"] for p in params)))
        columns = {n: np.array([row[i] for row in pool]) for i, n in enumerate(names)}
        with (folder / "pool.csv").open("w", newline="") as handle:
            out = csv.writer(handle)
            out.writerow([*names, "yield"])
            out.writerows([*row, y] for row, y in zip(pool, _response(columns), strict=True))
        chosen = rng.choice(len(pool), RESULTS, replace=False)
        rows = [pool[i] for i in chosen]
    else:
        rows = []
        for _ in range(RESULTS):
            row: list[Any] = []
            for p in params:
                if p["type"] == "continuous":
                    row.append(float(rng.uniform(*p["bounds"])))
                else:
                    row.append(str(rng.choice(p["values"])))
            rows.append(tuple(row))
    observed = {n: np.array([row[i] for row in rows]) for i, n in enumerate(names)}
    with (folder / "observed.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow([*names, "yield"])
        out.writerows([*row, y] for row, y in zip(rows, _response(observed), strict=True))
    spec = {
        "key": case,
        "parameters": params,
        "objectives": [{"name": "yield", "goal": "maximize"}],
        "pooled": case == "discrete",
    }
    path = folder / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def labsight(spec_path: Path) -> dict[str, Any]:
    """Median seconds of ``Campaign.suggest(5)`` with the 50 results recorded, over fresh campaigns."""
    import polars as pl

    # torch and BoTorch are imported where a model is first fitted (a campaign's initial design
    # loads none of them): imported here, before the timing, as the docstring promises
    import labsight.design.acquisition
    import labsight.design.surrogate  # noqa: F401
    from labsight import Workspace
    from labsight.design.space import space_from_dict

    spec = json.loads(spec_path.read_text())
    data: dict[str, Any] = {"parameters": spec["parameters"], "objectives": spec["objectives"]}
    if spec["pooled"]:
        pool = pl.read_csv(spec_path.parent / "pool.csv")
        data["candidates"] = pool.drop("yield").to_dict(as_series=False)
    observed = pl.read_csv(spec_path.parent / "observed.csv")
    seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws", user="bench")
        for repeat in range(REPEATS):
            campaign = ws.new_campaign(f"speed{repeat}", space_from_dict(data), seed=repeat)
            campaign.record(observed)
            start = time.perf_counter()
            batch = campaign.suggest(BATCH)
            seconds.append(time.perf_counter() - start)
            assert batch.height == BATCH, batch
        ws.close()
    return {"tool": "labsight", "case": spec["key"], "seconds": seconds}


if __name__ == "__main__":
    print(json.dumps(labsight(Path(sys.argv[1]))))


# --- driver side -------------------------------------------------------------------------------

TOOLS = {
    "labsight": "labsight (`Campaign.suggest`)",
    "baybe": "BayBE (`Campaign.recommend`)",
    "ax": "Ax (`Client.get_next_trials`)",
}


def _job(tool: str, spec: Path) -> list[float]:
    """The seconds of each repeat, from one fresh process of ``tool``."""
    from bench import peers
    from bench._harness import run_job

    if tool == "labsight":
        result = run_job("bench.design_speed", str(spec), [])
    else:
        args = [str(spec), str(REPEATS), str(BATCH)]
        result = run_job(
            "bench.design_peers", "speed", [tool, *args], python=peers.ensure_env(tool)
        )
    seconds: list[float] = result["seconds"]
    return seconds


def measure(runs: int) -> dict[str, dict[str, dict[str, float]]]:
    """For each case and tool: the median over ``runs`` fresh processes of the first suggestion
    after start-up (``first``) and of the later ones in the same process (``warm``)."""
    from bench._harness import ROOT

    out: dict[str, dict[str, dict[str, float]]] = {}
    for case in CASES:
        spec = write(case, ROOT / "bench" / "out" / "design_speed" / case)
        out[case] = {}
        for tool in TOOLS:
            firsts, warms = [], []
            for run in range(runs):
                print(f"  {case}, {tool}, run {run} …", flush=True)
                seconds = _job(tool, spec)
                firsts.append(seconds[0])
                warms += seconds[1:]
            out[case][tool] = {
                "first": float(np.median(firsts)),
                "warm": float(np.median(warms)),
            }
    return out
