"""Units: labsight's one pint registry and the helpers that read units as lab files write them.

What lives here: :data:`ureg` (the one :class:`pint.UnitRegistry`, with the lab units of
``lab_units.txt`` loaded), parsing of units from headers (``"temperature [degC]"``) and cells
(``"90 min"``), conversion and the lab-canonical unit of each dimension. Imports nothing from
labsight but :mod:`labsight.exceptions`; ingest, quality, cleaning and the models import it.
"""

from typing import TYPE_CHECKING

from labsight.data.units._parse import (
    convert,
    is_compatible,
    match_column,
    parse_unit,
    preferred_unit,
    rename_unit_in_header,
    split_header,
    split_value_unit,
)
from labsight.data.units._registry import registry

if TYPE_CHECKING:
    from typing import Any

    import pint

    ureg: pint.UnitRegistry[Any]

__all__ = [
    "convert",
    "is_compatible",
    "match_column",
    "parse_unit",
    "preferred_unit",
    "rename_unit_in_header",
    "split_header",
    "split_value_unit",
    "ureg",
]


def __getattr__(name: str) -> object:
    if name == "ureg":  # built on first use (see _registry)
        return registry()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
