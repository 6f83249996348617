"""Which parts of an image a model reads: occlusion maps.

An image is cut into a grid of ``grid`` × ``grid`` cells; each cell in turn is covered with the
image's mean intensity and the model predicts again. A cell's value is how much covering it moves
the prediction: the probability of the class predicted for the whole image that it takes away
(classification), or the absolute change of the value (regression). Occlusion asks nothing of the
model but predictions, so it explains a CNN, transfer learning and a blend alike, and it cannot
show what the model did not use (gradient maps can).

:func:`held_out_maps` draws them at training for a few images of each class with a model that
did not see those images, small enough (a 48-pixel grey thumbnail and the grid) to keep in the
model's summary for :meth:`TrainedModel.figures`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labsight.data.images import ImageRef

__all__ = ["held_out_maps", "occlusion_map"]

THUMBNAIL = 48
_GRID = 6  # cells a side


@dataclass(frozen=True, eq=False)
class _Pixels(ImageRef):
    """An image given as pixels (a copy with one cell covered), under a key of its own."""

    pixels_array: np.ndarray | None = None

    def array(self) -> np.ndarray:
        assert self.pixels_array is not None
        return self.pixels_array


def _refs_frame(column: str, refs: list[ImageRef]) -> pd.DataFrame:
    values = np.empty(len(refs), dtype=object)
    values[:] = refs
    return pd.DataFrame({column: values})


def occlusion_map(
    estimator: Any, column: str, ref: ImageRef, task: str, *, grid: int = _GRID
) -> tuple[np.ndarray, Any]:
    """The ``grid`` × ``grid`` occlusion map of ``ref`` under ``estimator`` (whose input is the
    image column ``column``), and the prediction for the whole image."""
    image = ref.array()
    height, width = image.shape[:2]
    fill = image.mean(axis=(0, 1))
    rows = np.linspace(0, height, grid + 1).astype(int)
    cols = np.linspace(0, width, grid + 1).astype(int)
    covered: list[ImageRef] = [ref]
    for i in range(grid):
        for j in range(grid):
            copy = image.copy()
            copy[rows[i] : rows[i + 1], cols[j] : cols[j + 1]] = fill
            covered.append(_Pixels(f"{ref.key}#occluded-{grid}-{i}-{j}", ref.name, ref.read, copy))
    x = _refs_frame(column, covered)
    if task == "classification":
        proba = np.asarray(estimator.predict_proba(x))
        top = int(np.argmax(proba[0]))
        scores = proba[0, top] - proba[1:, top]
        prediction = estimator.classes_[top]
    else:
        values = np.asarray(estimator.predict(x), dtype=np.float64)
        scores = np.abs(values[1:] - values[0])
        prediction = float(values[0])
    return scores.reshape(grid, grid), prediction


def _thumbnail(ref: ImageRef) -> list[list[int]]:
    pixels = ref.pixels(THUMBNAIL, 1)[0]
    return np.round(pixels * 255).astype(int).tolist()  # type: ignore[no-any-return]


def held_out_maps(
    estimator_of: Callable[[int], Any],
    column: str,
    refs: list[ImageRef],
    labels: np.ndarray,
    task: str,
    *,
    deadline: float,
    most: int = 4,
) -> list[dict[str, Any]]:
    """Occlusion maps of up to ``most`` of ``refs``, image ``i`` under ``estimator_of(i)`` (a
    model that did not see it), taken in turn from each class (regression: spread over the
    target's range), while time is left."""
    order = _spread(labels, task, most)
    out: list[dict[str, Any]] = []
    cost = None  # seconds a map takes: first estimated from one image's prediction
    for i in order:
        if cost is None:
            tick = time.perf_counter()
            predict = estimator_of(i).predict
            predict(_refs_frame(column, [refs[i]]))
            cost = (time.perf_counter() - tick) * (_GRID**2 + 1)
        if time.perf_counter() + cost > deadline:
            break
        tick = time.perf_counter()
        grid, prediction = occlusion_map(estimator_of(i), column, refs[i], task)
        cost = time.perf_counter() - tick
        out.append(
            {
                "file": refs[i].name,
                "actual": labels[i].item() if hasattr(labels[i], "item") else labels[i],
                "prediction": prediction.item() if hasattr(prediction, "item") else prediction,
                "map": np.round(grid, 4).tolist(),
                "thumbnail": _thumbnail(refs[i]),
            }
        )
    return out


def _spread(labels: np.ndarray, task: str, most: int) -> list[int]:
    """Up to ``most`` row indices: one class after another, or across the sorted values."""
    n = len(labels)
    if task == "regression":
        ranked = np.argsort(np.asarray(labels, dtype=np.float64))
        picks = np.linspace(0, n - 1, min(most, n)).round().astype(int)
        return [int(ranked[p]) for p in dict.fromkeys(picks.tolist())]
    by_class: dict[Any, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    queues = [list(rows) for _, rows in sorted(by_class.items(), key=lambda kv: str(kv[0]))]
    order: list[int] = []
    while len(order) < min(most, n):
        for queue in queues:
            if queue and len(order) < most:
                order.append(queue.pop(0))
    return order
