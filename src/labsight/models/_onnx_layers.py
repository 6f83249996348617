"""Estimators that labsight writes as ONNX nodes itself, from their fitted state.

* The PyTorch MLP (:mod:`labsight.models._mlp`): its ``Linear`` layers as ``Gemm``, ``ReLU`` as
  ``Relu`` (dropout is off at inference), the target's standardization undone (regression) or a
  softmax (classification).
* The 1-D CNN over a spectrum (:mod:`labsight.models._cnn1d`): ``Conv``, ``Relu`` and ``MaxPool``
  on the gathered channels, the adaptive average pool as a fixed averaging matrix (the length is
  known), then the head as the MLP's.
* PLS and PLS-DA (:mod:`labsight.models._pls`): one affine map (the centring, the components and
  the regression folded together), then for PLS-DA the logistic regression on the scores.
* Gaussian process regression (:func:`gp_nodes`): skl2onnx 1.20 cannot write a Matern kernel
  with ν = 2.5 (a constant with ``dtype=type``); the posterior mean and standard deviation are
  written here in float64 from the fitted kernel, ``alpha_`` and the Cholesky factor.
* k-nearest neighbours: skl2onnx negates the distances it weighs neighbours by (1.20), which turns
  ``weights="distance"`` into uniform weights. Here the distances are computed in float64 from the
  stored training rows, the ``k`` nearest taken with ``TopK``, and weighted as scikit-learn does
  (``1/d``; a row at distance zero takes all the weight with the other zero-distance rows).
  Neighbours at exactly equal distance may be picked in another order than scikit-learn's
  ``argpartition``, the one way the graph can differ from the model.

Each function takes the graph, the preprocessed matrix ``z`` and the fitted estimator and returns
the ``[N, 1]`` prediction (regression) or the ``[N, C]`` probabilities (classification), float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import TensorProto

from labsight.exceptions import ExportError
from labsight.models._onnx_graph import GraphBuilder

__all__ = ["cnn_nodes", "gp_nodes", "knn_nodes", "mlp_nodes", "pls_nodes", "svc_decision_nodes"]


def _column(g: GraphBuilder, matrix: str, j: int) -> str:
    return g.op("Gather", [matrix, g.const(np.array([j], dtype=np.int64), "col")], axis=1)


def mlp_nodes(g: GraphBuilder, z: str, net: Any, *, classifier: bool) -> str:
    """The torch network of a fitted ``MLPRegressor`` / ``MLPClassifier``."""
    return _head(g, z, net, net.module_, classifier=classifier)


def _head(g: GraphBuilder, z: str, net: Any, layers: Any, *, classifier: bool) -> str:
    """Dense layers of a torch network, then the output as the MLP family's."""
    from torch import nn

    for layer in layers:
        if isinstance(layer, nn.Linear):
            weight = layer.weight.detach().cpu().numpy().astype(np.float32)
            bias = layer.bias.detach().cpu().numpy().astype(np.float32)
            z = g.op("Gemm", [z, g.const(weight, "w"), g.const(bias, "b")], transB=1)
        elif isinstance(layer, nn.ReLU):
            z = g.op("Relu", [z])
        elif not isinstance(layer, nn.Dropout):
            raise ExportError(f"the network has a layer ONNX export does not know: {layer!r}")
    z = g.op("Cast", [z], to=TensorProto.DOUBLE)
    if classifier:
        return g.op("Softmax", [z], axis=1)
    scaled = g.op("Mul", [_column(g, z, 0), g.const(np.array(net.y_sd_, dtype=np.float64))])
    return g.op("Add", [scaled, g.const(np.array(net.y_mean_, dtype=np.float64))])


def _adaptive_average(length: int, size: int) -> np.ndarray:
    """The ``length × size`` matrix that averages as torch's ``AdaptiveAvgPool1d(size)``."""
    matrix = np.zeros((length, size), dtype=np.float32)
    for i in range(size):
        start, stop = (i * length) // size, -(-((i + 1) * length) // size)
        matrix[start:stop, i] = 1.0 / (stop - start)
    return matrix


