"""AutoML on six small lab/tabular datasets: labsight's ``train()`` against FLAML and AutoGluon.

Run through ``make bench`` (bench/run.py). Every tool gets exactly the same train/test split, written
once as CSV files under ``bench/out/models/``; the test rows are never shown to a tool. A job reads a
small JSON spec (train and test files, target, task, budget, seed), fits on the training rows,
predicts the test rows and returns the predictions; the driver scores them with one metric code for
all tools (:func:`score`).

``python -m bench.models JOB SPEC`` runs one job in this process and prints one JSON line: wall
seconds (fit + predict), peak memory above the post-import baseline, and the predictions. The same
module runs in the project's venv (labsight) and in the peers' own venvs (bench/peers.py), so the
tools are imported inside the jobs only and this module's top level uses the standard library.
"""

from __future__ import annotations

import csv
import json
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import peers
from bench._harness import measure_job, run_job

DATA = Path("/work/shared/data")
LEVEL = (
    0.9  # nominal coverage of labsight's prediction intervals (and AutoGluon's 5–95 % quantiles)
)
TEST_FRACTION = 0.2


@dataclass(frozen=True)
class Dataset:
    """A benchmark dataset: how to load it (a polars frame), its target and task, what was dropped."""

    name: str
    load: Callable[[], Any]
    target: str
    task: str  # "regression" or "classification"
    note: str = ""


def _snake(name: str) -> str:
    return "_".join(name.lower().replace("-", " ").split())


def _read(path: Path | str) -> Any:
    """A CSV as a polars frame, with column types inferred from every row."""
    import polars as pl

    return pl.read_csv(path, infer_schema_length=None)


def _sklearn(loader: str, target: str) -> Any:
    import polars as pl
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, loader)(as_frame=True)
    frame = bunch.frame.rename(columns={"target": target})
    return pl.from_pandas(frame).rename(_snake)


def _concrete() -> Any:
    return _read(DATA / "concrete_strength" / "concrete.csv").drop("rownames")


def _esol() -> Any:
    frame = _read(DATA / "esol_delaney" / "delaney-processed.csv")
    frame = frame.drop("Compound ID", "smiles", "ESOL predicted log solubility in mols per litre")
    return frame.rename({"measured log solubility in mols per litre": "log_solubility"}).rename(
        _snake
    )


def _chem_yield() -> Any:
    return _read(DATA / "chem_process_yield" / "chem_proc_yield.csv").drop("rownames")


DATASETS = [
    Dataset("concrete", _concrete, "compressive_strength", "regression", "drop `rownames`"),
    Dataset(
        "esol",
        _esol,
        "log_solubility",
        "regression",
        "drop `Compound ID`, `smiles` and `ESOL predicted …` (Delaney's own model); 6 descriptors",
    ),
    Dataset(
        "chem_process_yield",
        _chem_yield,
        "yield",
        "regression",
        "drop `rownames`; 106 missing cells kept",
    ),
    Dataset(
        "diabetes", lambda: _sklearn("load_diabetes", "progression"), "progression", "regression"
    ),
    Dataset("wine", lambda: _sklearn("load_wine", "cultivar"), "cultivar", "classification"),
    Dataset(
        "breast_cancer",
        lambda: _sklearn("load_breast_cancer", "malignant"),
        "malignant",
        "classification",
        "column names snake-cased",
    ),
]


def prepare_split(folder: Path, data: Dataset, split_seed: int, budget: float) -> Path:
    """Write ``data``'s seeded 80/20 split (stratified for classification) and a job spec; return
    the spec's path. Runs in the project venv (polars, scikit-learn)."""
    from sklearn.model_selection import train_test_split

    frame = data.load()
    where = folder / data.name / f"split{split_seed}"
    where.mkdir(parents=True, exist_ok=True)
    stratify = frame[data.target].to_numpy() if data.task == "classification" else None
    train_idx, test_idx = train_test_split(
        range(frame.height), test_size=TEST_FRACTION, random_state=split_seed, stratify=stratify
    )
    frame[sorted(train_idx)].write_csv(where / "train.csv")
    frame[sorted(test_idx)].write_csv(where / "test.csv")
    spec = {
        "train": str(where / "train.csv"),
        "test": str(where / "test.csv"),
        "target": data.target,
        "task": data.task,
        "budget": budget,
        "seed": 0,
        "level": LEVEL,
    }
    path = where / f"spec_b{budget:g}.json"
    path.write_text(json.dumps(spec, indent=1))
    return path


# --- jobs: each takes the spec path and returns {"prediction": [...], optional "lower"/"upper"} ---


