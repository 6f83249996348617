"""Images: classification (transfer learning against a CNN from scratch) and nuclei segmentation
(labsight's U-Net against Otsu threshold + watershed from scikit-image), with images/s.

- **Classification**: scikit-learn's handwritten digits (1,797 real 8 × 8 scans of 10 digits, UCI
  ML hand-written digits, BSD-licensed with scikit-learn), written as one PNG per image (upscaled
  to 32 × 32, nearest neighbour) into one sub-folder per digit; a stratified half is ingested and
  trained on (``families=["transfer"]``, ``["cnn2d"]``, and both competing), the other half
  predicted. Accuracy on that half; images/s of prediction, and of the training search (images
  seen per second of budget: folds × repeats × epochs are what the budget buys).
- **Segmentation**: ``../shared/data/nuclei_microscopy`` (one 512 × 512 fluorescence image and its
  125-nucleus mask, StarDist's test image) cut into 16 tiles of 128 × 128; 4 tiles on the diagonal
  bands are held out, 12 are ingested as ``images/`` + ``masks/`` and trained on. IoU of objects
  with the mask on the held-out tiles (pooled pixels), and the count of objects against the true
  count, for labsight's U-Net and for Otsu's threshold + distance-transform watershed (the
  classical pipeline of scikit-image's own gallery).
"""

from __future__ import annotations

import hashlib
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench._harness import ROOT

DATA = ROOT.parent / "shared" / "data"


def digits_folders(root: Path) -> tuple[Path, Path]:
    """The digits as PNG files: ``train/<digit>/`` (a stratified half) and ``test/`` (loose)."""
    from PIL import Image
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / 16 * 255).astype(np.uint8)
    train_idx, test_idx = train_test_split(
        np.arange(len(images)), test_size=0.5, stratify=digits.target, random_state=0
    )
    train, test = root / "train", root / "test"
    for i in train_idx:
        folder = train / str(digits.target[i])
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(images[i]).resize((32, 32), Image.NEAREST).save(folder / f"d{i}.png")
    test.mkdir(parents=True, exist_ok=True)
    for i in test_idx:
        name = f"digit{digits.target[i]}_d{i}.png"
        Image.fromarray(images[i]).resize((32, 32), Image.NEAREST).save(test / name)
    return train, test


def classify(root: Path, families: list[str] | None, budget: float, seed: int) -> dict[str, Any]:
    """Train on ``root/train``, predict ``root/test``: accuracy, seconds, images/s."""
    from labsight.data.ingest import read_table
    from labsight.models.predict import predict_table
    from labsight.models.train import train

    table = read_table(root / "train")
    tick = time.perf_counter()
    model = train(table, "label", families=families, budget=budget, seed=seed)
    fit = time.perf_counter() - tick
    new = read_table(root / "test")
    tick = time.perf_counter()
    out = predict_table(model, new)
    predict = time.perf_counter() - tick
    truth = [f.split("_")[0].removeprefix("digit") for f in out["file"].to_list()]
    got = [str(p) for p in out["prediction"].to_list()]
    return {
        "accuracy": float(np.mean([a == b for a, b in zip(got, truth, strict=True)])),
        "picked": model.best,
        "cv": model.cv["mean"],
        "fit_seconds": fit,
        "predict_per_s": new.height / predict,
        "train": table.height,
        "test": new.height,
    }


def _tiles() -> list[tuple[str, np.ndarray, np.ndarray]]:
    import tifffile

    image = tifffile.imread(DATA / "nuclei_microscopy" / "img2d.tif")
    mask = tifffile.imread(DATA / "nuclei_microscopy" / "mask2d.tif")
    out = []
    for i in range(4):
        for j in range(4):
            window = (slice(128 * i, 128 * (i + 1)), slice(128 * j, 128 * (j + 1)))
            out.append((f"tile{i}{j}", image[window], mask[window]))
    return out


def held_out(name: str) -> bool:
    i, j = int(name[-2]), int(name[-1])
    return (i + j) % 4 == 0


def nuclei_folders(root: Path) -> tuple[Path, list[tuple[str, np.ndarray, np.ndarray]]]:
    import tifffile

    train = root / "nuclei"
    for sub in ("images", "masks"):
        (train / sub).mkdir(parents=True, exist_ok=True)
    (root / "held_out").mkdir(parents=True, exist_ok=True)
    test = []
    for name, image, mask in _tiles():
        if held_out(name):
            tifffile.imwrite(root / "held_out" / f"{name}.tif", image)
            test.append((name, image, mask))
        else:
            tifffile.imwrite(train / "images" / f"{name}.tif", image)
            tifffile.imwrite(train / "masks" / f"{name}.tif", mask)
    return train, test


def _count(labels: np.ndarray) -> int:
    return len(np.unique(labels[labels > 0]))


