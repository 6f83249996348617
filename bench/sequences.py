"""Sequences: labsight's model of runs against ROCKET and 1-NN DTW (aeon), on UCR/UEA archives.

The datasets ship inside the ``aeon`` wheel (GunPoint, ItalyPowerDemand, ArrowHead: one channel;
BasicMotions: six; JapaneseVowels: twelve, of unequal length), each with the archive's own train and
test split. The ``export`` job (in aeon's venv) writes each split as a long table — one row per
reading: ``run``, ``t``, one column per channel, ``label`` — which labsight reads as a sequence task
(``run`` the group, ``t`` the time) and trains on with a time budget; ROCKET
(``RocketClassifier``, 10,000 kernels) and 1-NN DTW (``KNeighborsTimeSeriesClassifier``) fit in
aeon's venv on the same arrays (ROCKET on unequal-length series padded with each series' last
value, as it needs equal lengths). Score: accuracy on the archive's test split.

``python -m bench.sequences JOB FOLDER`` runs one peer job (export, rocket, dtw) and prints JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

DATASETS = ("GunPoint", "ItalyPowerDemand", "ArrowHead", "BasicMotions", "JapaneseVowels")


def _load(name: str, split: str) -> tuple[list[Any], Any]:
    from aeon.datasets import load_classification

    x, y = load_classification(name, split=split)
    return [x[i] for i in range(len(x))], y


def _equal(series: list[Any], longest: int) -> Any:
    """The series as one array, shorter ones padded with their last value (ROCKET's need)."""
    import numpy as np

    return np.stack([np.pad(s, ((0, 0), (0, longest - s.shape[1])), mode="edge") for s in series])


def job_export(folder: Path) -> dict[str, Any]:
    """Each dataset's train and test split as a long CSV under ``folder``."""
    import numpy as np
    import pandas as pd

    out = {}
    for name in DATASETS:
        for split in ("train", "test"):
            series, labels = _load(name, split)
            frames = []
            for i, (s, label) in enumerate(zip(series, labels, strict=True)):
                frame = pd.DataFrame(s.T, columns=[f"c{j}" for j in range(s.shape[0])])
                frame.insert(0, "t", np.arange(s.shape[1], dtype=float))
                frame.insert(0, "run", f"r{i:04d}")
                frame["label"] = f"class {label}"
                frames.append(frame)
            path = folder / f"{name}_{split}.csv"
            pd.concat(frames).to_csv(path, index=False)
            out[f"{name}_{split}"] = {"runs": len(series), "channels": int(series[0].shape[0])}
    return out


def _peer(folder: Path, make: Any, equal: bool) -> dict[str, Any]:
    import numpy as np

    out = {}
    for name in DATASETS:
        train, y_train = _load(name, "train")
        test, y_test = _load(name, "test")
        lengths = {s.shape[1] for s in train + test}
        same, longest = len(lengths) == 1, max(lengths)
        tick = time.perf_counter()
        model = make()
        if same or equal:
            model.fit(_equal(train, longest), y_train)
            guess = model.predict(_equal(test, longest))
        else:
            model.fit(train, y_train)
            guess = model.predict(test)
        out[name] = {
            "accuracy": float(np.mean(np.asarray(guess) == np.asarray(y_test))),
            "seconds": time.perf_counter() - tick,
            "padded": bool(equal and not same),
        }
    return out


def job_rocket(folder: Path) -> dict[str, Any]:
    from aeon.classification.convolution_based import RocketClassifier

    return _peer(folder, lambda: RocketClassifier(n_kernels=10_000, random_state=0), equal=True)


def job_dtw(folder: Path) -> dict[str, Any]:
    from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier

    return _peer(
        folder, lambda: KNeighborsTimeSeriesClassifier(distance="dtw", n_neighbors=1), equal=False
    )


def labsight_run(folder: Path, name: str, budget: float, seed: int) -> dict[str, Any]:
    """labsight on one dataset: train on the long train table, predict the test runs."""
    import numpy as np
    import polars as pl

    from labsight.data.table import Table
    from labsight.models.predict import predict_table
    from labsight.models.train import train

    roles: Any = {"run": "group", "t": "time", "label": "target"}
    train_frame = pl.read_csv(folder / f"{name}_train.csv")
    test_frame = pl.read_csv(folder / f"{name}_test.csv")
    tick = time.perf_counter()
    model = train(Table.from_frame(train_frame, roles=roles), "label", budget=budget, seed=seed)
    truth = test_frame.group_by("run", maintain_order=True).agg(pl.col("label").first())
    out = predict_table(model, Table.from_frame(test_frame.drop("label"), roles=roles))
    guess = dict(zip(out["run"].to_list(), out["prediction"].to_list(), strict=True))
    accuracy = float(np.mean([guess[r] == lab for r, lab in truth.iter_rows()]))
    return {"accuracy": accuracy, "seconds": time.perf_counter() - tick, "picked": model.best}


if __name__ == "__main__":
    job, where = sys.argv[1], Path(sys.argv[2])
    where.mkdir(parents=True, exist_ok=True)
    result = {"export": job_export, "rocket": job_rocket, "dtw": job_dtw}[job](where)
    print(json.dumps(result))
