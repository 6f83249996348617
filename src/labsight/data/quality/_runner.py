"""The check registry and :func:`check_table`, which runs the checks and gathers one report."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from labsight.data.findings import Finding
from labsight.data.quality._context import CheckContext
from labsight.data.quality._duplicates import check_duplicate_rows, check_near_duplicate_columns
from labsight.data.quality._labels import check_labels
from labsight.data.quality._missing import check_missing
from labsight.data.quality._outliers import check_multivariate_outliers, check_outliers
from labsight.data.quality._replicates import check_replicates
from labsight.data.quality._report import QualityReport
from labsight.data.quality._sentinels import check_sentinels
from labsight.data.quality._values import (
    check_class_imbalance,
    check_constant,
    check_physical_limits,
    check_target_leak,
)
from labsight.data.table import Table
from labsight.exceptions import InputError

__all__ = ["CHECKS", "INGEST_CHECKS", "check_table"]

CheckFunction = Callable[[CheckContext], list[Finding]]


def _outliers(ctx: CheckContext) -> list[Finding]:
    found = check_outliers(ctx)
    if ctx.multivariate:
        found += check_multivariate_outliers(ctx)
    return found


_REGISTRY: dict[str, CheckFunction] = {
    "missing": check_missing,
    "sentinel": check_sentinels,
    "outlier": _outliers,
    "duplicate": check_duplicate_rows,
    "label_inconsistency": check_labels,
    "replicate_noise": check_replicates,
    "constant": check_constant,
    "near_duplicate_column": check_near_duplicate_columns,
    "target_leak": check_target_leak,
    "class_imbalance": check_class_imbalance,
    "physical_limit": check_physical_limits,
}

INGEST_CHECKS: tuple[str, ...] = ("invalid_value", "unit_inconsistency", "header", "sheet")
"""Checks made while reading the file; their findings arrive in ``Table.findings``."""

CHECKS: tuple[str, ...] = (*_REGISTRY, *INGEST_CHECKS)
"""Every check name a report can hold (``check_table(checks=...)`` selects among them)."""


def check_table(
    table: Table,
    *,
    checks: Sequence[str] | None = None,
    multivariate: bool = False,
) -> QualityReport:
    """Check a table's quality.

    Parameters
    ----------
    table
        The table, with its column roles and units; ``table.findings`` (from ingest) are included.
    checks
        Names from :data:`CHECKS` to run; all of them when None.
    multivariate
        Also look for rows that are unusual combinations of the numeric features (robust
        Mahalanobis distance); off by default because it is slower.

    Returns
    -------
    QualityReport
        All findings, worst first.

    Raises
    ------
    InputError
        When ``checks`` names a check that does not exist.

    Examples
    --------
    >>> import polars as pl
    >>> from labsight.data.table import ColumnInfo, Table
    >>> frame = pl.DataFrame({"x": [1.0, 2.0, None, 4.0]})
    >>> report = check_table(Table(frame, [ColumnInfo("x", "float")]))
    >>> [(f.check, f.rows) for f in report.findings]
    [('missing', [2])]
    """
    wanted = list(CHECKS) if checks is None else list(dict.fromkeys(checks))
    unknown = [c for c in wanted if c not in CHECKS]
    if unknown:
        raise InputError(
            f"unknown quality check {unknown[0]!r}",
            expected="one of " + ", ".join(CHECKS),
            got=repr(unknown[0]),
        )
    ctx = CheckContext(table, multivariate=multivariate)
    findings = [f for f in table.findings if f.check in wanted or f.check not in CHECKS]
    for name in wanted:
        if name in _REGISTRY:
            findings.extend(_REGISTRY[name](ctx))
    findings.sort(key=Finding.sort_key)
    return QualityReport(rows=table.height, columns=list(table.columns), findings=findings)
