"""Saving and loading models without pickle: skops for scikit-learn objects, with the trusted types
listed here by exact name, never read from the file and never matched by prefix.

A saved model is one skops file holding the fitted estimator, the fold models behind its conformal
intervals and their state; everything else (leaderboard, scores, units) is the JSON summary kept
in the registry. skops itself trusts plain containers, numbers and numpy arrays; beyond those, a
file may ask only for the exact types in :data:`TRUSTED_TYPES` (the estimators labsight's model
families save, scikit-learn's included), and is refused otherwise, before anything in it is built. A prefix rule such as
``builtins.`` would admit ``builtins.exec`` and ``builtins.eval``. (The artifact store checks the
file's hash before this runs; the MLP's torch weights inside it are read with
``torch.load(weights_only=True)``; the node indices of trees, neighbour indices and boosters are
checked after loading, before anything predicts.)
"""

from __future__ import annotations

import io
import sys
import zipfile
from types import ModuleType
from typing import Any

import orjson
import polars as pl

from labsight.data.forecast import ForecastSpec
from labsight.data.sequences import SequenceSpec
from labsight.exceptions import ArtifactIntegrityError, LabsightError
from labsight.models._features import FeatureSet
from labsight.models._structure import check_booster_nodes, check_structure
from labsight.models._trained import TrainedModel

__all__ = ["TRUSTED_TYPES", "asked_types", "dumps", "loads"]

TRUSTED_TYPES = frozenset(
    {
        # labsight's own torch estimators (their weights load with weights_only=True)
        "labsight.models._mlp.MLPClassifier",
        "labsight.models._mlp.MLPRegressor",
        "labsight.models._cnn1d.SpectrumCNNClassifier",
        "labsight.models._cnn1d.SpectrumCNNRegressor",
        "labsight.models._seqnet.SequenceNetClassifier",
        "labsight.models._seqnet.SequenceNetRegressor",
        # images: a CNN (weights as safetensors), and the frozen ImageNet features (the
        # backbone is not in the file: it is loaded from the installed package, digest checked)
        "labsight.models._cnn2d.ImageCNNClassifier",
        "labsight.models._cnn2d.ImageCNNRegressor",
        "labsight.models._cnn2d.ImageFeatures",
        "sklearn.decomposition._pca.PCA",
        "labsight.models._unet.UNetSegmenter",
        # MiniRocket features (numpy arrays) and a ridge
        "labsight.models._rocket.RocketClassifier",
        "labsight.models._rocket.RocketRegressor",
        "sklearn.linear_model._ridge.RidgeCV",
        "sklearn.linear_model._ridge.RidgeClassifierCV",
        # the blend of the best families (voting ensembles, saved with each member once)
        "labsight.models._blend.BlendClassifier",
        "labsight.models._blend.BlendRegressor",
        # partial least squares (regression, and PLS-DA for classes)
        "labsight.models._pls.PLSDAClassifier",
        "labsight.models._pls.PLSRegressor",
        "sklearn.cross_decomposition._pls.PLSRegression",
        # a Gaussian process with a length scale per input
        "labsight.models._gaussian.ARDGaussianProcessRegressor",
        # LightGBM
        "lightgbm.basic.Booster",
        "lightgbm.sklearn.LGBMClassifier",
        "lightgbm.sklearn.LGBMRegressor",
        # scikit-learn: the pipeline and its preprocessing
        "sklearn.compose._column_transformer.ColumnTransformer",
        "sklearn.impute._base.MissingIndicator",
        "sklearn.impute._base.SimpleImputer",
        "sklearn.pipeline.Pipeline",
        "sklearn.preprocessing._data.StandardScaler",
        "sklearn.preprocessing._encoders.OneHotEncoder",
        "sklearn.preprocessing._label.LabelBinarizer",
        "sklearn.preprocessing._label.LabelEncoder",
        "sklearn.preprocessing._target_encoder.TargetEncoder",
        # scikit-learn: the families' estimators
        "sklearn.ensemble._forest.ExtraTreesClassifier",
        "sklearn.ensemble._forest.ExtraTreesRegressor",
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.ensemble._forest.RandomForestRegressor",
        "sklearn.gaussian_process._gpc.GaussianProcessClassifier",
        "sklearn.gaussian_process._gpc._BinaryGaussianProcessClassifierLaplace",
        "sklearn.gaussian_process._gpr.GaussianProcessRegressor",
        "sklearn.gaussian_process.kernels.ConstantKernel",
        "sklearn.gaussian_process.kernels.Matern",
        "sklearn.gaussian_process.kernels.Product",
        "sklearn.gaussian_process.kernels.Sum",
        "sklearn.gaussian_process.kernels.WhiteKernel",
        "sklearn.linear_model._base.LinearRegression",
        "sklearn.linear_model._coordinate_descent.ElasticNet",
        "sklearn.linear_model._coordinate_descent.Lasso",
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.linear_model._ridge.Ridge",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.multiclass.OneVsRestClassifier",  # a multi-class Gaussian process
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.neighbors._classification.KNeighborsClassifier",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neighbors._regression.KNeighborsRegressor",
        "sklearn.svm._classes.SVC",
        "sklearn.svm._classes.SVR",
        "sklearn.tree._classes.DecisionTreeClassifier",
        "sklearn.tree._classes.DecisionTreeRegressor",
        "sklearn.tree._classes.ExtraTreeClassifier",
        "sklearn.tree._classes.ExtraTreeRegressor",
        "sklearn.tree._tree.Tree",
        # scikit-learn: ensembles of the best candidates, and calibrated classifiers
        "sklearn.calibration.CalibratedClassifierCV",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.ensemble._voting.VotingClassifier",  # blends saved before BlendClassifier
        "sklearn.ensemble._voting.VotingRegressor",
        "sklearn.frozen._frozen.FrozenEstimator",
        "sklearn.utils._bunch.Bunch",  # the fitted members of a voting ensemble
        # plain containers and dtypes
        "collections.OrderedDict",
        "numpy.dtype",
    }
)
"""The exact types, beyond skops's plain ones (containers, numbers, arrays), that a model file may
ask for.

These are what labsight's model families save (a test trains every family and the ensembles and
checks that their files ask for nothing else). Anything else is refused, by full name: no module
is trusted as a whole, and no scikit-learn estimator is trusted because skops would trust it by
default (it trusts every one, ``FunctionTransformer`` included).
"""


