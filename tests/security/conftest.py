"""What the security tests share: the spreadsheet's own rule for a cell that runs as a formula,
written independently of labsight's escaping so that it can judge it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

FormulaCells = Callable[[list[list[str]]], list[str]]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@pytest.fixture
def formula_cells() -> FormulaCells:
    """Cells (headers included) a spreadsheet would run: starting like a formula, not a number."""

    def cells(rows: list[list[str]]) -> list[str]:
        return [c for row in rows for c in row if c.startswith(_FORMULA_START) and not _number(c)]

    return cells
