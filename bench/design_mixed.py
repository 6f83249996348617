"""The mixed-space design benchmark (issue 19): synthetic reactions with three choices that interact
and continuous conditions, one spanning decades (:mod:`bench.mixed_score`), run in batches of
:data:`BATCH` up to :data:`BUDGET` experiments; a loop's score is its best yield as a share of the
known optimum. Methods: labsight, random search, and a plain BoTorch loop (``MixedSingleTaskGP``,
the wide parameter on a log scale, qLogNEI over random candidates plus perturbations of the best
points — the loop issue 19 measured at 81 %) in the project venv; BayBE and Ax run in their own
venvs through :mod:`bench.mixed_peers` (the design benchmark's BayBE and Ax set-ups).

``python -m bench.design_mixed loop PROBLEM METHOD SEED`` prints one JSON line; the driver
(:func:`run_all`) runs every loop in a fresh process and keeps each in :data:`LOG`, a loop being
rerun only when the code it ran changed (:func:`bench.design.code_of`).
"""

from __future__ import annotations

import json
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bench import mixed_score
from bench.design_problems import Problem, _function

BATCH = 4
BUDGET = 40
INITIAL = 8  # the plain BoTorch loop's random start (two batches)


def _choice(name: str, values: list[str]) -> dict[str, Any]:
    return {"name": name, "type": "categorical", "values": values}


def coupling() -> Problem:
    params = [
        _choice("ligand", mixed_score.COUPLING_LIGANDS),
        _choice("base", mixed_score.COUPLING_BASES),
        _choice("solvent", mixed_score.COUPLING_SOLVENTS),
        {"name": "temperature", "type": "continuous", "bounds": [30, 130]},
        {"name": "loading", "type": "continuous", "bounds": [0.5, 5]},
        {"name": "concentration", "type": "continuous", "bounds": [0.01, 0.5]},
    ]
    return Problem(
        "Cross-coupling (synthetic: ligand × base, temperature × base, log concentration)",
        params,
        [{"name": "yield", "goal": "maximize"}],
        function=_function(mixed_score.coupling, "yield"),
        optimum=mixed_score.mixed_optimum("coupling"),
        note="3 choices (8 × 4 × 6) + 3 numbers, known optimum",
    )


def screening() -> Problem:
    params = [
        _choice("catalyst", mixed_score.SCREEN_CATALYSTS),
        _choice("additive", mixed_score.SCREEN_ADDITIVES),
        _choice("solvent", mixed_score.SCREEN_SOLVENTS),
        {"name": "temperature", "type": "continuous", "bounds": [20, 140]},
        {"name": "time", "type": "continuous", "bounds": [5, 1440]},
    ]
    return Problem(
        "Catalyst screen (synthetic: catalyst × solvent, temperature × solvent, log time)",
        params,
        [{"name": "yield", "goal": "maximize"}],
        function=_function(mixed_score.screening, "yield"),
        optimum=mixed_score.mixed_optimum("screening"),
        note="3 choices (12 × 5 × 8) + 2 numbers, known optimum",
    )


def photoredox() -> Problem:
    params = [
        _choice("photocatalyst", mixed_score.PHOTO_CATALYSTS),
        _choice("hat", mixed_score.PHOTO_HAT),
        _choice("solvent", mixed_score.PHOTO_SOLVENTS),
        {"name": "light", "type": "continuous", "bounds": [10, 100]},
        {"name": "loading", "type": "continuous", "bounds": [0.1, 10]},
    ]
    return Problem(
        "Photoredox (synthetic: catalyst × HAT, light × log loading)",
        params,
        [{"name": "yield", "goal": "maximize"}],
        function=_function(mixed_score.photoredox, "yield"),
        optimum=mixed_score.mixed_optimum("photoredox"),
        note="3 choices (5 × 4 × 4) + 2 numbers, known optimum",
    )


PROBLEMS = {"coupling": coupling, "screening": screening, "photoredox": photoredox}
MIXED = tuple(PROBLEMS)


def _share(problem: Problem, best: float) -> float:
    assert problem.optimum is not None
    return float(best / problem.optimum)


