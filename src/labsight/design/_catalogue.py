"""The acquisition functions by name: what each is, and for how many objectives, without the torch
that computes them. The planner checks a request and decides on an initial design before it needs
a model, so a campaign's first suggestions load neither torch nor BoTorch."""

from __future__ import annotations

from collections.abc import Sized

__all__ = ["CATALOGUE", "default_acquisition", "starts_with_best_guess"]

CATALOGUE: dict[str, tuple[str, str]] = {
    "qLogNEI": ("noisy expected improvement (log form)", "one"),
    "qUCB": ("upper confidence bound, mean + 2 sd", "one"),
    "thompson": ("Thompson sampling", "one"),
    "qLogNEHVI": ("noisy expected hypervolume improvement", "several"),
    "qLogNParEGO": ("ParEGO random scalarizations", "several"),
    "random": ("uniform random choice (a baseline)", "any"),
}
"""Name → (description, objectives it is for: ``one``, ``several`` or ``any``)."""


def default_acquisition(objectives: int) -> str:
    """``qLogNEI`` for one objective, ``qLogNEHVI`` for several."""
    return "qLogNEI" if objectives == 1 else "qLogNEHVI"


def starts_with_best_guess(name: str, batch: int, pending: Sized | None) -> bool:
    """Whether a batch of ``name`` starts with the model's best guess: ``qLogNEI``, two or more
    experiments, none pending (see :mod:`labsight.design.acquisition`)."""
    return name == "qLogNEI" and batch > 1 and (pending is None or len(pending) == 0)
