"""Fitting a plan on a table (:func:`build_plan`) and replaying it (:func:`apply_plan`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

from labsight.data.clean._plan import METHODS, OPS, CleaningPlan, CleaningStep
from labsight.data.clean._steps import APPLY, FIT
from labsight.data.table import Table
from labsight.exceptions import InputError

__all__ = ["CleanResult", "CleaningOptions", "apply_plan", "build_plan"]


@dataclass
class CleanResult:
    """A cleaned table and the log of what each step changed.

    Each entry of ``changes`` has ``op``, ``method``, ``column`` (None for whole-row steps),
    ``count`` (rows changed) and ``rows`` (the first 1,000 of them), plus step-specific keys.
    """

    table: Table
    changes: list[dict[str, Any]] = field(default_factory=list)


def _validate(option: str, value: str | None) -> None:
    if value is not None and value not in METHODS[option]:
        raise InputError(
            f"unknown --{option} method {value!r}",
            expected="one of " + ", ".join(METHODS[option]),
            got=repr(value),
        )


class CleaningOptions(TypedDict, total=False):
    """What to clean, and how: the one definition of the cleaning options that ``build_plan``,
    ``ds.clean``, ``ws.clean``, ``ws.clean_file`` and the command line share (each ``None`` or
    left out: that step is not in the plan; the values are listed in :func:`build_plan`)."""

    impute: str | None
    outliers: str | None
    labels: str | None
    units: str | None
    replicates: str | None
    sentinels: str | None
    spectra: str | None


def build_plan(
    table: Table,
    **options: Unpack[CleaningOptions],
) -> CleaningPlan:
    """Fit a cleaning plan on a table.

    Steps run in a fixed order: sentinels → labels → units → spectra → outliers → impute →
    replicates, each
    fitted on the table as the previous steps leave it (so codes such as 0 or -999 are missing
    before units are converted and bounds fitted, imputation does not see outliers, and replicate
    means see clean values). What can be fitted is stored in the plan: label mappings, unit
    conversions, outlier bounds, mean/median impute values. kNN and iterative imputation are refit
    on each table the plan is applied to (``params["refit"] = True``).

    Parameters
    ----------
    table
        The table to fit on.
    impute
        ``mean``, ``median``, ``knn`` or ``iterative``: fill gaps in numeric feature/condition columns.
    outliers
        ``flag`` (add ``<col>__outlier``), ``drop`` (remove rows) or ``winsorize`` (clip to bounds).
    labels
        ``normalize``: one spelling per category.
    units
        ``canonical``: the lab-canonical unit of each dimension (degC, s, g, mL, mol / L ...).
    replicates
        ``mean`` or ``median``: one row per replicate group.
    spectra
        ``derivative``, ``second-derivative``, ``smooth``, ``snv`` or ``baseline``: preprocess the
        table's spectrum row by row (Savitzky–Golay, standard normal variate, straight-line
        baseline; see :mod:`labsight.data.clean._steps_spectra`).
    sentinels
        ``missing``: cells holding a code for a missing value (0, -999 … far apart from a
        column's other values, as the ``sentinel`` quality check finds them) become missing; the
        plan keeps the codes of each column and replays them on the next batch.

    Raises
    ------
    InputError
        When an option has a value that is not allowed (the message lists the allowed ones).

    Examples
    --------
    >>> import polars as pl
    >>> from labsight.data.table import ColumnInfo, Table
    >>> t = Table(pl.DataFrame({"x": [1.0, None, 3.0]}), [ColumnInfo("x", "float")])
    >>> plan = build_plan(t, impute="median")
    >>> apply_plan(t, plan).table.frame["x"].to_list()
    [1.0, 2.0, 3.0]
    """
    unknown = sorted(set(options) - set(CleaningOptions.__annotations__))
    if unknown:
        raise TypeError(f"build_plan() got an unexpected keyword argument {unknown[0]!r}")
    given: dict[str, Any] = dict(options.items())
    for option, value in given.items():
        _validate(option, value)
    steps: list[CleaningStep] = []
    current = table
    for op in OPS:
        method = given.get(op)
        if method is None:
            continue
        step = FIT[op](current, method)
        if step is None:
            continue
        steps.append(step)
        current, _ = APPLY[op](current, step)
    return CleaningPlan(steps)


def _required_columns(step: CleaningStep) -> list[str]:
    names = list(step.columns or [])
    if step.op == "replicates":
        names += [n for n in step.params.get("by", []) if n not in names]
    return names


def apply_plan(table: Table, plan: CleaningPlan) -> CleanResult:
    """Replay a plan's steps, in the plan's order, on a table (the one it was built on or a new batch).

    Raises
    ------
    InputError
        When a step names a column the table (as earlier steps left it) does not have.
    """
    current = table
    changes: list[dict[str, Any]] = []
    for i, step in enumerate(plan.steps, start=1):
        missing = [c for c in _required_columns(step) if c not in current.frame.columns]
        if missing:
            raise InputError(
                f"cleaning plan step {i} ({step.op} {step.method}) names column {missing[0]!r}, "
                "which the table does not have",
                path=plan.source,
                column=missing[0],
                expected="the columns " + ", ".join(map(repr, _required_columns(step))),
                got="columns "
                + ", ".join(repr(c) for c in current.frame.columns[:20])
                + (" ..." if current.frame.width > 20 else ""),
                hint="Build a new plan for this table, or rename its columns to match",
            )
        current, step_changes = APPLY[step.op](current, step)
        changes.extend(step_changes)
    return CleanResult(current, changes)