def _skops_io() -> ModuleType:
    """``skops.io``, imported without its lists of every scikit-learn estimator and ufunc.

    On import, skops lists what it trusts by default: scikit-learn's estimators
    (``sklearn.utils.all_estimators``, a walk that imports every scikit-learn package, torch's
    array-API shim included, for a fifth of a second or, with torch, seconds of a ``predict``),
    and every public ufunc of numpy and ``scipy.special`` (``dir()`` of each, then a search of
    every loaded module for each ufunc's home: a third of a second). labsight needs neither,
    because :data:`TRUSTED_TYPES` names every type beyond plain containers, numbers and arrays
    that a model holds and :func:`loads` checks each against it; so while skops is imported, the
    walk answers an empty list and the two modules list no public names. Imported before by
    someone else, skops keeps its own defaults, and :func:`loads` checks the scikit-learn types
    in a file against :data:`TRUSTED_TYPES` all the same.
    """
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    import numpy
    import scipy.special
    import sklearn.utils

    walk = sklearn.utils.all_estimators
    listings = {listed: vars(listed).get("__dir__") for listed in (numpy, scipy.special)}
    sklearn.utils.all_estimators = lambda *args, **kwargs: []
    for listed in listings:
        listed.__dir__ = lambda: []  # type: ignore[method-assign]
    try:
        from skops import io as skio
    finally:
        sklearn.utils.all_estimators = walk
        for listed, listing in listings.items():
            if listing is None:
                del listed.__dir__
            else:
                listed.__dir__ = listing  # type: ignore[method-assign]
    module: ModuleType = skio
    return module


def _schema_types(node: Any, found: set[str]) -> set[str]:
    """Every ``module.class`` named in a skops schema."""
    if isinstance(node, dict):
        if isinstance(node.get("__module__"), str) and isinstance(node.get("__class__"), str):
            found.add(f"{node['__module__']}.{node['__class__']}")
        for value in node.values():
            _schema_types(value, found)
    elif isinstance(node, list):
        for value in node:
            _schema_types(value, found)
    return found


def asked_types(data: bytes) -> list[str]:
    """The types a skops file asks to build that need trust: those skops does not trust itself,
    and every scikit-learn type in it (whatever skops's defaults are in this process)."""
    asked = set(_skops_io().get_untrusted_types(data=data))
    asked |= {t for t in _schema_types(_schema(data), set()) if t.startswith("sklearn.")}
    return sorted(asked)


def dumps(model: TrainedModel) -> bytes:
    """The model's fitted parts as skops bytes."""
    state = {
        "estimator": model.estimator,
        "fold_models": list(model.fold_models),
        "intervals": model.intervals.to_state() if model.intervals is not None else None,
    }
    data = bytes(_skops_io().dumps(state))
    unknown = sorted(set(asked_types(data)) - TRUSTED_TYPES)
    if unknown:  # a file that could not be loaded back is never written (a bug, not bad input)
        raise LabsightError(
            "the model holds types labsight would refuse to load: " + ", ".join(unknown[:5]),
            hint="Please report this; nothing was stored",
        )
    return data


