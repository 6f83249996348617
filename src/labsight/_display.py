"""How text that people supplied is shown back to people: on a terminal, and in a spreadsheet.

Names, reasons, column headers and cells come from users and from files, and they reach two kinds
of reader that act on what they are given. A terminal obeys control characters (``ESC [2J`` clears
the screen, a carriage return overwrites the line, a newline forges a new log line); a spreadsheet
runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (CSV injection). So every
such string passes through :func:`visible` before a terminal sees it, and through
:func:`spreadsheet_cell` before it goes into a CSV written for people (:func:`from_spreadsheet_cell`
takes the added quote off again when such a file is read back). Both change only what is shown:
stored data and exact exports (JSON lines) keep the text as it was. JSON printed on a terminal
goes through :func:`visible_json`, which writes the same characters as JSON escapes: the document
still parses to the exact text.

In a notebook the same text goes into small HTML tables (the ``_repr_html_`` of a quality report,
a dataset version, a model and a campaign) through :func:`html_text`: shown as :func:`visible` shows
it, then :func:`html.escape`-d, so a cell such as ``<script>`` is text, never markup.

Imports nothing from labsight; :mod:`labsight.exceptions`, the audit export, the notebook views and
the command line use it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "NUMBER_PATTERN",
    "from_spreadsheet_cell",
    "html_card",
    "html_table",
    "html_text",
    "spreadsheet_cell",
    "spreadsheet_frame",
    "visible",
    "visible_json",
]

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(code: int) -> str:
    char = chr(code)
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# C0 and C1 controls and DEL; the line and paragraph separators, which break a line like "\n";
# the bidirectional marks, embeddings, overrides and isolates, which reorder what a terminal shows
# ("Trojan source"); and the zero-width characters, which make two different names look the same
# (``temp\u200b`` and ``temp``).
_UNSAFE = [
    *range(0x00, 0x20),
    *range(0x7F, 0xA0),
    0x061C,  # Arabic letter mark (bidi)
    *range(0x200B, 0x2010),  # zero-width space, (non-)joiner; left-to-right, right-to-left marks
    0x2028,
    0x2029,
    *range(0x202A, 0x202F),  # bidi embeddings and overrides (U+202E reverses the text after it)
    *range(0x2060, 0x2065),  # word joiner and the invisible operators
    *range(0x2066, 0x206A),  # bidi isolates
    0xFEFF,  # zero-width no-break space (byte order mark)
]
_ALL = {code: _escape(code) for code in _UNSAFE}
_BUT_NEWLINES = {code: text for code, text in _ALL.items() if code != ord("\n")}
# In a JSON document: the same characters as JSON escapes (the newlines that indent it stay; the
# ones inside strings are escaped by json.dumps already).
_JSON = {code: f"\\u{code:04x}" for code in _UNSAFE if code != ord("\n")}


def visible(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every control character shown as an escape, so that it prints as one line
    and cannot drive the terminal; bidirectional overrides and zero-width characters are shown
    as escapes too, so that text cannot be reordered on screen and ``temp\\u200b`` does not look
    like ``temp``.

    ``keep_newlines`` keeps ``\\n`` as it is, for output laid out in lines (the console does this
    for everything it prints; single values such as names and error messages escape it too).

    Examples
    --------
    >>> print(visible("x\\x1b[31m red\\nnext"))
    x\\x1b[31m red\\nnext
    >>> print(visible("temp\\u200b"), visible("abc\\u202edef"))
    temp\\u200b abc\\u202edef
    >>> visible("plain text, [units] and µ stay as they are")
    'plain text, [units] and µ stay as they are'
    """
    return text.translate(_BUT_NEWLINES if keep_newlines else _ALL)


