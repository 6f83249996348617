"""Segmentation: images whose target is a mask (``images/`` beside ``masks/``) train a U-Net.

:func:`train_segmenter` is what :func:`labsight.models.train.train` does when the target column
holds images. The images are split into folds (at most 5; at least 3 images are needed, so a single
large image is cut into tiles first); on each fold a :class:`~labsight.models._unet.UNetSegmenter`
is trained on the other images for an equal share of 60 % of the budget and scored on the held-out
ones by the **intersection over union** (IoU) of its objects with the mask's, pooled over the
fold's pixels. The baseline is the classical method: an Otsu threshold of each image, its polarity
(objects brighter or darker) learned from the training masks; the model is compared with it on the
same held-out images, ± a bootstrap over images. The final network is trained on every image in
the rest of the budget.

:func:`segmentation_table` gives one row per new image — its ``objects``, the ``foreground``
share of its pixels and the mean probability of the pixels called objects — and each image's
objects as a label image (0 background, 1 … n the connected objects).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import polars as pl

from labsight.data.images import ImageRef
from labsight.data.table import Table
from labsight.exceptions import InputError
from labsight.models._features import (
    IMAGE_REASON,
    FeatureSet,
    image_input,
    image_refs_of,
    with_images,
)
from labsight.models._trained import TrainedModel

__all__ = ["segmentation_table", "train_segmenter"]

_CV_SHARE, _FINAL_SHARE = 0.55, 0.3  # the rest: predicting the folds, the baseline, saving
_MIN_IMAGES = 3


def _iou(pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Intersection over union of predicted and true objects, pooled over the pairs' pixels."""
    inter = sum(int(np.logical_and(p, t).sum()) for p, t in pairs)
    union = sum(int(np.logical_or(p, t).sum()) for p, t in pairs)
    return inter / union if union else 1.0


def _otsu(image: ImageRef, brighter: bool) -> np.ndarray:
    from skimage.filters import threshold_otsu

    grey = image.full(1)[0]
    level = float(threshold_otsu(grey))  # type: ignore[no-untyped-call]
    found: np.ndarray = grey > level if brighter else grey <= level
    return found


def _otsu_polarity(images: list[ImageRef], masks: list[ImageRef]) -> bool:
    """Whether the objects are the bright side of an Otsu threshold on these training images."""
    bright = _iou([(_otsu(i, True), m.foreground()) for i, m in zip(images, masks, strict=True)])
    dark = _iou([(_otsu(i, False), m.foreground()) for i, m in zip(images, masks, strict=True)])
    return bright >= dark


