"""Acquisitions, chosen by name from a registry, and how a batch is picked from the candidates.

==============  =============================================================  =============
name            what it does                                                   objectives
==============  =============================================================  =============
``qLogNEI``     noisy expected improvement, log form (BoTorch), the default     one
``qUCB``        upper confidence bound, mean + 2 sd                            one
``thompson``    Thompson sampling: the best point of each posterior draw       one
``qLogNEHVI``   noisy expected hypervolume improvement, the default for more   several
``qLogNParEGO`` ParEGO: improvement of a random Chebyshev scalarization        several
``random``      uniform choice among the candidates (a baseline)               any
==============  =============================================================  =============

A batch is chosen greedily over the candidate points: the best point is taken, added to the pending
points the acquisition accounts for (so the next pick is diverse: its improvement is counted on top
of the first's), and so on. Points already run or suggested are never proposed again. After the first
pick only the :data:`SHORTLIST` best candidates of the first pass are scored again: what a point adds
to a batch is never more than it is worth alone (the acquisitions are expectations of a maximum over
the batch), so a point far down the first ranking can win a later pick only once every point of the
shortlist has lost most of its worth to the picks before it; the later passes cost an eighth of the
first over 4,000 candidates. Where a batch takes one point per combination of choices (below), the
shortlist also keeps the best candidate of each combination: with a warped GP sure of one choice,
the 512 best were all of it, and the batch could not leave it. A pick finding the shortlist spent
(a batch larger than the combinations left) looks among every candidate left.

With a warp of the results (:mod:`~labsight.design.warp`) every Monte-Carlo acquisition counts
improvement on the objective's own scale (:meth:`Surrogate.objective` maps the GP's samples back).
Counted on the warped scale, where the best results are drawn together, the search stopped
refining: photoredox in the mixed benchmark fell from 99.8 % of the optimum to 91 % (10 seeds).

A batch of two or more from ``qLogNEI`` starts with the model's best guess: the candidate not yet
run with the highest posterior mean (polished like any pick), the rest chosen by the acquisition
with it pending. One guess per round: while experiments suggested earlier are still pending (they
began with one, and the mean does not see them) the whole batch is the acquisition's.
Improvement-based picks look for what is likely to beat the best result; on real tables that sends
them off to levels not yet tried while the conditions beside the best result, where a lucky
replicate or a slightly better set-point lies, wait (Summit's Reizman case 1: its best row sits next
to a near-copy 15 points lower). De Ath et al. (2021, "Greed is good: exploration and exploitation
trade-offs in Bayesian optimisation") found that mostly taking the posterior mean's best point is
competitive with expected improvement; one such pick per batch costs a batch little of its reach
(docs/design/004-design.md has what it changed in the design benchmark).

In a space with continuous parameters and choices a batch takes one point per combination of
choices (while another combination is left among the candidates), and no near-copy of a point run,
suggested or picked (unless replicates are asked for). Left alone, improvement-seeking picks
crowd the combination of the best result so far with three variations of its temperature: on the
design benchmark's cross-coupling, two seeds in five tried 12 of 32 ligand-base pairs in 40
experiments and stopped at 60 % of the optimum; one point per combination took the median from
77 % to 99 % of it.

In a space with continuous parameters the candidates are only a cover of it, so each pick is then
polished: the :data:`STARTS` best candidates of the pass that make the pick's choices (its levels
and discrete numbers) are moved along their continuous coordinates by L-BFGS-B on the
acquisition's gradient (BoTorch's ``gen_candidates_scipy``, the choices held), and the best point
found replaces the pick when it is better. A point moved across a constraint is taken back along
its path to the last point the constraints allow (an optimum often lies on one). The pass decides the choices:
polishing the leaders of every choice would favour the ones already explored, whose peaks the
model knows best. This is how BayBE and Ax optimise over continuous spaces; a pool of Sobol points
alone stops short of a narrow optimum (Branin's, within 1 %).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from labsight.design._catalogue import CATALOGUE, default_acquisition, starts_with_best_guess
from labsight.design.surrogate import DTYPE, Surrogate

__all__ = [
    "ACQUISITIONS",
    "SHORTLIST",
    "Acquisition",
    "Context",
    "default_acquisition",
    "held_columns",
    "starts_with_best_guess",
]

_CHUNK = 2048  # candidates evaluated at once
SHORTLIST = 512  # candidates scored again after the first pick
_MC_SAMPLES = 128
_THOMPSON_POOL = 1500  # joint posterior draws over at most this many candidates
STARTS = 4  # best candidates of a pass polished by gradient steps (continuous spaces)
_POLISH_STEPS = 30
_BISECTIONS = 10  # steps back inside the constraints, to 1/1024 of the way


@dataclass(frozen=True)
class Context:
    """What an acquisition needs besides the candidates: the surrogate (None for ``random``), the
    reference point (several objectives, signed), the seed, the pending points."""

    surrogate: Surrogate | None
    ref_point: list[float] | None
    seed: int
    pending: torch.Tensor | None = None  # encoded points suggested but not run yet
    progress: Callable[[int], None] | None = None  # told the index of each pick as it starts
    # Continuous spaces: the encoded columns gradient steps may move, and which moved points the
    # constraints allow: a boolean per row of an encoded matrix, given the pool rows they left.
    movable: list[int] | None = None
    allowed: Callable[[torch.Tensor, list[int]], np.ndarray] | None = None
    # Near-copies: which rows of a matrix lie near any row of another (the same choices, every
    # continuous coordinate within NEAR: for the batch's picks and the pending points), and which
    # repeat a point already run (within the much smaller NEAR_RUN: a run point's neighbourhood
    # may be refined); None: replicates allowed.
    near: Callable[[torch.Tensor, torch.Tensor], np.ndarray] | None = None
    repeats: Callable[[torch.Tensor], np.ndarray] | None = None


Select = Callable[[Context, torch.Tensor, int, np.ndarray], tuple[list[int], list[float]]]


@dataclass(frozen=True)
class Acquisition:
    name: str
    description: str
    objectives: str  # "one", "several" or "any"
    select: Select


def _sampler(seed: int) -> Any:
    from botorch.sampling.normal import SobolQMCNormalSampler

    return SobolQMCNormalSampler(sample_shape=torch.Size([_MC_SAMPLES]), seed=seed)


def _fitted(ctx: Context) -> Surrogate:
    if ctx.surrogate is None:  # pragma: no cover - the planner fits one for every model-based name
        raise ValueError("this acquisition needs a fitted surrogate")
    return ctx.surrogate


def _scores(acq: Any, pool: torch.Tensor, free: np.ndarray) -> torch.Tensor:
    """``acq`` of each free candidate alone (-inf for the others)."""
    scores = torch.full((len(pool),), -torch.inf, dtype=DTYPE)
    index = torch.as_tensor(np.flatnonzero(free))
    with torch.no_grad():
        for start in range(0, len(index), _CHUNK):
            part = index[start : start + _CHUNK]
            scores[part] = acq(pool[part].unsqueeze(1)).reshape(-1)
    return scores


def _greedy(
    ctx: Context,
    make: Callable[[torch.Tensor | None], Any],
    pool: torch.Tensor,
    batch: int,
    used: np.ndarray,
    exploit: Any = None,
) -> tuple[list[int], list[float]]:
    """Pick ``batch`` points one by one, each with the earlier picks (and the campaign's pending
    experiments) pending. With ``ctx.movable`` a pick may be polished (see the module docstring):
    its row of ``pool`` is then overwritten with the point found. With ``exploit`` (an
    acquisition: the posterior mean) the first pick is the free candidate it rates best (see
    :func:`starts_with_best_guess`); its value is still ``make``'s."""
    free = ~used.copy()
    shortlist: np.ndarray | None = None  # after the first pick, where the later ones look first
    picks: list[int] = []
    values: list[float] = []
    pending: torch.Tensor | None = ctx.pending
    for step in range(batch):
        if not free.any():
            break
        open_ = free if shortlist is None or not (free & shortlist).any() else free & shortlist
        parts = [t for t in (ctx.pending, pool[picks] if picks else None) if t is not None]
        taken = torch.cat(parts) if parts else None  # bets placed: pending points and picks
        if ctx.progress is not None:
            ctx.progress(step)
        acq = make(pending)
        scores = _scores(acq, pool, open_)
        if step == 0 and exploit is not None:
            means = _scores(exploit, pool, open_)
            best = int(torch.argmax(means))
            value = float(scores[best])
            if ctx.movable:  # the guess may move: its acquisition value is taken where it went
                _polish(ctx, exploit, pool, means, best, float(means[best]), taken)
                with torch.no_grad():
                    value = float(acq(pool[best].reshape(1, 1, -1)).reshape(-1)[0])
        else:
            best = int(torch.argmax(scores))
            value = float(scores[best])
            if ctx.movable:
                value = _polish(ctx, acq, pool, scores, best, value, taken)
        if step == 0 and open_.sum() > SHORTLIST:
            shortlist = np.isin(np.arange(len(pool)), torch.topk(scores, SHORTLIST).indices.numpy())
            if ctx.near is not None:  # one point per combination: each keeps its best
                shortlist |= _best_of_each_combination(ctx, pool, scores, open_)
        picks.append(best)
        values.append(value)
        free[best] = False
        if ctx.near is not None:  # no later pick a near-copy of this one
            free &= ~ctx.near(pool, pool[best : best + 1])
            free &= ~_same_choices(ctx, pool, best, free)
        pending = pool[picks] if ctx.pending is None else torch.cat([ctx.pending, pool[picks]])
    return picks, values


