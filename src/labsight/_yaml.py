"""Reading the YAML (and JSON) files people hand to labsight: space files and cleaning plans.

PyYAML's ``SafeLoader`` builds only plain data, but two things in it are unbounded. It follows
anchors and aliases (``&a`` / ``*a``), with which a file of a few hundred bytes names a structure
of billions of items (the "billion laughs"): building it is quick, since every alias is the same
object, but the first thing that walks it (a message quoting it, a JSON dump) never ends. And it
composes nested collections by recursion, so a file of ``[[[[…`` ends in a ``RecursionError``.

:class:`StrictLoader` counts, as it composes the file, how many values its aliases repeat, and
refuses the file as soon as they pass :data:`MAX_ALIASED` (a plan that ``yaml.safe_dump`` wrote
holds an alias wherever two of its steps share a value, so a few stay welcome); it refuses an alias
inside the collection it names (a structure without end) and nesting deeper than
:data:`MAX_DEPTH`. Each is a :class:`RefusedYAMLError` that names the line, raised before
anything is built.

:func:`shown` and :func:`capped` keep the values such a file holds from making an error message
megabytes long.

A leaf module (PyYAML and the standard library only).
"""

from __future__ import annotations

import re
import reprlib
from typing import Any

import yaml
from yaml.nodes import Node

__all__ = [
    "MAX_ALIASED",
    "MAX_DEPTH",
    "RefusedYAMLError",
    "StrictLoader",
    "capped",
    "compose_yaml",
    "load_yaml",
    "nested_deeper",
    "shown",
    "shown_text",
]

MAX_DEPTH = 100
"""The deepest nesting of lists and mappings read (labsight's own files nest a handful deep)."""
MAX_ALIASED = 100_000
"""The most values (scalars, lists and mappings) that a file's aliases may repeat, all together."""

_ALIAS_HINT = "Write the repeated part out in full where it is needed, or use fewer aliases (*name)"


class RefusedYAMLError(yaml.MarkedYAMLError):
    """YAML that is valid but refused: aliases that repeat too much, an alias inside what it
    names, or nesting past :data:`MAX_DEPTH`.

    ``problem`` and ``problem_mark`` say what and where, as for PyYAML's own errors; ``hint`` says
    how to fix it.
    """

    def __init__(self, problem: str, mark: Any, hint: str) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.hint = hint


class StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses aliases repeating more than :data:`MAX_ALIASED` values in
    all, an alias inside the collection it names, and nesting deeper than :data:`MAX_DEPTH`."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliased = 0
        # each node composed so far (by id: the tree keeps them alive) -> how many values it
        # stands for, aliases inside it counted in full
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)  # PyYAML refuses an unknown name
            name = shown_text(event.anchor or "", 40)
            size = self._sizes.get(id(node))
            if size is None:
                raise RefusedYAMLError(
                    f"the alias *{name} is inside the collection &{name} it names, which would "
                    "never end",
                    event.start_mark,
                    _ALIAS_HINT,
                )
            self._aliased += size
            if self._aliased > MAX_ALIASED:
                raise RefusedYAMLError(
                    f"the aliases up to *{name} repeat more than {MAX_ALIASED:,} values, "
                    "which labsight does not read (a YAML bomb?)",
                    event.start_mark,
                    _ALIAS_HINT,
                )
            return node
        collection = isinstance(event, yaml.CollectionStartEvent)
        if collection:
            if self._depth >= MAX_DEPTH:
                raise RefusedYAMLError(
                    f"lists and mappings are nested more than {MAX_DEPTH} deep",
                    event.start_mark,
                    "Check the brackets: labsight's files nest only a few levels deep",
                )
            self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            if collection:
                self._depth -= 1
        self._sizes[id(node)] = self._size(node)
        return node

    def _size(self, node: Node | None) -> int:
        if isinstance(node, yaml.SequenceNode):
            return 1 + sum(self._sizes[id(item)] for item in node.value)
        if isinstance(node, yaml.MappingNode):
            return 1 + sum(self._sizes[id(k)] + self._sizes[id(v)] for k, v in node.value)
        return 1


def _int(loader: StrictLoader, node: yaml.ScalarNode) -> int:
    # Python refuses to convert an integer of more than 4300 digits, with a ValueError
    try:
        return loader.construct_yaml_int(node)
    except ValueError:
        raise RefusedYAMLError(
            f"the number {shown_text(str(node.value), 20)} has too many digits",
            node.start_mark,
            "Write it with an exponent (1.5e300), or quote it if it is text",
        ) from None


StrictLoader.add_constructor("tag:yaml.org,2002:int", _int)


def load_yaml(text: str, loader: type[StrictLoader] = StrictLoader) -> Any:
    """The data in ``text`` (YAML or JSON), read with ``loader``.

    Raises
    ------
    yaml.YAMLError
        When ``text`` is not YAML, or is refused (:class:`RefusedYAMLError`).
    """
    return yaml.load(text, Loader=loader)  # a SafeLoader subclass


def compose_yaml(text: str) -> Node | None:
    """The node tree of ``text`` (for line numbers), read with :class:`StrictLoader`."""
    return yaml.compose(text, Loader=StrictLoader)


def nested_deeper(data: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists and mappings in ``data`` (as :func:`json.loads` returns it) nest more than
    ``limit`` deep; walked without recursion.

    Examples
    --------
    >>> nested_deeper({"a": [[1]]}, 3), nested_deeper({"a": [[1]]}, 2)
    (False, True)
    """
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


class _Short(reprlib.Repr):
    """``repr`` cut short: a few items of a collection, the ends of a long string."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.maxstring = limit
        self.maxother = limit
        self.maxlevel = 3
        self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = 8
        self.maxdict = 6

    def repr1(self, x: Any, level: int) -> str:
        # subclasses of the plain types (a mapping that knows its line) are shown like them
        if isinstance(x, dict) and type(x) is not dict:
            x = dict(x)
        elif isinstance(x, list) and type(x) is not list:
            x = list(x)
        elif isinstance(x, str) and type(x) is not str:
            x = str(x)
        return super().repr1(x, level)


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)``, about ``limit`` characters at most, for quoting a value in a message.

    Examples
    --------
    >>> shown("x" * 1000, 20)
    "'xxxxxxx...xxxxxxxx'"
    >>> shown(list(range(100)))
    '[0, 1, 2, 3, 4, 5, 6, 7, ...]'
    """
    return _Short(limit).repr(value)


def shown_text(text: str, limit: int = 60) -> str:
    """``text`` itself when short, else its first ``limit`` characters and ``…``."""
    return text if len(text) <= limit else text[:limit] + "…"


# A quoted value as repr() writes it: '…' (quotes inside escaped) or "…"
_QUOTED = re.compile(r"""'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*\"""")


def capped(text: str, quoted: int = 80, total: int = 600) -> str:
    """``text`` (a message) with each quoted value longer than ``quoted`` characters cut short,
    and the whole cut to about ``total`` characters.

    Examples
    --------
    >>> capped("'" + "a" * 200 + "' has an unknown unit 'degC'", quoted=12)
    "'aaaaaaaaa…' has an unknown unit 'degC'"
    """

    def cut(match: re.Match[str]) -> str:
        value = match.group()
        return value if len(value) <= quoted else value[: quoted - 2] + "…" + value[0]

    text = _QUOTED.sub(cut, text)
    return text if len(text) <= total else text[:total] + " …"