def train_segmenter(
    table: Table,
    target: str,
    *,
    budget: float,
    seed: int = 0,
    exclude: list[str] | None = None,
) -> TrainedModel:
    """Train a U-Net on the images of ``table`` and the masks of ``target`` within ``budget``.

    Raises
    ------
    InputError
        When the table has no image column besides the mask, or fewer than 3 images with a mask.
    """
    start = time.perf_counter()
    exclude = list(exclude or [])
    images_col = image_input(table, target, None, exclude)
    if images_col is None:
        raise InputError(
            f"the target {target!r} is a mask, and the table has no images to segment",
            hint="Ingest a folder with images/ and masks/ side by side",
        )
    table = with_images(with_images(table, images_col), target)
    images, masks = list(image_refs_of(table, images_col)), list(image_refs_of(table, target))
    n = len(images)
    if n < _MIN_IMAGES:
        raise InputError(
            f"segmentation needs at least {_MIN_IMAGES} images with a mask to score the model on "
            f"images it did not see; the table has {n}",
            hint="Cut a large image and its mask into tiles (e.g. 4 × 4) and ingest those",
        )
    from sklearn.model_selection import KFold

    from labsight.models._unet import UNetSegmenter

    # five folds when each gets a few seconds, else three (each fold trains a network)
    k = min(5 if _CV_SHARE * budget / 5 >= 4.0 else 3, n)
    folds = list(KFold(k, shuffle=True, random_state=seed).split(np.arange(n)))
    per_fold = _CV_SHARE * budget / k
    params: dict[str, Any] = {"filters": 8, "depth": 3, "crop": 64, "crops": 8}
    scores, base_scores, fit_seconds = [], [], []
    predicted: list[np.ndarray] = [np.zeros(0, dtype=bool)] * n  # each filled by its fold
    baseline_masks: list[np.ndarray] = [np.zeros(0, dtype=bool)] * n
    for fit_rows, test_rows in folds:
        tick = time.perf_counter()
        net = UNetSegmenter(**params, seconds=per_fold, seed=seed)
        net.fit([images[i] for i in fit_rows], [masks[i] for i in fit_rows])
        fit_seconds.append(time.perf_counter() - tick)
        proba = net.predict_proba([images[i] for i in test_rows])
        brighter = _otsu_polarity([images[i] for i in fit_rows], [masks[i] for i in fit_rows])
        for i, p in zip(test_rows, proba, strict=True):
            predicted[i] = p >= 0.5
            baseline_masks[i] = _otsu(images[i], brighter)
        truth = [masks[i].foreground() for i in test_rows]
        scores.append(_iou([(predicted[i], t) for i, t in zip(test_rows, truth, strict=True)]))
        base_scores.append(
            _iou([(baseline_masks[i], t) for i, t in zip(test_rows, truth, strict=True)])
        )
    truths = [m.foreground() for m in masks]
    model_iou = _iou(list(zip(predicted, truths, strict=True)))
    base_iou = _iou(list(zip(baseline_masks, truths, strict=True)))
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(200):
        pick = rng.integers(0, n, n)
        draws.append(
            _iou([(predicted[i], truths[i]) for i in pick])
            - _iou([(baseline_masks[i], truths[i]) for i in pick])
        )
    difference, se = model_iou - base_iou, float(np.std(draws))
    left = budget - (time.perf_counter() - start)
    final = UNetSegmenter(
        **params, seconds=max(1.0, min(_FINAL_SHARE * budget, left - 1.0)), seed=seed
    )
    final.fit(images, masks)
    mean, std = float(np.mean(scores)), float(np.std(scores))
    fs = FeatureSet((), (), {}, image=images_col)
    left_out = {c: IMAGE_REASON for c in table.frame.columns if c not in (images_col, target)}
    model = TrainedModel(
        estimator=final,
        task="segmentation",
        metric="iou",
        target=target,
        target_unit=None,
        features=fs,
        classes=None,
        cv={
            "mean": mean,
            "std": std,
            "folds": k,
            "scheme": f"{k}-fold over images",
            "grouping": "by image (every pixel of an image in one fold)",
        },
        leaderboard=sorted(
            [
                {
                    "family": "unet",
                    "mean": mean,
                    "std": std,
                    "folds": k,
                    "fit_seconds": float(np.mean(fit_seconds)),
                    "trial": 0,
                    "params": params,
                },
                {
                    "family": "otsu (baseline)",
                    "mean": float(np.mean(base_scores)),
                    "std": float(np.std(base_scores)),
                    "folds": k,
                    "fit_seconds": 0.0,
                    "trial": 0,
                    "params": {},
                },
            ],
            key=lambda row: -float(row["mean"]),
        ),
        best="unet",
        params=params,
        seed=seed,
        budget=budget,
        trials=1,
        seconds=0.0,
        level=0.9,
        rows=n,
        left_out=left_out,
        baseline={
            "metric": "iou",
            "predicts": "an Otsu threshold of each image",
            "mean": float(np.mean(base_scores)),
            "std": float(np.std(base_scores)),
            "score": base_iou,
            "model_score": model_iou,
            "difference": difference,
            "se": se,
        },
        better_than_baseline=bool(difference > se),
    )
    model.seconds = time.perf_counter() - start
    return model


def segmentation_table(model: TrainedModel, table: Table) -> tuple[pl.DataFrame, list[np.ndarray]]:
    """One row per image (``objects``, ``foreground``, ``confidence``: the mean probability of
    the pixels called objects), and the label images."""
    from scipy import ndimage

    refs = _refs(model, table)
    rows: dict[str, list[Any]] = {"objects": [], "foreground": [], "confidence": []}
    masks = []
    for proba in model.estimator.predict_proba(refs):
        objects = proba >= 0.5
        labels, count = ndimage.label(objects)
        masks.append(labels.astype(np.uint16))
        rows["objects"].append(int(count))
        rows["foreground"].append(float(objects.mean()))
        rows["confidence"].append(float(proba[objects].mean()) if objects.any() else None)
    frame = pl.DataFrame(
        rows, schema={"objects": pl.Int64, "foreground": pl.Float64, "confidence": pl.Float64}
    )
    return frame, masks


def _refs(model: TrainedModel, table: Table) -> list[ImageRef]:
    column = model.features.image
    assert column is not None
    if column not in table.frame.columns:
        raise InputError(
            f"the model needs column {column!r}, which the new data does not have",
            expected="a folder of images, or a table ingested with --images",
        )
    return list(image_refs_of(table, column))
