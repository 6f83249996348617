"""One fit function and one apply function per step kind, registered by the step's ``op`` name.

A fit function looks at a table and returns the fitted :class:`CleaningStep` (or None when there
is nothing to do); an apply function replays a step on any table with the same columns and returns
the new table and a log of what changed. Everything is vectorised with polars / numpy.

A derived column never replaces a column the table has: when ``y__outlier`` (or ``y__sd``,
``n_replicates``) is taken, by the user's own column or by an earlier clean, the new one is called
``y__outlier_2`` (then ``_3`` …) and the change log says so. Refusing would force a rename of data
the scientist chose to keep; overwriting would silently lose it.
"""

from __future__ import annotations

from labsight.data.clean import _steps_spectra, _steps_stats, _steps_values
from labsight.data.clean._steps_common import DERIVED_ROLE as DERIVED_ROLE
from labsight.data.clean._steps_common import (
    N_REPLICATES,
    OUTLIER_SUFFIX,
    SD_SUFFIX,
    ApplyFunction,
    FitFunction,
    free_name,
    outlier_flags,
)
from labsight.data.clean._steps_common import Change as Change

__all__ = [
    "APPLY",
    "FIT",
    "N_REPLICATES",
    "OUTLIER_SUFFIX",
    "SD_SUFFIX",
    "free_name",
    "outlier_flags",
]

# The step kinds live in one module per family (``_steps_values``: sentinels, labels, units;
# ``_steps_spectra``: spectra; ``_steps_stats``: outliers, impute, replicates) on the helpers of ``_steps_common``; here their
# registries are joined, in the order the steps run.
FIT: dict[str, FitFunction] = {**_steps_values.FIT, **_steps_spectra.FIT, **_steps_stats.FIT}
APPLY: dict[str, ApplyFunction] = {
    **_steps_values.APPLY,
    **_steps_spectra.APPLY,
    **_steps_stats.APPLY,
}
