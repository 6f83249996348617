"""Start-up: the seconds a person waits for three commands, each a fresh `labsight` process.

* ``labsight --help``;
* ``labsight predict MODEL rows.csv --out preds.csv`` of 10 rows, with a model of the shipped
  example's yield (trained once in the set-up, 10 s of search, seed 0);
* ``labsight design suggest CAMPAIGN --batch 5`` on the two inputs of the design speed benchmark
  (bench/design_speed.py, 50 results recorded), through ``labsight.cli.main`` in a fresh process
  with ``Campaign.suggest(5)`` timed inside it after the imports a suggestion needs (the work);
  the rest of the process's time is what the command pays to start.

Each command runs in a fresh process on a fresh copy of the workspace it reads; wall time from
start to exit, and the CPU seconds of the child (user + system: on a busy machine the wall time
includes waiting for a core, the CPU time does not).

``python -m bench.startup JOB ARGS`` runs one set-up or in-process job and prints one JSON line;
the driver is ``python bench/run.py --only startup``.
"""

from __future__ import annotations

import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BATCH = 5
PREDICT_ROWS = 10
TRAIN_BUDGET = 10.0


def _labsight() -> str:
    """The console script beside this interpreter (what a person runs)."""
    script = Path(sys.executable).with_name("labsight")
    return str(script) if script.exists() else "labsight"


def timed(command: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Wall seconds and child CPU seconds of one command (it must exit 0)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu}


# --- jobs: one fresh process each -------------------------------------------------------------


def setup_predict(folder: Path) -> dict[str, Any]:
    """A workspace with a model of the example's yield, and 10 new rows without the yield."""
    import polars as pl

    import labsight

    frame = pl.read_csv(labsight.example_path())
    frame.head(frame.height - PREDICT_ROWS).write_csv(folder / "train.csv")
    frame.tail(PREDICT_ROWS).drop("yield").write_csv(folder / "rows.csv")
    with labsight.Workspace(folder / "home", user="bench") as ws:
        ds = ws.ingest(folder / "train.csv", name="chem", on_issue="ignore")
        record, _ = ws.models.train(ds, "yield", budget=TRAIN_BUDGET, seed=0)
    return {"model": record.ref, "family": record.family}


def setup_design(case: str, folder: Path) -> dict[str, Any]:
    """A workspace with the campaign ``speed`` of ``case`` and its 50 results."""
    import polars as pl

    import labsight
    from bench import design_speed
    from labsight.design.space import space_from_dict

    spec_path = design_speed.write(case, folder / "spec")
    spec = json.loads(spec_path.read_text())
    data: dict[str, Any] = {"parameters": spec["parameters"], "objectives": spec["objectives"]}
    if spec["pooled"]:
        pool = pl.read_csv(spec_path.parent / "pool.csv")
        data["candidates"] = pool.drop("yield").to_dict(as_series=False)
    with labsight.Workspace(folder / "home", user="bench") as ws:
        campaign = ws.new_campaign("speed", space_from_dict(data), seed=0)
        campaign.record(pl.read_csv(spec_path.parent / "observed.csv"))
    return {"campaign": "speed"}


def cli_suggest(home: Path) -> dict[str, Any]:
    """``labsight design suggest`` as the console script runs it (``labsight.cli.main`` in a
    process prepared and left as ``labsight.cli.run`` does), with ``Campaign.suggest`` timed
    inside the same process after the imports a suggestion needs (so the work and the command's
    total are measured on the same run: the work itself varies from run to run on a busy
    machine)."""
    import contextlib
    import io

    from labsight.cli import prepare_process

    prepare_process()
    from labsight.cli import main
    from labsight.workspace import campaigns as _campaigns

    original = _campaigns.Campaign.suggest
    work: dict[str, float] = {}

    def suggest(self: Any, *args: Any, **kwargs: Any) -> Any:
        import botorch  # noqa: F401  (imports are start-up, not work)
        import gpytorch  # noqa: F401

        import labsight.design.acquisition
        import labsight.design.surrogate  # noqa: F401

        start, cpu = time.perf_counter(), time.process_time()
        try:
            return original(self, *args, **kwargs)
        finally:
            work["seconds"] = time.perf_counter() - start
            work["cpu_s"] = time.process_time() - cpu

    _campaigns.Campaign.suggest = suggest  # type: ignore[method-assign]
    argv = ["--home", str(home), "design", "suggest", "speed", "--batch", str(BATCH), "--json"]
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    if code != 0:
        raise SystemExit(f"design suggest exited {code}")
    return work


# --- driver side -------------------------------------------------------------------------------


