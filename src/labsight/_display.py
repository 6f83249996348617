"""How text that people supplied is shown back to people: on a terminal, and in a spreadsheet.

Names, reasons, column headers and cells come from users and from files, and they reach two kinds
of reader that act on what they are given. A terminal obeys control characters (``ESC [2J`` clears
the screen, a carriage return overwrites the line, a newline forges a new log line); a spreadsheet
runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (CSV injection). So every
such string passes through :func:`visible` before a terminal sees it, and through
:func:`spreadsheet_cell` before it goes into a CSV written for people. Both change only what is
shown: stored data and exact exports (JSON lines) keep the text as it was.

Imports nothing from labsight; :mod:`labsight.exceptions`, the audit export and the command line
use it.
"""

from __future__ import annotations

import re

__all__ = ["NUMBER_PATTERN", "spreadsheet_cell", "visible"]

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(code: int) -> str:
    char = chr(code)
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# C0 and C1 controls and DEL; the line and paragraph separators, which break a line like "\n";
# and the bidirectional overrides, which reorder what a terminal shows ("Trojan source").
_UNSAFE = [
    *range(0x00, 0x20),
    *range(0x7F, 0xA0),
    0x2028,
    0x2029,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
]
_ALL = {code: _escape(code) for code in _UNSAFE}
_BUT_NEWLINES = {code: text for code, text in _ALL.items() if code != ord("\n")}


def visible(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every control character shown as an escape, so that it prints as one line
    and cannot drive the terminal.

    ``keep_newlines`` keeps ``\\n`` as it is, for output laid out in lines (the console does this
    for everything it prints; single values such as names and error messages escape it too).

    Examples
    --------
    >>> print(visible("x\\x1b[31m red\\nnext"))
    x\\x1b[31m red\\nnext
    >>> visible("plain text, [units] and µ stay as they are")
    'plain text, [units] and µ stay as they are'
    """
    return text.translate(_BUT_NEWLINES if keep_newlines else _ALL)


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
