"""Reading a space file into a :class:`~labsight.design.space.Space`, and a stored space back.

:func:`load_space` checks a YAML or JSON file (parameters, objectives, constraints, candidates,
descriptor tables) and raises one :class:`~labsight.exceptions.InputError` naming the file and the
line of the first mistake; :func:`space_from_dict` rebuilds the space :meth:`Space.to_dict` stored.
The types themselves are :mod:`labsight.design._space_types`; both are exported from
:mod:`labsight.design.space`.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from labsight._yaml import capped
from labsight.design._constraints import Constraint, ConstraintError, parse_constraint
from labsight.design._descriptors import molecule_descriptors, read_descriptor_table
from labsight.design._space_types import (
    Objective,
    Parameter,
    Space,
    inferred_scale,
    listed_scales,
)
from labsight.design._spacefile import Located, read_space_file
from labsight.exceptions import InputError, UnitError

__all__ = ["load_space", "space_from_dict"]

_KINDS = ("continuous", "discrete", "integer", "categorical", "molecule")
_TOP_KEYS = (
    "parameters",
    "objectives",
    "constraints",
    "candidates",
    "initial",
    "surrogate",
    "name",
)
_PARAM_KEYS = (
    "name",
    "type",
    "bounds",
    "values",
    "unit",
    "descriptors",
    "encoding",
    "resolution",
    "scale",
)
_OBJECTIVE_KEYS = ("name", "goal", "bounds", "unit")


def _close(word: str, options: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


class _Reader:
    """Builds a :class:`Space` from a file's mappings, raising errors that name file and line."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.where = str(path) if path else None

    def fail(self, message: str, line: int | None, **fields: Any) -> InputError:
        # names and values from the file are quoted: none may make the line megabytes long
        if isinstance(fields.get("got"), str):
            fields["got"] = capped(fields["got"], total=200)
        return InputError(capped(message), path=self.where, line=line, **fields)

    def keys(
        self, data: Mapping[str, Any], allowed: Sequence[str], what: str, line: int | None
    ) -> None:
        for key in data:
            if key not in allowed:
                raise self.fail(
                    f"unknown key {key!r} in {what}{_close(str(key), allowed)}",
                    line,
                    expected=", ".join(allowed),
                )

    def unit(self, text: Any, name: str, line: int | None) -> str | None:
        if text in (None, ""):
            return None
        from labsight.data.units import parse_unit

        try:
            return parse_unit(str(text))
        except UnitError as err:
            raise self.fail(
                f"{name!r} has an unknown unit {str(text)!r}",
                line,
                expected="a unit such as 'degC', 'mol/L', 'min', '%'",
                hint=err.hint,
            ) from None

    def bounds(self, value: Any, name: str, line: int | None) -> tuple[float, float]:
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise self.fail(f"{name!r} needs bounds as [low, high]", line, got=repr(value))
        try:
            low, high = float(value[0]), float(value[1])
        except (TypeError, ValueError):
            raise self.fail(f"{name!r}: bounds must be numbers", line, got=repr(value)) from None
        if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
            raise self.fail(
                f"{name!r}: the bounds [{value[0]}, {value[1]}] are empty",
                line,
                expected="low < high, both finite",
                hint="Swap them if they are reversed",
            )
        return low, high

    def values(self, value: Any, name: str, line: int | None, numeric: bool) -> tuple[Any, ...]:
        if not isinstance(value, list) or len(value) < 2:
            raise self.fail(f"{name!r} needs a list of at least two values", line, got=repr(value))
        if numeric:
            try:
                out: tuple[Any, ...] = tuple(float(v) for v in value)
            except (TypeError, ValueError):
                raise self.fail(
                    f"{name!r}: discrete values must be numbers (use type: categorical for text)",
                    line,
                    got=repr(value),
                ) from None
        else:
            out = tuple(str(v) for v in value)
        seen: set[Any] = set()
        for v in out:
            if v in seen:
                raise self.fail(f"{name!r} lists the value {v!r} twice", line)
            seen.add(v)
        return out

    def parameter(self, data: Any, index: int, folder: Path | None) -> Parameter:
        line = getattr(data, "line", None)
        if not isinstance(data, dict):
            raise self.fail(f"parameter {index + 1} is not a mapping", line, got=repr(data))
        self.keys(data, _PARAM_KEYS, f"parameter {data.get('name', index + 1)!r}", line)
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise self.fail(f"parameter {index + 1} has no name", line)
        kind = str(data.get("type", "")).lower()
        if kind not in _KINDS:
            raise self.fail(
                f"parameter {name!r} has type {data.get('type')!r}{_close(kind, _KINDS)}",
                line,
                expected=", ".join(_KINDS),
            )
        unit = self.unit(data.get("unit"), name, line)
        if kind == "continuous":
            resolution = data.get("resolution")
            if resolution is not None and (
                not isinstance(resolution, int | float) or resolution <= 0
            ):
                raise self.fail(
                    f"{name!r}: the resolution must be a positive number",
                    line,
                    got=repr(resolution),
                )
            bounds = self.bounds(data.get("bounds"), name, line)
            return Parameter(
                name,
                "continuous",
                bounds=bounds,
                unit=unit,
                resolution=float(resolution) if resolution is not None else None,
                **self.scale(data, name, "continuous", bounds, line),
            )
        if kind == "integer":
            low, high = self.bounds(data.get("bounds"), name, line)
            if not (float(low).is_integer() and float(high).is_integer()):
                raise self.fail(f"{name!r}: integer bounds must be whole numbers", line)
            values = tuple(float(v) for v in range(int(low), int(high) + 1))
            scale = self.scale(data, name, "discrete", (low, high), line)
            return Parameter(name, "discrete", values=values, unit=unit, **scale)
        if kind == "discrete":
            values = self.values(data.get("values"), name, line, True)
            scale = self.scale(data, name, "discrete", (min(values), max(values)), line)
            return Parameter(name, "discrete", values=values, unit=unit, **scale)
        if "scale" in data:
            raise self.fail(
                f"{name!r} is a {kind} parameter: a scale is for numbers",
                line,
                hint="Remove 'scale', or make the parameter continuous or discrete",
            )
        return self.level_parameter(data, name, kind, unit, line, folder)

    def scale(
        self,
        data: dict[str, Any],
        name: str,
        kind: str,
        bounds: tuple[float, float],
        line: int | None,
    ) -> dict[str, Any]:
        """The ``scale`` given (``linear`` or ``log``; log needs positive values), or the one
        :func:`inferred_scale` infers from the bounds."""
        given = data.get("scale")
        if given is None:
            return {"scale": inferred_scale(kind, bounds), "scale_inferred": True}
        if given not in ("linear", "log"):
            raise self.fail(
                f"{name!r} has scale {given!r}", line, expected="linear or log", got=repr(given)
            )
        if given == "log" and min(bounds) <= 0:
            raise self.fail(
                f"{name!r} is on a log scale, and its values reach {f'{min(bounds):g}'}",
                line,
                expected="positive bounds (or values) for scale: log",
                hint="Use scale: linear, or bounds above zero",
            )
        return {"scale": given, "scale_inferred": False}

    def level_parameter(
        self,
        data: dict[str, Any],
        name: str,
        kind: str,
        unit: str | None,
        line: int | None,
        folder: Path | None,
    ) -> Parameter:
        """A categorical or molecule parameter: its levels, descriptors and encoding."""
        levels = self.values(data.get("values"), name, line, False)
        encoding = data.get("encoding")
        descriptor_names: tuple[str, ...] = ()
        descriptors: dict[str, list[float]] = {}
        if data.get("descriptors"):
            spec = data["descriptors"]
            spec = spec if isinstance(spec, dict) else {"file": spec}
            if "file" not in spec:
                raise self.fail(
                    f"{name!r}: descriptors need a file",
                    line,
                    expected="descriptors: FILE.csv or {file: FILE.csv, key: COLUMN}",
                )
            file = Path(str(spec["file"]))
            if folder is not None and not file.is_absolute():
                file = folder / file
            descriptor_names, descriptors = read_descriptor_table(
                file,
                list(levels),
                name=name,
                space_path=self.where,
                line=line,
                key=str(spec["key"]) if spec.get("key") else None,
            )
        elif kind == "molecule":
            from labsight.design._descriptors import RDKIT_DESCRIPTORS

            descriptors = molecule_descriptors(list(levels), path=self.where, line=line, name=name)
            descriptor_names = RDKIT_DESCRIPTORS
        if encoding not in (None, "onehot", "descriptors"):
            raise self.fail(
                f"{name!r} has encoding {encoding!r}", line, expected="onehot or descriptors"
            )
        if encoding == "descriptors" and not descriptors:
            raise self.fail(
                f"{name!r} asks for descriptors but has none",
                line,
                hint="Add 'descriptors: FILE.csv', or use encoding: onehot",
            )
        chosen = encoding or ("descriptors" if descriptors else "onehot")
        return Parameter(
            name,
            "molecule" if kind == "molecule" else "categorical",
            values=levels,
            unit=unit,
            descriptor_names=tuple(descriptor_names),
            descriptors={k: tuple(v) for k, v in descriptors.items()},
            encoding=chosen,  # type: ignore[arg-type]
        )

    def objective(self, data: Any, index: int) -> Objective:
        line = getattr(data, "line", None)
        if not isinstance(data, dict):
            raise self.fail(f"objective {index + 1} is not a mapping", line, got=repr(data))
        self.keys(data, _OBJECTIVE_KEYS, f"objective {data.get('name', index + 1)!r}", line)
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise self.fail(f"objective {index + 1} has no name", line)
        goal = {"max": "maximize", "min": "minimize"}.get(
            str(data.get("goal")).lower(), str(data.get("goal")).lower()
        )
        if goal not in ("maximize", "minimize"):
            raise self.fail(
                f"objective {name!r} has goal {data.get('goal')!r}",
                line,
                expected="maximize or minimize",
            )
        bounds = self.bounds(data["bounds"], name, line) if data.get("bounds") is not None else None
        return Objective(name, goal, bounds, self.unit(data.get("unit"), name, line))  # type: ignore[arg-type]

    def candidates(
        self, value: Any, space: Space, folder: Path | None, line: int | None
    ) -> pl.DataFrame:
        file = Path(str(value))
        if folder is not None and not file.is_absolute():
            file = folder / file
        from labsight.data.ingest import read_table

        table = read_table(file, on_issue="ignore")
        frame = table.frame
        missing = [n for n in space.names if n not in frame.columns]
        if missing:
            raise InputError(
                f"the candidates file has no column {missing[0]!r}",
                path=file,
                expected="one column per parameter: " + ", ".join(space.names),
                got=", ".join(frame.columns),
            )
        frame = frame.select(space.names)
        frame = frame.with_columns(
            [pl.col(p.name).cast(pl.Float64, strict=False) for p in space.parameters if p.numeric]
            + [pl.col(p.name).cast(pl.String) for p in space.parameters if not p.numeric]
        )
        bad = space.outside(frame)
        if bad is not None:
            row, column, why = bad
            raise InputError(
                f"candidate {why}",
                path=file,
                line=table.line_of(row),
                column=column,
                hint="Fix the row, or widen the parameter in the space file",
            )
        ok = space.satisfied(frame)
        if not ok.all():
            row = int(np.argmin(ok))
            broken = next(
                c.text
                for c in space.constraints
                if not c.holds(space.columns(frame[row : row + 1]))[0]
            )
            raise InputError(
                f"candidate breaks the constraint {broken!r}",
                path=file,
                line=table.line_of(row),
                hint="Remove the row, or relax the constraint",
            )
        if frame.height == 0:
            raise InputError("the candidates file has no rows", path=file)
        return frame.unique(maintain_order=True)

    def space(self, data: Located) -> Space:
        self.keys(data, _TOP_KEYS, "the space file", data.line)
        folder = self.path.parent if self.path else None
        raw_params = data.get("parameters")
        if not isinstance(raw_params, list) or not raw_params:
            raise self.fail(
                "the space file lists no parameters",
                data.line,
                expected="a list under 'parameters'",
            )
        parameters = [self.parameter(p, i, folder) for i, p in enumerate(raw_params)]
        raw_objectives = data.get("objectives")
        if not isinstance(raw_objectives, list) or not raw_objectives:
            raise self.fail(
                "the space file lists no objectives",
                data.line,
                expected="a list under 'objectives'",
            )
        objectives = [self.objective(o, i) for i, o in enumerate(raw_objectives)]
        seen: dict[str, int | None] = {}
        named: list[tuple[Parameter | Objective, Any]] = [
            *zip(parameters, raw_params, strict=True),
            *zip(objectives, raw_objectives, strict=True),
        ]
        for item, raw in named:
            line = getattr(raw, "line", None)
            if item.name in seen:
                raise self.fail(
                    f"the name {item.name!r} is used twice"
                    + (f" (first at line {seen[item.name]})" if seen[item.name] else ""),
                    line,
                    hint="Every parameter and objective needs its own name",
                )
            seen[item.name] = line
        constraints: list[Constraint] = []
        raw_constraints = data.get("constraints") or []
        if not isinstance(raw_constraints, list):
            raise self.fail("'constraints' must be a list of strings", data.line)
        known = frozenset(p.name for p in parameters)
        for text in raw_constraints:
            try:
                constraints.append(parse_constraint(str(text), known))
            except ConstraintError as err:
                raise self.fail(f"constraint {err}", data.line) from None
        space = Space(tuple(parameters), tuple(objectives), tuple(constraints))
        if data.get("candidates"):
            space = replace(
                space,
                parameters=listed_scales(space.parameters),
                candidates=self.candidates(data["candidates"], space, folder, data.line),
            )
        initial = data.get("initial") or {}
        if not isinstance(initial, dict):
            raise self.fail("'initial' must be a mapping such as {method: sobol}", data.line)
        surrogate = data.get("surrogate") or {}
        if isinstance(surrogate, dict):
            self.keys(surrogate, tuple(SURROGATE_SETTINGS), "surrogate", data.line)
        if not isinstance(surrogate, dict) or _unknown_setting(surrogate):
            raise self.fail(
                "'surrogate' must be a mapping such as {kernel: mixed, warp: none}",
                data.line,
                expected=SURROGATE_EXPECTED,
            )
        return replace(space, initial=dict(initial), surrogate=dict(surrogate))


