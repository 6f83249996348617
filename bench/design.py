"""Closed-loop design benchmark: experiments to a top-1 % result, best after 50, time per suggestion.

Every problem of :mod:`bench.design_problems` is run as a closed loop in batches of 5: the method
suggests, the oracle (a table lookup, or the synthetic function) answers, until 100 experiments (or
the pool) are spent or — once 50 are done — a top-1 % result has been found. labsight's default
(Sobol-nearest candidates first, then qLogNEI / qLogNEHVI) runs against random search from the
same seeds; peers (BayBE, Ax) run the same loops in their own venvs when they are installed.

For two objectives "top 1 %" is reaching 99 % of the hypervolume of the table's own Pareto front
(reference point: the worst value of each objective in the table), and "best" is that share.

``python -m bench.design loop PROBLEM METHOD SEED`` runs one loop and prints one JSON line. Finished
loops are kept in ``bench/results/design_loops.jsonl`` (in the repository), each with a fingerprint
of the code it ran: ``bench/run.py --only design --resume`` runs only the loops that are missing or
whose code changed, and ``--table-only`` writes the table from the file.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bench.design_problems import PROBLEMS, Problem
from bench.design_score import hypervolume, progress

BATCH = 5
BUDGET = 100
CHECK_AT = 50
SEEDS = 5


def _signed(problem: Problem, frame: pl.DataFrame) -> np.ndarray:
    out = np.empty((frame.height, len(problem.objectives)))
    for j, o in enumerate(problem.objectives):
        sign = 1.0 if o["goal"] == "maximize" else -1.0
        out[:, j] = sign * frame[o["name"]].cast(pl.Float64).to_numpy()
    return out


def goal(problem: Problem) -> dict[str, Any]:
    """How a loop on ``problem`` is scored: its ``budget``, the ``target`` progress (a top-1 %
    result), and for two objectives the hypervolume reference point ``ref`` and the table's
    ``total`` hypervolume (None for one objective)."""
    out: dict[str, Any] = {
        "budget": min(BUDGET, problem.table.height) if problem.table is not None else BUDGET,
        "ref": None,
        "total": None,
        "target": problem.threshold(),
    }
    if len(problem.objectives) > 1:
        assert problem.table is not None
        everything = _signed(problem, problem.table)
        ref = everything.min(axis=0)
        out |= {"ref": ref, "total": hypervolume(everything, ref), "target": 0.99}
    return out


def loop(key: str, method: str, seed: int) -> dict[str, Any]:
    """One closed loop of ``method`` (``labsight`` or ``random``) on problem ``key``."""
    from labsight.design.planner import propose

    problem = PROBLEMS[key]()
    space = problem.space()
    scoring = goal(problem)
    budget, target, ref, total = (scoring[k] for k in ("budget", "target", "ref", "total"))
    schema = {n: (pl.Float64 if space.parameter(n).numeric else pl.String) for n in space.names}
    observed = pl.DataFrame(schema=schema | dict.fromkeys(problem.objective_names, pl.Float64))
    pending = pl.DataFrame(schema=schema)
    reached: int | None = None
    trace: list[float] = []
    seconds: list[float] = []
    step = 0
    while observed.height < budget:
        start = time.perf_counter()
        proposal = propose(
            space,
            observed,
            pending,
            min(BATCH, budget - observed.height),
            seed=1000 * seed + step,
            acquisition="random" if method == "random" else None,
        )
        seconds.append(time.perf_counter() - start)
        step += 1
        points = proposal.points.select(space.names)
        results = problem.run(points)
        for i in range(points.height):
            observed = pl.concat(
                [observed, pl.concat([points[i : i + 1], results[i : i + 1]], how="horizontal")],
                how="vertical_relaxed",
            )
            value = progress(_signed(problem, observed), ref, total)
            trace.append(value)
            if reached is None and value >= target - 1e-9:
                reached = observed.height
        if reached is not None and observed.height >= CHECK_AT:
            break
    at = min(CHECK_AT, len(trace)) - 1
    return {
        "problem": key,
        "method": method,
        "seed": seed,
        "reached": reached,
        "budget": budget,
        "best_at_50": trace[at],
        "suggest_s": float(np.median(seconds[1:] if len(seconds) > 1 else seconds)),
        "experiments": observed.height,
    }


if __name__ == "__main__":
    if sys.argv[1] == "loop":
        print(json.dumps(loop(sys.argv[2], sys.argv[3], int(sys.argv[4]))))


# --- driver side -------------------------------------------------------------------------------

METHODS = {
    "labsight": "labsight (qLogNEI / qLogNEHVI)",
    "random": "random search",
    "baybe": "BayBE (default campaign)",
    "ax": "Ax (default generation strategy)",
}
PEERS = ("baybe", "ax")
# Every finished loop, kept in the repository: loops are slow (Ax takes a minute a suggestion on the
# large tables), so the table grows over several sessions, and a loop is rerun only when the code it
# ran changed (see code_of).
LOG = Path(__file__).resolve().parent / "results" / "design_loops.jsonl"


def _source(path: Path, only: set[str] | None = None) -> str:
    """A Python file's code without comments, docstrings or formatting (its AST); with ``only``,
    just the top-level functions and assignments of those names."""
    import ast

    tree = ast.parse(path.read_text())
    if only is not None:
        tree.body = [
            node
            for node in tree.body
            if (isinstance(node, ast.FunctionDef) and node.name in only)
            or (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id in only for t in node.targets)
            )
        ]
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            body.pop(0)
    return ast.dump(tree)


def code_of(method: str) -> str:
    """A fingerprint of the code a loop of ``method`` runs: the problems and the scoring, plus
    the modules of labsight's design package that a loop imports (labsight and random search; see
    :func:`_loop_modules`) or the peers' harness (BayBE, Ax). Comments and docstrings do not count.
    The peer's own version is in each of its results."""
    import hashlib

    here = Path(__file__).resolve().parent
    files = [here / "design_problems.py", here / "design_score.py"]
    if method in PEERS:
        files.append(here / "design_peers.py")
    else:
        files += _loop_modules(here.parent / "src" / "labsight" / "design")
    digest = hashlib.sha256()
    # Of this module, what a loop runs and how it is scored (not the table code).
    digest.update(_source(Path(__file__), _LOOP_CODE).encode())
    for path in files:
        digest.update(_source(path).encode())
    return digest.hexdigest()[:12]


