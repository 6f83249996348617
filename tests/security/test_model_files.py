"""No code runs when a file is loaded: crafted model files (skops, torch weights), an ONNX file and
YAML plans and space files that ask for Python objects are all refused with one clear line."""

from __future__ import annotations

import functools
import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest
import torch
from sklearn.preprocessing import FunctionTransformer
from skops import io as skio
from sqlalchemy import update

import labsight
from labsight import audit
from labsight.cli import main
from labsight.data.table import Table
from labsight.exceptions import ArtifactIntegrityError
from labsight.models import _mlp
from labsight.models._families import FAMILIES
from labsight.models._persist import TRUSTED_TYPES, asked_types, dumps, loads
from labsight.models.train import train
from labsight.store import models as model_repo
from labsight.store._rows import ModelRow


def _touch(marker: Path) -> str:
    return f"__import__('pathlib').Path({str(marker)!r}).touch()"


def _exec_payload(marker: Path) -> bytes:
    """A model file whose estimator runs ``exec`` on the rows it is asked to predict."""
    transformer = FunctionTransformer(func=functools.partial(exec, _touch(marker), {}))
    return bytes(skio.dumps({"estimator": transformer, "fold_models": [], "intervals": None}))


def test_the_exec_payload_is_real(tmp_path: Path) -> None:
    """Loaded by trusting what the file asks for (as a prefix rule did), the payload runs code."""
    marker = tmp_path / "ran"
    data = _exec_payload(marker)
    state = skio.loads(data, trusted=skio.get_untrusted_types(data=data))
    state["estimator"].transform(pd.DataFrame({"x": [1.0]}))
    assert marker.exists()


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        (
            lambda m: {"estimator": FunctionTransformer(func=exec), "fold_models": []},
            "builtins.exec",
        ),
        (
            lambda m: {"estimator": FunctionTransformer(func=eval), "fold_models": []},
            "builtins.eval",
        ),
        (lambda m: {"estimator": FunctionTransformer(func=os.system)}, "system"),
        (lambda m: {"estimator": functools.partial(print, "x")}, "functools.partial"),
    ],
)
def test_a_model_file_asking_for_an_untrusted_type_is_refused(
    tmp_path: Path, payload: object, named: str
) -> None:
    data = bytes(skio.dumps(payload(tmp_path)))  # type: ignore[operator]
    with pytest.raises(ArtifactIntegrityError, match=f"does not trust: .*{named}"):
        loads(data, {})


def test_the_exec_payload_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(ArtifactIntegrityError, match=r"builtins\.exec, functools\.partial"):
        loads(_exec_payload(marker), {})
    assert not marker.exists()


def test_a_file_that_is_not_a_skops_model_is_refused() -> None:
    with pytest.raises(ArtifactIntegrityError, match="not a labsight model"):
        loads(b"PK\x03\x04 not really a zip", {})
    with pytest.raises(ArtifactIntegrityError, match="does not hold a labsight model"):
        loads(bytes(skio.dumps([1, 2, 3])), {})


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (exec, (_touch(self.marker),))


