"""ONNX export of a trained model, with its intervals or calibrated probabilities.

:func:`to_onnx` writes one self-contained ONNX graph that answers what ``labsight predict`` answers,
for a runtime that has never heard of labsight (onnxruntime in C++, C#, Java or the browser, on an
instrument PC):

* **Inputs**: one tensor ``[N, 1]`` per feature column, named exactly as the column (numbers as
  ``double`` in the model's units, which the metadata lists; categories as ``string``, an empty
  string meaning missing). A missing number is NaN.
* **Outputs**, regression: ``prediction``, ``lower`` and ``upper`` (``[N]``, double) — the CV+
  interval computed in the graph from the fold models and their out-of-fold residuals, or a
  Gaussian process's own posterior, at the model's level. Classification: ``prediction`` (the
  class label, ``[N]`` string) and ``probabilities`` (``[N, classes]``, double, columns in the
  order of the metadata's ``classes``), sigmoid-calibrated as in labsight.
* **Metadata** (``metadata_props``): model id, target and its unit, features with units, classes,
  interval level and method, the cleaning plan behind the training data (not part of the graph:
  apply it first).

Every family converts: linear models, k-NN, trees, forests, SVMs, LightGBM, the PyTorch MLP
(written out layer by layer from its weights), Gaussian processes (in float64; a Gaussian process
classifier only for two classes) and ensembles of them. The export is checked before it is handed
over: the graph runs in onnxruntime on the rows given and must agree with labsight's own
predictions (float32 arithmetic: within 1e-3 of the predictions' spread; probabilities within
1e-3), else :class:`~labsight.exceptions.ExportError` says by how much it did not.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import onnx
import pandas as pd
from onnx import TensorProto

from labsight.exceptions import ExportError
from labsight.models._features import MISSING_LEVEL
from labsight.models._onnx_graph import GraphBuilder
from labsight.models._trained import TrainedModel

__all__ = ["OnnxExport", "refuse_unexportable", "to_onnx"]

TOLERANCE = 1e-3
"""Largest difference allowed between the graph and labsight on the checked rows, relative to the
spread of the predictions (regression) or absolute (probabilities)."""


@dataclass(frozen=True)
class OnnxExport:
    """An exported model: the ONNX bytes and what was checked."""

    data: bytes
    inputs: list[dict[str, Any]]
    outputs: list[str]
    intervals: str | None
    precision: str
    checked_rows: int
    max_difference: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON view (without the bytes)."""
        return {
            "inputs": self.inputs,
            "outputs": self.outputs,
            "intervals": self.intervals,
            "precision": self.precision,
            "checked_rows": self.checked_rows,
            "max_difference": self.max_difference,
            "bytes": len(self.data),
            "notes": self.notes,
        }


class _Feeds:
    """The graph's feature inputs, cast once per precision a piece asks for."""

    def __init__(self, g: GraphBuilder, model: TrainedModel) -> None:
        self.g = g
        self.numeric = list(model.features.numeric)
        self.categorical = list(model.features.categorical)
        for c in self.numeric:
            g.add_input(c, TensorProto.DOUBLE, ["N", 1])
        self._strings = []
        for c in self.categorical:
            raw = g.add_input(c, TensorProto.STRING, ["N", 1])
            empty = g.op("Equal", [raw, g.const(np.array([""]), "empty")])
            self._strings.append(g.op("Where", [empty, g.const(np.array([MISSING_LEVEL])), raw]))
        self._floats: list[str] | None = None

    def tensors(self, double: bool) -> list[str]:
        """Feature tensors in the order of the preprocessing's inputs."""
        if double:
            return [*self.numeric, *self._strings]
        if self._floats is None:
            self._floats = [self.g.op("Cast", [c], to=TensorProto.FLOAT) for c in self.numeric]
        return [*self._floats, *self._strings]


def _as_double(g: GraphBuilder, tensor: str) -> str:
    return g.op("Cast", [tensor], to=TensorProto.DOUBLE)


def _column(g: GraphBuilder, matrix: str, j: int) -> str:
    """Column ``j`` of ``matrix`` as ``[N, 1]``."""
    return g.op("Gather", [matrix, g.const(np.array([j], dtype=np.int64), "col")], axis=1)


def _flat(g: GraphBuilder, tensor: str) -> str:
    return g.op("Reshape", [tensor, g.const(np.array([-1], dtype=np.int64), "flat")])