def _fresh(template: Path, target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(template, target)
    return target


def _job(*args: str) -> dict[str, Any]:
    from bench._harness import run_job

    return run_job("bench.startup", args[0], list(args[1:]))


def measure(runs: int, folder: Path) -> dict[str, Any]:
    """Medians over ``runs`` fresh processes of each command (and of the in-process work)."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {}
    print("  labsight --help …", flush=True)
    runs_help = [timed([_labsight(), "--help"]) for _ in range(max(runs, 5))]
    out["help"] = _medians(runs_help)

    predict_dir = folder / "predict"
    if predict_dir.exists():
        shutil.rmtree(predict_dir)
    predict_dir.mkdir(parents=True)
    print("  training the model to predict with …", flush=True)
    model = _job("setup-predict", str(predict_dir))
    measured = []
    for i in range(runs):
        print(f"  predict run {i + 1}/{runs} …", flush=True)
        home = _fresh(predict_dir / "home", folder / "run" / "home")
        measured.append(
            timed(
                [
                    _labsight(),
                    "--home",
                    str(home),
                    "predict",
                    model["model"],
                    str(predict_dir / "rows.csv"),
                    "--out",
                    str(folder / "run" / "preds.csv"),
                ]
            )
        )
    out["predict"] = {**_medians(measured), **model}

    from bench import design_speed

    out["suggest"] = {}
    for case in design_speed.CASES:
        case_dir = folder / f"design-{case}"
        if case_dir.exists():
            shutil.rmtree(case_dir)
        case_dir.mkdir(parents=True)
        _job("setup-design", case, str(case_dir))
        measured = []
        for i in range(runs):
            print(f"  design suggest ({case}) run {i + 1}/{runs} …", flush=True)
            home = _fresh(case_dir / "home", folder / "run" / "home")
            command = [sys.executable, "-m", "bench.startup", "cli-suggest", str(home)]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            proc = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            work = json.loads(proc.stdout.strip().splitlines()[-1])
            measured.append(
                {
                    "wall_s": wall,
                    "cpu_s": cpu,
                    "work_s": work["seconds"],
                    "work_cpu_s": work["cpu_s"],
                    "startup_s": wall - work["seconds"],
                    "startup_cpu_s": cpu - work["cpu_s"],
                }
            )
        out["suggest"][case] = _medians(measured)
    return out


def _medians(measured: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(m[key] for m in measured) for key in measured[0]}


def table(measured: dict[str, Any], runs: int) -> list[str]:
    """The BENCHMARKS.md section."""
    from bench import design_speed
    from bench._harness import machine, stamp

    lines = [
        "## Start-up: seconds a person waits for a command",
        "",
        "Each command runs as a person runs it, a fresh `labsight` process (the console script) on "
        "a fresh copy of the workspace it reads. Wall time from start to exit, and the CPU seconds "
        "of that process (user + system; on a busy machine the wall time also holds the wait for a "
        f"core). Median of {runs} runs"
        + (f" ({max(runs, 5)} for `--help`)" if runs < 5 else "")
        + ". `predict`: 10 rows of the "
        "shipped chemical-process example with its model of the yield "
        f"({measured['predict']['family']}, trained for {TRAIN_BUDGET:g} s in the set-up). "
        "`design suggest`: a batch of 5 with 50 results recorded (the inputs of the design speed "
        "table), run through `labsight.cli.main` in a fresh process; *work* is `Campaign.suggest(5)` "
        "timed inside that process after the imports a suggestion needs (torch, BoTorch: start-up), "
        "and *start-up* the process's time less the work, on the same run (medians of each). The "
        "work itself varies several-fold from run to run on a busy machine, where torch's threads "
        "wait for cores; the start-up, measured against it on the same run, does not.",
        "",
        f"Machine: {machine()}. Measured {stamp()}.",
        "",
        "| command | wall (s) | CPU (s) | work, wall / CPU (s) | start-up, wall / CPU (s) | goal |",
        "|---|---:|---:|---:|---:|---|",
        f"| `labsight --help` | {measured['help']['wall_s']:.2f} | "
        f"{measured['help']['cpu_s']:.2f} |  |  | wall under 0.5 s |",
        f"| `labsight predict` of {PREDICT_ROWS} rows | {measured['predict']['wall_s']:.2f} | "
        f"{measured['predict']['cpu_s']:.2f} |  |  | wall under 2 s |",
    ]
    for case, m in measured["suggest"].items():
        lines.append(
            f"| `labsight design suggest --batch {BATCH}`: {design_speed.CASES[case]} | "
            f"{m['wall_s']:.2f} | {m['cpu_s']:.2f} | {m['work_s']:.2f} / {m['work_cpu_s']:.2f} | "
            f"{m['startup_s']:.2f} / {m['startup_cpu_s']:.2f} | start-up under 1.5 s |"
        )
    lines += [
        "",
        "Goal (issue #15): `--help` under 0.5 s, `predict` of 10 rows under 2 s, `design suggest` "
        "within 1.5 s of its in-process time. A command imports only what it needs: `import "
        "labsight.cli` loads no database layer, numpy, polars, torch, scikit-learn, BoTorch, Plotly "
        "or LightGBM (tests/cli/test_startup.py); `predict` loads torch only for a model that "
        "holds a PyTorch MLP, and the design commands that only read a campaign load none.",
    ]
    return lines


if __name__ == "__main__":
    job, *rest = sys.argv[1:]
    if job == "setup-predict":
        result = setup_predict(Path(rest[0]))
    elif job == "setup-design":
        result = setup_design(rest[0], Path(rest[1]))
    elif job == "cli-suggest":
        from labsight.cli import leave

        print(json.dumps(cli_suggest(Path(rest[0]))))
        leave(0)  # as the script leaves
    else:
        raise SystemExit(f"unknown job {job!r}")
    print(json.dumps(result))
