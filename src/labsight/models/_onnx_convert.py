"""Converting the fitted parts of a labsight pipeline into ONNX pieces.

A pipeline is converted in two pieces: its preprocessing (the ``ColumnTransformer`` of
:mod:`labsight.models._features`, one graph input per feature column) and its estimator (one
matrix input). skl2onnx converts both; what it lacks is added here: a ``SimpleImputer`` with
``add_indicator=True`` (the missing-value indicators labsight adds to every numeric column that had
gaps), written with standard ops so it works in float and double; a ``TargetEncoder`` for every
target type (skl2onnx writes binary and continuous only); and LightGBM, through onnxmltools'
converters. The PyTorch MLP is written out layer by layer by
:mod:`labsight.models.export`, from its weights.

Numbers run in float32, ONNX's usual type, except in Gaussian processes, whose kernel algebra needs
float64 (in float32 their predictive standard deviations come out wrong by orders of magnitude), and
PLS (its folded coefficients on collinear inputs cancel).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import onnx
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import TargetEncoder

from labsight.models._features import FeatureSet
from labsight.models._onnx_graph import OPSETS

__all__ = ["estimator_piece", "is_double", "preprocessor_piece"]


def is_double(estimator: Any) -> bool:
    """Whether ``estimator`` must run in float64: Gaussian processes, and PLS, whose components on
    nearly collinear inputs (one-hot levels, missing indicators) cancel large coefficients that
    float32 inputs leave 5 % off."""
    from sklearn.gaussian_process import GaussianProcessClassifier, GaussianProcessRegressor

    from labsight.models._pls import PLSDAClassifier, PLSRegressor

    return isinstance(
        estimator,
        GaussianProcessRegressor | GaussianProcessClassifier | PLSRegressor | PLSDAClassifier,
    )


def _tensor_type(double: bool) -> Any:
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    return DoubleTensorType if double else FloatTensorType


def _imputer_shape(operator: Any) -> None:
    imputer = operator.raw_operator
    width = sum(v.type.shape[1] for v in operator.inputs)
    extra = len(imputer.indicator_.features_) if imputer.add_indicator else 0
    kind = type(operator.inputs[0].type)
    operator.outputs[0].type = kind([operator.inputs[0].get_first_dimension(), width + extra])


def _imputer_convert(scope: Any, operator: Any, container: Any) -> None:
    """``SimpleImputer`` (numeric, NaN as missing): ``Where(IsNaN(x), statistics, x)``, then the
    indicator columns ``IsNaN(x[:, features_])`` when ``add_indicator`` is set."""
    from skl2onnx.common.data_types import guess_numpy_type, guess_proto_type
    from skl2onnx.operator_converters.common import concatenate_variables

    imputer = operator.raw_operator
    dtype = guess_numpy_type(operator.inputs[0].type)
    proto = guess_proto_type(operator.inputs[0].type)
    x = concatenate_variables(scope, operator.inputs, container)

    def name(hint: str) -> str:
        return str(scope.get_unique_variable_name(hint))

    def node(op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        container.add_node(op, inputs, [output], name=scope.get_unique_operator_name(op), **attrs)
        return output

    fill = name("fill")
    statistics = np.asarray(imputer.statistics_, dtype=dtype)
    container.add_initializer(fill, proto, [1, statistics.size], statistics.tolist())
    missing = node("IsNaN", [x], name("missing"))
    if not imputer.add_indicator:
        node("Where", [missing, fill, x], operator.outputs[0].full_name)
        return
    imputed = node("Where", [missing, fill, x], name("imputed"))
    columns = name("indicator_columns")
    features = [int(i) for i in imputer.indicator_.features_]
    container.add_initializer(columns, onnx.TensorProto.INT64, [len(features)], features)
    chosen = node("Gather", [missing, columns], name("indicator_bool"), axis=1)
    flags = node("Cast", [chosen], name("indicator"), to=proto)
    node("Concat", [imputed, flags], operator.outputs[0].full_name, axis=1)


def _target_encoder_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    encoder = operator.raw_operator
    operator.outputs[0].type = FloatTensorType(
        [operator.inputs[0].get_first_dimension(), len(encoder.encodings_)]
    )


def _target_encoder_convert(scope: Any, operator: Any, container: Any) -> None:
    """A fitted ``TargetEncoder`` at prediction time is a lookup per column (and per class, for a
    multiclass target): one ``LabelEncoder`` from the level to its encoding, unknown levels to
    the target mean. skl2onnx 1.20 converts only binary and continuous targets."""
    from skl2onnx.operator_converters.common import concatenate_variables

    encoder = operator.raw_operator
    x = concatenate_variables(scope, operator.inputs, container)
    classes = len(encoder.classes_) if encoder.target_type_ == "multiclass" else 1
    means = np.atleast_1d(np.asarray(encoder.target_mean_, dtype=np.float64))
    columns = []
    for e_idx, encoding in enumerate(encoder.encodings_):
        feature = e_idx // classes
        index = scope.get_unique_variable_name("te_col")
        container.add_initializer(index, onnx.TensorProto.INT64, [1], [feature])
        column = scope.get_unique_variable_name("te_in")
        container.add_node(
            "Gather", [x, index], [column], axis=1, name=scope.get_unique_operator_name("Gather")
        )
        out = scope.get_unique_variable_name("te_out")
        container.add_node(
            "LabelEncoder",
            [column],
            [out],
            op_domain="ai.onnx.ml",
            op_version=2,
            name=scope.get_unique_operator_name("LabelEncoder"),
            keys_strings=[str(c) for c in encoder.categories_[feature]],
            values_floats=[float(v) for v in encoding],
            default_float=float(means[e_idx % classes]),
        )
        columns.append(out)
    container.add_node(
        "Concat",
        columns,
        [operator.outputs[0].full_name],
        axis=1,
        name=scope.get_unique_operator_name("Concat"),
    )


@functools.cache
def _register() -> None:
    """Teach skl2onnx the imputer with indicators and LightGBM (once per process)."""
    import lightgbm
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    update_registered_converter(
        SimpleImputer, "SklearnSimpleImputer", _imputer_shape, _imputer_convert
    )
    update_registered_converter(
        TargetEncoder, "SklearnTargetEncoder", _target_encoder_shape, _target_encoder_convert
    )
    update_registered_converter(
        lightgbm.LGBMRegressor,
        "LightGbmLGBMRegressor",
        calculate_linear_regressor_output_shapes,
        convert_lightgbm,
        options={"split": None},
    )
    update_registered_converter(
        lightgbm.LGBMClassifier,
        "LightGbmLGBMClassifier",
        calculate_linear_classifier_output_shapes,
        convert_lightgbm,
        options={"nocl": [True, False], "zipmap": [True, False, "columns"]},
    )


def preprocessor_piece(prep: Any, features: FeatureSet, *, double: bool) -> onnx.ModelProto:
    """The fitted ``ColumnTransformer`` as ONNX: inputs in the order of
    ``features.numeric + features.categorical`` (``[N, 1]`` each; numbers float or double,
    categories strings), one output ``[N, width]``."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import StringTensorType

    _register()
    number = _tensor_type(double)
    types = [(c, number([None, 1])) for c in features.numeric] + [
        (c, StringTensorType([None, 1])) for c in features.categorical
    ]
    piece: onnx.ModelProto = convert_sklearn(prep, initial_types=types, target_opset=dict(OPSETS))
    if len(piece.graph.input) != len(types):
        raise ValueError(
            f"the preprocessing reads {len(piece.graph.input)} columns, expected {len(types)}"
        )
    return piece


def estimator_piece(
    estimator: Any, width: int, *, double: bool, options: dict[str, Any] | None = None
) -> onnx.ModelProto:
    """A fitted final estimator as ONNX, reading one ``[N, width]`` matrix."""
    from skl2onnx import convert_sklearn

    _register()
    if hasattr(estimator, "_y_train_std"):
        # skl2onnx expects arrays where scikit-learn >= 1.5 keeps scalars (normalize_y).
        import copy

        estimator = copy.copy(estimator)
        estimator._y_train_std = np.atleast_1d(estimator._y_train_std)
        estimator._y_train_mean = np.atleast_1d(estimator._y_train_mean)
    piece: onnx.ModelProto = convert_sklearn(
        estimator,
        initial_types=[("x", _tensor_type(double)([None, width]))],
        target_opset=dict(OPSETS),
        options={id(estimator): options} if options else None,
    )
    return piece
