"""Sniffing raw bytes: compression, binary content, encoding, delimiter, preamble, decimal comma.

Everything here works on a bounded sample (the first :data:`SAMPLE_BYTES` of the content) so that
sniffing costs the same for a 1 kB file and a 1 GB one. A wide table (100,000 columns of a spectrum
or a sensor array) has a header line of megabytes: :func:`sniff_sample` doubles the sample until it
holds the header and :data:`MIN_SAMPLE_ROWS` rows below it, so the cost follows the width of the
table, never its length.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "MIN_SAMPLE_ROWS",
    "SAMPLE_BYTES",
    "Dialect",
    "decide_encoding",
    "looks_binary",
    "sniff_dialect",
    "sniff_sample",
]

SAMPLE_BYTES = 256 * 1024
MIN_SAMPLE_ROWS = 3  # rows below the header a sample must hold, when the content has them
GZIP_MAGIC = b"\x1f\x8b"
_BINARY_MAGIC = (
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",
    b"%PDF",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"\x7fELF",
    b"MZ",
    b"7z\xbc\xaf",
    b"Rar!",
)
DELIMITERS = ("\t", ";", ",", "|")
_PREAMBLE_KV = re.compile(r"^\s*([^:;,=\t|]{1,80}?)\s*[:;,=\t|]\s*(.*?)\s*$")
_COMMA_DECIMAL = re.compile(r"^\s*[-+]?\d*,\d+(?:[eE][-+]?\d+)?\s*$")
_DOT_DECIMAL = re.compile(r"^\s*[-+]?\d*\.\d+(?:[eE][-+]?\d+)?\s*$")


def looks_binary(head: bytes) -> bool:
    """Whether a sample of content is binary rather than text (UTF-16 with a BOM counts as text)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if head.startswith(_BINARY_MAGIC) or b"\x00" in head:
        return True
    sample = head[:8192]
    if not sample:
        return False
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return control / len(sample) > 0.02


