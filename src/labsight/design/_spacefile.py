"""Reading a space file (YAML or JSON) with the line of every mapping, for errors that point there.

JSON is read by the same YAML loader (a JSON file is YAML), so both kinds of file get line numbers.
Each mapping comes back as a :class:`Located` dict: a plain ``dict`` that also knows its line.
The loader refuses aliases that repeat too much and deep nesting (see :mod:`labsight._yaml`), so a
small file can never stand for a huge structure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from labsight._yaml import RefusedYAMLError, StrictLoader, capped, load_yaml
from labsight.exceptions import InputError

__all__ = ["Located", "read_space_file"]


class Located(dict[str, Any]):
    """A mapping from the file, with the 1-based line where it starts."""

    line: int | None = None


class _Loader(StrictLoader):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    out = Located({str(k): v for k, v in loader.construct_mapping(node, deep=True).items()})
    out.line = node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_space_file(path: Path) -> Located:
    """The top-level mapping of a space file.

    Raises
    ------
    InputError
        When the file is missing, is not YAML/JSON, or is not a mapping at the top.
    """
    if not path.is_file():
        raise InputError(
            "no such space file",
            path=path,
            hint="Pass the path of a YAML or JSON file with parameters and objectives",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the space file: {err}", path=path) from None
    try:
        data = load_yaml(text, _Loader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        hint = "Check the indentation and the brackets at that line"
        what = "is not valid YAML/JSON"
        if isinstance(err, RefusedYAMLError):
            hint, what = err.hint, "cannot be read"
        raise InputError(
            capped(f"the space file {what}: {problem}"),
            path=path,
            line=mark.line + 1 if mark is not None else None,
            hint=hint,
        ) from None
    if not isinstance(data, dict):
        raise InputError(
            "the space file holds no mapping",
            path=path,
            expected="keys 'parameters' and 'objectives' at the top",
            got=type(data).__name__ if data is not None else "an empty file",
        )
    return data if isinstance(data, Located) else Located(data)
