"""Images: a folder of them (one sub-folder per class) or a table of paths is ingested as stored
files; a CNN from scratch and transfer learning from ImageNet weights installed with the package
learn them, judged on images they never saw; predict reads a new folder; bad images are refused in
one line with nothing stored; the pretrained network is the published one (a cat is a cat)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import tifffile
from PIL import Image

from labsight.data.images import ImageFiles, ImageRef, decode_image
from labsight.data.ingest import read_table
from labsight.exceptions import DataFormatError, ExportError, LabsightError, NotFoundError
from labsight.models.predict import predict_table
from labsight.models.train import train

_SIDE = 40


def _picture(kind: str, rng: np.random.Generator) -> np.ndarray:
    """One grey 8-bit picture: a few round blobs, or a few thin rods, on a noisy background."""
    yy, xx = np.mgrid[:_SIDE, :_SIDE]
    image = rng.normal(25, 6, (_SIDE, _SIDE))
    for _ in range(int(rng.integers(2, 4))):
        cy, cx = rng.uniform(8, _SIDE - 8, 2)
        a, b = (5.0, 5.0) if kind == "round" else (10.0, 2.0)
        angle = rng.uniform(0, np.pi)
        u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
        v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
        image += 160 * ((u / a) ** 2 + (v / b) ** 2 < 1)
    return np.clip(image, 0, 255).astype(np.uint8)


def _folder(root: Path, per_class: int, seed: int, classes: bool = True) -> Path:
    """Images of two classes, in sub-folders (or loose): PNG, 16-bit TIFF and RGB JPEG mixed."""
    rng = np.random.default_rng(seed)
    for kind in ("round", "rods"):
        where = root / kind if classes else root
        where.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = _picture(kind, rng)
            name = f"{kind}-{seed}-{i}"
            if i % 3 == 0:
                tifffile.imwrite(where / f"{name}.tif", pixels.astype(np.uint16) * 40)
            elif i % 3 == 1:
                Image.fromarray(np.stack([pixels] * 3, axis=2)).save(
                    where / f"{name}.jpg", quality=95
                )
            else:
                Image.fromarray(pixels).save(where / f"{name}.png")
    return root


def test_a_folder_of_classes_is_ingested_as_stored_images(ws: Any, tmp_path: Path) -> None:
    folder = _folder(tmp_path / "cells", 6, seed=1)
    version = ws.ingest(folder, name="cells")
    table = version.table()
    assert table.column("image").dtype == "image"
    assert table.column("label").role == "target"
    assert sorted(set(table.frame["label"].to_list())) == ["rods", "round"]
    assert table.frame.height == 12
    # each image is stored under the hash of its own bytes, and reads back as it was
    for key, file in zip(table.frame["image"], table.frame["file"], strict=True):
        data = (folder / file).read_bytes()
        assert hashlib.sha256(data).hexdigest() == key
        assert ws._ctx.artifacts.get_bytes(key) == data
    # the stored version reads its images from the store, not from the folder
    shutil.rmtree(folder)
    refs = table.images.refs(table.frame["image"].to_list(), table.frame["file"].to_list())
    assert refs[0].pixels(16, 1).shape == (1, 16, 16)
    # 16-bit TIFF and RGB JPEG are read; their sizes and channels are recorded
    channels = dict(zip(table.frame["file"], table.frame["channels"], strict=True))
    assert channels["round/round-1-1.jpg"] == 3
    assert channels["round/round-1-0.tif"] == 1


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("empty", "is a directory, and holds no images"),
        ("one_class", "only one class"),
        ("truncated", "cannot be decoded"),
        ("stack", "holds a stack"),
        ("not_an_image", "not an image labsight can read"),
        ("loose_and_classes", "of no class beside the class sub-folders"),
    ],
)
def test_a_bad_folder_is_refused_in_one_line_and_nothing_is_stored(
    run: Any, tmp_path: Path, setup: str, message: str
) -> None:
    root = tmp_path / "bad"
    root.mkdir()
    if setup != "empty":
        _folder(root, 3, seed=2, classes=setup != "loose_and_classes")
    if setup == "one_class":
        shutil.rmtree(root / "rods")
    elif setup == "truncated":
        png = next((root / "rods").glob("*.png"))
        png.write_bytes(png.read_bytes()[:200])
    elif setup == "stack":
        tifffile.imwrite(root / "rods" / "stack.tif", np.zeros((5, 32, 32), dtype=np.uint16))
    elif setup == "not_an_image":
        (root / "rods" / "notes.png").write_text("not a picture")
    elif setup == "loose_and_classes":
        (root / "sub").mkdir()
        Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(root / "sub" / "a.png")
    code, out, err = run("ingest", str(root), "--name", "bad")
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert str(root) in err  # the folder or the image is named
    code, out, _ = run("datasets", "--json")
    assert "bad" not in out


def test_a_table_of_image_paths_reads_only_under_its_folder(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "plate", 3, seed=3)
    rows = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.*"))
    table_file = folder / "plates.csv"
    pl.DataFrame({"image_path": rows, "well": list(range(len(rows)))}).write_csv(table_file)
    table = read_table(table_file, images="image_path")
    assert table.column("image").dtype == "image"
    assert table.column("image_path").role == "id"
    assert table.images is not None
    assert len(table.images.files) == len(rows)
    # a crafted path that climbs out of the table's folder is refused, naming the line
    secret = tmp_path / "secret.png"
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(secret)
    for crafted in ("../secret.png", str(secret)):
        bad = folder / "crafted.csv"
        pl.DataFrame({"image_path": [rows[0], crafted]}).write_csv(bad)
        with pytest.raises(DataFormatError, match="leads outside the table's folder") as caught:
            read_table(bad, images="image_path")
        assert caught.value.line == 3
        assert caught.value.column == "image_path"
    bad.write_text("image_path\nmissing.png\n")
    with pytest.raises(NotFoundError, match="no image file"):
        read_table(bad, images="image_path")


def test_images_of_any_depth_and_mode_read_into_zero_to_one() -> None:
    import io

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.array([[0, 1000], [2000, 60000]], dtype=np.uint16))
    grey = decode_image(buffer.getvalue(), "x.tif")
    assert grey.shape == (2, 2, 1)
    assert grey.min() >= 0
    assert grey.max() <= 1
    assert grey[1, 1, 0] == 1.0
    assert grey[0, 0, 0] == 0.0
    buffer = io.BytesIO()
    Image.fromarray(np.full((4, 4, 4), 255, dtype=np.uint8), "RGBA").save(buffer, "PNG")
    rgb = decode_image(buffer.getvalue(), "x.png")
    assert rgb.shape == (4, 4, 3)
    assert np.allclose(rgb, 1.0)
    files = ImageFiles(store=lambda key: buffer.getvalue())
    ref = ImageRef("k", "x.png", files.read)
    assert ref.pixels(8, 1).shape == (1, 8, 8)
    assert ref == ImageRef("k", "y", files.read)


def test_transfer_learning_classifies_unseen_images_and_cli_matches_python(
    run: Any, tmp_path: Path, quick: None
) -> None:
    _folder(tmp_path / "cells", 12, seed=4)
    new = _folder(tmp_path / "new", 5, seed=5, classes=False)
    code, _, err = run("ingest", str(tmp_path / "cells"), "--name", "cells")
    assert code == 0, err
    code, out, err = run("train", "cells", "--families", "transfer", "--budget", "40")
    assert code == 0, err
    said = " ".join(out.split())
    assert "transfer" in said
    assert "an image model reads the image alone" in said
    labels = tmp_path / "labels.csv"
    code, _, err = run("predict", "cells-label", str(new), "--out", str(labels))
    assert code == 0, err
    cli = pl.read_csv(labels)
    truth = ["rods" if f.startswith("rods") else "round" for f in cli["file"]]
    assert np.mean(np.array(cli["prediction"].to_list()) == np.array(truth)) >= 0.9
    import labsight

    ws = labsight.Workspace(run.home)
    api = ws.models.predict_file("cells-label", new).frame
    model = ws.models.load("cells-label")
    ws.close()
    assert api["prediction"].to_list() == cli["prediction"].to_list()
    assert np.allclose(api["proba_round"].to_numpy(), cli["proba_round"].to_numpy())
    # held-out occlusion maps are kept with the model and drawn
    assert model.saliency
    assert {"file", "actual", "prediction", "map"} <= set(model.saliency[0])
    assert "saliency" in model.figures()
    code, out, _ = run("model", "show", "cells-label")
    assert "occlusion maps of" in " ".join(out.split())
    from labsight.models.export import to_onnx

    with pytest.raises(ExportError, match="image files"):
        to_onnx(model, None)  # type: ignore[arg-type]


def test_a_cnn_from_scratch_learns_images_it_never_saw(tmp_path: Path) -> None:
    """The estimator alone, on 80 images, judged on 40 others; its file rebuilds it exactly, and
    the same seed gives the same network."""
    from labsight.models._cnn2d import ImageCNNClassifier

    train_table = read_table(_folder(tmp_path / "train", 40, seed=6))
    test_table = read_table(_folder(tmp_path / "test", 20, seed=7))

    def refs(table: Any) -> np.ndarray:
        assert table.images is not None
        return table.images.refs(table.frame["image"].to_list(), table.frame["file"].to_list())

    y = train_table.frame["label"].to_numpy()
    x_train, x_test = refs(train_table)[:, None], refs(test_table)[:, None]
    net = ImageCNNClassifier(size=32, filters=8, max_epochs=40, patience=8, device="cpu")
    net.fit(x_train, y)
    truth = test_table.frame["label"].to_numpy()
    assert np.mean(net.predict(x_test) == truth) >= 0.85
    again = ImageCNNClassifier.from_state(net.to_state())
    assert np.allclose(again.predict_proba(x_test), net.predict_proba(x_test))
    twin = ImageCNNClassifier(size=32, filters=8, max_epochs=3, device="cpu").fit(x_train, y)
    same = ImageCNNClassifier(size=32, filters=8, max_epochs=3, device="cpu").fit(x_train, y)
    assert np.allclose(twin.predict_proba(x_test), same.predict_proba(x_test))


def test_the_pretrained_network_is_the_published_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A photograph of a cat is a cat (ImageNet classes 281-285) through the installed weights;
    weights whose digest differs are refused."""
    import torch
    import torch.nn.functional as F
    from skimage import data

    from labsight.models import _imagenet

    network = _imagenet.load_backbone()
    state = torch.load(_imagenet.weights_file(), map_location="cpu", weights_only=True)
    cat = torch.from_numpy(data.chelsea().astype(np.float32).transpose(2, 0, 1) / 255)[None]
    cat = F.interpolate(cat, size=(224, 224), mode="bilinear", antialias=True)
    with torch.no_grad():
        logits = network(cat) @ state["_fc.weight"].T + state["_fc.bias"]
    assert 281 <= int(logits.argmax()) <= 285
    tampered = tmp_path / "weights.pth"
    tampered.write_bytes(_imagenet.weights_file().read_bytes() + b"\0")
    monkeypatch.setattr(_imagenet, "weights_file", lambda: tampered)
    _imagenet.load_backbone.cache_clear()
    try:
        with pytest.raises(LabsightError, match="not the published file"):
            _imagenet.load_backbone()
    finally:
        monkeypatch.undo()
        _imagenet.load_backbone.cache_clear()


