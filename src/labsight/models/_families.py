"""Candidate model families behind one scikit-learn contract, each with its Optuna search space.

A :class:`Family` builds an estimator from a parameter dict (``build``), proposes parameters from an
Optuna trial (``suggest``), and has defaults that are tried first. Every family is wrapped in the
same pipeline (preprocessing from :mod:`labsight.models._features`, then the estimator), so nothing
is fitted outside a fold. Families that scale badly with rows (Gaussian processes, SVMs, k-NN) say
how many rows they accept; they are skipped above it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from labsight.models._features import FeatureSet, make_preprocessor
from labsight.models._task import Task

if TYPE_CHECKING:  # a search needs optuna; loading a model does not
    import optuna

__all__ = [
    "FAMILIES",
    "FOREST_TREES",
    "Family",
    "families_for",
    "make_pipeline",
    "spectrum_positions",
]

Params = dict[str, Any]

FOREST_TREES = 200  # a forest's trees unless its parameters say otherwise


@dataclass(frozen=True)
class Family:
    """One kind of model: how to build it, what to tune, and where it applies."""

    name: str
    tasks: frozenset[Task]
    build: Callable[[Params, Task, int], BaseEstimator]
    suggest: Callable[[optuna.Trial], Params]
    defaults: Params = field(default_factory=dict)
    max_rows: int | None = None
    scale: bool = True  # trees do not need scaled inputs (it does no harm; kept for speed)
    description: str = ""
    cost: int = 1  # 1 cheap … 3 costly: defaults are tried cheapest first, so a slow family
    # cannot take a small budget before the quick, strong ones have had their turn
    exponent: float = 1.0  # fit time grows as rows ** exponent (Gaussian processes: 3)
    # Up to this many rows the family counts as cheap: its defaults run with the quick ones, and
    # its ``starts`` (more well-chosen settings) right after every family's defaults.
    cheap_rows: int = 0
    starts: tuple[Params, ...] = ()
    # A forest of decision trees: its file holds every tree (``n_estimators`` of them, default
    # FOREST_TREES) as an object of its own, which is what writing a model file spends time on.
    forest: bool = False
    # Tried only on tables with at least this many numeric inputs (PLS: many collinear inputs)
    min_numbers: int = 0
    # Reads the table's spectrum, or a sequence task's sensors, as one signal (a 1-D CNN): only
    # on such tables, and told where its points are in the preprocessed matrix (``positions``,
    # ``channels``) when built.
    spectral: bool = False
    # A PyTorch network: its first fit in a process pays torch's set-up, which timing skips.
    network: bool = False
    # Reads runs only (a sequence task), not a spectrum: recurrent and attention networks
    runs_only: bool = False
    # Reads images (an image task), and only images: its build returns the whole pipeline
    image: bool = False
    # Work done once per search before the family's first trial, outside its folds' timing:
    # what every fit would otherwise repeat (decoding the images, their pretrained features)
    warm_up: Callable[[Any, Params], None] | None = None


def _none(_: optuna.Trial) -> Params:
    return {}


def _linear(params: Params, task: Task, seed: int) -> BaseEstimator:
    from sklearn.linear_model import LinearRegression

    return LinearRegression()


def _ridge(params: Params, task: Task, seed: int) -> BaseEstimator:
    from sklearn.linear_model import Ridge

    return Ridge(alpha=params.get("alpha", 1.0))


def _lasso(params: Params, task: Task, seed: int) -> BaseEstimator:
    from sklearn.linear_model import Lasso

    return Lasso(alpha=params.get("alpha", 0.01), max_iter=20_000, random_state=seed)


def _elastic(params: Params, task: Task, seed: int) -> BaseEstimator:
    from sklearn.linear_model import ElasticNet

    return ElasticNet(
        alpha=params.get("alpha", 0.01),
        l1_ratio=params.get("l1_ratio", 0.5),
        max_iter=20_000,
        random_state=seed,
    )


def _logistic(params: Params, task: Task, seed: int) -> BaseEstimator:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=params.get("C", 1.0), max_iter=5_000)


def _knn(params: Params, task: Task, seed: int) -> BaseEstimator:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    cls = KNeighborsRegressor if task == "regression" else KNeighborsClassifier
    return cls(n_neighbors=params.get("n_neighbors", 5), weights=params.get("weights", "distance"))


def _tree(params: Params, task: Task, seed: int) -> BaseEstimator:
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    cls = DecisionTreeRegressor if task == "regression" else DecisionTreeClassifier
    return cls(
        max_depth=params.get("max_depth", 6),
        min_samples_leaf=params.get("min_samples_leaf", 2),
        random_state=seed,
    )


def _forest(extra: bool) -> Callable[[Params, Task, int], BaseEstimator]:
    def build(params: Params, task: Task, seed: int) -> BaseEstimator:
        from sklearn import ensemble as e

        if extra:
            cls = e.ExtraTreesRegressor if task == "regression" else e.ExtraTreesClassifier
        else:
            cls = e.RandomForestRegressor if task == "regression" else e.RandomForestClassifier
        return cls(
            n_estimators=params.get("n_estimators", FOREST_TREES),
            max_features=params.get("max_features", 1.0 if task == "regression" else "sqrt"),
            min_samples_leaf=params.get("min_samples_leaf", 1),
            n_jobs=1,
            random_state=seed,
        )

    return build


def _suggest_forest(trial: optuna.Trial) -> Params:
    return {
        "n_estimators": trial.suggest_int("n_estimators", 100, 500, step=100),
        "max_features": trial.suggest_float("max_features", 0.2, 1.0),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 10),
    }


def _svm(params: Params, task: Task, seed: int) -> BaseEstimator:
    from sklearn.svm import SVC, SVR

    if task == "regression":
        return SVR(
            C=params.get("C", 1.0),
            gamma=params.get("gamma", "scale"),
            epsilon=params.get("epsilon", 0.1),
        )
    return SVC(
        C=params.get("C", 1.0),
        gamma=params.get("gamma", "scale"),
        probability=True,
        random_state=seed,
    )


def _lightgbm(params: Params, task: Task, seed: int) -> BaseEstimator:
    import lightgbm as lgb

    cls = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
    return cls(
        n_estimators=params.get("n_estimators", 200),
        learning_rate=params.get("learning_rate", 0.05),
        num_leaves=params.get("num_leaves", 15),
        min_child_samples=params.get("min_child_samples", 5),
        subsample=params.get("subsample", 0.9),
        subsample_freq=1,
        colsample_bytree=params.get("colsample_bytree", 0.9),
        reg_lambda=params.get("reg_lambda", 1e-3),
        n_jobs=1,
        random_state=seed,
        verbose=-1,
    )


def _gp(params: Params, task: Task, seed: int) -> BaseEstimator:
    from sklearn.gaussian_process import GaussianProcessClassifier, GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    nu = params.get("nu", 2.5)
    if task == "regression":
        # Smooth trend plus measurement noise: the noise level is learned, so replicates tell the GP
        # how noisy the assay is instead of being interpolated.
        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(1.0, (1e-2, 1e3), nu=nu) + WhiteKernel(
            0.1, (1e-6, 1e1)
        )
        from labsight.models._gaussian import ARDGaussianProcessRegressor

        cls = ARDGaussianProcessRegressor if params.get("ard", False) else GaussianProcessRegressor
        return cls(
            kernel,
            normalize_y=True,
            n_restarts_optimizer=params.get("restarts", 1),
            random_state=seed,
        )
    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(1.0, (1e-2, 1e3), nu=nu)
    return GaussianProcessClassifier(kernel, random_state=seed)


def _mlp(params: Params, task: Task, seed: int) -> BaseEstimator:
    from labsight.models._mlp import MLPClassifier, MLPRegressor

    cls = MLPRegressor if task == "regression" else MLPClassifier
    return cls(
        hidden=params.get("hidden", 64),
        layers=params.get("layers", 2),
        dropout=params.get("dropout", 0.1),
        lr=params.get("lr", 1e-3),
        weight_decay=params.get("weight_decay", 1e-4),
        seed=seed,
    )


def _pls(params: Params, task: Task, seed: int) -> BaseEstimator:
    from labsight.models._pls import PLSDAClassifier, PLSRegressor

    if task == "regression":
        return PLSRegressor(n_components=params.get("n_components", 8))
    return PLSDAClassifier(n_components=params.get("n_components", 8), C=params.get("C", 1.0))


def _cnn1d(params: Params, task: Task, seed: int) -> BaseEstimator:
    from labsight.models._cnn1d import SpectrumCNNClassifier, SpectrumCNNRegressor

    cls = SpectrumCNNRegressor if task == "regression" else SpectrumCNNClassifier
    return cls(
        filters=params.get("filters", 8),
        kernel=params.get("kernel", 9),
        augment=params.get("augment", 0.02),
        hidden=params.get("hidden", 32),
        dropout=params.get("dropout", 0.1),
        lr=params.get("lr", 3e-3),
        weight_decay=params.get("weight_decay", 1e-4),
        seed=seed,
    )


def _rocket(params: Params, task: Task, seed: int) -> BaseEstimator:
    from labsight.models._rocket import RocketClassifier, RocketRegressor

    cls = RocketRegressor if task == "regression" else RocketClassifier
    return cls(features=params.get("features", 2016), seed=seed)


def _seqnet(network: str) -> Callable[[Params, Task, int], BaseEstimator]:
    def build(params: Params, task: Task, seed: int) -> BaseEstimator:
        from labsight.models._seqnet import SequenceNetClassifier, SequenceNetRegressor

        cls = SequenceNetRegressor if task == "regression" else SequenceNetClassifier
        return cls(
            network=network,
            hidden=params.get("hidden", 32),
            dropout=params.get("dropout", 0.1),
            lr=params.get("lr", 3e-3),
            weight_decay=params.get("weight_decay", 1e-4),
            seed=seed,
        )

    return build


def _suggest_seqnet(t: optuna.Trial) -> Params:
    return {
        "hidden": t.suggest_categorical("hidden", [16, 32, 64]),
        "dropout": t.suggest_float("dropout", 0.0, 0.3),
        "lr": t.suggest_float("lr", 3e-4, 3e-2, log=True),
        "weight_decay": t.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
    }


def _cnn2d(params: Params, task: Task, seed: int) -> BaseEstimator:
    from labsight.models._cnn2d import ImageCNNClassifier, ImageCNNRegressor

    cls = ImageCNNRegressor if task == "regression" else ImageCNNClassifier
    return Pipeline(
        [
            (
                "model",
                cls(
                    size=params.get("size", 64),
                    filters=params.get("filters", 16),
                    augment=params.get("augment", 0.1),
                    flips=params.get("flips", False),
                    hidden=params.get("hidden", 64),
                    dropout=params.get("dropout", 0.2),
                    lr=params.get("lr", 3e-3),
                    weight_decay=params.get("weight_decay", 1e-4),
                    seed=seed,
                ),
            )
        ]
    )


def _transfer(params: Params, task: Task, seed: int) -> BaseEstimator:
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression, Ridge

    from labsight.models._cnn2d import ImageFeatures

    head = (
        Ridge(alpha=params.get("alpha", 10.0))
        if task == "regression"
        else LogisticRegression(C=params.get("C", 1.0), max_iter=5_000)
    )
    # The features are not standardized: ReLU6 outputs on one scale, many of them all but
    # constant on a few dozen images, which standardizing blew up into decisions of 2,000 on an
    # image whose feature was not quite zero. They are reduced to the principal components
    # that hold 95 % of their variance on the training images (57 of 1,280 on 900 digits, 17 on
    # 24 micrographs): a logistic regression on those fits 10-20 times faster than on all 1,280
    # (0.25 s against 4.8 s), as accurately.
    return Pipeline(
        [
            ("prep", ImageFeatures(size=params.get("size", 160))),
            ("reduce", PCA(0.95, svd_solver="full")),
            ("model", head),
        ]
    )


def _warm_images(size_of: Callable[[Params], int], features: bool) -> Callable[[Any, Params], None]:
    def warm_up(x: Any, params: Params) -> None:
        from labsight.models._cnn2d import ImageFeatures, image_refs, input_shape

        if features:
            ImageFeatures(size=size_of(params)).fit(x).transform(x)
        else:
            refs = image_refs(x)
            size, channels = input_shape(refs, size_of(params))
            for ref in refs:
                ref.pixels(size, channels)

    return warm_up


_REG: frozenset[Task] = frozenset({"regression"})
_CLS: frozenset[Task] = frozenset({"classification"})
_BOTH: frozenset[Task] = frozenset({"regression", "classification"})

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("linear", _REG, _linear, _none, description="ordinary least squares"),
        Family(
            "ridge",
            _REG,
            _ridge,
            lambda t: {"alpha": t.suggest_float("alpha", 1e-3, 1e3, log=True)},
            {"alpha": 1.0},
        ),
        Family(
            "lasso",
            _REG,
            _lasso,
            lambda t: {"alpha": t.suggest_float("alpha", 1e-4, 10.0, log=True)},
            {"alpha": 0.01},
        ),
        Family(
            "elastic_net",
            _REG,
            _elastic,
            lambda t: {
                "alpha": t.suggest_float("alpha", 1e-4, 10.0, log=True),
                "l1_ratio": t.suggest_float("l1_ratio", 0.05, 0.95),
            },
            {"alpha": 0.01, "l1_ratio": 0.5},
        ),
        Family(
            "logistic",
            _CLS,
            _logistic,
            lambda t: {"C": t.suggest_float("C", 1e-3, 1e3, log=True)},
            {"C": 1.0},
        ),
        Family(
            "gaussian_process",
            _BOTH,
            _gp,
            lambda t: {
                "nu": t.suggest_categorical("nu", [0.5, 1.5, 2.5]),
                "ard": t.suggest_categorical("ard", [True, False]),
            },
            {"nu": 2.5, "ard": True},
            max_rows=1_000,  # cubic in rows: beyond this one fit takes seconds
            description="Matern kernel (a length scale per input, up to 16) with learned noise",
            cost=3,
            exponent=2.0,  # cubic algebra, but the kernel fit's iterations dominate: ~ rows²
            # On small smooth tables a GP is often the best model (a plain scikit-learn GP beat
            # the pick by 0.013 R² on a formulation table): there it is tried early, twice.
            cheap_rows=500,
            starts=({"nu": 1.5, "ard": True},),
        ),
        Family(
            "knn",
            _BOTH,
            _knn,
            lambda t: {
                "n_neighbors": t.suggest_int("n_neighbors", 1, 30),
                "weights": t.suggest_categorical("weights", ["uniform", "distance"]),
            },
            {"n_neighbors": 5, "weights": "distance"},
            max_rows=100_000,
        ),
        Family(
            "decision_tree",
            _BOTH,
            _tree,
            lambda t: {
                "max_depth": t.suggest_int("max_depth", 2, 12),
                "min_samples_leaf": t.suggest_int("min_samples_leaf", 1, 20),
            },
            {"max_depth": 6, "min_samples_leaf": 2},
            scale=False,
        ),
        Family(
            "random_forest",
            _BOTH,
            _forest(False),
            _suggest_forest,
            scale=False,
            cost=2,
            forest=True,
        ),
        Family(
            "extra_trees", _BOTH, _forest(True), _suggest_forest, scale=False, cost=2, forest=True
        ),
        Family(
            "svm",
            _BOTH,
            _svm,
            lambda t: {
                "C": t.suggest_float("C", 1e-2, 1e3, log=True),
                "gamma": t.suggest_float("gamma", 1e-4, 1.0, log=True),
                **({"epsilon": t.suggest_float("epsilon", 1e-3, 1.0, log=True)}),
            },
            max_rows=10_000,
            cost=2,
            exponent=1.5,
        ),
        Family(
            "lightgbm",
            _BOTH,
            _lightgbm,
            lambda t: {
                "n_estimators": t.suggest_int("n_estimators", 50, 600, step=50),
                "learning_rate": t.suggest_float("learning_rate", 0.01, 0.3, log=True),
                "num_leaves": t.suggest_int("num_leaves", 4, 64, log=True),
                "min_child_samples": t.suggest_int("min_child_samples", 2, 40, log=True),
                "subsample": t.suggest_float("subsample", 0.5, 1.0),
                "colsample_bytree": t.suggest_float("colsample_bytree", 0.5, 1.0),
                "reg_lambda": t.suggest_float("reg_lambda", 1e-4, 10.0, log=True),
            },
            scale=False,
        ),
        Family(
            "pls",
            _BOTH,
            _pls,
            lambda t: {"n_components": t.suggest_int("n_components", 1, 30)},
            {"n_components": 8},
            description="partial least squares on autoscaled inputs (PLS-DA for classes)",
            min_numbers=10,
            cheap_rows=100_000,
            starts=({"n_components": 3}, {"n_components": 15}),
        ),
        Family(
            "mlp",
            _BOTH,
            _mlp,
            lambda t: {
                "hidden": t.suggest_categorical("hidden", [32, 64, 128]),
                "layers": t.suggest_int("layers", 1, 3),
                "dropout": t.suggest_float("dropout", 0.0, 0.3),
                "lr": t.suggest_float("lr", 1e-4, 1e-2, log=True),
                "weight_decay": t.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
            },
            description="PyTorch multilayer perceptron",
            cost=3,
            network=True,
        ),
        Family(
            "rocket",
            _BOTH,
            _rocket,
            lambda t: {"features": t.suggest_categorical("features", [1008, 2016, 4032])},
            {"features": 2016},
            description="MiniRocket convolution features and ridge, over the runs or the spectrum",
            scale=False,  # the convolutions read the signal's own shape, not points scaled alone
            spectral=True,
            cheap_rows=2_000,
        ),
        Family(
            "cnn1d",
            _BOTH,
            _cnn1d,
            lambda t: {
                "filters": t.suggest_categorical("filters", [4, 8, 16]),
                "kernel": t.suggest_categorical("kernel", [5, 9, 15]),
                "augment": t.suggest_float("augment", 0.0, 0.1),
                "hidden": t.suggest_categorical("hidden", [16, 32, 64]),
                "dropout": t.suggest_float("dropout", 0.0, 0.3),
                "lr": t.suggest_float("lr", 3e-4, 3e-2, log=True),
                "weight_decay": t.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
            },
            description="PyTorch 1-D convolutional network over the spectrum or the runs",
            cost=3,
            spectral=True,
            network=True,
            # A spectrum of a few hundred rows trains in about a second a fold: the network is
            # tried with the quick families, not after the forests have taken the budget.
            cheap_rows=500,
        ),
        Family(
            "gru",
            _BOTH,
            _seqnet("gru"),
            _suggest_seqnet,
            description="PyTorch GRU over the runs' sensors",
            cost=3,
            spectral=True,
            network=True,
            runs_only=True,
        ),
        Family(
            "lstm",
            _BOTH,
            _seqnet("lstm"),
            _suggest_seqnet,
            description="PyTorch LSTM over the runs' sensors",
            cost=3,
            spectral=True,
            network=True,
            runs_only=True,
        ),
        Family(
            "transformer",
            _BOTH,
            _seqnet("transformer"),
            _suggest_seqnet,
            description="PyTorch Transformer encoder (2 layers, 4 heads) over the runs' sensors",
            cost=3,
            spectral=True,
            network=True,
            runs_only=True,
        ),
        Family(
            "cnn2d",
            _BOTH,
            _cnn2d,
            lambda t: {
                "filters": t.suggest_categorical("filters", [8, 16, 32]),
                "augment": t.suggest_float("augment", 0.0, 0.3),
                "flips": t.suggest_categorical("flips", [False, True]),
                "hidden": t.suggest_categorical("hidden", [32, 64, 128]),
                "dropout": t.suggest_float("dropout", 0.0, 0.4),
                "lr": t.suggest_float("lr", 3e-4, 1e-2, log=True),
                "weight_decay": t.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
            },
            description="PyTorch CNN over the images, trained from scratch with augmentation",
            cost=3,
            network=True,
            image=True,
            cheap_rows=300,
            starts=({"flips": True},),
            warm_up=_warm_images(lambda p: int(p.get("size", 64)), features=False),
        ),
        Family(
            "transfer",
            _BOTH,
            _transfer,
            lambda t: {
                "C": t.suggest_float("C", 1e-3, 100.0, log=True),
                "alpha": t.suggest_float("alpha", 1e-2, 1e4, log=True),
            },
            {"C": 1.0, "alpha": 10.0},
            description="ImageNet EfficientNet-Lite0 features (frozen), their principal "
            "components, and a linear model",
            image=True,
            network=True,
            warm_up=_warm_images(lambda p: int(p.get("size", 160)), features=True),
            starts=({"C": 0.1, "alpha": 1.0}, {"C": 10.0, "alpha": 100.0}),
        ),
    )
}
"""Family name → family."""


def families_for(
    task: Task, rows: int, names: list[str] | None = None, features: FeatureSet | None = None
) -> list[Family]:
    """The families that apply to ``task`` at ``rows`` rows (all of them, or those named) and, when
    ``features`` are given, to those inputs: a spectral family needs a spectrum, and a family
    with ``min_numbers`` as many numeric inputs unless it was named."""
    chosen = [FAMILIES[n] for n in names] if names else list(FAMILIES.values())
    return [
        f
        for f in chosen
        if task in f.tasks
        and (f.max_rows is None or rows <= f.max_rows)
        and (features is None or not f.spectral or bool(features.signals))
        and (features is None or not f.runs_only or bool(features.sequence))
        and (names or features is None or len(features.numbers) >= f.min_numbers)
        and (features is None or f.image == bool(features.image))
    ]


def make_pipeline(
    family: Family, params: Params, features: FeatureSet, task: Task, seed: int
) -> Pipeline:
    """Preprocessing then the family's estimator, as one scikit-learn pipeline."""
    estimator = family.build(params, task, seed)
    if family.image:  # the images are read by the family's own first step
        assert isinstance(estimator, Pipeline)
        return estimator
    if family.spectral:
        estimator.set_params(positions=spectrum_positions(features), channels=len(features.signals))
    return Pipeline(
        [
            ("prep", make_preprocessor(features, scale=family.scale, seed=seed)),
            ("model", estimator),
        ]
    )


def spectrum_positions(features: FeatureSet) -> tuple[int, ...]:
    """Where the signals' points are, channel after channel in axis (or time) order, among the
    preprocessed columns (the numeric inputs come first, in :attr:`FeatureSet.numbers` order).

    >>> fs = FeatureSet(("t", "402", "400"), (), {}, spectrum=("400", "402"))
    >>> spectrum_positions(fs)
    (2, 1)
    """
    index = {name: i for i, name in enumerate(features.numbers)}
    return tuple(index[name] for channel in features.signals for name in channel)