def _schema(data: bytes) -> Any:
    """The JSON schema inside a skops file, for the type names and booster texts it holds (skops
    reads it again for its own check and for the values). orjson reads the megabytes of a
    boosted model's schema several times faster than the standard library."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return orjson.loads(archive.read("schema.json"))


def _refuse_untrusted(asked: list[str]) -> None:
    """Refuse a file that asks for any type outside :data:`TRUSTED_TYPES`, naming them."""
    unknown = [t for t in asked if t not in TRUSTED_TYPES]
    if unknown:
        raise ArtifactIntegrityError(
            "the model file asks for types labsight does not trust: "
            + ", ".join(unknown[:5])
            + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""),
            hint="Only models trained by labsight can be loaded; retrain the model",
        )


def loads(data: bytes, summary: dict[str, Any]) -> TrainedModel:
    """The model saved by :func:`dumps`, with its registry ``summary``.

    Raises
    ------
    ArtifactIntegrityError
        When the file asks for a type outside :data:`TRUSTED_TYPES`, or is not a model file
        labsight wrote.
    """
    skio = _skops_io()
    try:
        schema = _schema(data)
    except Exception as exc:  # a zip that is not a skops file, or a schema that is not JSON
        raise ArtifactIntegrityError(
            f"the model file is not a labsight model ({type(exc).__name__}: {exc})",
            hint="Only models trained by labsight can be loaded; retrain the model",
        ) from exc
    # every scikit-learn type needs labsight's trust, whatever skops trusts by default here
    named = _schema_types(schema, set())
    if any(t.startswith("sklearn.") and t not in TRUSTED_TYPES for t in named):
        _refuse_untrusted(asked_types(data))  # names every type it asks for, not only these
    check_booster_nodes(schema)  # before LightGBM parses the text, in threads that abort
    try:
        # skops checks every type in the file against the allow-list before it builds anything
        state = skio.loads(data, trusted=sorted(TRUSTED_TYPES))
    except skio.exceptions.UntrustedTypesFoundException:
        _refuse_untrusted(asked_types(data))  # names them (only on this path: it reads again)
        raise  # pragma: no cover - asked_types names at least one
    except Exception as exc:  # not a skops file; torch weights that are not plain tensors …
        raise ArtifactIntegrityError(
            f"the model file could not be read safely ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''})",
            hint="Only models trained by labsight can be loaded; retrain the model",
        ) from exc
    if not isinstance(state, dict) or not {"estimator", "fold_models", "intervals"} <= set(state):
        raise ArtifactIntegrityError(
            "the model file does not hold a labsight model",
            hint="Only models trained by labsight can be loaded; retrain the model",
        )
    check_structure(state)  # indices a compiled predict follows unchecked
    features = FeatureSet(
        tuple(summary["numeric"]),
        tuple(summary["categorical"]),
        dict(summary["units"]),
        tuple(summary.get("encoded", ())),
        tuple(summary.get("molecules", ())),  # SMILES columns, described again on new data
        tuple(summary.get("spectrum", ())),  # absent in models saved before it was recorded
        tuple((summary.get("sequence") or {}).get("sensors", ())),
        int((summary.get("sequence") or {}).get("length", 0)),
        summary.get("image"),
    )
    intervals = None
    if state["intervals"] is not None:
        from labsight.models._conformal import CVPlus

        intervals = CVPlus.from_state(state["intervals"], state["fold_models"])
    interval = summary.get("interval") or {}
    return TrainedModel(
        estimator=state["estimator"],
        task=summary["task"],
        metric=summary["metric"],
        target=summary["target"],
        target_unit=summary.get("target_unit"),
        features=features,
        classes=summary.get("classes"),
        cv=summary["cv"],
        leaderboard=summary["leaderboard"],
        best=summary["best"],
        params=summary["params"],
        seed=summary["seed"],
        budget=summary["budget"],
        trials=summary["trials"],
        seconds=summary["seconds"],
        level=interval.get("level", 0.9),
        interval_method=interval.get("method"),
        coverage=interval.get("coverage"),
        intervals=intervals,
        fold_models=list(state["fold_models"]),
        importance=pl.DataFrame(summary["importance"]) if summary.get("importance") else None,
        coefficients=pl.DataFrame(summary["coefficients"]) if summary.get("coefficients") else None,
        partial_dependence={
            name: (list(curve["grid"]), list(curve["average"]))
            for name, curve in (summary.get("partial_dependence") or {}).items()
        },
        rows=summary.get("rows", 0),
        domain=summary.get("domain"),  # None for models trained before it was recorded
        spectrum_mean=summary.get("spectrum_mean"),
        saliency=list(summary.get("saliency") or []),
        forecast=ForecastSpec.from_dict(summary["forecast"]) if summary.get("forecast") else None,
        sequence=SequenceSpec.from_dict(summary["sequence"]) if summary.get("sequence") else None,
    )
