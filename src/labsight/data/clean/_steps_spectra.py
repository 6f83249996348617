"""Spectral preprocessing as a cleaning step (``--spectra``), replayed on every later batch and
before every prediction, as the chemometric tools do it.

The step works on the table's spectrum (:func:`labsight.data.spectra.spectral_columns`: at least
50 numeric columns named by numbers, in axis order), one row at a time, so nothing is learned from
the training rows and a new batch is transformed exactly as the first was:

* ``derivative`` / ``second-derivative``: Savitzky–Golay first / second derivative along the axis
  (window 15 channels, quadratic), which removes an offset (and a linear slope) that differs from
  sample to sample;
* ``smooth``: Savitzky–Golay smoothing (window 15, quadratic);
* ``snv``: standard normal variate, each spectrum centred and divided by its own standard deviation;
* ``baseline``: each spectrum less the straight line fitted to it along the axis.

A channel missing in a row is filled first by linear interpolation between its neighbours along
the axis (the change log says where); a row with fewer than two channels is refused.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from labsight.data.clean._plan import CleaningStep
from labsight.data.clean._steps_common import ApplyFunction, Change, FitFunction, registrar
from labsight.data.spectra import MIN_CHANNELS, channel_position, spectral_columns
from labsight.data.table import Table
from labsight.exceptions import InputError

__all__ = ["APPLY", "FIT", "transform"]

FIT: dict[str, FitFunction] = {}
APPLY: dict[str, ApplyFunction] = {}
_fit, _apply = registrar(FIT, APPLY)

WINDOW = 15
ORDER = 2


@_fit("spectra")
def fit_spectra(table: Table, method: str) -> CleaningStep:
    """The spectrum's channels in axis order, with the window and order of the filter.

    Raises
    ------
    InputError
        When the table holds no spectrum.
    """
    channels = spectral_columns(table)
    if not channels:
        raise InputError(
            "--spectra needs a spectrum: at least "
            f"{MIN_CHANNELS} numeric columns named by numbers (wavelengths, wavenumbers)",
            hint="Leave --spectra out for a table without one",
        )
    positions = [channel_position(c) for c in channels]
    return CleaningStep(
        "spectra", method, channels, {"window": WINDOW, "order": ORDER, "axis": positions}
    )


def transform(
    values: np.ndarray, method: str, window: int = WINDOW, order: int = ORDER
) -> np.ndarray:
    """``values`` (spectra × channels, no NaN) preprocessed by ``method``, row by row.

    Examples
    --------
    >>> x = np.array([[1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 4.0, 6.0, 8.0, 10.0]])
    >>> transform(x, "snv").round(3).tolist()[0]
    [-1.414, -0.707, 0.0, 0.707, 1.414]
    >>> bool(np.allclose(transform(x, "baseline"), 0.0))  # a straight line less its line
    True
    >>> transform(x, "derivative", window=5).round(9).tolist()[1]
    [2.0, 2.0, 2.0, 2.0, 2.0]
    """
    from scipy.signal import savgol_filter

    width = values.shape[1]
    window = min(window, width if width % 2 else width - 1)
    order = min(order, window - 1)
    if method == "derivative":
        return np.asarray(savgol_filter(values, window, order, deriv=1, axis=1))
    if method == "second-derivative":
        return np.asarray(savgol_filter(values, window, max(order, 2), deriv=2, axis=1))
    if method == "smooth":
        return np.asarray(savgol_filter(values, window, order, axis=1))
    if method == "snv":
        centred = values - values.mean(axis=1, keepdims=True)
        sd = centred.std(axis=1, keepdims=True)
        return np.asarray(centred / np.where(sd > 0, sd, 1.0))
    if method == "baseline":
        axis = np.arange(width, dtype=np.float64)
        slope, intercept = np.polyfit(axis, values.T, 1)
        return np.asarray(values - (np.outer(slope, axis) + intercept[:, None]))
    raise ValueError(f"unknown spectral method {method!r}")  # pragma: no cover - validated before


def _filled(values: np.ndarray, table: Table) -> tuple[np.ndarray, list[int]]:
    """``values`` with each missing channel interpolated along the axis within its row; the rows
    that had one. A row with fewer than two channels present is refused (file, line)."""
    gaps = np.isnan(values)
    rows = [int(i) for i in np.flatnonzero(gaps.any(axis=1))]
    out = values.copy()
    index = np.arange(values.shape[1])
    for i in rows:
        present = ~gaps[i]
        if present.sum() < 2:
            raise InputError(
                f"row {i + 1} holds fewer than two channels of the spectrum",
                path=table.source.path if table.source else None,
                line=table.line_of(i),
                expected="a value in most channels of every spectrum",
                hint="Remove the row, or fill its spectrum",
            )
        out[i, gaps[i]] = np.interp(index[gaps[i]], index[present], values[i, present])
    return out, rows


@_apply("spectra")
def apply_spectra(table: Table, step: CleaningStep) -> tuple[Table, list[Change]]:
    channels = list(step.columns or [])
    frame = table.frame
    for name in channels:
        if not frame.schema[name].is_numeric():
            raise InputError(
                f"channel {name!r} of the spectrum holds text",
                column=name,
                expected="numbers in every channel of the spectrum",
                hint="Fix the column, or clean a table whose spectrum has the plan's channels",
            )
    values = frame.select(pl.col(channels).cast(pl.Float64)).to_numpy().astype(np.float64)
    values, filled = _filled(values, table)
    params = step.params
    done = transform(
        values, step.method, int(params.get("window", WINDOW)), int(params.get("order", ORDER))
    )
    frame = frame.with_columns(pl.Series(name, done[:, j]) for j, name in enumerate(channels))
    changes: list[Change] = [
        {
            "op": "spectra",
            "method": step.method,
            "column": None,
            "count": frame.height,
            "rows": list(range(min(frame.height, 1000))),
            "channels": len(channels),
        }
    ]
    if filled:
        changes.append(
            {
                "op": "spectra",
                "method": "interpolate",
                "column": None,
                "count": len(filled),
                "rows": filled[:1000],
                "note": "missing channels filled from their neighbours along the axis",
            }
        )
    return Table(frame, table.columns, table.findings, table.source, table.row_lines), changes
