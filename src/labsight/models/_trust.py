"""What to know before trusting a model, in sentences: ``train`` and ``model show`` print them.

:func:`trust_notes` reads a model's summary (what :meth:`TrainedModel.summary` gives, as the
registry stores it) and says, one line each: that a model of runs reads each run as one row; which
rows the folds keep together and why; how the
model compares with the trivial baseline on the same folds (a warning when it is not clearly
better); which inputs look like other outcomes of the same experiments, with how to leave them
out; which SMILES columns are read as molecules; and every column left out, with the reason. A
summary from before a field existed simply gives no line for it.
"""

from __future__ import annotations

import shlex
from typing import Any, Literal

from labsight.models._features import describe_left_out
from labsight.models._molecules import RDKIT_DESCRIPTORS

__all__ = ["Note", "trust_notes"]

Note = tuple[Literal["info", "warning"], str]
_SIBLINGS_SHOWN = 12


def trust_notes(summary: dict[str, Any]) -> list[Note]:
    """The lines, each ``("info" | "warning", text)``.

    Examples
    --------
    >>> trust_notes({"cv": {"scheme": "5-fold × 3 repeats", "grouping": "not grouped (...)"},
    ...              "left_out": [{"column": "run", "reason": "role id"}]})
    [('info', 'folds: 5-fold × 3 repeats, not grouped (...)'), ('info', 'left out: run (role id)')]
    """
    notes: list[Note] = []
    sequence = summary.get("sequence")
    if sequence:
        sensors = ", ".join(repr(s) for s in sequence["sensors"])
        notes.append(
            (
                "info",
                f"runs: one row per run of {sequence['group']!r} (the target is the same on "
                f"every reading of a run), ordered by {sequence['time']!r}; {sensors} each "
                f"resampled onto {sequence['length']} points and summarised"
                + (
                    "; readings read from lists in the cells of "
                    + ", ".join(repr(c) for c in sequence["cells"])
                    if sequence.get("cells")
                    else ""
                ),
            )
        )
    forecast = summary.get("forecast")
    if forecast:
        others = ", ".join(repr(s) for s in forecast["sensors"])
        notes.append(
            (
                "info",
                f"forecast: the next {forecast['horizon']} readings of {forecast['target']!r} "
                f"from each run's last {forecast['history']}"
                + (f" and the latest {others}" if others else "")
                + f"; readings taken as evenly spaced ({forecast['spacing']:g} apart); one row "
                "per run and step ahead",
            )
        )
    cv = summary.get("cv") or {}
    if cv.get("grouping"):
        scheme = str(cv.get("scheme", "")).split(", grouped by ")[0]  # the grouping says it all
        notes.append(("info", f"folds: {scheme}, {cv['grouping']}"))
    base = summary.get("baseline")
    if base:
        notes.append(_baseline(summary, base))
    siblings = summary.get("siblings") or []
    if siblings:
        notes.append(("warning", _siblings(summary.get("target", "the target"), siblings)))
    molecules = summary.get("molecules") or []
    if molecules:
        names = ", ".join(repr(m) for m in molecules)
        notes.append(
            (
                "info",
                f"molecules: {names} read as SMILES, each described by {len(RDKIT_DESCRIPTORS)} "
                f"RDKit descriptors ({', '.join(RDKIT_DESCRIPTORS[:3])} …)",
            )
        )
    left_out = {row["column"]: row["reason"] for row in summary.get("left_out") or []}
    if left_out:
        notes.append(("info", f"left out: {describe_left_out(left_out)}"))
    return notes


def _baseline(summary: dict[str, Any], base: dict[str, Any]) -> Note:
    metric = base.get("metric", summary.get("metric", "score"))
    model_score, score = base.get("model_score"), base.get("score")
    difference, se = base.get("difference"), base.get("se")
    if None in (model_score, score, difference, se):
        return ("info", f"baseline: predicting {base.get('predicts', 'a constant')}")
    scores = (
        f"on all out-of-fold predictions the model scores {metric} {model_score:.3g}, "
        f"predicting {base['predicts']} {score:.3g}"
    )
    if summary.get("better_than_baseline") is False:
        return (
            "warning",
            f"not clearly better than a guess: {scores} (difference {difference:.2g}, standard "
            f"error {se:.2g}). Treat its predictions as no better than predicting "
            f"{base['predicts']}; collect more runs or better features. Staging it to production "
            "needs --force with --reason",
        )
    return ("info", f"baseline: {scores}; better by {difference:.2g} ± {se:.2g} (s.e.)")


def _siblings(target: str, siblings: list[str]) -> str:
    shown = siblings[:_SIBLINGS_SHOWN]
    more = f" and {len(siblings) - len(shown)} more" if len(siblings) > len(shown) else ""
    flags = " ".join(f"--exclude {shlex.quote(c)}" for c in siblings)
    return (
        f"{len(siblings)} input{'s look' if len(siblings) > 1 else ' looks'} like other outcomes "
        f"of the same experiments: {', '.join(shown)}{more}. If measured with or after "
        f"{target!r}, they leak it; leave them out with {flags} (Python: exclude=[...])"
    )
