"""Data cleaning: fitted, replayable cleaning plans.

Lives here: :class:`CleaningPlan` / :class:`CleaningStep` (the plan and its YAML/JSON file format,
``_plan``), :func:`build_plan` and :func:`apply_plan` (``_build``) and one fit and one apply
function per step kind, registered by name (``_steps``, which joins ``_steps_values``:
``sentinels``, ``labels``, ``units``, and ``_steps_stats``: ``outliers``, ``impute``,
``replicates``; ``_steps_common`` holds what they share).

A plan is fitted on one table and replayed unchanged on new batches with the same columns: the
same codes for a missing value, the same label mapping, the same unit conversions, the same
outlier bounds, the same impute values
(kNN and iterative imputation are the exception: they refit on each table, ``refit: true``).

Derived columns (``<col>__outlier``, ``<col>__sd``, ``n_replicates``) get role ``id``, the one role
that no quality check and no model treats as an input, and a name ending in a ``__`` suffix, so
they never become model features by accident.

Imports: ``labsight.data.table``, ``labsight.data.quality`` (the same robust bounds and label
keys as the report), lazily ``labsight.data.units``, and ``labsight.exceptions``.
"""

from labsight.data.clean._build import CleaningOptions, CleanResult, apply_plan, build_plan
from labsight.data.clean._plan import METHODS, OPS, CleaningPlan, CleaningStep
from labsight.data.clean._steps import N_REPLICATES, OUTLIER_SUFFIX, SD_SUFFIX

__all__ = [
    "METHODS",
    "N_REPLICATES",
    "OPS",
    "OUTLIER_SUFFIX",
    "SD_SUFFIX",
    "CleanResult",
    "CleaningOptions",
    "CleaningPlan",
    "CleaningStep",
    "apply_plan",
    "build_plan",
]
