"""A campaign's status in words, as every face shows it: the best results as one table, and
sentences on how well the surrogate predicts, what matters, what is left and what was never tried.

``labsight design status`` prints them and the status page (:mod:`labsight.design._status_page`)
shows the same text, so the terminal and the report never say different things. Plain text:
escaping it for a terminal or HTML is the face's work. Imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labsight.design.insight import Status
    from labsight.design.space import Space

__all__ = [
    "BestTable",
    "StatusSummary",
    "best_table",
    "model_sentence",
    "status_notes",
    "summarise",
    "untried_sentence",
]

BestTable = tuple[str, list[str], list[list[str]]]
"""A table as the faces show it: title, header, rows of text."""

_BEST_ROWS = 10


@dataclass(frozen=True)
class StatusSummary:
    """The status in words (:meth:`labsight.workspace.campaigns.Campaign.status_summary`).

    ``table`` is the best results (``Best so far``; a ``Pareto front`` for several objectives, at
    most 10 rows) and ``notes`` the sentences on fit, importance and improvement left, both empty
    until a result is complete; ``untried`` says how many combinations of levels were never tried,
    when some were not (None otherwise)."""

    table: BestTable | None = None
    notes: list[str] = field(default_factory=list)
    untried: str | None = None


def _fmt(value: Any) -> str:
    """A number as people read it (4 significant digits); anything else as text."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def untried_sentence(combinations: Mapping[str, Any]) -> str:
    """``'5 of 12 combinations of solvent × ligand were never tried'`` (levels, for one factor)."""
    factors = list(combinations["factors"])
    n, total = combinations["untried"], combinations["total"]
    if len(factors) == 1:
        what = f"level{'s' if total != 1 else ''} of {factors[0]}"
    else:
        what = f"combination{'s' if total != 1 else ''} of {' × '.join(factors)}"
    verb = "was" if n == 1 else "were"
    sentence = f"{n} of {total} {what} {verb} never tried"
    untried, tried = combinations.get("sd_untried"), combinations.get("sd_tried")
    if untried is not None:
        unit = f" {combinations['unit']}" if combinations.get("unit") else ""
        sure = "the model is unsure of them" if combinations.get("unsure", True) else "for them"
        sentence += (
            f"; {sure}: {combinations['objective']} predicted ± "
            f"{_fmt(untried)}{unit} (sd, median)"
            + (f", against ± {_fmt(tried)}{unit} where tried" if tried is not None else "")
        )
    return sentence


def best_table(space: Space, status: Status) -> BestTable:
    """The best results (a Pareto front for several objectives, at most 10 rows): title, header,
    rows, as the terminal and the HTML report show them."""
    title = "Best so far" if len(space.objectives) == 1 else "Pareto front"
    header = [
        "experiment",
        *[p.label() for p in space.parameters],
        *[o.label() for o in space.objectives],
        "predicted (± sd)",
    ]
    rows = []
    for b in status.best[:_BEST_ROWS]:
        guess = b.get("predicted") or {}
        predicted = ", ".join(f"{_fmt(v['mean'])} ± {_fmt(v['sd'])}" for v in guess.values()) or "-"
        rows.append(
            [
                b["experiment_id"],
                *[_fmt(b["conditions"][n]) for n in space.names],
                *[_fmt(b["values"][o.name]) for o in space.objectives],
                predicted,
            ]
        )
    return title, header, rows


_KERNELS = {
    "mixed": "a categorical kernel for the choices (MixedSingleTaskGP)",
    "onehot": "one Matérn kernel over numbers and one-hot levels",
}


def model_sentence(model: Mapping[str, Any]) -> str:
    """Which surrogate is in use and why: ``'model: a categorical kernel … chosen by …'``."""
    what = _KERNELS.get(model["kernel"], model["kernel"])
    if warp := model.get("warp"):
        lams = ", ".join(f"{v:.2f}" for v in warp["lambda"])
        what += f", the results read through a Yeo–Johnson warp (λ {lams})"
    if model["chosen_by"] == "leave-one-out" and model.get("compared"):
        others = ", ".join(
            f"{_KERNELS.get(k, k).split(' (')[0]} {v:.2f}"
            for k, v in model["compared"].items()
            if k != model["kernel"]
        )
        return (
            f"model: {what}, chosen by leave-one-out log predictive density "
            f"({model['compared'][model['kernel']]:.2f}, against {others})"
        )
    if model["chosen_by"] == "asked":
        return f"model: {what}, as the space asks"
    return f"model: {what} (the default until there are enough results to compare kernels)"


def status_notes(status: Status) -> list[str]:
    """The status in sentences: which model, how well it predicts, what matters, what is left."""
    notes = []
    if left := status.initial_left:
        notes.append(
            f"initial design: {left} more result{'s' if left > 1 else ''} before suggestions "
            "come from the model (two per objective; with continuous parameters, one more "
            "result than there are parameters)"
        )
    if status.model:
        notes.append(model_sentence(status.model))
    notes += [
        f"model fit ({objective}): leave-one-out R² {f['loo_r2']:.2f}, 90 % intervals held "
        f"{f['loo_coverage_90']:.0%} of {int(f['rows'])} results"
        for objective, f in status.fit.items()
    ]
    if status.importance:
        notes.append(
            "what matters: "
            + ", ".join(f"{r['parameter']} {r['importance']:.0%}" for r in status.importance)
        )
    if status.expected:
        e = status.expected
        unit = f" {e['unit']}" if e.get("unit") else ""
        notes.append(
            f"improvement left: the best candidate (untried combinations of levels among them) "
            f"is expected to add {e['improvement']:.3g}{unit} "
            f"(probability of beating {_fmt(e['best'])}: {e['probability']:.0%})"
        )
    return notes


def summarise(space: Space, status: Status) -> StatusSummary:
    """The :class:`StatusSummary` of ``status`` (a status of a campaign on ``space``)."""
    combinations = status.combinations
    untried = untried_sentence(combinations) if combinations and combinations["untried"] else None
    if not status.best:
        return StatusSummary(untried=untried)
    return StatusSummary(best_table(space, status), status_notes(status), untried)