def _spec(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def _job_labsight(path: Path) -> dict[str, Any]:
    from labsight.data.table import Table
    from labsight.models.predict import predict_table
    from labsight.models.train import train

    spec = _spec(path)
    target = spec["target"]
    table = Table.from_frame(_read(spec["train"]), roles={target: "target"})
    model = train(
        table,
        target,
        budget=spec["budget"],
        seed=spec["seed"],
        level=spec["level"],
        task=spec["task"],
    )
    out = predict_table(model, Table.from_frame(_read(spec["test"]).drop(target)))
    result = {"prediction": out["prediction"].to_list(), "best": model.best}
    if spec["task"] == "regression":
        result |= {
            "lower": out["lower"].to_list(),
            "upper": out["upper"].to_list(),
            "cv_coverage": model.coverage,
        }
    return result


def _job_flaml(path: Path) -> dict[str, Any]:
    import pandas as pd
    from flaml import AutoML

    spec = _spec(path)
    train, test = pd.read_csv(spec["train"]), pd.read_csv(spec["test"])
    target = spec["target"]
    automl = AutoML()
    automl.fit(
        X_train=train.drop(columns=target),
        y_train=train[target],
        task=spec["task"],
        time_budget=spec["budget"],
        seed=spec["seed"],
        verbose=0,
    )
    prediction = automl.predict(test.drop(columns=target))
    return {"prediction": prediction.tolist(), "best": automl.best_estimator}


def _autogluon_fit(spec: dict[str, Any], folder: str, **kwargs: Any) -> Any:
    import pandas as pd
    from autogluon.tabular import TabularPredictor

    train = pd.read_csv(spec["train"])
    if "problem_type" not in kwargs:
        classes = train[spec["target"]].nunique()
        kwargs["problem_type"] = (
            "regression"
            if spec["task"] == "regression"
            else ("binary" if classes == 2 else "multiclass")
        )
    predictor = TabularPredictor(label=spec["target"], path=folder, verbosity=0, **kwargs)
    return predictor.fit(train, time_limit=spec["budget"], presets="medium_quality")


def _job_autogluon(path: Path) -> dict[str, Any]:
    import pandas as pd

    spec = _spec(path)
    with tempfile.TemporaryDirectory() as folder:
        predictor = _autogluon_fit(spec, folder)
        test = pd.read_csv(spec["test"]).drop(columns=spec["target"])
        prediction = predictor.predict(test)
        best = predictor.model_best
    return {"prediction": prediction.tolist(), "best": best}


def _job_autogluon_quantile(path: Path) -> dict[str, Any]:
    """AutoGluon's quantile regression (5 %, 50 %, 95 %): the median as the point prediction, the
    outer quantiles as a 90 % interval."""
    import pandas as pd

    spec = _spec(path)
    tail = (1 - spec["level"]) / 2
    levels = [tail, 0.5, 1 - tail]
    with tempfile.TemporaryDirectory() as folder:
        predictor = _autogluon_fit(spec, folder, problem_type="quantile", quantile_levels=levels)
        test = pd.read_csv(spec["test"]).drop(columns=spec["target"])
        q = predictor.predict(test).to_numpy()
        best = predictor.model_best
    return {
        "prediction": q[:, 1].tolist(),
        "lower": q[:, 0].tolist(),
        "upper": q[:, 2].tolist(),
        "best": best,
    }


JOBS: dict[str, Callable[[Path], object]] = {
    "labsight": _job_labsight,
    "flaml": _job_flaml,
    "autogluon": _job_autogluon,
    "autogluon_quantile": _job_autogluon_quantile,
}
PRELOAD = {
    # The tool's modelling code and the learners it trains, so the baseline is "all code loaded".
    "labsight": [
        "polars",
        "pandas",
        "labsight.models.train",
        "labsight.models.predict",
        "lightgbm",
        "optuna",
        "sklearn.ensemble",
        "sklearn.gaussian_process",
        "sklearn.linear_model",
        "torch",  # the MLP family, as AutoGluon's baseline has torch loaded for its networks
        "labsight.models._mlp",
    ],
    "flaml": ["pandas", "flaml", "flaml.automl", "lightgbm", "xgboost", "sklearn.ensemble"],
    "autogluon": ["pandas", "autogluon.tabular", "lightgbm", "catboost", "xgboost", "torch"],
    "autogluon_quantile": ["pandas", "autogluon.tabular", "lightgbm", "torch"],
}


# --- scoring (driver side, standard library only) ---


def _label(value: Any) -> str:
    """A class label as text, so 1, 1.0 and "1" compare equal across tools."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(number)) if number.is_integer() else str(number)


def _truth(spec_path: Path) -> list[str]:
    spec = _spec(spec_path)
    with open(spec["test"], newline="") as fh:
        return [row[spec["target"]] for row in csv.DictReader(fh)]


def split_shape(spec_path: Path) -> tuple[int, int]:
    """Rows in the training and the test file of a split."""
    spec = _spec(spec_path)
    counts = []
    for part in ("train", "test"):
        with open(spec[part], newline="") as fh:
            counts.append(sum(1 for _ in csv.DictReader(fh)))
    return counts[0], counts[1]


def score(spec_path: Path, result: dict[str, Any]) -> dict[str, float | None]:
    """Headline test score (R² for regression, accuracy for classification) and, where the tool
    gave intervals, their empirical coverage on the test rows."""
    task = _spec(spec_path)["task"]
    truth = _truth(spec_path)
    pred = result["prediction"]
    if task == "classification":
        hits = sum(_label(t) == _label(p) for t, p in zip(truth, pred, strict=True))
        return {"score": hits / len(truth), "coverage": None}
    y = [float(t) for t in truth]
    mean = sum(y) / len(y)
    ss_res = sum((t - p) ** 2 for t, p in zip(y, pred, strict=True))
    ss_tot = sum((t - mean) ** 2 for t in y)
    coverage = None
    if "lower" in result:
        inside = zip(y, result["lower"], result["upper"], strict=True)
        coverage = sum(lo <= t <= hi for t, lo, hi in inside) / len(y)
    return {"score": 1 - ss_res / ss_tot, "coverage": coverage}


# --- driver side (runs in the project venv; the tools run in fresh processes) ---

TOOLS = {
    "labsight": "labsight `train()`",
    "flaml": "FLAML `AutoML`",
    "autogluon": "AutoGluon, medium_quality",
    "autogluon_quantile": "AutoGluon quantile 5/50/95 % (extra)",
}
ENV_OF = {"flaml": "flaml", "autogluon": "autogluon", "autogluon_quantile": "autogluon"}


def tools_for(task: str) -> list[str]:
    """The jobs to run on a dataset: the quantile row only where there is a quantity to bracket."""
    return [t for t in TOOLS if task == "regression" or t != "autogluon_quantile"]


def run_tool(tool: str, spec: Path) -> dict[str, Any] | None:
    """One measured run of ``tool`` on a split, scored; None (and a message) if the job failed."""
    budget = float(_spec(spec)["budget"])
    try:
        if tool in ENV_OF:
            python = peers.ensure_env(ENV_OF[tool])
            run = peers.run_job_in(python, "bench.models", tool, [str(spec)], 3 * budget + 300)
        else:
            run = run_job("bench.models", tool, [str(spec)])
    except (RuntimeError, subprocess.TimeoutExpired) as err:
        print(f"    {tool} failed: {str(err)[-1500:]}", flush=True)
        return None
    result = run["result"]
    return {
        "wall_s": run["wall_s"],
        "peak_above_baseline_mib": run["peak_above_baseline_mib"],
        "best": result.get("best"),
        "cv_coverage": result.get("cv_coverage"),
        **score(spec, result),
    }


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the runs that finished, and the model the tool picked most often."""
    if not runs:
        return {"n": 0}
    picks = Counter(str(r["best"]) for r in runs)
    return {
        "n": len(runs),
        **{k: _median(runs, k) for k in ("score", "wall_s", "peak_above_baseline_mib")},
        "coverage": _median(runs, "coverage"),
        "best": picks.most_common(1)[0][0],
    }


def _cell(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def dataset_rows(
    data: Dataset, shape: tuple[int, int], medians: dict[str, dict[str, Any]]
) -> list[str]:
    """The markdown rows of one dataset: one per tool."""
    metric = "R²" if data.task == "regression" else "accuracy"
    lines = []
    for tool, m in medians.items():
        head = f"{data.name} ({data.task}, {metric}) | {shape[0]} / {shape[1]}"
        if not m["n"]:
            lines.append(f"| {head} | {TOOLS[tool]} | failed | | | | |")
            continue
        coverage = _cell(None if m["coverage"] is None else 100 * m["coverage"], ".0f")
        lines.append(
            f"| {head} | {TOOLS[tool]} | {m['score']:.3f} | {m['wall_s']:.0f} | "
            f"{m['peak_above_baseline_mib']:.0f} | {coverage} | {m['best']} |"
        )
    return lines


def verdict(results: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """The goal's two model checks: labsight's score against the better peer, its coverage."""
    wins, compared, covered, regressions = 0, 0, 0, 0
    for medians in results.values():
        ours, peers_ = medians["labsight"], [medians["flaml"], medians["autogluon"]]
        scores = [p["score"] for p in peers_ if p["n"]]
        if ours["n"] and scores:
            compared += 1
            wins += ours["score"] >= max(scores)
        if ours["n"] and ours["coverage"] is not None:
            regressions += 1
            covered += abs(ours["coverage"] - LEVEL) <= 0.03
    return [
        f"labsight's median test score ≥ the better of FLAML and AutoGluon on **{wins} of "
        f"{compared}** datasets.",
        f"labsight's 90 % intervals cover within 3 points of nominal on **{covered} of "
        f"{regressions}** regression datasets.",
    ]


if __name__ == "__main__":
    measure_job(JOBS, PRELOAD, sys.argv[1], sys.argv[2])
