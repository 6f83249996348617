"""The one pint registry of labsight, with the lab units of ``lab_units.txt`` loaded into it."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pint

__all__ = ["ureg"]


def _make_registry() -> pint.UnitRegistry[Any]:
    registry: pint.UnitRegistry[Any] = pint.UnitRegistry(
        autoconvert_offset_to_baseunit=True, cache_folder=None
    )
    text = resources.files("labsight.data.units").joinpath("lab_units.txt").read_text("utf-8")
    registry.load_definitions(text.splitlines())
    return registry


ureg: pint.UnitRegistry[Any] = _make_registry()
"""labsight's one unit registry; every quantity in the package is made with it."""