def test_an_image_model_refuses_a_plain_table_and_tables_refuse_image_families(
    tmp_path: Path, quick: None
) -> None:
    table = read_table(_folder(tmp_path / "cells", 6, seed=8))
    with pytest.raises(LabsightError, match="does not read images"):
        train(table, "label", families=["ridge", "logistic"], budget=10)
    plain = read_table(_write_csv(tmp_path / "t.csv"))
    with pytest.raises(LabsightError, match="reads images, and the table has none"):
        train(plain, "y", families=["cnn2d"], budget=10)
    model = train(table, "label", families=["transfer"], budget=20, max_trials=1)
    frame = pl.DataFrame({"image": ["abc"]})
    from labsight.data.table import Table

    with pytest.raises(LabsightError, match="holds no images"):
        predict_table(model, Table.from_frame(frame))


def _write_csv(path: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=30)
    pl.DataFrame({"x": x, "y": 2 * x}).write_csv(path)
    return path


def _nuclei(root: Path, n: int, seed: int, masks: bool = True) -> list[np.ndarray]:
    """``n`` 64 × 64 16-bit fluorescence-like images of round nuclei (and their label masks)."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    if masks:
        (root / "masks").mkdir(parents=True, exist_ok=True)
    truths = []
    yy, xx = np.mgrid[:64, :64]
    for k in range(n):
        labels = np.zeros((64, 64), dtype=np.uint16)
        for label in range(1, int(rng.integers(3, 6)) + 1):
            cy, cx, r = rng.uniform(8, 56), rng.uniform(8, 56), rng.uniform(4, 7)
            labels[(yy - cy) ** 2 + (xx - cx) ** 2 < r**2] = label
        image = rng.normal(300, 60, (64, 64)) + 2000 * (labels > 0)
        tifffile.imwrite(root / "images" / f"n{k}.tif", np.clip(image, 0, None).astype(np.uint16))
        if masks:
            tifffile.imwrite(root / "masks" / f"n{k}.tif", labels)
        truths.append(labels)
    return truths


def test_a_unet_segments_unseen_images_and_writes_their_masks(run: Any, tmp_path: Path) -> None:
    """images/ beside masks/ is a segmentation task: a U-Net scored by held-out IoU against an
    Otsu baseline; predict writes each image's objects as a label TIFF, as Python gives them."""
    _nuclei(tmp_path / "nuclei", 6, seed=1)
    truths = _nuclei(tmp_path / "new", 3, seed=2, masks=False)
    code, out, err = run("ingest", str(tmp_path / "nuclei"), "--name", "nuclei")
    assert code == 0, err
    assert "mask" in out
    code, out, err = run("train", "nuclei", "--budget", "40")
    assert code == 0, err
    said = " ".join(out.split())
    assert "unet" in said
    assert "otsu (baseline)" in said
    assert "5-fold over images" in said
    masks = tmp_path / "masks"
    table = tmp_path / "objects.csv"
    code, out, err = run(
        "predict",
        "nuclei-mask",
        str(tmp_path / "new" / "images"),
        "--out",
        str(table),
        "--masks",
        str(masks),
    )
    assert code == 0, err
    written = {p.name: tifffile.imread(p) for p in masks.glob("*.mask.tif")}
    assert sorted(written) == ["n0.mask.tif", "n1.mask.tif", "n2.mask.tif"]
    inter = sum(
        int(((written[f"n{k}.mask.tif"] > 0) & (t > 0)).sum()) for k, t in enumerate(truths)
    )
    union = sum(
        int(((written[f"n{k}.mask.tif"] > 0) | (t > 0)).sum()) for k, t in enumerate(truths)
    )
    assert inter / union >= 0.5
    objects = pl.read_csv(table)
    assert objects["objects"].to_list() == [
        len(np.unique(w[w > 0])) for _, w in sorted(written.items())
    ]
    import labsight

    ws = labsight.Workspace(run.home)
    api = ws.models.predict_file("nuclei-mask", tmp_path / "new" / "images")
    model = ws.models.load("nuclei-mask")
    ws.close()
    assert api.masks is not None
    for name, labels in api.masks:
        assert np.array_equal(labels, written[name.rsplit(".", 1)[0] + ".mask.tif"])
    assert model.task == "segmentation"
    code, out, _ = run("model", "show", "nuclei-mask")
    assert "predicting an Otsu threshold of each image" in " ".join(out.split())
    code, _, err = run(
        "predict", "cells-label" if False else "nuclei-mask", str(tmp_path / "x.csv")
    )
    assert code == 2


def test_a_bad_segmentation_folder_is_refused(tmp_path: Path) -> None:
    _nuclei(tmp_path / "a", 2, seed=3)
    (tmp_path / "a" / "masks" / "n1.tif").rename(tmp_path / "a" / "masks" / "other.tif")
    with pytest.raises(DataFormatError, match="no partner"):
        read_table(tmp_path / "a")
    _nuclei(tmp_path / "b", 2, seed=3)
    tifffile.imwrite(tmp_path / "b" / "masks" / "n1.tif", np.zeros((10, 10), dtype=np.uint16))
    with pytest.raises(DataFormatError, match="a mask of its image's size"):
        read_table(tmp_path / "b")
    _nuclei(tmp_path / "c", 2, seed=3)
    with pytest.raises(LabsightError, match="at least 3 images"):
        train(read_table(tmp_path / "c"), "mask", budget=5)