def _loop_modules(package: Path) -> list[Path]:
    """The files of ``package`` (labsight.design) that importing its planner loads: the package's
    ``__init__`` and every ``labsight.design`` module they import, at any depth (imports inside
    functions too). Status, figures and classical analysis are not among them, so changing those
    does not send 150 loops back to run."""
    import ast

    todo, found = ["__init__", "planner"], set()
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        for node in ast.walk(ast.parse((package / f"{name}.py").read_text())):
            modules = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for module in modules:
                if module.startswith("labsight.design."):
                    todo.append(module.split(".")[2])
    return sorted(package / f"{name}.py" for name in found)


_LOOP_CODE = {"BATCH", "BUDGET", "CHECK_AT", "_signed", "goal", "loop", "export"}


def export(key: str) -> Path:
    """Write problem ``key`` for the peers' loops: ``spec.json`` and, for tables, ``pool.csv``."""
    from bench._harness import ROOT

    problem = PROBLEMS[key]()
    folder = ROOT / "bench" / "out" / "design" / key
    folder.mkdir(parents=True, exist_ok=True)
    scoring = goal(problem)
    spec: dict[str, Any] = {
        "key": key,
        "parameters": problem.parameters,
        "objectives": problem.objectives,
        "pooled": problem.pooled,
        "budget": scoring["budget"],
        "target": scoring["target"],
        "function": {"branin": "branin", "mixed": "mixed_reaction"}.get(key),
    }
    if scoring["ref"] is not None:
        spec |= {"ref": scoring["ref"].tolist(), "total": scoring["total"]}
    if problem.table is not None:
        problem.table.write_csv(folder / "pool.csv")
    path = folder / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def run_loop(key: str, method: str, seed: int, threads: int | None = None) -> dict[str, Any] | None:
    """One loop in a fresh process: labsight and random in the project venv, a peer in its own;
    ``threads`` caps the BLAS and torch threads of that process."""
    import os

    from bench import peers
    from bench._harness import ROOT, run_job

    env = dict(os.environ)
    if threads:
        env |= dict.fromkeys(
            ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"), str(threads)
        )
    try:
        if method in PEERS:
            spec = ROOT / "bench" / "out" / "design" / key / "spec.json"
            return run_job(
                "bench.design_peers",
                method,
                [str(spec), str(seed)],
                python=peers.ensure_env(method),
                env=env,
            )
        return run_job("bench.design", "loop", [key, method, str(seed)], env=env)
    except RuntimeError as exc:
        print(f"    {key} {method} {seed} failed: {str(exc)[-1500:]}", flush=True)
        return None