def visible_json(document: str) -> str:
    """A JSON ``document`` (as :func:`json.dumps` writes it) with every character that
    :func:`visible` escapes written as a JSON escape (``\\u202e``), so that it cannot drive or
    reorder a terminal and still parses to exactly the same strings.

    Such characters can only stand inside JSON strings, where an escape means the character itself.

    Examples
    --------
    >>> import json
    >>> text = json.dumps({"name": "abc\\u202edef\\x9b"}, ensure_ascii=False)
    >>> print(visible_json(text))
    {"name": "abc\\u202edef\\u009b"}
    >>> json.loads(visible_json(text)) == json.loads(text)
    True
    """
    return document.translate(_JSON)


NUMBER_PATTERN = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
"""A plain decimal number as text (``-1.5``, ``+2e-3``): a cell that a spreadsheet reads as a
number, not a formula, though it may start with ``-`` or ``+``."""

_NUMBER = re.compile(NUMBER_PATTERN)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(text: str) -> str:
    """``text`` as a CSV cell that a spreadsheet shows and never runs.

    A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a
    formula by Excel and LibreOffice; following OWASP's advice on CSV injection it gets a leading
    single quote, which makes it text. A plain number such as ``-1.5`` stays as it is.

    Examples
    --------
    >>> spreadsheet_cell("=HYPERLINK(\\"http://evil\\")")
    '\\'=HYPERLINK("http://evil")'
    >>> spreadsheet_cell("-2+3"), spreadsheet_cell("-1.5"), spreadsheet_cell("pd-A")
    ("'-2+3", '-1.5', 'pd-A')
    """
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def from_spreadsheet_cell(text: str) -> str:
    """``text`` read back from a cell that :func:`spreadsheet_cell` wrote: the ``'`` it added in
    front of a formula-like text is taken off; anything else is left as it is.

    Examples
    --------
    >>> from_spreadsheet_cell("'=x"), from_spreadsheet_cell("'-OMe"), from_spreadsheet_cell("=x")
    ('=x', '-OMe', '=x')
    >>> from_spreadsheet_cell("'-1.5"), from_spreadsheet_cell("'quoted"), from_spreadsheet_cell("'")
    ("'-1.5", "'quoted", "'")
    """
    if text.startswith("'") and spreadsheet_cell(text[1:]) == text:
        return text[1:]
    return text


def html_text(value: Any) -> str:
    """``value`` for an HTML page: a float to 4 significant digits, ``None`` as ``-``, anything
    else as text; control characters shown as :func:`visible` shows them, then HTML-escaped.

    Examples
    --------
    >>> html_text("<b>x</b>"), html_text(2 / 3), html_text(None)
    ('&lt;b&gt;x&lt;/b&gt;', '0.6667', '-')
    """
    if value is None:
        return "-"
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return html.escape(visible(text))


def html_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A small HTML table; every header and cell goes through :func:`html_text`."""
    head = "".join(f"<th>{html_text(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html_text(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_card(title: str, lines: Sequence[str] = (), tables: Sequence[str] = ()) -> str:
    """A notebook view: a bold title, lines of text (escaped here) and tables made by
    :func:`html_table` (already escaped)."""
    parts = [f"<p><b>{html_text(title)}</b></p>"]
    parts += [f"<p>{html_text(line)}</p>" for line in lines]
    parts += list(tables)
    return "<div class='labsight'>" + "".join(parts) + "</div>"


def spreadsheet_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with each text cell and column name passed through :func:`spreadsheet_cell`: one
    that would start a formula gets a leading ``'``; numeric columns, and text that is a plain
    number such as ``-1.5``, stay as they are. For a CSV written for people that labsight may read
    back (a design template), which takes the quote off again with :func:`from_spreadsheet_cell`."""
    import polars as pl

    escaped = []
    for name, dtype in frame.schema.items():
        if not isinstance(dtype, pl.String | pl.Categorical | pl.Enum):
            continue  # numbers stay numbers, -1.5 included
        value = pl.col(name).cast(pl.String)
        risky = value.str.contains(r"^[=+\-@\t\r]") & ~value.str.contains(NUMBER_PATTERN)
        escaped.append(pl.when(risky).then(pl.lit("'") + value).otherwise(value).alias(name))
    safe = frame.with_columns(escaped)
    return safe.rename({name: spreadsheet_cell(name) for name in frame.columns})