def held_columns(width: int, movable: list[int]) -> torch.Tensor:
    """Which of ``width`` encoded columns hold a point's choices (levels, discrete numbers): every
    column but the ``movable`` continuous ones."""
    held = torch.ones(width, dtype=torch.bool)
    held[movable] = False
    return held


def _best_of_each_combination(
    ctx: Context, pool: torch.Tensor, scores: torch.Tensor, free: np.ndarray
) -> np.ndarray:
    """The free candidate with the highest score of each combination of choices: the shortlist
    keeps them, so that a later pick can still go to a combination none of the best made."""
    keep = np.zeros(len(pool), dtype=bool)
    if ctx.movable is None:
        return keep
    held = held_columns(pool.shape[1], ctx.movable)
    rows = np.flatnonzero(free)
    if not bool(held.any()) or not len(rows):
        return keep
    _, group = torch.unique(pool[rows][:, held], dim=0, return_inverse=True)
    order = np.argsort(-scores[rows].numpy(), kind="stable")
    _, first = np.unique(group.numpy()[order], return_index=True)
    keep[rows[order[first]]] = True
    return keep


def _same_choices(ctx: Context, pool: torch.Tensor, best: int, free: np.ndarray) -> np.ndarray:
    """The candidates that make the same choices as ``pool[best]`` (its levels and discrete
    numbers), when the space has choices and some free candidate makes others: a batch takes
    one point per combination of choices (see the module docstring)."""
    assert ctx.movable is not None
    held = held_columns(pool.shape[1], ctx.movable)
    if not bool(held.any()):
        return np.zeros(len(pool), dtype=bool)
    same = torch.all(pool[:, held] == pool[best, held], dim=1).numpy()
    return same if bool((free & ~same).any()) else np.zeros(len(pool), dtype=bool)


