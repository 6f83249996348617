"""The EDA report object: an analysis, its figures, and ways to write it out.

:class:`ExploreReport` wraps what :func:`labsight.explore.explore` computed (an ``Analysis``: an
overview, summary tables, figure specs and quality findings) and renders it on demand: Plotly
figures (built lazily, once), one self-contained HTML file (drawn from Plotly JSON dicts, not
Plotly objects, for speed), one PNG per figure (matplotlib), or inline in Jupyter. Plotting
libraries are imported only when something is drawn.
"""

from __future__ import annotations

import io
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import polars as pl

from labsight.explore.spec import FigureSpec, ReportTables

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from labsight.data.findings import Finding

__all__ = ["AnalysisLike", "ExploreReport"]


class AnalysisLike(Protocol):
    """What a report needs from an analysis (``labsight.explore._analyse.Analysis``)."""

    @property
    def overview(self) -> dict[str, Any]: ...
    @property
    def tables(self) -> ReportTables: ...
    @property
    def figures(self) -> list[FigureSpec]: ...
    @property
    def findings(self) -> list[Finding]: ...
    @property
    def sampled(self) -> bool: ...


@dataclass
class ExploreReport:
    """An exploratory report on one table.

    Attributes
    ----------
    analysis
        The numbers and figure specs, computed on all rows (figures may draw from a sample; each
        spec's ``note`` says so).
    title
        The heading of the HTML report (``"yield.csv"``, ``"reactions@v2"``).
    """

    analysis: AnalysisLike
    title: str = "labsight explore"
    _figures: dict[str, go.Figure] | None = field(default=None, init=False, repr=False)

    def __repr__(self) -> str:
        return (
            f"<ExploreReport {self.title!r}: {self.rows} rows, {len(self.specs)} figures, "
            f"{len(self.findings)} findings>"
        )

    @property
    def rows(self) -> int | None:
        """The number of rows analysed."""
        rows = self.analysis.overview.get("rows")
        return int(rows) if rows is not None else None

    @property
    def summary(self) -> pl.DataFrame:
        """One row per column: counts, missing values and statistics in the column's unit."""
        return self.analysis.tables.summary

    @property
    def correlations(self) -> dict[str, pl.DataFrame]:
        """Correlation matrices by method (``"pearson"``, ``"spearman"`` …)."""
        return self.analysis.tables.correlations

    @property
    def specs(self) -> list[FigureSpec]:
        """What each figure shows, independent of the plotting library."""
        return list(self.analysis.figures)

    @property
    def findings(self) -> list[Finding]:
        """The quality findings, worst first."""
        return list(self.analysis.findings)

    @property
    def figures(self) -> dict[str, go.Figure]:
        """Figure name → Plotly figure, built on first use."""
        if self._figures is None:
            from labsight.explore._plotly import to_plotly

            self._figures = {spec.name: to_plotly(spec) for spec in self.specs}
        return self._figures

    def html(self, *, standalone: bool = True, id_prefix: str = "") -> str:
        """The report as HTML text (see :meth:`to_html`)."""
        from labsight.explore._html import render_html
        from labsight.explore._plotly import figure_dict

        # Plotly JSON dicts take milliseconds where Plotly objects take a second; the page applies
        # the theme once. Figures already built for Jupyter are reused.
        figures = self._figures or {s.name: figure_dict(s) for s in self.specs}
        return render_html(
            self.analysis,
            figures,
            title=self.title,
            standalone=standalone,
            id_prefix=id_prefix,
        )

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """Write the report as one self-contained HTML file (plotly.js inside, nothing fetched from
        the network); the file appears whole or not at all. Returns the path written."""
        from labsight._atomic import atomic_write_text

        return atomic_write_text(path, self.html())

    def to_png(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Write one PNG per figure (``<spec.name>.png``, print size, 200 dpi) into ``folder``.

        Returns the paths written, in the report's order.
        """
        from labsight._atomic import atomic_write_bytes
        from labsight.explore._matplotlib import DPI, to_matplotlib

        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        written = []
        for spec in self.specs:
            fig = to_matplotlib(spec)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=DPI)
            # Names are file-safe by contract; this keeps a stray "/" from leaving the folder.
            stem = re.sub(r"[^\w.-]+", "-", spec.name).lstrip(".") or "figure"
            written.append(atomic_write_bytes(target / f"{stem}.png", buffer.getvalue()))
        return written

    def _repr_html_(self) -> str:
        # Ids get a fresh prefix so two reports shown in one notebook do not collide.
        return self.html(standalone=False, id_prefix=f"ls{uuid.uuid4().hex[:8]}-")
