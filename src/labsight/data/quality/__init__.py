"""Data quality: checks that look for what is wrong with a table, gathered in a QualityReport.

Lives here: :func:`check_table` (the check registry in ``_runner``), :class:`QualityReport`, one
private module per family of checks (``_missing``, ``_sentinels``, ``_outliers``, ``_duplicates``,
``_labels``, ``_replicates``, ``_values``) and :func:`robust_bounds`, the outlier rule that the
cleaner reuses (as it reuses the ``_sentinels`` rule for codes such as 0 or -999 that stand for a
missing value, and the replicate key of ``_replicates``).

Each check has a stable name (see :data:`CHECKS`) that programs rely on. Checks are tuned so a clean
table stays quiet: outlier thresholds grow with the number of rows (Bonferroni), and gap patterns
and noisy replicate groups are reported only when a corrected test says they are not chance.

Imports: ``labsight.data.table``, ``labsight.data.findings``, ``labsight.exceptions`` and, lazily
inside the physical-limit check, ``labsight.data.units``; nothing else from labsight.
"""

from labsight.data.quality._outliers import RobustBounds, robust_bounds
from labsight.data.quality._report import QualityReport
from labsight.data.quality._runner import CHECKS, INGEST_CHECKS, check_table

__all__ = [
    "CHECKS",
    "INGEST_CHECKS",
    "QualityReport",
    "RobustBounds",
    "check_table",
    "robust_bounds",
]
