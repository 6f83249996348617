"""Spectra: labsight's AutoML against scikit-learn PLS / PLS-DA with the components tuned by CV.

Two real tables from ``../shared/data``: the 60 coffee FTIR spectra (1,841 channels, origin of 3
classes) and the 21 fermentation mid-IR spectra (1,047 channels, glucose in g/L). Each is scored on
outer cross-validation (every row is predicted once by models that never saw it): labsight
``train(table, target, budget=…)`` then ``predict``, against the chemometrician's baseline,
``PLSRegression`` (autoscaled) with its number of components chosen by an inner cross-validation
(``GridSearchCV``), and PLS-DA (PLS on the one-hot classes, the class of the largest predicted
column) tuned the same way. Both see the same spectra: raw, and the first Savitzky–Golay
derivative (labsight's ``--spectra derivative`` step, applied per spectrum, so nothing leaks).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from bench._harness import ROOT

DATA = ROOT.parent / "shared" / "data"


@dataclass(frozen=True)
class SpectraSet:
    key: str
    label: str
    task: str  # regression | classification
    target: str
    outer_folds: int


SETS = (
    SpectraSet("coffee", "coffee FTIR, origin (60 × 1,841)", "classification", "origin", 5),
    SpectraSet(
        "fermentation", "fermentation MIR, glucose (21 × 1,047)", "regression", "glucose", 7
    ),
)


def load(key: str) -> pl.DataFrame:
    """The table: one spectrum per row, the target as the last column."""
    if key == "coffee":
        spectra = pl.read_csv(DATA / "coffee_ftir" / "coffee_spectra.csv")
        labels = pl.read_csv(DATA / "coffee_ftir" / "coffee_labels.csv")
        return spectra.with_columns(origin=labels["labels"])
    spectra = pl.read_csv(DATA / "fermentation_mir" / "train_spectra.csv")
    hplc = pl.read_csv(DATA / "fermentation_mir" / "train_hplc.csv")
    return spectra.with_columns(glucose=hplc["glucose"])


def preprocessed(frame: pl.DataFrame, target: str, method: str | None) -> pl.DataFrame:
    """``frame`` with its spectrum replaced by labsight's spectral step (``None``: raw)."""
    if method is None:
        return frame
    from labsight.data.clean._steps_spectra import transform

    channels = [c for c in frame.columns if c != target]
    values = transform(frame.select(channels).to_numpy().astype(np.float64), method)
    return pl.DataFrame({c: values[:, j] for j, c in enumerate(channels)} | {target: frame[target]})


def outer_splits(spec: SpectraSet, y: np.ndarray, seed: int) -> list[tuple[Any, Any]]:
    from sklearn.model_selection import KFold, StratifiedKFold

    if spec.task == "classification":
        cv: Any = StratifiedKFold(spec.outer_folds, shuffle=True, random_state=seed)
    else:
        cv = KFold(spec.outer_folds, shuffle=True, random_state=seed)
    return list(cv.split(np.zeros(len(y)), y))


