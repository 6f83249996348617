"""The design-space types: :class:`Parameter`, :class:`Objective` and :class:`Space`, and their methods.

A :class:`Space` knows its points (:meth:`Space.enumerate`), checks and rounds them, and writes itself
as plain JSON for the store (:meth:`Space.to_dict`). Reading a space file into these types is
:mod:`labsight.design._space_reader`; both are exported from :mod:`labsight.design.space`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

import numpy as np
import polars as pl

from labsight.design._constraints import Constraint
from labsight.exceptions import InputError

__all__ = [
    "LOG_SPAN",
    "Kind",
    "Objective",
    "Parameter",
    "Scale",
    "Space",
    "inferred_scale",
    "listed_scales",
]

Kind = Literal["continuous", "discrete", "categorical", "molecule"]
Scale = Literal["linear", "log"]
LOG_SPAN = 10.0
"""A continuous parameter whose bounds span this factor or more (and are positive) is modelled
on a log scale unless its ``scale`` says otherwise."""


def inferred_scale(kind: str, bounds: tuple[float, float] | None) -> Scale:
    """``log`` for a continuous parameter with positive bounds a decade or more apart, else
    ``linear``: a concentration from 0.01 to 0.5 M acts by its ratios, and on a linear axis its
    whole lower decade would be squeezed into 2 % of the range. (A space given by candidates
    keeps inferred scales linear: :func:`listed_scales`.)"""
    if kind == "continuous" and bounds is not None and bounds[0] > 0:
        return "log" if bounds[1] / bounds[0] >= LOG_SPAN else "linear"
    return "linear"


def listed_scales(parameters: tuple[Parameter, ...]) -> tuple[Parameter, ...]:
    """The parameters of a space given by candidates (a table of conditions the lab can run):
    an inferred log scale goes back to linear, a scale the file gives stays. The lab chose the
    table's values on the axis it thinks in, and on the benchmark's reaction tables an inferred
    log axis cost experiments: Summit's Reizman case 2 (residence time 60–600 s) went from 18 to
    56, case 3 from 19 to 77 (docs/design/004-design.md)."""
    return tuple(
        replace(p, scale="linear") if p.scale_inferred and p.scale == "log" else p
        for p in parameters
    )


_Value = TypeVar("_Value", float, np.ndarray)
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
    scale: Scale = "linear"  # numbers: how the surrogate and the designs see them
    scale_inferred: bool = False  # the scale was inferred from the bounds, not given

    def to_unit(self, values: _Value) -> _Value:
        """Values → [0, 1] on the parameter's scale (linear, or log between the bounds)."""
        if self.scale == "log":
            low, high = math.log(self.low), math.log(self.high)
            return (np.log(values) - low) / (high - low)  # type: ignore[no-any-return]
        return (values - self.low) / (self.high - self.low)

    def from_unit(self, u: _Value) -> _Value:
        """[0, 1] → values on the parameter's scale (the inverse of :meth:`to_unit`)."""
        if self.scale == "log":
            low, high = math.log(self.low), math.log(self.high)
            return np.exp(low + u * (high - low))  # type: ignore[no-any-return]
        return self.low + u * (self.high - self.low)

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
        if self.numeric:
            out["scale"] = self.scale
            out["scale_inferred"] = self.scale_inferred
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

    # The goal is read here and nowhere else: every other place that needs "which way is better"
    # (the surrogate's targets, the best result, a reference point, a sort) asks these.

    @property
    def maximizing(self) -> bool:
        """Whether more is better (``goal: maximize``)."""
        return self.goal == "maximize"

    @property
    def sign(self) -> float:
        """+1 to maximize, −1 to minimize: the surrogate always maximizes ``sign × value``."""
        return 1.0 if self.maximizing else -1.0

    def signed(self, value: _Value) -> _Value:
        """``value`` (a number or an array) on the scale where more is better: ``sign × value``.
        Its own inverse: a signed value (a surrogate's mean, say) signed again is the value as
        measured."""
        return self.sign * value

    def best_of(self, values: np.ndarray) -> float:
        """The best of ``values``: the largest when maximizing, else the smallest."""
        return float(values.max() if self.maximizing else values.min())

    def worst_bound(self) -> float | None:
        """The bound past which a result is no longer wanted (the low bound when maximizing,
        else the high one), as measured; None without bounds."""
        if self.bounds is None:
            return None
        return self.bounds[0] if self.maximizing else self.bounds[1]

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

    def focused(self, objective: str | None) -> Space:
        """The space with ``objective`` first: what reads "the objective" (a single-objective
        status, the landscape, importance, a classical analysis) reads the first one. ``None``:
        the space as it is.

        Raises
        ------
        InputError
            For an objective the space does not have.
        """
        if objective is None:
            return self
        if objective not in self.objective_names:
            raise InputError(
                f"unknown objective {objective!r}", expected=", ".join(self.objective_names)
            )
        if objective == self.objective_names[0]:
            return self
        chosen = next(o for o in self.objectives if o.name == objective)
        rest = tuple(o for o in self.objectives if o.name != objective)
        return replace(self, objectives=(chosen, *rest))

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
                if p.scale == "log" and not p.resolution:  # three significant digits
                    magnitude = 10.0 ** (np.floor(np.log10(np.abs(values))) - 2)
                    rounded = np.clip(
                        np.round(np.round(values / magnitude) * magnitude, 12), p.low, p.high
                    )
                else:
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
