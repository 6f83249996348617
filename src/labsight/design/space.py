"""Design spaces: the parameters a lab can set, what it measures, and what is allowed.

A :class:`Space` is read from a YAML or JSON file (:func:`load_space`) and stored with a campaign as
plain JSON (:meth:`Space.to_dict`), descriptors and candidates included, so a campaign never depends
on the files it came from. Every mistake in a space file is one :class:`~labsight.exceptions.InputError`
naming the file and the line: an unknown unit, empty bounds, a duplicate name, a SMILES RDKit cannot
read, a candidate outside the space.

Parameter kinds:

* ``continuous``: ``bounds: [low, high]``, optional ``unit``;
* ``discrete``: numeric ``values`` (set-points: equivalents, loadings); ``integer`` with ``bounds`` is
  the discrete values ``low, low + 1, …, high``;
* ``categorical``: text ``values``, optional ``descriptors`` (a CSV: first column the level, then
  numbers);
* ``molecule``: SMILES ``values``, described by RDKit descriptors (or a ``descriptors`` table).

``encoding`` (``onehot`` or ``descriptors``) says how the surrogate sees a categorical or molecule
parameter; by default descriptors when there are any.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from labsight._yaml import capped
from labsight.design._constraints import Constraint, ConstraintError, parse_constraint
from labsight.design._descriptors import molecule_descriptors, read_descriptor_table
from labsight.design._spacefile import Located, read_space_file
from labsight.exceptions import InputError, UnitError

__all__ = ["Objective", "Parameter", "Space", "load_space", "space_from_dict"]

Kind = Literal["continuous", "discrete", "categorical", "molecule"]
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
_PARAM_KEYS = ("name", "type", "bounds", "values", "unit", "descriptors", "encoding", "resolution")
_OBJECTIVE_KEYS = ("name", "goal", "bounds", "unit")
_MAX_ENUMERATED = 500_000  # discrete combinations enumerated exactly; beyond, give candidates


def _with_unit(name: str, unit: str | None) -> str:
    return f"{name} [{unit}]" if unit else name


@dataclass(frozen=True)
class Parameter:
    """One thing the lab sets."""

    name: str
    kind: Kind
    bounds: tuple[float, float] | None = None
    values: tuple[Any, ...] = ()
    unit: str | None = None
    descriptor_names: tuple[str, ...] = ()
    descriptors: dict[str, tuple[float, ...]] = field(default_factory=dict)
    encoding: Literal["onehot", "descriptors", "numeric"] = "numeric"
    resolution: float | None = None  # continuous: suggestions are rounded to this step

    @property
    def step(self) -> float:
        """The step suggestions of a continuous parameter are rounded to: its ``resolution``, or
        the power of ten nearest a thousandth of its range (0.1 for 25–130 °C)."""
        if self.resolution:
            return self.resolution
        return float(10 ** round(math.log10((self.high - self.low) / 1000)))

    @property
    def numeric(self) -> bool:
        return self.kind in ("continuous", "discrete")

    @property
    def low(self) -> float:
        if self.kind == "continuous" and self.bounds is not None:
            return self.bounds[0]
        return float(min(self.values))

    @property
    def high(self) -> float:
        if self.kind == "continuous" and self.bounds is not None:
            return self.bounds[1]
        return float(max(self.values))

    def label(self) -> str:
        """The name with its unit, as tables and axes show it: ``temperature [degC]``."""
        return _with_unit(self.name, self.unit)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.kind, "encoding": self.encoding}
        if self.bounds is not None:
            out["bounds"] = list(self.bounds)
        if self.values:
            out["values"] = list(self.values)
        if self.unit:
            out["unit"] = self.unit
        if self.resolution:
            out["resolution"] = self.resolution
        if self.descriptors:
            out["descriptor_names"] = list(self.descriptor_names)
            out["descriptors"] = {k: list(v) for k, v in self.descriptors.items()}
        return out


@dataclass(frozen=True)
class Objective:
    """One thing the lab measures and wants high or low."""

    name: str
    goal: Literal["maximize", "minimize"]
    bounds: tuple[float, float] | None = None
    unit: str | None = None

    @property
    def sign(self) -> float:
        """+1 to maximize, −1 to minimize: the surrogate always maximizes ``sign × value``."""
        return 1.0 if self.goal == "maximize" else -1.0

    def label(self) -> str:
        """The name with its unit, as tables and axes show it: ``yield [%]``."""
        return _with_unit(self.name, self.unit)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "goal": self.goal}
        if self.bounds is not None:
            out["bounds"] = list(self.bounds)
        if self.unit:
            out["unit"] = self.unit
        return out


@dataclass(frozen=True)
class Space:
    """Parameters, objectives, constraints and (optionally) the allowed candidates."""

    parameters: tuple[Parameter, ...]
    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...] = ()
    candidates: pl.DataFrame | None = None
    initial: dict[str, Any] = field(default_factory=dict)
    surrogate: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    @property
    def objective_names(self) -> list[str]:
        return [o.name for o in self.objectives]

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def discrete(self) -> bool:
        """Whether every point of the space can be listed (no continuous parameter, or candidates)."""
        return self.candidates is not None or all(p.kind != "continuous" for p in self.parameters)

    def size(self) -> int | None:
        """How many points a discrete space has before constraints (None when continuous)."""
        if self.candidates is not None:
            return self.candidates.height
        if not self.discrete:
            return None
        return math.prod(len(p.values) for p in self.parameters)

    def enumerate(self) -> pl.DataFrame:
        """Every allowed point of a discrete space, constraints applied, in a fixed order.

        Raises
        ------
        InputError
            When the space is continuous, or has more points than can be listed.
        """
        if self.candidates is not None:
            return self.candidates
        size = self.size()
        if size is None:
            raise InputError("a space with continuous parameters has no list of points")
        if size > _MAX_ENUMERATED:
            raise InputError(
                f"the space has {size:,} combinations, too many to list",
                expected=f"at most {_MAX_ENUMERATED:,}",
                hint="Give the allowed combinations as a candidates file, or make a parameter continuous",
            )
        grids = np.meshgrid(*[np.arange(len(p.values)) for p in self.parameters], indexing="ij")
        frame = pl.DataFrame(
            {
                p.name: pl.Series(p.name, list(p.values)).gather(g.reshape(-1))
                for p, g in zip(self.parameters, grids, strict=True)
            }
        )
        return self.allowed(frame)

    def columns(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        """The parameter columns of ``frame`` as numpy (numbers as float, levels as text)."""
        out: dict[str, np.ndarray] = {}
        for p in self.parameters:
            series = frame[p.name]
            out[p.name] = (
                series.cast(pl.Float64).to_numpy()
                if p.numeric
                else series.cast(pl.String).to_numpy().astype(str)
            )
        return out

    def satisfied(self, frame: pl.DataFrame) -> np.ndarray:
        """A boolean per row: every constraint holds."""
        ok = np.ones(frame.height, dtype=bool)
        if self.constraints:
            cols = self.columns(frame)
            for c in self.constraints:
                ok &= c.holds(cols)
        return ok

    def rounded(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` with continuous values rounded to their parameter's step (kept as they were
        where rounding would break a constraint or leave the bounds). Points of a space with
        candidates are kept exactly: the candidates are what the lab can run."""
        if self.candidates is not None:
            return frame
        columns = []
        for p in self.parameters:
            if p.kind == "continuous":
                values = frame[p.name].cast(pl.Float64).to_numpy()
                step = p.step
                digits = max(0, -math.floor(math.log10(step))) if step < 1 else 0
                rounded = np.clip(
                    np.round(np.round(values / step) * step, digits + 6), p.low, p.high
                )
                columns.append(pl.Series(p.name, rounded))
        if not columns:
            return frame
        out = frame.with_columns(columns)
        ok = self.satisfied(out)
        return out if ok.all() else _keep_rows(out, frame, ok)

    def allowed(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` without the rows that break a constraint."""
        return frame.filter(pl.Series(self.satisfied(frame))) if self.constraints else frame

    def outside(self, frame: pl.DataFrame) -> tuple[int, str, str] | None:
        """The first cell of ``frame`` outside the space: (row, column, why); None when all fit."""
        for p in self.parameters:
            if p.name not in frame.columns:
                return 0, p.name, "the column is missing"
            series = frame[p.name]
            if p.numeric:
                values = series.cast(pl.Float64, strict=False).to_numpy()
                bad = np.isnan(values)
                if p.kind == "continuous":
                    bad |= (values < p.low - 1e-9 * max(1.0, abs(p.low))) | (
                        values > p.high + 1e-9 * max(1.0, abs(p.high))
                    )
                    why = f"outside the bounds [{_num(p.low)}, {_num(p.high)}]"
                else:
                    allowed = np.asarray(p.values, dtype=np.float64)
                    bad |= ~np.isclose(values[:, None], allowed[None, :]).any(axis=1)
                    why = "not one of " + ", ".join(_num(v) for v in p.values)
            else:
                text = series.cast(pl.String).to_numpy().astype(str)
                bad = ~np.isin(text, np.asarray(p.values, dtype=str))
                why = (
                    "not one of "
                    + ", ".join(repr(v) for v in p.values[:8])
                    + (" …" if len(p.values) > 8 else "")
                )
            if bad.any():
                row = int(np.argmax(bad))
                value = series[row]
                shown = f"{value:g}" if isinstance(value, int | float) else repr(value)
                return row, p.name, f"{shown} is {why}"
        return None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for the store: descriptors and candidates included."""
        return {
            "parameters": [p.to_dict() for p in self.parameters],
            "objectives": [o.to_dict() for o in self.objectives],
            "constraints": [c.text for c in self.constraints],
            "candidates": self.candidates.to_dict(as_series=False)
            if self.candidates is not None
            else None,
            "initial": dict(self.initial),
            "surrogate": dict(self.surrogate),
        }


def _keep_rows(rounded: pl.DataFrame, original: pl.DataFrame, ok: np.ndarray) -> pl.DataFrame:
    """Row by row: the rounded row where ``ok``, else the original one (order kept)."""
    mask = pl.Series(ok)
    return pl.DataFrame(
        {
            c: pl.select(pl.when(mask).then(rounded[c]).otherwise(original[c])).to_series()
            for c in original.columns
        }
    )


def _num(value: float) -> str:
    return f"{value:g}"


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
            return Parameter(
                name,
                "continuous",
                bounds=self.bounds(data.get("bounds"), name, line),
                unit=unit,
                resolution=float(resolution) if resolution is not None else None,
            )
        if kind == "integer":
            low, high = self.bounds(data.get("bounds"), name, line)
            if not (float(low).is_integer() and float(high).is_integer()):
                raise self.fail(f"{name!r}: integer bounds must be whole numbers", line)
            values = tuple(float(v) for v in range(int(low), int(high) + 1))
            return Parameter(name, "discrete", values=values, unit=unit)
        if kind == "discrete":
            return Parameter(
                name,
                "discrete",
                values=self.values(data.get("values"), name, line, True),
                unit=unit,
            )
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
                space, candidates=self.candidates(data["candidates"], space, folder, data.line)
            )
        initial = data.get("initial") or {}
        if not isinstance(initial, dict):
            raise self.fail("'initial' must be a mapping such as {method: sobol}", data.line)
        surrogate = data.get("surrogate") or {}
        if not isinstance(surrogate, dict) or surrogate.get("kernel", "onehot") not in (
            "onehot",
            "mixed",
        ):
            raise self.fail(
                "'surrogate' must be a mapping such as {kernel: mixed}",
                data.line,
                expected="kernel: onehot (the default) or mixed",
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


def space_from_dict(data: Mapping[str, Any]) -> Space:
    """The space :meth:`Space.to_dict` stored (nothing is read from files)."""
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
    return Space(
        parameters,
        objectives,
        constraints,
        candidates,
        dict(data.get("initial") or {}),
        dict(data.get("surrogate") or {}),
    )