def pls_predict(spec: SpectraSet, x_train: Any, y_train: Any, x_test: Any) -> tuple[Any, int]:
    """scikit-learn's PLS (or PLS-DA) with the components tuned by an inner 5-fold CV."""
    from sklearn.cross_decomposition import PLSRegression
    from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold

    most = min(20, len(y_train) - len(y_train) // 5 - 1, x_train.shape[1])
    grid = {"n_components": list(range(1, most + 1))}
    if spec.task == "regression":
        search = GridSearchCV(
            PLSRegression(scale=True),
            grid,
            cv=KFold(5, shuffle=True, random_state=0),
            scoring="neg_root_mean_squared_error",
        ).fit(x_train, y_train)
        return np.ravel(search.predict(x_test)), int(search.best_params_["n_components"])
    classes = np.unique(y_train)
    onehot = (y_train[:, None] == classes[None, :]).astype(float)

    def accuracy(estimator: Any, x: Any, target: Any) -> float:
        guess = classes[np.argmax(estimator.predict(x), axis=1)]
        truth = classes[np.argmax(target, axis=1)]
        return float(np.mean(guess == truth))

    search = GridSearchCV(
        PLSRegression(scale=True),
        grid,
        cv=StratifiedKFold(5, shuffle=True, random_state=0).split(x_train, y_train),
        scoring=accuracy,
    ).fit(x_train, onehot)
    return classes[np.argmax(search.predict(x_test), axis=1)], int(
        search.best_params_["n_components"]
    )


def labsight_predict(
    spec: SpectraSet, train: pl.DataFrame, test: pl.DataFrame, budget: float, seed: int
) -> tuple[Any, str]:
    from labsight.data.table import Table
    from labsight.models.predict import predictions
    from labsight.models.train import train as fit

    model = fit(Table.from_frame(train), spec.target, budget=budget, seed=seed)
    out = predictions(model, Table.from_frame(test.drop(spec.target)))
    return out["prediction"].to_numpy(), model.best


def score(spec: SpectraSet, truth: np.ndarray, guess: np.ndarray) -> float:
    if spec.task == "regression":
        return float(np.sqrt(np.mean((truth.astype(float) - guess.astype(float)) ** 2)))
    return float(np.mean(truth == guess))


def run(spec: SpectraSet, method: str | None, budget: float, seed: int) -> dict[str, Any]:
    """One outer cross-validation of both tools on one table; every row predicted once."""
    frame = preprocessed(load(spec.key), spec.target, method)
    y = frame[spec.target].to_numpy()
    x = frame.drop(spec.target).to_numpy().astype(np.float64)
    ours = np.empty(len(y), dtype=y.dtype)
    theirs = np.empty(len(y), dtype=y.dtype)
    picked: list[str] = []
    components: list[int] = []
    seconds = {"labsight": 0.0, "pls": 0.0}
    for k, (train_rows, test_rows) in enumerate(outer_splits(spec, y, seed)):
        print(f"    {spec.key} {method or 'raw'} seed {seed} fold {k + 1} …", flush=True)
        tick = time.perf_counter()
        guess, best = labsight_predict(spec, frame[train_rows], frame[test_rows], budget, seed)
        seconds["labsight"] += time.perf_counter() - tick
        ours[test_rows] = guess
        picked.append(best)
        tick = time.perf_counter()
        guess, n = pls_predict(spec, x[train_rows], y[train_rows], x[test_rows])
        seconds["pls"] += time.perf_counter() - tick
        theirs[test_rows] = guess
        components.append(n)
    return {
        "labsight": score(spec, y, ours),
        "pls": score(spec, y, theirs),
        "picked": picked,
        "components": components,
        "seconds": seconds,
    }


def table(runs: int, budget: float) -> list[str]:
    """The markdown rows: per table and preprocessing, the median score over ``runs`` seeds."""
    rows = []
    for spec in SETS:
        for method in (None, "derivative"):
            results = [run(spec, method, budget, seed) for seed in range(runs)]
            ours = statistics.median(r["labsight"] for r in results)
            theirs = statistics.median(r["pls"] for r in results)
            picked = [p for r in results for p in r["picked"]]
            most = max(set(picked), key=picked.count)
            comps = [c for r in results for c in r["components"]]
            fmt = ".3f" if spec.task == "classification" else ".2f"
            better = ours >= theirs if spec.task == "classification" else ours <= theirs
            rows.append(
                f"| {spec.label} | {method or 'raw'} | "
                f"{'accuracy' if spec.task == 'classification' else 'RMSE (g/L)'} | "
                f"{ours:{fmt}} | {theirs:{fmt}} | {'yes' if better else 'no'} | "
                f"{most} ({picked.count(most)} of {len(picked)}) | "
                f"{int(statistics.median(comps))} | "
                f"{statistics.median(r['seconds']['labsight'] for r in results):.0f} / "
                f"{statistics.median(r['seconds']['pls'] for r in results):.1f} |"
            )
            print(rows[-1], flush=True)
    return rows