def _vote(g: GraphBuilder, vote: Any, member: Any) -> str:
    """The weighted mean of a fitted ``VotingRegressor`` / soft ``VotingClassifier``'s members
    (``member`` turns one fitted member into its tensor); frozen members are unwrapped."""
    from sklearn.frozen import FrozenEstimator

    estimators = [e.estimator if isinstance(e, FrozenEstimator) else e for e in vote.estimators_]
    weights = np.asarray(vote.weights or [1.0] * len(estimators), dtype=np.float64)
    weights = weights / weights.sum()
    parts = [
        g.op("Mul", [member(e), g.const(np.array(w), "weight")])
        for e, w in zip(estimators, weights, strict=True)
    ]
    return parts[0] if len(parts) == 1 else g.op("Sum", parts)


def _prep(
    g: GraphBuilder, feeds: _Feeds, model: TrainedModel, prep: Any, double: bool
) -> tuple[str, int]:
    from labsight.models._onnx_convert import preprocessor_piece

    piece = preprocessor_piece(prep, model.features, double=double)
    names = [i.name for i in piece.graph.input]
    (out,) = g.embed(piece, dict(zip(names, feeds.tensors(double), strict=True)), "prep")
    width = len(prep.get_feature_names_out())
    return out, width


def _pipeline(
    g: GraphBuilder, feeds: _Feeds, model: TrainedModel, pipeline: Any, want: str
) -> list[str]:
    """One fitted pipeline (preprocessing, estimator) as float64 tensors. ``want``: ``predict``
    (``[N, 1]``; a Gaussian process adds its std), ``proba`` or ``decision`` (``[N, C]``; for
    two classes the decision function is column 1)."""
    from lightgbm import LGBMClassifier
    from sklearn.base import is_classifier
    from sklearn.gaussian_process import GaussianProcessClassifier, GaussianProcessRegressor
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
    from sklearn.svm import SVC

    from labsight.models._cnn1d import SpectrumCNNClassifier, SpectrumCNNRegressor
    from labsight.models._mlp import MLPClassifier, MLPRegressor
    from labsight.models._onnx_convert import estimator_piece, is_double
    from labsight.models._onnx_layers import (
        cnn_nodes,
        gp_nodes,
        knn_nodes,
        mlp_nodes,
        pls_nodes,
        svc_decision_nodes,
    )
    from labsight.models._pls import PLSDAClassifier, PLSRegressor

    prep, final = pipeline.named_steps["prep"], pipeline[-1]
    if type(final).__module__ == "labsight.models._rocket":
        raise ExportError(
            "MiniRocket's thresholded convolutions have no ONNX form in labsight",
            hint="Retrain with --families without rocket to export the model",
        )
    if isinstance(final, GaussianProcessClassifier):
        raise ExportError(
            "a Gaussian process classifier has no ONNX form in labsight",
            hint="Retrain with --families without gaussian_process to export the model",
        )
    double = is_double(final)
    z, width = _prep(g, feeds, model, prep, double)
    if isinstance(final, SpectrumCNNRegressor | SpectrumCNNClassifier):  # before the MLP's
        return [cnn_nodes(g, z, final, classifier=is_classifier(final))]
    if isinstance(final, MLPRegressor | MLPClassifier):
        return [mlp_nodes(g, z, final, classifier=is_classifier(final))]
    if isinstance(final, PLSRegressor | PLSDAClassifier):  # no decision function: probabilities
        return [pls_nodes(g, z, final, classifier=is_classifier(final))]
    if isinstance(final, KNeighborsRegressor | KNeighborsClassifier):
        return [knn_nodes(g, z, final, classifier=is_classifier(final))]
    if isinstance(final, GaussianProcessRegressor):
        return list(gp_nodes(g, z, final))
    if isinstance(final, SVC) and want == "decision":
        return [svc_decision_nodes(g, z, final)]
    options: dict[str, Any] = {"zipmap": False} if want != "predict" else {}
    if want == "decision" and not isinstance(final, LGBMClassifier):
        options["raw_scores"] = True
    piece = estimator_piece(final, width, double=double, options=options)
    if isinstance(final, LGBMClassifier) and want == "decision":
        # The raw margins are the trees' sums before the sigmoid / softmax (for two classes
        # onnxruntime gives [-m, m] or [1 - m, m]: column 1 is the margin either way).
        for node in piece.graph.node:
            if node.op_type == "TreeEnsembleClassifier":
                for attr in node.attribute:
                    if attr.name == "post_transform":
                        attr.s = b"NONE"
    outputs = g.embed(piece, {piece.graph.input[0].name: z}, type(final).__name__.lower())
    return [_as_double(g, outputs[-1] if want != "predict" else outputs[0])]