def load_space(path: str | Path) -> Space:
    """Read and check a space file (YAML or JSON).

    Raises
    ------
    InputError
        With the file and line of the first problem.
    """
    path = Path(path)
    return _Reader(path).space(read_space_file(path))


def _stored_scale(p: Mapping[str, Any], stored: bool) -> dict[str, Any]:
    """A stored parameter's scale; when it has none, inferred as a space file's is, except for
    a space ``stored`` before scales existed (its campaign ran on a linear scale, and goes on)."""
    if "scale" in p:
        return {"scale": p["scale"], "scale_inferred": bool(p.get("scale_inferred", False))}
    if stored or p["type"] not in ("continuous", "discrete"):
        return {}
    return {
        "scale": inferred_scale(p["type"], tuple(p["bounds"]) if p.get("bounds") else None),
        "scale_inferred": True,
    }


def space_from_dict(data: Mapping[str, Any], *, stored: bool = False) -> Space:
    """The space :meth:`Space.to_dict` stored (nothing is read from files); a parameter with no
    ``scale`` gets the one a space file would infer, unless the space is ``stored`` (a campaign's,
    from before scales were recorded: linear)."""
    parameters = tuple(
        Parameter(
            p["name"],
            p["type"],
            bounds=tuple(p["bounds"]) if p.get("bounds") else None,
            values=tuple(p.get("values") or ()),
            unit=p.get("unit"),
            descriptor_names=tuple(p.get("descriptor_names") or ()),
            descriptors={k: tuple(v) for k, v in (p.get("descriptors") or {}).items()},
            encoding=p.get("encoding", "numeric"),
            resolution=p.get("resolution"),
            **_stored_scale(p, stored),
        )
        for p in data["parameters"]
    )
    objectives = tuple(
        Objective(
            o["name"],
            o["goal"],
            tuple(o["bounds"]) if o.get("bounds") else None,
            o.get("unit"),
        )
        for o in data["objectives"]
    )
    known = frozenset(p.name for p in parameters)
    constraints = tuple(parse_constraint(t, known) for t in data.get("constraints") or ())
    candidates = pl.DataFrame(data["candidates"]) if data.get("candidates") else None
    if candidates is not None:
        parameters = listed_scales(parameters)
    return Space(
        parameters,
        objectives,
        constraints,
        candidates,
        dict(data.get("initial") or {}),
        _stored_surrogate(data.get("surrogate") or {}, stored),
    )


