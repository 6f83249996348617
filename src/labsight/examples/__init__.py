"""Example datasets shipped with labsight (each with its licence notice beside it)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from labsight.exceptions import NotFoundError

__all__ = ["EXAMPLES", "example_path"]

EXAMPLES = {
    "chem_proc_yield": "chem_proc_yield.csv",
}
"""Name → file. ``chem_proc_yield``: 176 manufacturing batches, yield (%) and 57 process variables
with missing cells (Kuhn & Johnson 2013, via the MIT-licensed R package modeldata)."""


def example_path(name: str = "chem_proc_yield") -> Path:
    """The path of a shipped example file.

    Examples
    --------
    >>> example_path("chem_proc_yield").name
    'chem_proc_yield.csv'
    """
    if name not in EXAMPLES:
        raise NotFoundError(f"no example named {name!r}", expected=", ".join(sorted(EXAMPLES)))
    return Path(str(resources.files("labsight.examples") / EXAMPLES[name]))