def _labsight(problem: Problem, seed: int, random: bool) -> tuple[list[float], list[float]]:
    from labsight.design.planner import propose

    space = problem.space()
    schema = {n: (pl.Float64 if space.parameter(n).numeric else pl.String) for n in space.names}
    observed = pl.DataFrame(schema=schema | {"yield": pl.Float64})
    pending = pl.DataFrame(schema=schema)
    trace, seconds = [], []
    step = 0
    while observed.height < BUDGET:
        start = time.perf_counter()
        proposal = propose(
            space,
            observed,
            pending,
            min(BATCH, BUDGET - observed.height),
            seed=1000 * seed + step,
            acquisition="random" if random else None,
        )
        seconds.append(time.perf_counter() - start)
        step += 1
        points = proposal.points.select(space.names)
        results = problem.run(points)
        observed = pl.concat(
            [observed, pl.concat([points, results], how="horizontal")], how="vertical_relaxed"
        )
        trace.extend(np.maximum.accumulate(observed["yield"].to_numpy())[-points.height :])
    return trace, seconds


def _botorch(problem: Problem, seed: int) -> tuple[list[float], list[float]]:
    """The plain loop: level indices under ``MixedSingleTaskGP``'s categorical kernel, numbers in
    [0, 1] (a parameter spanning a decade or more on a log scale), qLogNEI maximized over 2,048
    random candidates plus 64 perturbations of each of the 5 best points (numbers moved by
    N(0, 0.1), one choice resampled with probability 0.3), batch built greedily."""
    import torch
    from botorch.acquisition.logei import qLogNoisyExpectedImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models.gp_regression_mixed import MixedSingleTaskGP
    from botorch.models.transforms.outcome import Standardize
    from gpytorch.mlls import ExactMarginalLogLikelihood

    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    params = problem.parameters
    cats = [p for p in params if p["type"] == "categorical"]
    nums = [p for p in params if p["type"] != "categorical"]
    logs = {p["name"] for p in nums if p["bounds"][1] / p["bounds"][0] >= 10}

    def decode(u: np.ndarray) -> pl.DataFrame:
        cols: dict[str, Any] = {}
        for j, p in enumerate(cats):
            cols[p["name"]] = [p["values"][int(v)] for v in np.rint(u[:, j])]
        for j, p in enumerate(nums, start=len(cats)):
            lo, hi = p["bounds"]
            if p["name"] in logs:
                cols[p["name"]] = np.exp(np.log(lo) + u[:, j] * (np.log(hi) - np.log(lo)))
            else:
                cols[p["name"]] = lo + u[:, j] * (hi - lo)
        return pl.DataFrame(cols)

    def sample(n: int) -> np.ndarray:
        u = rng.random((n, len(params)))
        for j, p in enumerate(cats):
            u[:, j] = rng.integers(0, len(p["values"]), n)
        return u

    x = sample(INITIAL)
    y = problem.run(decode(x))["yield"].to_numpy()
    seconds: list[float] = []
    trace = list(np.maximum.accumulate(y))
    while len(y) < BUDGET:
        start = time.perf_counter()
        tx = torch.tensor(x, dtype=torch.float64)
        ty = torch.tensor(y[:, None], dtype=torch.float64)
        model = MixedSingleTaskGP(
            tx, ty, cat_dims=list(range(len(cats))), outcome_transform=Standardize(m=1)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
        pool = [sample(2048)]
        for i in np.argsort(-y)[:5]:
            near = np.repeat(x[i : i + 1], 64, axis=0)
            near[:, len(cats) :] = np.clip(
                near[:, len(cats) :] + rng.normal(0, 0.1, (64, len(nums))), 0, 1
            )
            for j, p in enumerate(cats):
                flip = rng.random(64) < 0.3
                near[flip, j] = rng.integers(0, len(p["values"]), int(flip.sum()))
            pool.append(near)
        candidates = torch.tensor(np.concatenate(pool), dtype=torch.float64)
        acq = qLogNoisyExpectedImprovement(model, tx, prune_baseline=True)
        chosen: list[int] = []
        with torch.no_grad():
            for _ in range(min(BATCH, BUDGET - len(y))):
                if chosen:
                    acq.set_X_pending(candidates[chosen])
                values = torch.cat([acq(c.unsqueeze(1)) for c in candidates.split(512)])
                values[chosen] = -math.inf
                chosen.append(int(values.argmax()))
        seconds.append(time.perf_counter() - start)
        new = candidates[chosen].numpy()
        x = np.concatenate([x, new])
        y = np.concatenate([y, problem.run(decode(new))["yield"].to_numpy()])
        trace = list(np.maximum.accumulate(y))
    return trace, seconds


def _summary(
    key: str, method: str, seed: int, trace: list[float], seconds: list[float]
) -> dict[str, Any]:
    problem = PROBLEMS[key]()
    best = np.maximum.accumulate(np.asarray(trace, dtype=float))
    return {
        "problem": key,
        "method": method,
        "seed": seed,
        "share_at_40": _share(problem, float(best[min(BUDGET, len(best)) - 1])),
        "share_at_20": _share(problem, float(best[min(20, len(best)) - 1])),
        "suggest_s": float(np.median(seconds)) if seconds else 0.0,
    }


def loop(key: str, method: str, seed: int) -> dict[str, Any]:
    problem = PROBLEMS[key]()
    if method == "botorch":
        trace, seconds = _botorch(problem, seed)
    else:
        trace, seconds = _labsight(problem, seed, random=method == "random")
    return _summary(key, method, seed, trace, seconds)


# --- driver side -------------------------------------------------------------------------------

METHODS = {
    "labsight": "labsight",
    "botorch": "plain BoTorch loop (MixedSingleTaskGP, log scale)",
    "baybe": "BayBE (default campaign)",
    "ax": "Ax (default generation strategy)",
    "random": "random search",
}
PEERS = ("baybe", "ax")
SEEDS = 5
LOG = Path(__file__).resolve().parent / "results" / "design_mixed.jsonl"


def export(key: str) -> Path:
    """The problem as the peers' loops read it (:mod:`bench.mixed_peers`)."""
    from bench._harness import ROOT

    problem = PROBLEMS[key]()
    spec = {
        "key": key,
        "parameters": problem.parameters,
        "objectives": problem.objectives,
        "pooled": False,
        "function": key,
        "batch": BATCH,
        "budget": BUDGET,
    }
    folder = ROOT / "bench" / "out" / "design_mixed" / key
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "spec.json"
    out.write_text(json.dumps(spec))
    return out


def _code(method: str) -> str:
    """The fingerprint of what a loop of ``method`` runs: this harness and the problems, and
    labsight's design package (labsight) or the peers' set-ups (BayBE, Ax)."""
    import hashlib

    from bench.design import _loop_modules, _source

    here = Path(__file__).resolve().parent
    files = [here / "design_mixed.py", here / "mixed_score.py"]
    if method in PEERS:
        files += [here / "mixed_peers.py", here / "design_peers.py"]
    elif method in ("labsight", "random"):  # random search draws from labsight's candidates
        files += _loop_modules(here.parent / "src" / "labsight" / "design")
    digest = hashlib.sha256(method.encode())
    for path in files:
        digest.update(_source(path).encode())
    return digest.hexdigest()[:12]


def run_loop(key: str, method: str, seed: int, threads: int | None) -> dict[str, Any] | None:
    import os

    from bench import peers
    from bench._harness import run_job

    env = dict(os.environ)
    if threads:
        env |= dict.fromkeys(
            ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"), str(threads)
        )
    try:
        if method in PEERS:
            found = run_job(
                "bench.mixed_peers",
                method,
                [str(export(key)), str(seed)],
                python=peers.ensure_env(method),
                env=env,
            )
            return _summary(key, method, seed, found["trace"], found["seconds"])
        return run_job("bench.design_mixed", "loop", [key, method, str(seed)], env=env)
    except RuntimeError as exc:
        print(f"    {key} {method} {seed} failed: {str(exc)[-1500:]}", flush=True)
        return None


def _read_log() -> list[dict[str, Any]]:
    if not LOG.exists():
        return []
    return [json.loads(line) for line in LOG.read_text().splitlines() if line.strip()]


def run_all(keys: list[str], methods: list[str], seeds: int, *, jobs: int) -> list[dict[str, Any]]:
    """Every (problem, method, seed) loop not yet logged with the current code, ``jobs`` at a
    time; returns every logged loop of these problems and methods."""
    from concurrent.futures import ThreadPoolExecutor

    codes = {m: _code(m) for m in methods}
    LOG.parent.mkdir(parents=True, exist_ok=True)
    # a requested method's loops that ran other code go; other methods' loops stay
    kept = [r for r in _read_log() if r.get("code") == codes.get(r["method"], r.get("code"))]
    LOG.write_text("".join(json.dumps(r) + "\n" for r in kept))
    have = {(r["problem"], r["method"], r["seed"]) for r in kept}
    todo = [(k, m, s) for s in range(seeds) for k in keys for m in methods if (k, m, s) not in have]

    def one(job: tuple[str, str, int]) -> None:
        print(f"  {job[0]}, {job[1]}, seed {job[2]} …", flush=True)
        result = run_loop(*job, threads=1 if jobs > 1 else None)
        if result is not None:
            with LOG.open("a") as log:
                log.write(json.dumps(result | {"code": codes[job[1]]}) + "\n")

    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, todo))
    return [r for r in _read_log() if r["problem"] in keys]


if __name__ == "__main__":
    if sys.argv[1] == "loop":
        print(json.dumps(loop(sys.argv[2], sys.argv[3], int(sys.argv[4]))), flush=True)