def _polish(
    ctx: Context,
    acq: Any,
    pool: torch.Tensor,
    scores: torch.Tensor,
    best: int,
    value: float,
    taken: torch.Tensor | None = None,
) -> float:
    """Move the best-scored candidates along ``ctx.movable`` by L-BFGS-B on ``acq``; write the best
    point found into ``pool[best]`` when it beats ``value`` and is allowed. Returns the pick's
    acquisition value."""
    from botorch.generation.gen import gen_candidates_scipy

    assert ctx.movable is not None
    # Starts: the best candidates that make the pick's choices. Which choices to make is the
    # pass's decision (polishing only the leader's would crowd out choices not yet explored);
    # the steps find where, within them, the acquisition peaks.
    held = held_columns(pool.shape[1], ctx.movable)
    same = torch.all(pool[:, held] == pool[best, held], dim=1) & torch.isfinite(scores)
    top = torch.topk(torch.where(same, scores, -torch.inf), min(STARTS, int(same.sum()))).indices
    starts = pool[top].unsqueeze(1).clone()  # [starts, 1, width]
    # The starts share every held coordinate: those are fixed features. One L-BFGS-B over all
    # starts (their values summed) stops only when all of them have: in the design benchmark
    # that polished better than BoTorch's batched L-BFGS-B, where each start stops on its own
    # (Branin: 41 experiments to the top 1 % against 46).
    fixed = {int(j): float(pool[best, j]) for j in torch.nonzero(held).reshape(-1)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's notes on stopping early are not the user's
        moved, _ = gen_candidates_scipy(
            starts,
            acq,
            0.0,
            1.0,
            options={"maxiter": _POLISH_STEPS},
            fixed_features=fixed or None,
            use_parallel_mode=False,
        )
    moved = moved.detach().reshape(len(top), -1)
    if ctx.allowed is not None:
        moved = _back_inside(ctx.allowed, starts.reshape(len(top), -1), moved, top.tolist())
    with torch.no_grad():
        gains = acq(moved.unsqueeze(1)).reshape(-1)
    # a polished point may not creep onto a point suggested or picked before, nor repeat a run
    if ctx.near is not None and taken is not None and len(taken):
        gains[torch.as_tensor(ctx.near(moved, taken))] = -torch.inf
    if ctx.repeats is not None:
        gains[torch.as_tensor(ctx.repeats(moved))] = -torch.inf
    i = int(torch.argmax(gains))
    if float(gains[i]) > value:
        pool[best] = moved[i]
        return float(gains[i])
    return value


def _back_inside(
    allowed: Callable[[torch.Tensor, list[int]], np.ndarray],
    starts: torch.Tensor,
    moved: torch.Tensor,
    rows: list[int],
) -> torch.Tensor:
    """Moved points that break a constraint, taken back along their path to the last point the
    constraints allow (bisection; the starts are allowed)."""
    ok = allowed(moved, rows)
    if ok.all():
        return moved
    inside = np.zeros(len(moved))  # the share of the step known to be allowed
    outside = np.ones(len(moved))
    for _ in range(_BISECTIONS):
        middle = (inside + outside) / 2
        share = torch.as_tensor(np.where(ok, 1.0, middle), dtype=moved.dtype)[:, None]
        fits = allowed(starts + share * (moved - starts), rows)
        inside = np.where(fits, middle, inside)
        outside = np.where(fits, outside, middle)
    share = torch.as_tensor(np.where(ok, 1.0, inside), dtype=moved.dtype)[:, None]
    return starts + share * (moved - starts)


def _log_nei(
    ctx: Context, pool: torch.Tensor, batch: int, used: np.ndarray
) -> tuple[list[int], list[float]]:
    from botorch.acquisition.logei import qLogNoisyExpectedImprovement

    surrogate = _fitted(ctx)

    def make(pending: torch.Tensor | None) -> Any:
        return qLogNoisyExpectedImprovement(
            surrogate.model,
            X_baseline=surrogate.x,
            sampler=_sampler(ctx.seed),
            X_pending=pending,
            prune_baseline=True,
            cache_root=True,
            objective=surrogate.objective(),
        )

    from botorch.acquisition.analytic import PosteriorMean

    # The best guess: the highest posterior mean of the GP, which with a warp is the highest
    # median on the objective's scale (the mean there would favour points the model is unsure of)
    guess = starts_with_best_guess("qLogNEI", batch, ctx.pending)
    return _greedy(ctx, make, pool, batch, used, PosteriorMean(surrogate.model) if guess else None)


def _ucb(
    ctx: Context, pool: torch.Tensor, batch: int, used: np.ndarray
) -> tuple[list[int], list[float]]:
    from botorch.acquisition.monte_carlo import qUpperConfidenceBound

    surrogate = _fitted(ctx)

    def make(pending: torch.Tensor | None) -> Any:
        return qUpperConfidenceBound(
            surrogate.model,
            beta=4.0,
            sampler=_sampler(ctx.seed),
            X_pending=pending,
            objective=surrogate.objective(),
        )

    return _greedy(ctx, make, pool, batch, used)


def _thompson(
    ctx: Context, pool: torch.Tensor, batch: int, used: np.ndarray
) -> tuple[list[int], list[float]]:
    from botorch.generation.sampling import MaxPosteriorSampling

    surrogate = _fitted(ctx)
    rng = np.random.default_rng(ctx.seed)
    free = np.flatnonzero(~used)
    subset = np.sort(rng.choice(free, min(len(free), _THOMPSON_POOL), replace=False))
    # The posterior draws use torch's generator, which the planner seeds for every selection.
    chosen = MaxPosteriorSampling(surrogate.model, replacement=False)(
        pool[subset], num_samples=min(batch, len(subset))
    )
    picks = []
    for point in chosen:
        match = torch.nonzero(torch.all(pool[subset] == point, dim=1)).reshape(-1)
        picks.append(int(subset[int(match[0])]))
    mean, _ = surrogate.posterior(pool[picks].numpy())
    return picks, [float(v) for v in mean[:, 0]]


def _log_nehvi(
    ctx: Context, pool: torch.Tensor, batch: int, used: np.ndarray
) -> tuple[list[int], list[float]]:
    from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement

    surrogate = _fitted(ctx)

    def make(pending: torch.Tensor | None) -> Any:
        return qLogNoisyExpectedHypervolumeImprovement(
            surrogate.model,
            ref_point=ctx.ref_point or [],
            X_baseline=surrogate.x,
            sampler=_sampler(ctx.seed),
            objective=surrogate.objective(),
            X_pending=pending,
            prune_baseline=True,
            cache_root=True,
        )

    return _greedy(ctx, make, pool, batch, used)


def _parego(
    ctx: Context, pool: torch.Tensor, batch: int, used: np.ndarray
) -> tuple[list[int], list[float]]:
    from botorch.acquisition.multi_objective.parego import qLogNParEGO

    surrogate = _fitted(ctx)
    m = surrogate.y.shape[1]
    weights = torch.as_tensor(np.random.default_rng(ctx.seed).dirichlet(np.ones(m)), dtype=DTYPE)

    def make(pending: torch.Tensor | None) -> Any:
        return qLogNParEGO(
            surrogate.model,
            X_baseline=surrogate.x,
            scalarization_weights=weights,
            sampler=_sampler(ctx.seed),
            objective=surrogate.objective(),
            X_pending=pending,
            prune_baseline=True,
        )

    return _greedy(ctx, make, pool, batch, used)


def _random(
    ctx: Context, pool: torch.Tensor, batch: int, used: np.ndarray
) -> tuple[list[int], list[float]]:
    free = np.flatnonzero(~used)
    picks = np.random.default_rng(ctx.seed).choice(free, min(batch, len(free)), replace=False)
    return [int(i) for i in picks], [float("nan")] * len(picks)


_SELECT: dict[str, Select] = {
    "qLogNEI": _log_nei,
    "qUCB": _ucb,
    "thompson": _thompson,
    "qLogNEHVI": _log_nehvi,
    "qLogNParEGO": _parego,
    "random": _random,
}

ACQUISITIONS: dict[str, Acquisition] = {
    name: Acquisition(name, description, objectives, _SELECT[name])
    for name, (description, objectives) in CATALOGUE.items()
}
"""Acquisition name → acquisition (the names and what they are for: :data:`CATALOGUE`)."""