def _regression(g: GraphBuilder, feeds: _Feeds, model: TrainedModel, estimator: Any) -> str:
    """``[N, 1]`` predictions of a fitted regressor (a pipeline or a vote of them)."""
    from sklearn.ensemble import VotingRegressor

    if isinstance(estimator, VotingRegressor):
        return _vote(g, estimator, lambda m: _regression(g, feeds, model, m))
    return _pipeline(g, feeds, model, estimator, "predict")[0]


def _scores(g: GraphBuilder, feeds: _Feeds, model: TrainedModel, estimator: Any, want: str) -> str:
    """``[N, C]`` class scores of a fitted classifier (a pipeline or a soft vote of them)."""
    from sklearn.ensemble import VotingClassifier

    if isinstance(estimator, VotingClassifier):
        return _vote(g, estimator, lambda m: _scores(g, feeds, model, m, "proba"))
    return _pipeline(g, feeds, model, estimator, want)[0]


def _classification(g: GraphBuilder, feeds: _Feeds, model: TrainedModel) -> tuple[str, str]:
    """Calibrated probabilities ``[N, C]`` and labels ``[N]``, as sklearn's sigmoid-calibrated
    ``CalibratedClassifierCV(ensemble=False)`` computes them."""
    calibrated = model.estimator.calibrated_classifiers_[0]
    base, calibrators = calibrated.estimator, calibrated.calibrators
    classes = list(model.estimator.classes_)
    # As scikit-learn: the decision function where the model has one, else the probabilities.
    want = "decision" if hasattr(base, "decision_function") else "proba"
    scores = _scores(g, feeds, model, base, want)
    binary = len(classes) == 2
    columns = [1] if binary else list(range(len(classes)))
    probabilities = []
    for j, calibrator in zip(columns, calibrators, strict=True):
        f = _column(g, scores, j)
        a = g.const(np.array(calibrator.a_, dtype=np.float64), "a")
        b = g.const(np.array(calibrator.b_, dtype=np.float64), "b")
        logit = g.op("Add", [g.op("Mul", [f, a]), b])
        probabilities.append(g.op("Sigmoid", [g.op("Neg", [logit])]))
    if binary:
        one = g.const(np.array(1.0), "one")
        proba = g.op("Concat", [g.op("Sub", [one, probabilities[0]]), probabilities[0]], axis=1)
    else:
        joint = g.op("Concat", probabilities, axis=1)
        axis = g.const(np.array([1], dtype=np.int64), "axis")
        total = g.op("ReduceSum", [joint, axis], keepdims=1)
        zero = g.op("Equal", [total, g.const(np.array(0.0), "zero")])
        uniform = g.const(np.array(1.0 / len(classes)), "uniform")
        safe = g.op("Where", [zero, g.const(np.array(1.0), "one"), total])
        proba = g.op("Where", [zero, uniform, g.op("Div", [joint, safe])])
    best = g.op("ArgMax", [proba], axis=1, keepdims=0)
    label = g.op("Gather", [g.const(np.array([str(c) for c in classes]), "classes"), best])
    return proba, label


def _cv_plus(g: GraphBuilder, feeds: _Feeds, model: TrainedModel) -> tuple[str, str]:
    """The CV+ interval in the graph: fold predictions gathered per training row, ± residuals,
    and the ranked values that :meth:`~labsight.models._conformal.CVPlus.interval` takes."""
    from labsight.models._conformal import _ranks

    cv = model.intervals
    folds = [_regression(g, feeds, model, m) for m in cv.fold_models]
    per_fold = g.op("Concat", folds, axis=1) if len(folds) > 1 else folds[0]
    per_row = g.op("Gather", [per_fold, g.const(cv.fold_of.astype(np.int64), "fold_of")], axis=1)
    residuals = g.const(cv.residuals.astype(np.float64), "residuals")
    low, high = g.op("Sub", [per_row, residuals]), g.op("Add", [per_row, residuals])
    lo_rank, hi_rank = _ranks(cv.n, model.level)
    axis = g.const(np.array([1], dtype=np.int64), "axis")

    def kth(values: str, k: int, largest: bool) -> str:
        top, _ = g.topk(values, k, axis=1, largest=largest)
        # The k smallest values' largest is the k-th smallest (and the other way round).
        return g.op("ReduceMin" if largest else "ReduceMax", [top, axis], keepdims=0)

    lower = kth(low, lo_rank, largest=False)
    upper = kth(high, cv.n - hi_rank + 1, largest=True)
    return lower, upper