def decide_encoding(head: bytes, is_utf8: bool, content: bytes | None) -> str:
    """Pick the encoding deterministically: BOM, else UTF-8 if valid, else cp1252, else Latin-1.

    ``is_utf8`` tells whether the whole content decodes as UTF-8 (checked while hashing);
    ``content`` is the whole content when it is in memory, used to check cp1252.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if is_utf8:
        return "utf-8"
    try:
        (content if content is not None else head).decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


@dataclass
class Dialect:
    """What sniffing found out about a delimited text file."""

    delimiter: str  # "" for a one-column file; " " for whitespace-aligned columns
    header_index: int  # 0-based physical line of the header
    header: list[str]
    preamble: dict[str, str] = field(default_factory=dict)
    decimal_comma: bool = False
    n_fields: int = 1
    trailing_delimiter: bool = False  # every line ends with one delimiter too many


@dataclass
class _Candidate:
    delimiter: str
    records: list[tuple[int, list[str]]]
    n_fields: int
    start: int  # index into records of the header
    matching: int
    mismatches: int


def _records(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Non-blank records of ``text`` with the 0-based physical line each starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    out: list[tuple[int, list[str]]] = []
    line = 0
    try:
        for record in reader:
            if record and any(cell.strip() for cell in record):
                out.append((line, record))
            line = reader.line_num
    except csv.Error:
        pass
    return out


def _candidate(text: str, delimiter: str) -> _Candidate | None:
    records = _records(text, delimiter)
    counts = [len(fields) for _, fields in records]
    wide = Counter(c for c in counts if c >= 2)
    if not wide:
        return None
    top = max(wide.values())
    n_fields = max(c for c, k in wide.items() if k == top)
    start = counts.index(n_fields)
    after = counts[start:]
    matching = sum(1 for c in after if c == n_fields)
    return _Candidate(delimiter, records, n_fields, start, matching, len(after) - matching)


def _consistent(cand: _Candidate) -> bool:
    total = cand.matching + cand.mismatches
    # a ragged row or two is the file's fault, not the delimiter's; prose is ragged everywhere
    # (a tiny table whose first line is the header may hold one ragged row: report it, not "no table")
    tiny_ok = cand.matching >= 3 or (cand.matching >= 2 and cand.start == 0)
    allowed = max(total // 10, 1 if tiny_ok else 0)
    return cand.mismatches <= allowed and (cand.matching >= 2 or total == 1)


def sniff_dialect(
    text: str, *, delimiter: str | None = None, whitespace_ok: bool = False
) -> Dialect | None:
    """Find delimiter, header line and preamble in a text sample; ``None`` when it is no table.

    The header is the first line from which the field counts are consistent; lines above it are
    the preamble (kept as ``key: value`` pairs when they look like that).
    """
    candidates = (delimiter,) if delimiter else DELIMITERS
    found = [c for c in (_candidate(text, d) for d in candidates) if c is not None]
    good = [c for c in found if _consistent(c)]
    best: _Candidate | None = None
    if good:
        best = max(good, key=lambda c: (c.matching, -c.mismatches, c.n_fields))
    elif whitespace_ok and '"' not in text:
        best = _whitespace_candidate(text)
    if best is None:
        return _single_column(text) if delimiter is None else None
    header_line, header = best.records[best.start]
    data = [fields for _, fields in best.records[best.start + 1 :]]
    trailing = False
    full = [f for f in data if len(f) == best.n_fields]
    if best.delimiter.strip() and full and all(not f[-1].strip() for f in [header, *full]):
        # Every line, the first one included, ends in an empty field: a delimiter after the last
        # value, as some instrument and spreadsheet exports write. Either the header has one too,
        # or the header is the line above with one field fewer (and what looked like the header
        # was the first data row).
        above = best.records[best.start - 1] if best.start > 0 else None
        if above is not None and len(above[1]) == best.n_fields - 1:
            header_line, header = above
        else:
            header = header[:-1]
        trailing = True
    return Dialect(
        delimiter=best.delimiter,
        header_index=header_line,
        header=[h.strip() for h in header],
        preamble=_preamble(text, header_line),
        decimal_comma=best.delimiter != "," and _has_decimal_comma(data),
        n_fields=len(header) if trailing else best.n_fields,
        trailing_delimiter=trailing,
    )


def sniff_sample(
    read: Callable[[int], bytes],
    total: int,
    *,
    delimiter: str | None = None,
    whitespace_ok: bool = False,
) -> tuple[str, Dialect | None]:
    """Sniff the start of a UTF-8 text of ``total`` bytes; ``read(n)`` gives its first ``n`` bytes.

    The sample starts at :data:`SAMPLE_BYTES` and doubles while it is cut short of the header and
    :data:`MIN_SAMPLE_ROWS` rows below it, up to the whole text (whose size the caller has
    bounded). Returns the sample, cut after its last whole line, and what
    :func:`sniff_dialect` found in it.
    """
    size = SAMPLE_BYTES
    while True:
        data = read(size)
        truncated = len(data) == size < total  # a short read is all there is
        if truncated and b"\n" not in data:  # not one whole line yet
            size *= 2
            continue
        text = data.decode("utf-8", errors="ignore").lstrip("\ufeff")
        tail = ""
        if truncated:
            cut = text.rfind("\n") + 1
            text, tail = text[:cut], text[cut:]
        dialect = sniff_dialect(text, delimiter=delimiter, whitespace_ok=whitespace_ok)
        if not truncated or _holds_table_start(text, tail, dialect):
            return text, dialect
        size *= 2


def _holds_table_start(text: str, tail: str, dialect: Dialect | None) -> bool:
    """Whether a sample of whole lines, cut before ``tail``, holds the header and a few rows."""
    lines = text.split("\n")
    if len(tail) > max(len(line) for line in lines):
        return False  # the cut runs through a line longer than any before it: the header, likely
    if dialect is None:
        return True  # plenty of lines, none of them a table: more of the same will not help
    below = sum(1 for line in lines[dialect.header_index + 1 :] if line.strip())
    return below >= MIN_SAMPLE_ROWS


def _whitespace_candidate(text: str) -> _Candidate | None:
    records = [(i, line.split()) for i, line in enumerate(text.split("\n")) if line.strip()]
    counts = [len(fields) for _, fields in records]
    wide = Counter(c for c in counts if c >= 2)
    if not wide:
        return None
    n_fields = wide.most_common(1)[0][0]
    start = counts.index(n_fields)
    after = counts[start:]
    matching = sum(1 for c in after if c == n_fields)
    cand = _Candidate(" ", records, n_fields, start, matching, len(after) - matching)
    return cand if cand.mismatches == 0 and cand.matching >= 2 else None


def _single_column(text: str) -> Dialect | None:
    lines = [(i, line.strip()) for i, line in enumerate(text.split("\n")) if line.strip()]
    if len(lines) < 2 or any(any(d in line for d in DELIMITERS) for _, line in lines):
        return None
    if sum(len(line) for _, line in lines) / len(lines) > 40:
        return None
    index, header = lines[0]
    return Dialect("", index, [header.strip('"')], _preamble(text, index), False, 1)


def _preamble(text: str, header_line: int) -> dict[str, str]:
    preamble: dict[str, str] = {}
    for line in text.split("\n")[:header_line]:
        match = _PREAMBLE_KV.match(line.strip().strip('"'))
        if match and match.group(1).strip():
            preamble[match.group(1).strip().strip('"')] = match.group(2).strip().strip('"')
    return preamble


def _has_decimal_comma(rows: list[list[str]]) -> bool:
    comma = dot = 0
    for fields in rows[:2000]:
        for cell in fields:
            if _COMMA_DECIMAL.match(cell):
                comma += 1
            elif _DOT_DECIMAL.match(cell):
                dot += 1
    return comma > 0 and comma >= dot
