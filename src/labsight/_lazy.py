"""Names a package hands out on first use (PEP 562), so importing it stays cheap.

The command line imports ``labsight``, ``labsight.store`` and ``labsight.design`` before it knows
whether a command will open a database or fit a surrogate; each package lists what it exports and
the module that defines it, and this module imports that module only when the name is first used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, which exports ``names`` (name → module).

    A name, once imported, is kept in the package's ``namespace`` (its ``globals()``), so the
    import runs once.

    Examples
    --------
    >>> space: dict[str, Any] = {}
    >>> getattr_, dir_ = lazy_exports("pkg", {"sqrt": "math"}, space)
    >>> getattr_("sqrt")(9.0), "sqrt" in space, dir_()
    (3.0, True, ['sqrt'])
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