def _gp_interval(g: GraphBuilder, feeds: _Feeds, model: TrainedModel) -> tuple[str, str]:
    """The Gaussian process's posterior mean ± z·std (its std includes the learned noise)."""
    outputs = _pipeline(g, feeds, model, model.estimator, "predict")
    mean, std = _flat(g, outputs[0]), _flat(g, outputs[1])
    z = NormalDist().inv_cdf(0.5 + model.level / 2.0)
    half = g.op("Mul", [std, g.const(np.array(z), "z")])
    return g.op("Sub", [mean, half]), g.op("Add", [mean, half])


def _metadata(model: TrainedModel, extra: dict[str, Any]) -> dict[str, str]:
    fs = model.features
    features = [{"name": c, "type": "double", "unit": fs.units.get(c)} for c in fs.numeric] + [
        {"name": c, "type": "string", "unit": None} for c in fs.categorical
    ]
    meta = {
        "labsight.task": model.task,
        "labsight.target": model.target,
        "labsight.target_unit": model.target_unit or "",
        "labsight.features": json.dumps(features),
        "labsight.family": model.best,
        "labsight.metric": model.metric,
        "labsight.cv_mean": repr(model.cv["mean"]),
    }
    if model.task == "regression":
        meta |= {
            "labsight.interval_level": repr(model.level),
            "labsight.interval_method": model.interval_method or "",
            "labsight.interval_cv_coverage": repr(model.coverage),
        }
    else:
        meta["labsight.classes"] = json.dumps([str(c) for c in model.estimator.classes_])
    meta |= {f"labsight.{k}": v if isinstance(v, str) else json.dumps(v) for k, v in extra.items()}
    return meta


def _build(model: TrainedModel, metadata: dict[str, Any]) -> tuple[onnx.ModelProto, list[str]]:
    g = GraphBuilder()
    feeds = _Feeds(g, model)
    if model.task == "regression":
        if model.interval_method == "gp":
            lower, upper = _gp_interval(g, feeds, model)
            prediction = _flat(g, _regression(g, feeds, model, model.estimator))
        else:
            prediction = _flat(g, _regression(g, feeds, model, model.estimator))
            lower, upper = _cv_plus(g, feeds, model)
        for name, tensor in (("prediction", prediction), ("lower", lower), ("upper", upper)):
            g.add_output(tensor, name, TensorProto.DOUBLE, ["N"])
        outputs = ["prediction", "lower", "upper"]
    else:
        proba, label = _classification(g, feeds, model)
        g.add_output(label, "prediction", TensorProto.STRING, ["N"])
        g.add_output(proba, "probabilities", TensorProto.DOUBLE, ["N", len(model.classes or [])])
        outputs = ["prediction", "probabilities"]
    doc = (
        f"labsight model predicting {model.target!r} ({model.task}) from "
        f"{len(model.features.columns)} features; see metadata_props for names, units and classes."
    )
    return g.model(doc, _metadata(model, metadata)), outputs


def feeds_for(model: TrainedModel, x: pd.DataFrame) -> dict[str, np.ndarray]:
    """onnxruntime inputs for the rows ``x`` (a :func:`~labsight.models._features.model_frame`)."""
    feeds: dict[str, np.ndarray] = {}
    for c in model.features.numeric:
        feeds[c] = x[c].to_numpy(dtype=np.float64).reshape(-1, 1)
    for c in model.features.categorical:
        feeds[c] = x[c].astype(str).to_numpy().reshape(-1, 1)
    return feeds


