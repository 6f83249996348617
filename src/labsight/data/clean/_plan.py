"""Cleaning plans: the fitted, replayable list of cleaning steps, and its YAML/JSON file format.

A plan file looks like::

    labsight_plan: 1
    steps:
    - op: labels
      method: normalize
      columns: [catalyst]
      params:
        mapping: {catalyst: {"pd(oac)2 ": Pd(OAc)2}}

Plan files are read with aliases that repeat little and shallow nesting only (see
:mod:`labsight._yaml`: no "billion laughs", no ``[[[[…``), and errors quote what the file holds cut
short.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from labsight._atomic import atomic_write_text
from labsight._yaml import (
    MAX_DEPTH,
    RefusedYAMLError,
    capped,
    compose_yaml,
    load_yaml,
    nested_deeper,
    shown,
)
from labsight.exceptions import InputError

__all__ = ["FORMAT_VERSION", "METHODS", "OPS", "CleaningPlan", "CleaningStep"]

FORMAT_VERSION = 1
OPS: tuple[str, ...] = (
    "sentinels",
    "labels",
    "units",
    "spectra",
    "outliers",
    "impute",
    "replicates",
)
"""Step kinds, in the order :func:`~labsight.data.clean.build_plan` emits them."""
METHODS: dict[str, tuple[str, ...]] = {
    "sentinels": ("missing",),
    "labels": ("normalize",),
    "units": ("canonical",),
    "spectra": ("derivative", "second-derivative", "smooth", "snv", "baseline"),
    "outliers": ("flag", "drop", "winsorize"),
    "impute": ("mean", "median", "knn", "iterative"),
    "replicates": ("mean", "median"),
}
"""The methods each step kind accepts (also the values of the ``labsight clean`` options)."""

_STEP_KEYS = ("op", "method", "columns", "params")


@dataclass
class CleaningStep:
    """One cleaning step: what to do (``op``, ``method``), to which columns, with fitted ``params``."""

    op: str
    method: str
    columns: list[str] | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "method": self.method,
            "columns": None if self.columns is None else list(self.columns),
            "params": self.params,
        }


@dataclass
class CleaningPlan:
    """An ordered list of fitted cleaning steps that can be saved and replayed on new batches.

    ``source`` (not saved) names the file a plan was loaded from, for error messages.

    Examples
    --------
    >>> plan = CleaningPlan([CleaningStep("impute", "median", ["x"], {"values": {"x": 2.0}})])
    >>> print(plan.to_yaml(), end="")
    labsight_plan: 1
    steps:
    - op: impute
      method: median
      columns:
      - x
      params:
        values:
          x: 2.0
    >>> CleaningPlan.from_yaml(plan.to_yaml()) == plan
    True
    """

    steps: list[CleaningStep] = field(default_factory=list)
    source: str | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"labsight_plan": FORMAT_VERSION, "steps": [s.to_dict() for s in self.steps]}

    @classmethod
    def from_dict(
        cls,
        data: Any,
        *,
        source: str | None = None,
        lines: dict[tuple[Any, ...], int] | None = None,
    ) -> CleaningPlan:
        """Validate plan data (as read from YAML/JSON) and build the plan.

        Raises
        ------
        InputError
            Naming the source, the line (when known), the bad key and what was expected.
        """
        lines = lines or {}

        def fail(msg: str, where: tuple[Any, ...], expected: str, got: Any) -> InputError:
            line = None
            for i in range(len(where), -1, -1):
                if where[:i] in lines:
                    line = lines[where[:i]]
                    break
            return InputError(
                capped(f"malformed cleaning plan: {msg}"),
                path=source,
                line=line,
                expected=expected,
                got=shown(got),
            )

        if not isinstance(data, dict):
            raise fail(
                "the plan is not a mapping",
                (),
                "a mapping with 'labsight_plan' and 'steps'",
                type(data).__name__,
            )
        unknown = [k for k in data if k not in ("labsight_plan", "steps")]
        if unknown:
            raise fail(
                f"unknown key {unknown[0]!r}",
                (unknown[0],),
                "only 'labsight_plan' and 'steps'",
                unknown[0],
            )
        if data.get("labsight_plan") != FORMAT_VERSION:
            raise fail(
                "'labsight_plan' is missing or unsupported",
                ("labsight_plan",),
                f"labsight_plan: {FORMAT_VERSION}",
                data.get("labsight_plan"),
            )
        raw_steps = data.get("steps")
        if not isinstance(raw_steps, list):
            raise fail("'steps' is not a list", ("steps",), "a list of steps", raw_steps)
        steps = []
        for i, raw in enumerate(raw_steps):
            where = ("steps", i)
            label = f"step {i + 1}"
            if not isinstance(raw, dict):
                raise fail(f"{label} is not a mapping", where, "keys " + ", ".join(_STEP_KEYS), raw)
            extra = [k for k in raw if k not in _STEP_KEYS]
            if extra:
                raise fail(
                    f"{label} has unknown key {extra[0]!r}",
                    (*where, extra[0]),
                    "keys " + ", ".join(_STEP_KEYS),
                    extra[0],
                )
            op = raw.get("op")
            if op not in METHODS:
                raise fail(
                    f"{label} has an unknown op", (*where, "op"), "op one of " + ", ".join(OPS), op
                )
            method = raw.get("method")
            if method not in METHODS[op]:
                raise fail(
                    f"{label} ({op}) has an unknown method",
                    (*where, "method"),
                    "method one of " + ", ".join(METHODS[op]),
                    method,
                )
            columns = raw.get("columns")
            if columns is not None and (
                not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)
            ):
                raise fail(
                    f"{label} 'columns' is not a list of names",
                    (*where, "columns"),
                    "a list of column names or null",
                    columns,
                )
            params = raw.get("params", {})
            if params is None:
                params = {}
            if not isinstance(params, dict):
                raise fail(
                    f"{label} 'params' is not a mapping", (*where, "params"), "a mapping", params
                )
            steps.append(CleaningStep(op, method, columns, params))
        return cls(steps, source=source)

    def to_yaml(self) -> str:
        """The plan as YAML, keys in a stable, readable order."""
        return yaml.safe_dump(
            self.to_dict(), sort_keys=False, allow_unicode=True, default_flow_style=False
        )

    @classmethod
    def from_yaml(cls, text: str, *, source: str | None = None) -> CleaningPlan:
        """Read a plan from YAML (or JSON, which YAML reads too)."""
        try:
            data = load_yaml(text)
            lines = _yaml_lines(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            if isinstance(exc, RefusedYAMLError):
                raise InputError(
                    capped(f"malformed cleaning plan: {exc.problem}"),
                    path=source,
                    line=line,
                    hint=exc.hint,
                ) from exc
            raise InputError(
                "malformed cleaning plan: not valid YAML",
                path=source,
                line=line,
                expected="a YAML or JSON plan",
                got=capped(str(getattr(exc, "problem", None) or str(exc).splitlines()[0])),
            ) from exc
        return cls.from_dict(data, source=source, lines=lines)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the plan atomically (temp file + ``os.replace``); ``.json`` gives JSON, else YAML."""
        path = Path(path)
        text = (
            json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"
            if path.suffix.lower() == ".json"
            else self.to_yaml()
        )
        return atomic_write_text(path, text)

    @classmethod
    def load(cls, path: str | Path) -> CleaningPlan:
        """Read a plan file (YAML or JSON).

        Raises
        ------
        InputError
            When the file is missing or malformed; the message names the file and line.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(
                f"cannot read cleaning plan: {exc}",
                path=str(path),
                hint="Pass a plan written by `labsight clean --save-plan` or CleaningPlan.save",
            ) from exc
        if path.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InputError(
                    "malformed cleaning plan: not valid JSON",
                    path=str(path),
                    line=exc.lineno,
                    expected="a JSON plan",
                    got=exc.msg,
                ) from exc
            except RecursionError:  # [[[[… nested past what the parser follows
                data = None
                deep = True
            else:
                deep = nested_deeper(data, MAX_DEPTH)
            if deep:
                raise InputError(
                    f"malformed cleaning plan: lists and mappings are nested more than "
                    f"{MAX_DEPTH} deep",
                    path=str(path),
                    hint="Check the brackets: a plan nests only a few levels deep",
                )
            return cls.from_dict(data, source=str(path), lines=_yaml_lines(text))
        return cls.from_yaml(text, source=str(path))


def _yaml_lines(text: str) -> dict[tuple[Any, ...], int]:
    """1-based lines of the plan's keys and steps: ``("steps", 2, "op") -> 14``."""
    lines: dict[tuple[Any, ...], int] = {}
    try:
        root = compose_yaml(text)
    except yaml.YAMLError:
        return lines

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode) and len(path) < 3:
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    lines[(*path, key.value)] = key.start_mark.line + 1
                    walk(value, (*path, key.value))
                    lines[(*path, key.value)] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and len(path) < 2:
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    return lines
