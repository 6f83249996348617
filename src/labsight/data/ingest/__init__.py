"""Ingest: reading lab files into a :class:`~labsight.data.table.Table`.

One private module per concern: ``_registry`` opens a file (size limits, hash, gzip) and picks a
reader by magic bytes and extension; ``_sniff`` finds encoding, delimiter, preamble and decimal comma
in a sample that grows with the width of the table; ``_text``, ``_excel``, ``_parquet`` and
``_jsonl`` read one format each; ``_fields`` checks every record's field count streaming, for large
text files; ``_formulas`` finds .xlsx formula cells without saved results; ``_types`` turns string
columns into typed ones and reads units in cells; ``_read`` holds :func:`read_table`, which ties them
together and infers column roles. Imports ``labsight.data.units``, ``labsight.data.roles``,
``labsight.data.table``, ``labsight.data.findings``, ``labsight.exceptions`` and ``labsight.config``
(a leaf module: the size limits' settings); nothing above ``labsight.data``.
"""

from labsight.data.ingest._read import OnIssue, ReadOptions, read_images, read_table
from labsight.data.ingest._registry import SUPPORTED_FORMATS, detect_format
from labsight.data.ingest._types import DEFAULT_NA_VALUES

__all__ = [
    "DEFAULT_NA_VALUES",
    "SUPPORTED_FORMATS",
    "OnIssue",
    "ReadOptions",
    "detect_format",
    "read_images",
    "read_table",
]