SURROGATE_SETTINGS = {
    "kernel": ("auto", "onehot", "mixed"),
    "warp": ("auto", "yeo-johnson", "none"),
}
"""What a space's ``surrogate:`` may say, each setting's values (``auto`` first: the default)."""
SURROGATE_EXPECTED = (
    "kernel: auto (the default: chosen by leave-one-out), onehot or mixed; "
    "warp: auto (the default: Yeo–Johnson where there are continuous parameters), "
    "yeo-johnson or none"
)


def _unknown_setting(surrogate: Mapping[str, Any]) -> str | None:
    """The first ``key: value`` of ``surrogate`` that is not a known setting, else None."""
    for key, value in surrogate.items():
        if key not in SURROGATE_SETTINGS or value not in SURROGATE_SETTINGS[key]:
            return f"{key}: {value!r}"
    return None


def _stored_surrogate(surrogate: Mapping[str, Any], stored: bool) -> dict[str, Any]:
    """A stored space's surrogate settings; one stored before warps existed (no ``warp``) ran
    on unwarped results, and goes on so (a space from a file or a dict gets the default). A
    setting this version does not know (a row edited, or written by another version) is refused:
    read as the default it would change the campaign's model without a word."""
    unknown = _unknown_setting(surrogate) if isinstance(surrogate, Mapping) else repr(surrogate)
    if unknown is not None:
        raise InputError(
            f"the stored space's surrogate setting {unknown} is not one this labsight knows",
            expected=SURROGATE_EXPECTED,
            hint="The campaign's row was changed outside labsight or by another version; "
            "`labsight audit verify` checks the stored rows",
        )
    out = dict(surrogate)
    if stored and "warp" not in out:
        out["warp"] = "none"
    return out
