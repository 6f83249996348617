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


def _refs(folder: Path) -> list[Any]:
    from labsight.data.ingest import read_table

    table = read_table(folder)
    assert table.images is not None
    return list(table.images.refs(table.frame["image"].to_list(), table.frame["file"].to_list()))


def speed(digits: Path, nuclei: Path) -> dict[str, float]:
    """Images per second of each network's training step and prediction on this machine (the
    decoded images cached first, as after a search's warm-up), one process, all cores."""
    import torch

    from labsight.models._cnn2d import ImageCNNClassifier, ImageFeatures
    from labsight.models._unet import UNetSegmenter

    refs = _refs(digits / "train")
    labels = [r.name.split("/")[0] for r in refs]
    x = np.empty((len(refs), 1), dtype=object)
    x[:, 0] = refs
    from labsight.data import images as image_data
    from labsight.models import _cnn2d

    out: dict[str, float] = {"threads": float(torch.get_num_threads())}
    for size in (32,):  # the digits' own size (a CNN never reads an image larger than it is)
        for r in refs:
            r.pixels(size, 1)
        net = ImageCNNClassifier(size=size, max_epochs=5, patience=100, device="cpu")
        tick = time.perf_counter()
        net.fit(x, labels)
        out[f"cnn_train_{size}"] = len(refs) * 0.85 * net.n_epochs_ / (time.perf_counter() - tick)
        tick = time.perf_counter()
        net.predict(x)
        out[f"cnn_predict_{size}"] = len(refs) / (time.perf_counter() - tick)
    for r in refs:
        r.pixels(160, 3)
    _cnn2d._FEATURE_CACHE.items.clear()  # the classification runs computed them: compute anew
    _cnn2d._FEATURE_CACHE.used = 0
    assert image_data.CACHE_BYTES
    features = ImageFeatures(device="cpu").fit(x)
    tick = time.perf_counter()
    features.transform(x)
    out["transfer_features"] = len(refs) / (time.perf_counter() - tick)
    from labsight.data.ingest import read_table
    from labsight.models._features import image_refs_of

    tiles = _refs(nuclei)
    pairs = read_table(nuclei.parent / "nuclei")  # images/ beside masks/
    images, masks = list(image_refs_of(pairs, "image")), list(image_refs_of(pairs, "mask"))
    unet = UNetSegmenter(max_epochs=5, patience=100, seconds=600, device="cpu")
    tick = time.perf_counter()
    unet.fit(images, masks)
    crops = (len(masks) - max(1, round(0.15 * len(masks)))) * unet.crops * unet.n_epochs_
    out["unet_train_crops"] = crops / (time.perf_counter() - tick)
    tick = time.perf_counter()
    unet.predict_proba(tiles)
    out["unet_predict_tiles"] = len(tiles) / (time.perf_counter() - tick)
    return out


def peak_memory(folder: Path, copies: int) -> float:
    """Peak resident memory (MB) of a fresh process predicting ``copies`` × the digits' test
    images (each copy made distinct by one changed pixel, so nothing is shared by content)."""
    import subprocess
    import sys

    from PIL import Image

    target = folder.parent / f"memory-{copies}"
    if not target.exists():
        target.mkdir(parents=True)
        for k in range(copies):
            for path in sorted((folder / "test").glob("*.png")):
                pixels = np.array(Image.open(path))
                pixels[0, 0] = (int(pixels[0, 0]) + k + 1) % 256
                Image.fromarray(pixels).save(target / f"c{k}_{path.name}")
    code = (
        "import resource, sys\n"
        "from labsight.data.ingest import read_table\n"
        "from labsight.models._cnn2d import ImageFeatures\n"
        "from labsight.models._features import image_refs_of\n"
        f"t = read_table({str(target)!r})\n"
        "import numpy as np\n"
        "x = np.empty((t.height, 1), dtype=object); x[:, 0] = image_refs_of(t, 'image')\n"
        "ImageFeatures(device='cpu').fit(x).transform(x)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


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

    print("  speed …", flush=True)
    fast = speed(digits, out / "nuclei-0" / "held_out")
    print("  peak memory …", flush=True)
    memory = {copies: peak_memory(digits, copies) for copies in (1, 4)}

    digest = hashlib.sha256((DATA / "nuclei_microscopy" / "img2d.tif").read_bytes()).hexdigest()
    return [
        "## Images: classification and nuclei segmentation",
        "",
        "All on the CPU (no GPU was lent to this session). Machine: "
        f"{machine()}. Measured {stamp()}; median of {runs} seed{'s' if runs != 1 else ''}, "
        f"`budget={budget:g}` s per "
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
        "**Speed** (CPU, one process, "
        f"{fast['threads']:.0f} torch threads; images decoded and resized once, as after a "
        "search's warm-up):",
        "",
        "| network | training (images/s) | prediction (images/s) |",
        "|---|---:|---:|",
        f"| image CNN at 32 px | {fast['cnn_train_32']:.0f} | {fast['cnn_predict_32']:.0f} |",
        f"| EfficientNet-Lite0 features at 160 px (frozen: no training) | – "
        f"| {fast['transfer_features']:.0f} |",
        f"| U-Net (64 px crops to train, 128 px tiles to predict) | {fast['unet_train_crops']:.0f} "
        f"| {fast['unet_predict_tiles']:.1f} |",
        "",
        "**Memory**: peak resident memory of a fresh process computing the ImageNet features of "
        f"899 digit images: {memory[1]:.0f} MB; of 3,596 (four distinct copies): "
        f"{memory[4]:.0f} MB. Images are read a batch at a time; what grows is the cache of "
        "resized pixels and features, which stops at 512 MB and 256 MB.",
        "",
        "Goals (issue #18): the U-Net against Otsu + watershed on held-out tiles; transfer learning "
        "against training from scratch; images/s on the CPU. No GPU figures: no device was lent.",
    ]