def _check(model: TrainedModel, data: bytes, x: pd.DataFrame) -> float:
    """Run the graph on ``x`` and return its largest difference from labsight's predictions."""
    import onnxruntime as ort

    from labsight.models._arrays import FeatureArrays
    from labsight.models.predict import interval

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    got = session.run(None, feeds_for(model, x))
    if model.task == "regression":
        prediction = np.asarray(model.estimator.predict(x), dtype=np.float64)
        fs = model.features
        lower, upper = interval(model, FeatureArrays.from_pandas(x, fs.numbers, fs.categorical))
        spread = float(np.std(prediction)) or 1.0
        return max(
            float(np.max(np.abs(g - w))) / spread
            for g, w in zip(got, (prediction, lower, upper), strict=True)
        )
    proba = np.asarray(model.estimator.predict_proba(x), dtype=np.float64)
    return float(np.max(np.abs(got[1] - proba)))


def refuse_unexportable(model: TrainedModel) -> None:
    """Refuse, in one line, a model whose inputs are made outside any graph (forecast windows,
    runs, images, molecules): checked before anything else is read.

    Raises
    ------
    ExportError
        For such a model.
    """
    if model.forecast is not None:  # windows are cut from the runs outside any graph
        raise ExportError(
            "the model forecasts runs (each run's latest readings become its inputs before it "
            "predicts), which an ONNX graph cannot do",
            hint="Serve it with labsight predict or labsight serve",
        )
    if model.sequence is not None:  # runs are resampled outside any graph
        raise ExportError(
            "the model reads runs of readings (resampled in time and summarised before it "
            "predicts), which an ONNX graph cannot do",
            hint="Serve it with labsight predict or labsight serve",
        )
    if model.features.image is not None:  # images are decoded and resized outside any graph
        raise ExportError(
            "the model reads image files (decoded, resized and scaled before it predicts), "
            "which this ONNX export does not cover",
            hint="Serve it with labsight predict MODEL FOLDER",
        )
    if model.features.molecules:  # RDKit runs outside any graph
        raise ExportError(
            "the model reads SMILES ("
            + ", ".join(repr(c) for c in model.features.molecules)
            + ") through their RDKit descriptors, which an ONNX graph cannot compute",
            hint="Serve it with labsight predict, or compute the descriptors as columns of the "
            "table and retrain with --exclude on the SMILES column",
        )


def to_onnx(
    model: TrainedModel, check: pd.DataFrame, metadata: dict[str, Any] | None = None
) -> OnnxExport:
    """The model as one ONNX graph, checked on the rows ``check`` against labsight's predictions.

    Parameters
    ----------
    model
        A trained model.
    check
        Rows to check the graph on, as :func:`~labsight.models._features.model_frame` gives them
        (the training rows, say).
    metadata
        More ``labsight.*`` metadata entries (model id, name, cleaning plan …).

    Raises
    ------
    ExportError
        When a part of the model has no ONNX form, or the graph disagrees with labsight.
    """
    from labsight.models._onnx_convert import is_double

    refuse_unexportable(model)
    try:
        graph, outputs = _build(model, dict(metadata or {}))
    except ExportError:
        raise
    except (
        AttributeError,
        KeyError,
        NotImplementedError,
        RuntimeError,
        TypeError,
        ValueError,
    ) as err:
        raise ExportError(
            f"the {model.best} model cannot be written as ONNX: {type(err).__name__}: {err}"[:400],
            hint="Retrain with --families set to the convertible families, or serve it with "
            "labsight predict",
        ) from err
    data = graph.SerializeToString()
    difference = _check(model, data, check)
    if not math.isfinite(difference) or difference > TOLERANCE:
        raise ExportError(
            f"the ONNX graph of the {model.best} model disagrees with labsight by "
            f"{difference:.3g} on {len(check)} rows",
            expected=f"at most {TOLERANCE:g}",
            hint="Please report this; serve the model with labsight predict meanwhile",
        )
    doubles = "float64" if _uses_double(model, is_double) else "float32"
    fs = model.features
    inputs = [{"name": c, "type": "double", "unit": fs.units.get(c)} for c in fs.numeric] + [
        {"name": c, "type": "string", "unit": None} for c in fs.categorical
    ]
    return OnnxExport(
        data=data,
        inputs=inputs,
        outputs=outputs,
        intervals=model.interval_method if model.task == "regression" else None,
        precision=doubles,
        checked_rows=len(check),
        max_difference=difference,
    )


def _uses_double(model: TrainedModel, is_double: Any) -> bool:
    estimator = model.estimator
    if model.task == "classification":
        estimator = estimator.calibrated_classifiers_[0].estimator
    members = getattr(estimator, "estimators_", None) or [estimator]
    return any(is_double(m[-1]) for m in members)
