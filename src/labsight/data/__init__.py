"""Data: reading lab files with their units, finding what is wrong with them, cleaning them.

Subpackages: ``ingest`` (one reader per format), ``units`` (the one pint registry), ``quality``
(checks that produce a :class:`~labsight.data.quality.QualityReport`), ``clean`` (replayable cleaning
plans). ``table`` and ``findings`` hold the types they share; ``spectra`` finds a table's spectrum
and ``sequences`` turns a long table of readings into one row per run. Imports nothing else from labsight but
``labsight.exceptions`` and the leaf helper ``labsight._atomic`` (atomic file writes).
"""
