"""The next experiments: an initial design while there is too little data, then Bayesian optimisation.

:func:`propose` is the whole decision, with no state of its own: given the space, the results so far
and the experiments already suggested but not yet run, it returns the next batch with the surrogate's
prediction for each point. The same inputs and seed give the same batch, which is what lets a
campaign restart in a cold process and suggest what it would have suggested.

The initial design runs until every objective has two results and, in a space with continuous
parameters, until there is one result more than there are parameters
(:func:`results_before_model`). A GP learns a length scale for each number and how much each
choice matters; from one batch of four on a six-parameter space it learns them from noise, and
every later batch is spent beside the first lucky point (on the design benchmark's photoredox
problem, a median of 89 % of the optimum after 40 experiments with one batch, 95 % with two; 10
seeds). A table of conditions leaves it after one batch: there the candidates are scored exactly,
and the benchmark's tables were measured that way.

Candidates: a discrete space's points are all listed (thousands, scored exactly); a space with
continuous parameters is covered by :data:`POOL` scrambled-Sobol points plus, around each of the best
results so far, :data:`LOCAL` perturbations of its continuous coordinates (normal, a tenth of each
range on its scale; half of them with a choice or two changed as well), all filtered by the
constraints, and each pick is then polished by gradient steps on its continuous coordinates (see
:mod:`~labsight.design.acquisition`). Points already run or suggested are never proposed again, nor
(unless ``replicates``) near-copies of the pending ones or of each other (:data:`NEAR`) or repeats
of points run (:data:`NEAR_RUN`).

The surrogate's kernel is chosen per campaign (:func:`fit`): with choices one-hot encoded, a
categorical kernel and one-hot Matérn compete on leave-one-out predictions once there are
:data:`MIN_COMPARED` results. In a space with continuous parameters the GP reads the results
through a Yeo–Johnson warp (:mod:`~labsight.design.warp`) and the acquisition counts improvement
on the objective's own scale: on the design benchmark's mixed problems (10 seeds) the warp took
the cross-coupling from 62 % to 78 % of the optimum after 40 experiments, and counting improvement
on the warped scale instead would have cost photoredox its refinement (99.8 % to 91 %). A table of
conditions is not warped unless it asks (``surrogate: {warp: yeo-johnson}``): the benchmark's
tables were measured without it, and comparing warped and plain fits would double a suggestion's
time on them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from labsight.design._catalogue import CATALOGUE, default_acquisition, starts_with_best_guess
from labsight.design._space_reader import SURROGATE_SETTINGS
from labsight.design.encoding import Encoder
from labsight.design.initial import initial_design
from labsight.design.space import Space
from labsight.exceptions import InputError

if TYPE_CHECKING:
    import torch

    from labsight.design.surrogate import Surrogate

# torch, BoTorch and the surrogate are imported where a model is fitted: a campaign's initial
# design (its first suggestions) loads none of them (a second of a command's start-up).

__all__ = [
    "DEFAULT_KERNEL",
    "KERNELS",
    "LOCAL",
    "MIN_COMPARED",
    "NEAR",
    "NEAR_RUN",
    "POOL",
    "Proposal",
    "candidate_pool",
    "fit",
    "propose",
    "results_before_model",
    "signed_objectives",
]

POOL = 2048
LOCAL = 64
# The spread of the perturbations, in the unit cube (each number on its scale). With a twentieth of
# the range the loops crept along photoredox's diagonal ridge (light × log loading): 6 of 10 seeds
# reached 90 % of the optimum in 40 experiments (median 95 %); with a tenth 10 of 10 (99.8 %). The
# cross-coupling and the screen stayed within their seeds' spread (62 → 62 %, 77 → 70 %).
_LOCAL_SD = 0.1
_SWAP = 0.5  # chance that a perturbation of a best point also changes a given choice
_BEST = 5


@dataclass
class Proposal:
    """A batch of experiments: the points, how they were chosen, what the surrogate expects."""

    points: pl.DataFrame
    method: str
    # Per point: {objective: {"mean", "sd"}, "acquisition": value}, and "best_guess" (whether the
    # point is the batch's best guess) where the batch starts with one.
    predictions: list[dict[str, Any]] = field(default_factory=list)
    model_state: dict[str, Any] | None = None


def signed_objectives(space: Space, frame: pl.DataFrame) -> np.ndarray:
    """The objective columns of ``frame`` as ``[rows, objectives]``, signed so that more is better
    (NaN where a result is missing)."""
    out = np.full((frame.height, len(space.objectives)), np.nan)
    for j, o in enumerate(space.objectives):
        if o.name in frame.columns:
            out[:, j] = o.signed(
                frame[o.name].cast(pl.Float64, strict=False).fill_null(np.nan).to_numpy()
            )
    return out


def _key(space: Space, frame: pl.DataFrame) -> list[tuple[Any, ...]]:
    """A hashable key per row for matching points (numbers rounded against float noise)."""
    cols: list[list[Any]] = []
    for p in space.parameters:
        if p.numeric:
            cols.append([round(float(v), 9) for v in frame[p.name].cast(pl.Float64).to_list()])
        else:
            cols.append([str(v) for v in frame[p.name].cast(pl.String).to_list()])
    return list(zip(*cols, strict=True)) if cols else []


def candidate_pool(
    space: Space, observed: pl.DataFrame, seed: int, y: np.ndarray | None = None
) -> pl.DataFrame:
    """The points the acquisition scores (see the module docstring)."""
    if space.discrete:
        return space.enumerate()
    pool = initial_design(space, POOL, method="sobol", seed=seed)
    if y is not None and observed.height and np.isfinite(y).any():
        encoder = Encoder(space)
        score = np.nanmax(y, axis=1) if y.shape[1] == 1 else np.nanmean(y, axis=1)
        order = np.argsort(-np.nan_to_num(score, nan=-np.inf))[:_BEST]
        rng = np.random.default_rng(seed + 1)
        local = []
        choices = [p for p in space.parameters if p.kind in ("categorical", "molecule")]
        for i in order:
            base = observed[int(i) : int(i) + 1].select(space.names)
            x = np.repeat(encoder.encode(base), LOCAL, axis=0)
            x = x + rng.normal(0.0, _LOCAL_SD, x.shape)
            near = encoder.decode_numbers(x, pl.concat([base] * LOCAL))
            # half of them also try another level of a choice or two: the best conditions with
            # a different ligand are where an interaction between choices shows
            swapped = []
            for p in choices:
                levels = np.array(near[p.name].cast(pl.String).to_list(), dtype=object)
                flip = (np.arange(LOCAL) % 2 == 1) & (rng.random(LOCAL) < _SWAP)
                levels[flip] = rng.choice(np.array(p.values, dtype=object), int(flip.sum()))
                swapped.append(pl.Series(p.name, levels.tolist(), dtype=near.schema[p.name]))
            local.append(near.with_columns(swapped) if swapped else near)
        near = space.allowed(pl.concat(local).select(space.names))
        pool = pl.concat([pool, near], how="vertical_relaxed")
    return pool


KERNELS = SURROGATE_SETTINGS["kernel"][1:]  # what a space may ask for besides auto
DEFAULT_KERNEL = "mixed"
MIN_COMPARED = 10
"""Results before the kernels are compared by leave-one-out; with fewer, :data:`DEFAULT_KERNEL`."""


def _kernels(space: Space) -> list[str]:
    """The kernels to consider: the space's ``surrogate: {kernel: ...}`` when it names one; else
    both when a choice is one-hot encoded (a categorical kernel reads its levels), else one-hot
    (numbers and descriptors are all a Matérn kernel reads)."""
    asked = space.surrogate.get("kernel", "auto")
    if asked in KERNELS:
        return [asked]
    if space.candidates is not None:
        # A table of conditions: one-hot Matérn, which the benchmark's reaction tables were
        # measured with; the categorical kernel cost Summit's Reizman case 3 (19 to 48
        # experiments, median of 5 seeds) and won little elsewhere.
        return ["onehot"]
    if any(not p.numeric and p.encoding != "descriptors" for p in space.parameters):
        return [DEFAULT_KERNEL, *(k for k in KERNELS if k != DEFAULT_KERNEL)]
    return ["onehot"]


WARPS = SURROGATE_SETTINGS["warp"][1:]


def _warped(space: Space) -> bool:
    """Whether the GPs read the results through a Yeo–Johnson warp: as the space's ``surrogate:
    {warp: ...}`` says, else where it has continuous parameters (see the module docstring)."""
    asked = space.surrogate.get("warp", "auto")
    if asked in WARPS:
        return bool(asked == "yeo-johnson")
    return not space.discrete


def fit(space: Space, observed: pl.DataFrame, seed: int) -> tuple[Surrogate, Encoder]:
    """The surrogate on the results so far (rows with at least one objective), each objective read
    through a warp where :func:`_warped`. With choices and :data:`MIN_COMPARED` results or more, a
    GP with each kernel of :data:`KERNELS` is fitted and the one that foresees left-out results
    best (mean leave-one-out log predictive density, its uncertainty included) is kept; the
    choice and both scores travel with the surrogate."""
    from labsight.design.surrogate import fit_surrogate

    y = signed_objectives(space, observed)
    keep = np.isfinite(y).any(axis=1)
    rows = observed.filter(pl.Series(keep))
    kernels, warp = _kernels(space), _warped(space)
    asked = "kernel" in space.surrogate and space.surrogate["kernel"] in KERNELS
    compare = len(kernels) > 1 and int(keep.sum()) >= MIN_COMPARED
    fits = []
    for kernel in kernels if compare else kernels[:1]:
        encoder = Encoder(space, categorical_kernel=kernel == "mixed")
        surrogate = fit_surrogate(encoder.encode(rows), y[keep], encoder.cat_dims, seed, warp)
        surrogate.kernel = kernel
        fits.append((surrogate.loo_log_likelihood() if compare else 0.0, surrogate, encoder))
    _, surrogate, encoder = max(fits, key=lambda f: f[0])  # the first on a tie
    surrogate.chosen_by = "asked" if asked else "leave-one-out" if compare else "default"
    if compare:
        surrogate.compared = {f[1].kernel: f[0] for f in fits}
    return surrogate, encoder


NEAR = 0.02
"""Two points of a batch, or a point and a pending one, with the same choices are near-copies when
every continuous coordinate is within this share of its range (on its scale) of the other's: 2 °C
on 30–130 °C. Bets placed at the same time should not be one bet twice."""
NEAR_RUN = 0.002
"""The same, against a point already run: a tenth of :data:`NEAR` (two rounding steps of a
suggestion). Its result is known, so a point beside it is a refinement, not a blind copy: with
:data:`NEAR` here the search could not close in on an optimum (Branin: 2 of 10 seeds within 1 % of
the minimum in 100 experiments, against 10 of 10 without the rule)."""


def _near_copies(
    width: int, movable: list[int], radius: float = NEAR
) -> Callable[[torch.Tensor, torch.Tensor], np.ndarray]:
    """Which rows of ``x`` are near-copies of any row of ``others`` (encoded points): the same
    choices, every continuous coordinate within ``radius``."""
    import torch

    from labsight.design.acquisition import held_columns

    held = held_columns(width, movable)

    def near(x: torch.Tensor, others: torch.Tensor) -> np.ndarray:
        out = np.zeros(len(x), dtype=bool)
        for start in range(0, len(x), 1024):
            part = x[start : start + 1024]
            same = torch.all(part[:, None, held] == others[None, :, held], dim=2)
            close = torch.all((part[:, None, ~held] - others[None, :, ~held]).abs() < radius, dim=2)
            out[start : start + 1024] = (same & close).any(dim=1).numpy()
        return out

    return near


def _repeats(
    width: int, movable: list[int], run: torch.Tensor
) -> Callable[[torch.Tensor], np.ndarray]:
    """Which rows of ``x`` repeat a point already run (within :data:`NEAR_RUN`)."""
    beside = _near_copies(width, movable, NEAR_RUN)
    return lambda x: beside(x, run)


def _ref_point(space: Space, y: np.ndarray) -> list[float]:
    """The worst acceptable values (signed): the objectives' bounds, else inferred from the
    Pareto front of the results (BoTorch's rule: a little beyond the front's nadir)."""
    import torch
    from botorch.utils.multi_objective.hypervolume import infer_reference_point

    from labsight.design.surrogate import DTYPE

    complete = y[np.isfinite(y).all(axis=1)]
    inferred = (
        infer_reference_point(torch.as_tensor(complete, dtype=DTYPE)).tolist()
        if len(complete)
        else [0.0] * y.shape[1]
    )
    out = []
    for j, o in enumerate(space.objectives):
        worst = o.worst_bound()
        if worst is not None:
            out.append(o.signed(worst))
        else:
            out.append(float(inferred[j]))
    return out


def results_before_model(space: Space, y: np.ndarray) -> int:
    """How many more results the initial design wants before the model suggests (``y``: the
    signed objectives, :func:`signed_objectives`): two per objective, and in a space with
    continuous parameters one more than it has parameters (see the module docstring)."""
    finite = np.isfinite(y)
    per_objective = max(0, 2 - int(finite.sum(axis=0).min()))
    if space.discrete:
        return per_objective
    return max(per_objective, len(space.parameters) + 1 - int(finite.any(axis=1).sum()))


def propose(
    space: Space,
    observed: pl.DataFrame,
    pending: pl.DataFrame,
    batch: int,
    *,
    seed: int = 0,
    acquisition: str | None = None,
    initial: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    replicates: bool = False,
) -> Proposal:
    """The next ``batch`` experiments.

    Parameters
    ----------
    observed
        Points run so far with their objective columns (missing results as null).
    pending
        Points suggested but not run yet; they are not proposed again, and the batch is chosen
        with them in mind.
    acquisition
        A name from :data:`~labsight.design.acquisition.ACQUISITIONS` (default: ``qLogNEI`` for
        one objective, ``qLogNEHVI`` for several).
    initial
        ``{"method": ..., **options}`` for the initial design (default: the space's, else Sobol).
    progress
        Called with each step, for a spinner or a log.
    replicates
        Allow near-copies of points suggested and of each other in the batch (:data:`NEAR`),
        repeats of points run (:data:`NEAR_RUN`), and several points of one combination of
        choices; by default a batch holds none of these and one point per combination while
        others are left (exact repeats are never proposed).

    Raises
    ------
    InputError
        For an unknown acquisition, one that does not fit the number of objectives, or a space
        with no points left to propose.
    """
    if batch < 1:
        raise InputError("the batch must hold at least one experiment", got=str(batch))
    name = acquisition or default_acquisition(len(space.objectives))
    if name not in CATALOGUE:
        raise InputError(f"unknown acquisition {name!r}", expected=", ".join(CATALOGUE))
    kind = CATALOGUE[name][1]
    several = len(space.objectives) > 1
    if (kind == "one" and several) or (kind == "several" and not several):
        raise InputError(
            f"{name} is for {'one objective' if kind == 'one' else 'several objectives'}, "
            f"and the space has {len(space.objectives)}",
            hint=f"Use {default_acquisition(len(space.objectives))}, or leave --acquisition out",
        )
    y = signed_objectives(space, observed)
    seen = set(_key(space, observed)) | set(_key(space, pending))
    if results_before_model(space, y) and name != "random":
        return _initial(space, seen, batch, seed, initial or space.initial)
    pool = candidate_pool(space, observed, seed, y)
    if pool.height == 0:
        raise InputError("no point of the space is left to propose", hint="Check the constraints")
    keys = _key(space, pool)
    used = np.array([k in seen for k in keys])
    if used.all():
        raise InputError(
            "every point of the space has been run or suggested",
            hint="Record the pending results, or widen the space",
        )
    import torch

    from labsight.design.acquisition import ACQUISITIONS, Context
    from labsight.design.surrogate import DTYPE

    say = progress or (lambda _step: None)
    if name != "random":
        say(f"fitting the surrogate on {int(np.isfinite(y).any(axis=1).sum())} results")
        surrogate, encoder = fit(space, observed, seed)
    else:
        surrogate, encoder = None, Encoder(space)
    pool_x = torch.as_tensor(encoder.encode(pool), dtype=DTYPE)
    # Experiments suggested but not run yet are pending points of the acquisition: the batch
    # adds to them instead of repeating their bets.
    waiting = torch.as_tensor(encoder.encode(pending), dtype=DTYPE) if pending.height else None
    movable = [] if space.discrete else encoder.continuous_columns
    run = torch.as_tensor(encoder.encode(observed), dtype=DTYPE) if observed.height else None
    near = repeats = None
    if movable and not replicates:
        near = _near_copies(encoder.width, movable)
        if run is not None:
            repeats = _repeats(encoder.width, movable, run)
        close = np.zeros(len(pool_x), dtype=bool)
        if waiting is not None:
            close |= near(pool_x, waiting)
        if repeats is not None:
            close |= repeats(pool_x)
        apart = used | close
        used = apart if not apart.all() else used  # nothing else left: near-copies it is

    def allowed(x: torch.Tensor, rows: list[int]) -> np.ndarray:
        return space.satisfied(encoder.decode_numbers(x.numpy(), pool[rows]))

    context = Context(
        surrogate,
        _ref_point(space, y) if several and surrogate else None,
        seed,
        waiting,
        lambda i: say(f"scoring {len(pool_x):,} candidates: experiment {i + 1} of {batch}"),
        movable or None,
        allowed if space.constraints else None,
        near,
        repeats,
    )
    # BoTorch draws from torch's global generator where no seed reaches it (qLogNEI pruning its
    # baseline): seeded here, the same inputs give the same batch in any process.
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        picks, values = ACQUISITIONS[name].select(context, pool_x, batch, used)
    chosen = pool[picks]
    if movable:  # picks polished by gradient steps moved in the pool's encoded rows
        chosen = encoder.decode_numbers(pool_x[picks].numpy(), chosen)
    points = space.rounded(chosen)  # what a lab can set; the prediction is at the pick
    predictions = (
        _predictions(space, surrogate, pool_x[picks].numpy(), values)
        if surrogate
        else [{} for _ in picks]
    )
    if starts_with_best_guess(name, batch, waiting):
        for i, entry in enumerate(predictions):
            entry["best_guess"] = i == 0
    return Proposal(points, name, predictions, surrogate.state() if surrogate else None)


def _predictions(
    space: Space, surrogate: Surrogate, x: np.ndarray, values: list[float]
) -> list[dict[str, Any]]:
    mean, sd = surrogate.posterior(x)
    out = []
    for i in range(len(x)):
        entry: dict[str, Any] = {
            o.name: {"mean": float(o.signed(mean[i, j])), "sd": float(sd[i, j])}
            for j, o in enumerate(space.objectives)
        }
        entry["acquisition"] = values[i] if math.isfinite(values[i]) else None
        out.append(entry)
    return out


def _initial(
    space: Space, seen: set[tuple[Any, ...]], batch: int, seed: int, options: dict[str, Any]
) -> Proposal:
    """The next points of the initial design that have not been run or suggested."""
    options = dict(options or {})
    method = str(options.pop("method", "sobol"))
    need = len(seen) + batch
    design = initial_design(space, need, method=method, seed=seed, **options)
    fresh = [i for i, k in enumerate(_key(space, design)) if k not in seen]
    if not fresh and method in ("factorial", "fractional", "d-optimal"):
        # The whole fixed design is out: fill the batch with space-filling points.
        design = initial_design(space, need, method="sobol", seed=seed)
        fresh = [i for i, k in enumerate(_key(space, design)) if k not in seen]
        method = "sobol"
    picks = fresh if method in ("factorial", "fractional") and len(seen) == 0 else fresh[:batch]
    return Proposal(space.rounded(design[picks]), f"initial:{method}", [{} for _ in picks], None)