def run_all(keys: list[str], methods: list[str], seeds: int, *, resume: bool, jobs: int) -> None:
    """Every (problem, method, seed) loop, ``jobs`` at a time, each appended to :data:`LOG` as it
    finishes with the fingerprint of its code. With ``resume`` a loop already logged with the
    current code is kept (so a run that stopped goes on where it was); otherwise, and whenever the
    code changed, the loops of these problems and methods are run again and their old lines go."""
    from concurrent.futures import ThreadPoolExecutor

    from bench import peers

    codes = {m: code_of(m) for m in METHODS}
    LOG.parent.mkdir(parents=True, exist_ok=True)
    requested = {(k, m) for k in keys for m in methods}
    kept = [
        r
        for r in _read_log()
        if (r["problem"], r["method"]) not in requested
        or (resume and r.get("code") == codes[r["method"]])
    ]
    LOG.write_text("".join(json.dumps(r) + "\n" for r in kept))
    have = {(r["problem"], r["method"], r["seed"]) for r in kept}
    for method in set(methods) & set(PEERS):
        peers.ensure_env(method)
    for key in keys:
        export(key)
    todo = [(k, m, s) for k in keys for s in range(seeds) for m in methods if (k, m, s) not in have]

    def one(job: tuple[str, str, int]) -> None:
        print(f"  {job[0]}, {job[1]}, seed {job[2]} …", flush=True)
        result = run_loop(*job, threads=1 if jobs > 1 else None)
        if result is not None:
            with LOG.open("a") as handle:
                handle.write(json.dumps(result | {"code": codes[job[1]]}) + "\n")

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, todo))


def _read_log() -> list[dict[str, Any]]:
    if not LOG.exists():
        return []
    return [json.loads(line) for line in LOG.read_text().splitlines() if line.strip()]


def logged(keys: list[str], methods: list[str]) -> list[dict[str, Any]]:
    """The loops in :data:`LOG` for these problems and methods that ran the current code."""
    codes = {m: code_of(m) for m in methods}
    return [
        r
        for r in _read_log()
        if r["problem"] in keys and r["method"] in methods and r.get("code") == codes[r["method"]]
    ]


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median experiments to a top-1 % result with its quartiles (a loop that never got there
    counts as its budget + 1, and the cell says how many got there), median best after 50, median
    seconds a suggestion."""
    if not runs:
        return {"n": 0}
    reached = [r["reached"] if r["reached"] is not None else r["budget"] + 1 for r in runs]
    return {
        "n": len(runs),
        "reached": float(np.median(reached)),
        "quartiles": [float(q) for q in np.percentile(reached, [25, 75])],
        "values": sorted(reached),
        "hits": sum(r["reached"] is not None for r in runs),
        "budget": runs[0]["budget"],
        "best": float(np.median([r["best_at_50"] for r in runs])),
        "seconds": float(np.median([r["suggest_s"] for r in runs])),
    }


def reached_by_seed(runs: list[dict[str, Any]]) -> dict[int, float]:
    """Experiments to a top-1 % result of each seed's loop (budget + 1 where it never got there)."""
    return {
        r["seed"]: float(r["reached"] if r["reached"] is not None else r["budget"] + 1)
        for r in runs
    }


def compare(ours: list[float], theirs: list[float], draws: int = 10_000) -> dict[str, Any]:
    """Whether one problem's difference in median experiments (ours − theirs) is beyond the
    seeds' noise: a bootstrap of each method's loops (resampled apart: the methods' seeds share
    a number, not a random stream), the difference's 90 % interval, and the verdict ``ahead``
    (the interval below zero), ``behind`` (above zero) or ``level``."""
    rng = np.random.default_rng(0)
    a, b = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    diff = np.median(rng.choice(a, (draws, len(a))), axis=1) - np.median(
        rng.choice(b, (draws, len(b))), axis=1
    )
    low, high = (float(q) for q in np.percentile(diff, [5, 95]))
    verdict = "ahead" if high < 0 else "behind" if low > 0 else "level"
    return {
        "difference": float(np.median(a) - np.median(b)),
        "interval": [low, high],
        "verdict": verdict,
    }


def rows(problem: Problem, medians: dict[str, dict[str, Any]], seeds: int) -> list[str]:
    """The table rows of one problem, one per method (``not run`` where it has no loop, and the
    single results where fewer than ``seeds`` loops ran: no median of one or two); the best after
    50 in the objective's own sign (a loop scores minimized objectives negated)."""
    name, several = problem.name, len(problem.objectives) > 1
    sign = -1.0 if not several and problem.objectives[0]["goal"] == "minimize" else 1.0
    lines = []
    for method, m in medians.items():
        if not m["n"]:
            lines.append(f"| {name} | {METHODS[method]} | not run | | |")
            continue
        if m["n"] < seeds:
            done = ", ".join(
                f"{v:.0f}" if v <= m["budget"] else f"> {m['budget']}" for v in m["values"]
            )
            lines.append(
                f"| {name} | {METHODS[method]} | {m['n']} of {seeds} seeds run: {done} | | |"
            )
            continue
        to_top = f"{m['reached']:.0f}" if m["hits"] * 2 > m["n"] else f"> {m['budget']}"
        best = f"{100 * m['best']:.1f} % of HV" if several else f"{sign * m['best']:.4g}"
        low, high = m["quartiles"]
        reached = f"{to_top} [{low:.0f}–{high:.0f}] ({m['hits']}/{m['n']} reached)"
        lines.append(f"| {name} | {METHODS[method]} | {reached} | {best} | {m['seconds']:.2f} |")
    return lines