def test_torch_weights_that_unpickle_code_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An MLP whose weights are a pickle that runs code is refused; the code does not run."""
    frame = pl.DataFrame({"a": [float(i) for i in range(40)], "y": [i * 2.0 for i in range(40)]})
    model = train(Table.from_frame(frame), "y", families=["mlp"], budget=30, max_trials=1)
    marker = tmp_path / "ran"
    buffer = io.BytesIO()
    torch.save({"0.weight": _Evil(marker)}, buffer)
    monkeypatch.setattr(_mlp, "_dump_weights", lambda state: (buffer.getvalue(), "torch"))
    crafted = dumps(model)
    monkeypatch.undo()
    assert not marker.exists()
    with pytest.raises(ArtifactIntegrityError, match="could not be read safely"):
        loads(crafted, model.summary())
    assert not marker.exists()
    assert loads(dumps(model), model.summary()).estimator is not None  # the real one loads


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_family_saves_only_trusted_types(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The allow-list is exactly what labsight's own families need: each family's file loads, for
    regression, two classes and three, with missing values and a many-level category (the
    spectral families on a table with a spectrum). One test per family, so they spread over the
    workers. (One repeat of the folds and ten bootstrap draws of a linear model's coefficients:
    they change how steady the scores and intervals are, not what a file holds.)"""
    from labsight.models import _finish, _folds, _mlp

    monkeypatch.setattr(_folds, "_repeats", lambda n: 1)
    monkeypatch.setattr(_finish, "_BOOTSTRAP", (10, 10))
    monkeypatch.setattr(_finish, "_REPEATS", (1, 2))
    train_network = _mlp.train_network  # networks: a few epochs (the file holds the same types)
    monkeypatch.setattr(
        _mlp, "train_network", lambda *a, **k: train_network(*a, **{**k, "max_epochs": 3})
    )
    family = FAMILIES[name]
    n = 80
    frame = pl.DataFrame(
        {
            "a": [float(i % 7) for i in range(n)],
            "b": [float((i * 3) % 11) if i % 9 else None for i in range(n)],
            "kind": ["x", "y", "z", None] * (n // 4),
            "many": [f"c{i % 25}" for i in range(n)],  # target-encoded
            "y": [float(i % 5) + (i % 7) for i in range(n)],
            "label": ["lo", "hi"] * (n // 2),
            "three": ["p", "q", "r", "p"] * (n // 4),
        }
    )
    targets = ("y", "label", "three")
    if family.runs_only:  # 16 runs of 5 readings, one value of each target per run
        frame = pl.DataFrame(
            {
                "run": [f"r{i // 5}" for i in range(n)],
                "t": [float(i % 5) for i in range(n)],
                "a": [float((i * 7) % 11) for i in range(n)],
                "b": [float(i % 3) if i % 9 else None for i in range(n)],
                "y": [float((i // 5) % 4) for i in range(n)],
                "label": [("lo", "hi")[(i // 5) % 2] for i in range(n)],
                "three": [("p", "q", "r")[(i // 5) % 3] for i in range(n)],
            }
        )
    elif family.spectral:  # 60 channels named by wavelengths, beside the rest
        channels = {
            f"{400 + 2 * j}": [float((i * (j + 3)) % 17) / 7 for i in range(n)] for j in range(60)
        }
        frame = frame.with_columns(**{k: pl.Series(v) for k, v in channels.items()})
    images = None
    if family.image:  # 40 small images of two kinds, a value and a class for each
        frame, images = _image_frame(tmp_path, n // 2)
    asked: set[str] = set()
    for target in targets:
        task = "regression" if target == "y" else "classification"
        if task not in family.tasks:
            continue
        roles: dict[str, Any] = {"run": "group", "t": "time"} if family.runs_only else {}
        table = Table.from_frame(frame.drop([t for t in targets if t != target]), roles=roles)
        if images is not None:
            table = _as_images(table, images)
        model = train(
            table,
            target,
            families=[name],
            budget=180 if family.network else 60,  # a busy machine must not starve a network
            max_trials=1,
        )
        data = dumps(model)
        asked |= set(asked_types(data))
        loads(data, model.summary())
    assert asked <= TRUSTED_TYPES, asked - TRUSTED_TYPES
    # every scikit-learn type in a file needs labsight's trust, whatever skops trusts by default
    assert "sklearn.pipeline.Pipeline" in asked
    if name == "svm":
        assert "sklearn.svm._classes.SVC" in asked


def test_a_trusted_name_is_a_real_class() -> None:
    """A typo in the allow-list would refuse a model labsight trained: each name imports."""
    import importlib

    for name in TRUSTED_TYPES:
        module, _, attr = name.rpartition(".")
        assert isinstance(getattr(importlib.import_module(module), attr), type), name


def test_a_scikit_learn_type_outside_the_list_is_refused() -> None:
    """skops trusts every scikit-learn estimator by default; labsight trusts only its own list."""
    from sklearn.linear_model import HuberRegressor

    x = [[float(i), float(i % 3)] for i in range(30)]
    y = [2.0 * i + (i % 3) for i in range(30)]
    state = {"estimator": HuberRegressor().fit(x, y), "fold_models": [], "intervals": None}
    with pytest.raises(ArtifactIntegrityError, match="HuberRegressor"):
        loads(bytes(skio.dumps(state)), {})


def test_predict_refuses_a_crafted_file_even_with_a_forged_seal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An intruder who stores a crafted file under its own hash, repoints the model at it and even
    appends a forged audit entry for the row still gets no code run by `labsight predict`."""
    home = tmp_path / "home"
    ws = labsight.Workspace(home, user="analyst")
    csv = tmp_path / "t.csv"
    csv.write_text(
        "x,y\n" + "".join(f"{(i * 7) % 12 / 3},{(i * 7) % 5 + 1.5}\n" for i in range(40))
    )
    ds = ws.ingest(csv, name="t")
    ws.models.train(ds, "y", name="m", families=["ridge"], budget=10, max_trials=1)
    marker = tmp_path / "ran"
    digest = ws.artifacts.put_bytes(_exec_payload(marker), ".skops")
    with ws.db.engine.begin() as conn:
        conn.execute(update(ModelRow.__table__).values(sha256=digest))
    with ws.db.write() as session:  # the forgery: a new entry sealing the edited row
        model_repo.model_row(session, "m").stage = "validated"
        audit.record(
            session,
            audit.AuditEvent(action="model.stage", object_type="model", object_id="m"),
            "intruder",
        )
    ws.close()
    code = main(["--home", str(home), "predict", "m", str(csv)])
    err = capsys.readouterr().err
    assert code == 1
    assert "does not trust: builtins.exec" in err
    assert "Traceback" not in err
    assert not marker.exists()


def test_an_onnx_file_is_not_a_model_labsight_loads(tmp_path: Path) -> None:
    """labsight writes ONNX but never loads an ONNX file it did not just build: handed one as a
    model or as data, it is refused as not a table."""
    crafted = tmp_path / "model.onnx"
    crafted.write_bytes(b"\x08\x07\x12\x07crafted" + os.urandom(64))
    ws = labsight.Workspace(tmp_path / "home")
    with pytest.raises(labsight.InputError):
        ws.ingest(crafted, name="onnx")
    assert ws.datasets() == []


YAML_BOMB = "!!python/object/apply:os.system ['touch {marker}']\n"


def test_a_plan_file_asking_for_python_objects_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], yield_csv: Path
) -> None:
    marker = tmp_path / "ran"
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "labsight_plan: 1\nsteps:\n  - op: impute\n    method: " + YAML_BOMB.format(marker=marker)
    )
    code = main(["--home", str(tmp_path / "home"), "clean", str(yield_csv), "--plan", str(plan)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "plan.yaml" in err
    assert "Traceback" not in err
    assert not marker.exists()


def test_a_space_file_asking_for_python_objects_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "ran"
    space = tmp_path / "space.yaml"
    space.write_text("parameters: " + YAML_BOMB.format(marker=marker))
    code = main(["--home", str(tmp_path / "home"), "design", "new", "c1", "--space", str(space)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "space.yaml" in err
    assert "Traceback" not in err
    assert not marker.exists()
    assert labsight.Workspace(tmp_path / "home").campaigns() == []


def test_an_ensemble_of_families_saves_only_trusted_types() -> None:
    """labsight's leader may be a blend of the top families (a voting ensemble): it loads too."""
    from sklearn.ensemble import VotingRegressor
    from sklearn.linear_model import LinearRegression
    from sklearn.neighbors import KNeighborsRegressor

    x = [[float(i), float(i % 3)] for i in range(30)]
    y = [2.0 * i + (i % 3) for i in range(30)]
    blend = VotingRegressor([("knn", KNeighborsRegressor()), ("linear", LinearRegression())])
    data = bytes(skio.dumps({"estimator": blend.fit(x, y), "fold_models": [], "intervals": None}))
    assert "sklearn.ensemble._voting.VotingRegressor" in asked_types(data)
    assert set(asked_types(data)) <= TRUSTED_TYPES


def _trained(family: str) -> tuple[bytes, dict[str, object]]:
    frame = pl.DataFrame(
        {
            "a": [float(i % 7) for i in range(60)],
            "b": [float((i * 3) % 11) for i in range(60)],
            "y": [float(i % 5) + (i % 7) for i in range(60)],
        }
    )
    model = train(Table.from_frame(frame), "y", families=[family], budget=60, max_trials=1)
    return dumps(model), model.summary()


def _first(state: object, kind: type) -> object:
    from labsight.models._structure import _parts

    return next(p for p in _parts(state, set()) if isinstance(p, kind))


def _corrupt_tree(data: bytes) -> bytes:
    from sklearn.tree._tree import Tree

    state = skio.loads(data, trusted=sorted(TRUSTED_TYPES))
    _first(state, Tree).children_left[0] = 10**6  # type: ignore[attr-defined]  # a view
    return bytes(skio.dumps(state))


def _corrupt_kd_tree(data: bytes) -> bytes:
    from sklearn.neighbors._kd_tree import KDTree

    state = skio.loads(data, trusted=sorted(TRUSTED_TYPES))
    _first(state, KDTree).get_arrays()[1][0] = 10**6  # type: ignore[attr-defined]  # idx_array
    return bytes(skio.dumps(state))


def _edit_booster_text(data: bytes, edit: Callable[[str], str]) -> bytes:
    """The booster's model text lives in the file's schema.json; LightGBM itself would abort the
    whole process on some of these edits, so they are made in the file, as an intruder would."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "schema.json":
                content = content.replace(b"left_child=-1", edit("left_child=-1").encode())
            target.writestr(item, content)
    return out.getvalue()


@pytest.mark.parametrize(
    ("family", "corrupt", "expected"),
    [
        ("random_forest", _corrupt_tree, "decision tree's left child index"),
        ("knn", _corrupt_kd_tree, "neighbour index points outside"),
        (
            "lightgbm",
            functools.partial(_edit_booster_text, edit=lambda t: t.replace("-1", "99")),
            "boosted tree's child index",
        ),
        (
            "lightgbm",
            functools.partial(_edit_booster_text, edit=lambda t: t.replace("-1", "-1 -1")),
            "tree_sizes do not match",  # LightGBM would cut the text wrongly and abort
        ),
    ],
)
def test_a_model_whose_indices_point_outside_its_arrays_is_refused(
    family: str, corrupt: Callable[[bytes], bytes], expected: str
) -> None:
    """Compiled predict code follows node indices unchecked: a crafted index would read outside
    memory (a crash, or worse), so loading checks every index first."""
    data, summary = _trained(family)
    loads(data, summary)  # the real file loads
    with pytest.raises(ArtifactIntegrityError, match=expected):
        loads(corrupt(data), summary)


def test_a_boosted_model_with_one_leaf_trees_loads() -> None:
    """LightGBM writes a tree of one leaf (a target it cannot split) with empty node lists and an
    empty ``leaf_weight``: the check before parsing must accept what LightGBM itself writes."""
    from labsight.models._structure import check_booster_text

    frame = pl.DataFrame({"a": [float(i) for i in range(12)], "y": [3.0] * 12})
    model = train(Table.from_frame(frame), "y", families=["lightgbm"], budget=30, max_trials=1)
    booster = model.estimator.steps[-1][1].booster_
    text = booster.model_to_string()
    assert "num_leaves=1" in text
    assert "\nleaf_weight=\n" in text
    check_booster_text(text)
    loaded = loads(dumps(model), model.summary())
    assert loaded.estimator is not None


def _categorical_booster_text() -> str:
    """A real LightGBM model's text whose first tree splits on a categorical feature, without the
    optional ``tree_sizes`` (so that an edit is judged by the tree it breaks)."""
    import lightgbm as lgb
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.random(300), "c": pd.Categorical(rng.integers(0, 5, 300))})
    y = x["a"] * 0.1 + (x["c"].cat.codes == 2) * 10
    model = lgb.LGBMRegressor(
        n_estimators=3, verbose=-1, min_child_samples=5, min_data_per_group=5, cat_smooth=1
    ).fit(x, y)
    text: str = model.booster_.model_to_string()
    return "\n".join(line for line in text.split("\n") if not line.startswith("tree_sizes="))


def _in_first_tree(field: str, edit: Callable[[str], str]) -> Callable[[str], str]:
    def apply(text: str) -> str:
        start = text.index(f"\n{field}=", text.index("Tree=0")) + 1
        end = text.index("\n", start)
        return text[:start] + edit(text[start:end]) + text[end:]

    return apply


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_in_first_tree("leaf_value", lambda v: v.replace("=", "=abc ", 1)), "leaf_value has"),
        (
            _in_first_tree("threshold", lambda v: v.replace(" ", " x", 1)),
            "threshold cannot be read",
        ),
        (_in_first_tree("num_leaves", lambda v: "num_leaves=many"), "num_leaves cannot be read"),
        (_in_first_tree("is_linear", lambda v: "is_linear=1"), "linear"),
        (_in_first_tree("split_feature", lambda v: v.replace("=1", "=7", 1)), "feature the model"),
        (_in_first_tree("num_cat", lambda v: "num_cat=0"), "disagree with its num_cat"),
        (_in_first_tree("threshold", lambda v: "threshold=5" + v[11:]), "outside its categories"),
        (_in_first_tree("cat_boundaries", lambda v: "cat_boundaries=3 1"), "not increasing"),
        (_in_first_tree("cat_threshold", lambda v: v + " 7"), "cat_threshold has"),
    ],
)
def test_a_crafted_booster_text_is_refused_before_lightgbm_parses_it(
    edit: Callable[[str], str], expected: str
) -> None:
    from labsight.models._structure import check_booster_text

    text = _categorical_booster_text()
    assert "num_cat=1" in text.split("Tree=1")[0]
    check_booster_text(text)  # the real text passes
    with pytest.raises(ArtifactIntegrityError, match=expected):
        check_booster_text(edit(text))


def _image_frame(folder: Path, n: int) -> tuple[pl.DataFrame, Any]:
    """``n`` small PNG images (bright or dark squares) as an image column with three targets."""
    import hashlib

    import numpy as np
    from PIL import Image

    from labsight.data.images import ImageFiles

    files, keys = {}, []
    for i in range(n):
        pixels = np.full((12, 12), 40 + 200 * (i % 2), dtype=np.uint8)
        pixels[i % 12, :] = 255  # each image its own
        path = folder / f"im{i}.png"
        Image.fromarray(pixels).save(path)
        key = hashlib.sha256(path.read_bytes()).hexdigest()
        files[key] = path
        keys.append(key)
    frame = pl.DataFrame(
        {
            "image": keys,
            "y": [float(i % 2) + 0.1 * (i % 5) for i in range(n)],
            "label": [("lo", "hi")[i % 2] for i in range(n)],
            "three": [("p", "q", "r")[i % 3] for i in range(n)],
        }
    )
    return frame, ImageFiles(files)


def _as_images(table: Table, images: Any) -> Table:
    import dataclasses

    columns = [
        dataclasses.replace(c, dtype="image") if c.name == "image" else c for c in table.columns
    ]
    return Table(table.frame, columns, images=images)