def cnn_nodes(g: GraphBuilder, z: str, net: Any, *, classifier: bool) -> str:
    """The torch network of a fitted ``SpectrumCNNRegressor`` / ``SpectrumCNNClassifier``."""
    from torch import nn

    module = net.module_
    spectrum = module.spectrum.cpu().numpy().astype(np.int64)
    others = module.others.cpu().numpy().astype(np.int64)
    signal = g.op("Gather", [z, g.const(spectrum, "spectrum")], axis=1)
    channels = int(module.channels)
    shape = np.array([0, channels, len(spectrum) // channels], dtype=np.int64)  # 0: keep N
    x = g.op("Reshape", [signal, g.const(shape, "shape")])
    length = len(spectrum) // channels
    for layer in module.features:
        if isinstance(layer, nn.Conv1d):
            weight = layer.weight.detach().cpu().numpy().astype(np.float32)
            if layer.bias is None:  # pragma: no cover - SpectrumNet's convolutions have biases
                raise ExportError("a convolution without a bias is not exported")
            bias = layer.bias.detach().cpu().numpy().astype(np.float32)
            pad = int(layer.padding[0])
            x = g.op(
                "Conv",
                [x, g.const(weight, "w"), g.const(bias, "b")],
                pads=[pad, pad],
                kernel_shape=[weight.shape[2]],
            )
            length = length + 2 * pad - weight.shape[2] + 1
        elif isinstance(layer, nn.ReLU):
            x = g.op("Relu", [x])
        elif isinstance(layer, nn.MaxPool1d):
            x = g.op("MaxPool", [x], kernel_shape=[2], strides=[2], ceil_mode=1)
            length = -(-length // 2)
        elif isinstance(layer, nn.AdaptiveAvgPool1d):
            size = int(
                layer.output_size if isinstance(layer.output_size, int) else layer.output_size[0]
            )
            x = g.op("MatMul", [x, g.const(_adaptive_average(length, size), "pool")])
        elif isinstance(layer, nn.Flatten):
            x = g.op("Flatten", [x], axis=1)
        else:
            raise ExportError(f"the network has a layer ONNX export does not know: {layer!r}")
    if len(others):
        rest = g.op("Gather", [z, g.const(others, "others")], axis=1)
        x = g.op("Concat", [x, rest], axis=1)
    return _head(g, x, net, module.head, classifier=classifier)


def pls_nodes(g: GraphBuilder, z: str, model: Any, *, classifier: bool) -> str:
    """A fitted ``PLSRegressor`` (``[N, 1]``) or ``PLSDAClassifier`` (``[N, C]``), in float64.

    The inputs are centred first, as scikit-learn does: PLS on collinear inputs (the levels of a
    one-hot category) can hold coefficients of 1e15 that cancel only on centred inputs."""
    pls = model.pls_
    mean = np.asarray(pls._x_mean, dtype=np.float64)
    std = np.asarray(pls._x_std, dtype=np.float64)
    x = g.op("Sub", [g.op("Cast", [z], to=TensorProto.DOUBLE), g.const(mean, "mean")])
    if not classifier:  # PLSRegression.predict centres only: its coefficients are scaled
        weight = np.asarray(pls.coef_, dtype=np.float64).T  # inputs × 1
        bias = np.asarray(pls.intercept_, dtype=np.float64)
        return g.op("Gemm", [x, g.const(weight, "w"), g.const(bias, "b")])
    # scores = (x / std) @ rotations, standardized, then the logistic regression
    rotations = np.asarray(pls.x_rotations_, dtype=np.float64) / std[:, None]
    scores = g.op("MatMul", [x, g.const(rotations, "rotations")])
    centre = np.asarray(model.scaler_.mean_, dtype=np.float64)
    scale = np.asarray(model.scaler_.scale_, dtype=np.float64)
    standard = g.op(
        "Div", [g.op("Sub", [scores, g.const(centre, "centre")]), g.const(scale, "scale")]
    )
    logistic = model.logistic_
    coef = np.asarray(logistic.coef_, dtype=np.float64).T  # components × (1 or C)
    bias = np.asarray(logistic.intercept_, dtype=np.float64)
    logits = g.op("Gemm", [standard, g.const(coef, "w"), g.const(bias, "b")])
    if coef.shape[1] == 1:  # two classes: the logistic's one margin
        p1 = g.op("Sigmoid", [logits])
        one = g.const(np.array(1.0, dtype=np.float64), "one")
        return g.op("Concat", [g.op("Sub", [one, p1]), p1], axis=1)
    return g.op("Softmax", [logits], axis=1)


def knn_nodes(g: GraphBuilder, z: str, knn: Any, *, classifier: bool) -> str:
    """A fitted ``KNeighborsRegressor`` / ``KNeighborsClassifier`` (euclidean, uniform or
    distance weights)."""
    metric = knn.effective_metric_
    if metric not in ("euclidean", "minkowski") or (metric == "minkowski" and knn.p != 2):
        raise ExportError(f"k-NN with the {metric} metric has no ONNX form in labsight")
    train = np.asarray(knn._fit_X, dtype=np.float64)
    k = int(knn.n_neighbors)
    x = g.op("Cast", [z], to=TensorProto.DOUBLE)
    axis = g.const(np.array([1], dtype=np.int64), "axis")
    distance = _distances(g, x, train)
    nearest, index = g.topk(distance, k, axis=1, largest=False)
    labels = np.asarray(knn._y)
    if knn.weights == "uniform":
        weights = g.op("Mul", [nearest, g.const(np.array(0.0), "zero")])
        weights = g.op("Add", [weights, g.const(np.array(1.0), "one")])
    else:
        zero = g.op("Equal", [nearest, g.const(np.array(0.0), "zero")])
        exact = g.op("Cast", [zero], to=TensorProto.DOUBLE)
        any_exact = g.op("ReduceMax", [exact, axis], keepdims=1)
        safe = g.op("Max", [nearest, g.const(np.array(np.finfo(np.float64).tiny), "tiny")])
        inverse = g.op("Reciprocal", [safe])
        has = g.op("Greater", [any_exact, g.const(np.array(0.0), "zero")])
        weights = g.op("Where", [has, exact, inverse])
    total = g.op("ReduceSum", [weights, axis], keepdims=1)
    if not classifier:
        values = g.op("Gather", [g.const(labels.astype(np.float64).reshape(-1), "knn_y"), index])
        summed = g.op("ReduceSum", [g.op("Mul", [weights, values]), axis], keepdims=1)
        return g.op("Div", [summed, total])
    onehot = np.eye(len(knn.classes_), dtype=np.float64)[labels.astype(np.int64).reshape(-1)]
    votes = g.op("Gather", [g.const(onehot, "knn_onehot"), index])  # [N, k, C]
    weighted = g.op(
        "Mul",
        [votes, g.op("Unsqueeze", [weights, g.const(np.array([2], dtype=np.int64), "axis2")])],
    )
    summed = g.op("ReduceSum", [weighted, axis], keepdims=0)
    return g.op("Div", [summed, total])


def _distances(g: GraphBuilder, x: str, train: np.ndarray) -> str:
    """Euclidean distances ``[N, m]`` from the rows of ``x`` to ``train``, in float64:
    ``|x - t|² = |x|² - 2 x·t + |t|²``, clipped at zero against rounding, then the square root."""
    axis = g.const(np.array([1], dtype=np.int64), "axis")
    x_sq = g.op("ReduceSum", [g.op("Mul", [x, x]), axis], keepdims=1)
    cross = g.op("MatMul", [x, g.const(np.ascontiguousarray(train.T), "train_t")])
    t_sq = g.const((train**2).sum(axis=1)[None, :], "train_sq")
    twice = g.op("Mul", [cross, g.const(np.array(2.0), "two")])
    squared = g.op("Add", [g.op("Sub", [x_sq, twice]), t_sq])
    return g.op("Sqrt", [g.op("Max", [squared, g.const(np.array(0.0), "zero")])])


def gp_nodes(g: GraphBuilder, z: str, gp: Any) -> tuple[str, str]:
    """A fitted ``GaussianProcessRegressor`` with labsight's kernel, ``C · Matern(ν) + White``
    (one length scale, or one per input, ν ∈ {0.5, 1.5, 2.5}): the posterior mean and standard deviation
    ``[N, 1]`` as scikit-learn's ``predict(X, return_std=True)`` computes them, the triangular
    solve replaced by the precomputed inverse of the Cholesky factor."""
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, Product, Sum, WhiteKernel

    kernel = gp.kernel_
    shaped = (
        isinstance(kernel, Sum)
        and isinstance(kernel.k1, Product)
        and isinstance(kernel.k1.k1, ConstantKernel)
        and isinstance(kernel.k1.k2, Matern)
        and isinstance(kernel.k2, WhiteKernel)
        and np.ndim(kernel.k1.k2.length_scale) <= 1
        and kernel.k1.k2.nu in (0.5, 1.5, 2.5)
    )
    if not shaped:
        raise ExportError(f"a Gaussian process with kernel {kernel} has no ONNX form in labsight")
    scale = float(kernel.k1.k1.constant_value)
    matern = kernel.k1.k2
    noise = float(kernel.k2.noise_level)
    length, nu = np.asarray(matern.length_scale, dtype=np.float64), float(matern.nu)
    train = np.asarray(gp.X_train_, dtype=np.float64) / length
    x = g.op("Div", [g.op("Cast", [z], to=TensorProto.DOUBLE), g.const(length, "ls")])
    d = _distances(g, x, train)
    if nu == 0.5:
        shape = g.op("Exp", [g.op("Neg", [d])])
    else:
        r = g.op("Mul", [d, g.const(np.array(np.sqrt(3.0 if nu == 1.5 else 5.0)), "root")])
        poly = g.op("Add", [r, g.const(np.array(1.0), "one")])
        if nu == 2.5:
            poly = g.op("Add", [poly, g.op("Div", [g.op("Mul", [r, r]), g.const(np.array(3.0))])])
        shape = g.op("Mul", [poly, g.op("Exp", [g.op("Neg", [r])])])
    k_star = g.op("Mul", [shape, g.const(np.array(scale), "scale")])  # [N, m]
    y_std = float(np.ravel(gp._y_train_std)[0])
    y_mean = float(np.ravel(gp._y_train_mean)[0])
    alpha = np.asarray(gp.alpha_, dtype=np.float64).reshape(-1, 1)
    mean = g.op("MatMul", [k_star, g.const(alpha * y_std, "alpha")])
    mean = g.op("Add", [mean, g.const(np.array(y_mean), "y_mean")])
    l_inv = np.linalg.solve(np.asarray(gp.L_, dtype=np.float64), np.eye(len(train)))
    v = g.op("MatMul", [k_star, g.const(np.ascontiguousarray(l_inv.T), "l_inv_t")])
    axis = g.const(np.array([1], dtype=np.int64), "axis")
    explained = g.op("ReduceSum", [g.op("Mul", [v, v]), axis], keepdims=1)
    prior = g.const(np.array(scale + noise), "prior_var")
    var = g.op("Max", [g.op("Sub", [prior, explained]), g.const(np.array(0.0), "zero")])
    std = g.op("Mul", [g.op("Sqrt", [var]), g.const(np.array(y_std), "y_std")])
    return mean, std


def svc_decision_nodes(g: GraphBuilder, z: str, svc: Any) -> str:
    """``SVC.decision_function`` (RBF kernel) ``[N, C]``: for two classes ``[-d, d]``, for more the
    one-vs-one decisions turned into one-vs-rest scores as scikit-learn's
    ``_ovr_decision_function`` does (votes plus a confidence below one third). skl2onnx's SVM
    gives Platt probabilities instead once ``probability=True``, so the calibration on top of the
    decision function could not be reproduced from it."""
    if svc.kernel != "rbf":
        raise ExportError(f"an SVM with the {svc.kernel} kernel has no ONNX form in labsight")
    vectors = np.asarray(svc.support_vectors_, dtype=np.float64)
    x = g.op("Cast", [z], to=TensorProto.DOUBLE)
    d = _distances(g, x, vectors)
    kernel = g.op("Exp", [g.op("Mul", [g.op("Mul", [d, d]), g.const(np.array(-svc._gamma))])])
    classes = len(svc.classes_)
    if classes == 2:
        coef = np.asarray(svc.dual_coef_, dtype=np.float64).T  # (n_SV, 1), signs as sklearn's
        dec = g.op("Add", [g.op("MatMul", [kernel, g.const(coef)]), g.const(svc.intercept_)])
        return g.op("Concat", [g.op("Neg", [dec]), dec], axis=1)
    # One-vs-one: pair (i, j) uses class i's vectors with dual_coef_[j-1] and class j's with
    # dual_coef_[i] (libsvm's layout); decisions keep libsvm's sign for more than two classes.
    starts = np.concatenate([[0], np.cumsum(svc.n_support_)])
    dual = np.asarray(svc.dual_coef_, dtype=np.float64)
    pairs = [(i, j) for i in range(classes) for j in range(i + 1, classes)]
    coef = np.zeros((len(vectors), len(pairs)))
    to_i, to_j = np.zeros((len(pairs), classes)), np.zeros((len(pairs), classes))
    for k, (i, j) in enumerate(pairs):
        coef[starts[i] : starts[i + 1], k] = dual[j - 1, starts[i] : starts[i + 1]]
        coef[starts[j] : starts[j + 1], k] = dual[i, starts[j] : starts[j + 1]]
        to_i[k, i], to_j[k, j] = 1.0, 1.0
    dec = g.op("Add", [g.op("MatMul", [kernel, g.const(coef)]), g.const(svc.intercept_)])
    # predictions = dec < 0 votes for j, else for i; confidences = -dec move i down and j up.
    votes_j = g.op("Cast", [g.op("Less", [dec, g.const(np.array(0.0))])], to=TensorProto.DOUBLE)
    votes_i = g.op("Sub", [g.const(np.array(1.0)), votes_j])
    votes = g.op(
        "Add",
        [g.op("MatMul", [votes_i, g.const(to_i)]), g.op("MatMul", [votes_j, g.const(to_j)])],
    )
    confidence = g.op("MatMul", [g.op("Neg", [dec]), g.const(to_j - to_i)])
    damp = g.op("Add", [g.op("Abs", [confidence]), g.const(np.array(1.0))])
    damp = g.op("Mul", [damp, g.const(np.array(3.0))])
    return g.op("Add", [votes, g.op("Div", [confidence, damp])])