def _iou(pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
    inter = sum(int(np.logical_and(p, t).sum()) for p, t in pairs)
    union = sum(int(np.logical_or(p, t).sum()) for p, t in pairs)
    return inter / union


def otsu_watershed(image: np.ndarray) -> np.ndarray:
    """scikit-image's classical pipeline: Otsu threshold, distance transform, peaks as markers,
    watershed."""
    from scipy import ndimage
    from skimage.feature import peak_local_max
    from skimage.filters import gaussian, threshold_otsu
    from skimage.segmentation import watershed

    smooth = gaussian(image.astype(np.float64), sigma=1)
    foreground = smooth > threshold_otsu(smooth)
    distance = ndimage.distance_transform_edt(foreground)
    peaks = peak_local_max(distance, min_distance=4, labels=ndimage.label(foreground)[0])
    markers = np.zeros(image.shape, dtype=np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    labels: np.ndarray = watershed(-distance, markers, mask=foreground)
    return labels


def segment(root: Path, budget: float, seed: int) -> dict[str, Any]:
    from labsight.data.ingest import read_table
    from labsight.models.segment import segmentation_table
    from labsight.models.train import train

    folder, test = nuclei_folders(root)
    table = read_table(folder)
    tick = time.perf_counter()
    model = train(table, "mask", budget=budget, seed=seed)
    fit = time.perf_counter() - tick
    new = read_table(root / "held_out")
    tick = time.perf_counter()
    _frame, masks = segmentation_table(model, new)
    predict = time.perf_counter() - tick
    by_file = dict(zip(new.frame["file"].to_list(), masks, strict=True))
    ours = [(by_file[f"{name}.tif"] > 0, truth > 0) for name, _, truth in test]
    counts = [(_count(by_file[f"{name}.tif"]), _count(truth)) for name, _, truth in test]
    tick = time.perf_counter()
    classical = [otsu_watershed(image) for _, image, _ in test]
    classical_seconds = time.perf_counter() - tick
    return {
        "iou": _iou(ours),
        "otsu_iou": _iou([(c > 0, t > 0) for c, (_, _, t) in zip(classical, test, strict=True)]),
        "count_error": float(np.mean([abs(a - b) / b for a, b in counts])),
        "otsu_count_error": float(
            np.mean(
                [
                    abs(_count(c) - _count(t)) / _count(t)
                    for c, (_, _, t) in zip(classical, test, strict=True)
                ]
            )
        ),
        "cv": model.cv["mean"],
        "fit_seconds": fit,
        "predict_per_s": len(test) / predict,
        "otsu_per_s": len(test) / classical_seconds,
        "epochs": model.estimator.n_epochs_,
    }


def run(runs: int, budget: float) -> list[str]:
    """Both tables, as Markdown lines."""
    from bench._harness import machine, stamp

    out = ROOT / "bench" / "out" / "images"
    digits = out / "digits"
    if not (digits / "train").exists():
        digits_folders(digits)
    rows = []
    for label, families in (
        ("transfer learning (EfficientNet-Lite0, frozen)", ["transfer"]),
        ("CNN from scratch", ["cnn2d"]),
        ("both competing (default)", None),
    ):
        measured = []
        for seed in range(runs):
            print(f"  digits {label} seed {seed} …", flush=True)
            measured.append(classify(digits, families, budget, seed))
        rows.append(
            f"| {label} | {statistics.median(m['accuracy'] for m in measured):.3f} "
            f"| {statistics.median(m['cv'] for m in measured):.3f} "
            f"| {max({m['picked'] for m in measured}, key=[m['picked'] for m in measured].count)} "
            f"| {statistics.median(m['fit_seconds'] for m in measured):.0f} "
            f"| {statistics.median(m['predict_per_s'] for m in measured):.0f} |"
        )
        print(rows[-1], flush=True)
    seg = []
    for seed in range(runs):
        print(f"  nuclei seed {seed} …", flush=True)
        seg.append(segment(out / f"nuclei-{seed}", budget, seed))

    def med(key: str) -> float:
        return statistics.median(s[key] for s in seg)

    digest = hashlib.sha256((DATA / "nuclei_microscopy" / "img2d.tif").read_bytes()).hexdigest()
    return [
        "## Images: classification and nuclei segmentation",
        "",
        "All on the CPU (no GPU was lent to this session). Machine: "
        f"{machine()}. Measured {stamp()}; median of {runs} seeds, `budget={budget:g}` s per "
        "training.",
        "",
        "**Digits** (scikit-learn's 1,797 real handwritten 8 × 8 scans, 10 classes, written as 32 × "
        "32 PNGs into one folder per digit): trained on a stratified half (898), predicted on the "
        "other (899). Accuracy on the held-out half; CV = the search's own cross-validated balanced "
        "accuracy; images/s of `predict` (decode, resize, network).",
        "",
        "| families | held-out accuracy | CV | picked | train (s) | predict (images/s) |",
        "|---|---:|---:|---|---:|---:|",
        *rows,
        "",
        "**Nuclei** (`nuclei_microscopy`, sha256 "
        f"`{digest[:12]}`: one 512 × 512 image cut into 16 tiles of 128 × 128; the 4 tiles with "
        "(row + column) divisible by 4 held out, 12 trained on): IoU of objects against the mask "
        "on the held-out tiles (pooled pixels), and the mean relative error of the number of "
        "objects per tile (labsight: connected components of the U-Net's mask; scikit-image: "
        "Gaussian σ 1, Otsu threshold, distance-transform peaks, watershed).",
        "",
        "| method | held-out IoU | count error | tiles/s |",
        "|---|---:|---:|---:|",
        f"| labsight U-Net (CV IoU {med('cv'):.3f}, {med('epochs'):.0f} epochs, "
        f"{med('fit_seconds'):.0f} s) | {med('iou'):.3f} | {med('count_error'):.0%} "
        f"| {med('predict_per_s'):.1f} |",
        f"| Otsu + watershed (scikit-image) | {med('otsu_iou'):.3f} "
        f"| {med('otsu_count_error'):.0%} | {med('otsu_per_s'):.1f} |",
        "",
        "Goals (issue #18): the U-Net against Otsu + watershed on held-out tiles; transfer learning "
        "against training from scratch; images/s on the CPU.",
    ]
