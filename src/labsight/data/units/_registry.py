"""The one pint registry of labsight, with the lab units of ``lab_units.txt`` loaded into it.

It is built the first time a unit is parsed (:func:`registry`, or the module attribute ``ureg``):
importing pint and reading its definitions takes about half a second, which a command on a table
without units (a ``predict`` of unit-less columns) should not pay.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pint

    ureg: pint.UnitRegistry[Any]
    """labsight's one unit registry; every quantity in the package is made with it."""

__all__ = ["registry", "ureg"]


@functools.cache
def registry() -> pint.UnitRegistry[Any]:
    """labsight's one unit registry (built once, on first use)."""
    import pint

    made: pint.UnitRegistry[Any] = pint.UnitRegistry(
        autoconvert_offset_to_baseunit=True, cache_folder=None
    )
    text = resources.files("labsight.data.units").joinpath("lab_units.txt").read_text("utf-8")
    made.load_definitions(text.splitlines())
    return made


def __getattr__(name: str) -> Any:
    if name == "ureg":
        return registry()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
