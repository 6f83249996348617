"""The self-contained HTML report: one file, plotly.js embedded once, nothing loaded from the network.

:func:`render_html` lays an analysis out in sections (overview, one section per column, relations,
correlations, missing values, structure, spectra, time) with the Jinja2 template
``templates/report.html.j2`` (autoescaped). Each figure travels as its Plotly JSON, built as plain
dicts by :func:`~labsight.explore._plotly.figure_dict` (no Plotly objects: milliseconds for a whole
report), with the template of the Plotly theme sent once, not once per figure; ``Plotly.newPlot``
draws it. The file
holds only the specs' bounded data and a few summary tables, so its size does not grow with the
table's row count.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import jinja2
import polars as pl
from markupsafe import Markup

from labsight.explore._plotly import theme_json
from labsight.explore._summary import names_unit
from labsight.explore.spec import FigureSpec

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["SECTION_TITLES", "column_anchor", "render_html"]

SECTION_TITLES: dict[str, str] = {
    "overview": "Overview",
    "images": "Images",
    "columns": "Columns",
    "relations": "Relations",
    "correlations": "Correlations",
    "missingness": "Missing values",
    "structure": "Structure",
    "spectra": "Spectra",
    "time": "Time",
}
_NOT_STATS = frozenset({"name", "column", "unit", "dtype", "role"})  # shown in the heading
_TABLE_ROWS = 50  # a summary table shows at most this many rows; the file stays small
# plotly.js must not look for MathJax or anything else online.
_PLOT_CONFIG = {"responsive": True, "displaylogo": False, "typesetMath": False}


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("labsight.explore", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


@cache
def _plotlyjs() -> str:
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def column_anchor(name: str, prefix: str = "") -> str:
    """A stable HTML id for a column's section: readable, and unique even when names differ only
    in punctuation (``col-temperature-degc-1a2b3c``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "column"
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:6]
    return f"{prefix}col-{slug}-{digest}"


def _script_json(obj: Any) -> Markup:
    """JSON that is safe inside a <script> element: no ``</script>`` or ``<!--`` can appear."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return Markup(text.replace("<", "\\u003c").replace("\u2028", "\\u2028"))


def _compact(obj: Any) -> Any:
    """Floats rounded to 6 significant digits (far below what a plot or its hover shows), so a
    scatter of 5,000 points costs about half the bytes of full ``repr`` precision."""
    if isinstance(obj, float):
        return float(f"{obj:.6g}") if math.isfinite(obj) else None
    if isinstance(obj, list | tuple):
        return [_compact(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _compact(v) for k, v in obj.items()}
    return obj


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _bytes(n: Any) -> str:
    if not isinstance(n, int | float):
        return "–"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"  # pragma: no cover


def _frame_table(frame: pl.DataFrame | None) -> dict[str, Any] | None:
    if frame is None or frame.height == 0:
        return None
    rows = [[_fmt(v) for v in row] for row in frame.head(_TABLE_ROWS).iter_rows()]
    more = frame.height - len(rows)
    return {"columns": list(frame.columns), "rows": rows, "more": max(0, more)}


def _key_column(frame: pl.DataFrame) -> str | None:
    for name in ("column", "name", "variable"):
        if name in frame.columns:
            return name
    strings = [n for n, t in frame.schema.items() if t == pl.String]
    return strings[0] if strings else None


def _summary_by_column(summary: pl.DataFrame | None) -> dict[str, list[tuple[str, str]]]:
    """Column name → its summary statistics as (label, formatted value) pairs."""
    if summary is None or summary.height == 0:
        return {}
    key = _key_column(summary)
    if key is None:
        return {}
    stats: dict[str, list[tuple[str, str]]] = {}
    for row in summary.iter_rows(named=True):
        name = str(row[key])
        stats[name] = [
            (k, f"{v:.1%}" if k.endswith("share") and isinstance(v, float) else _fmt(v))
            for k, v in row.items()
            if k not in _NOT_STATS and k != key and v is not None
        ]
    return stats


def _pair_sentences(pairs: pl.DataFrame | None) -> list[str]:
    """The strongest pairs in words: "temperature [degC] and yield [%]: spearman +0.71"."""
    if pairs is None or pairs.height == 0:
        return []
    if "sentence" in pairs.columns:
        return [str(s) for s in pairs["sentence"].head(_TABLE_ROWS).to_list() if s]
    schema = pairs.schema
    names = [n for n, t in schema.items() if t == pl.String]
    numbers = [n for n, t in schema.items() if t.is_numeric()]
    preferred = [
        n for n in ("a", "b", "x", "y", "column_a", "column_b", "left", "right") if n in names
    ]
    pair = preferred[:2] if len(preferred) >= 2 else names[:2]
    if len(pair) < 2 or not numbers:
        return []
    method = next((n for n in ("method", "measure", "kind") if n in names and n not in pair), None)
    value = next(
        (n for n in ("value", "rho", "r", "correlation", "strength", "score") if n in numbers),
        numbers[0],
    )
    sentences = []
    for row in pairs.head(_TABLE_ROWS).iter_rows(named=True):
        how = f"{row[method]} " if method else ""
        v = row[value]
        shown = f"{v:+.2f}" if isinstance(v, float) else _fmt(v)
        sentences.append(f"{row[pair[0]]} and {row[pair[1]]}: {how}{shown}")
    return sentences


def _overview(overview: Mapping[str, Any], findings: Sequence[Any]) -> dict[str, Any]:
    columns = []
    for c in overview.get("columns") or []:
        info = c if isinstance(c, Mapping) else getattr(c, "__dict__", {"name": str(c)})
        columns.append(
            {
                "name": str(info.get("name", "")),
                "unit": info.get("unit") or "",
                "dtype": info.get("dtype") or "",
                "role": info.get("role") or "",
            }
        )
    counts = overview.get("findings")
    if not isinstance(counts, Mapping):
        counts = {}
        for f in findings:
            counts[f.severity] = counts.get(f.severity, 0) + 1
    memory = overview.get("memory_bytes", overview.get("memory"))
    # Settings worth a card when set; everything else in the overview is for programs.
    extra = {
        label: str(overview[key])
        for key, label in (("target", "target"), ("color", "colour"), ("time", "time axis"))
        if overview.get(key)
    }
    return {
        "rows": _fmt(overview.get("rows")),
        "n_columns": len(columns),
        "columns": columns,
        "memory": _bytes(memory),
        "counts": {s: int(counts.get(s, 0)) for s in ("error", "warning", "info")},
        "extra": extra,
        "headline": str(overview.get("strongest_link") or ""),
    }


def _channel_block(
    overview: dict[str, Any],
    channels: list[str],
    summary: pl.DataFrame | None,
    prefix: str,
) -> dict[str, Any] | None:
    """The one overview row and the one column block that stand for all spectral channels."""
    if not channels:
        return None
    listed = {c["name"]: c for c in overview["columns"]}
    first = listed.get(channels[0], {"unit": "", "dtype": "", "role": ""})
    name = f"{len(channels):,} spectral channels ({channels[0]} … {channels[-1]})"
    anchor = f"{prefix}col-spectral-channels"
    stats: list[tuple[str, str]] = [("channels", _fmt(len(channels)))]
    if summary is not None and summary.height and "missing" in summary.columns:
        part = summary.filter(pl.col("name").is_in(channels))
        stats += [
            ("missing cells", _fmt(int(part["missing"].sum()))),
            ("channels with gaps", _fmt(int((part["missing"] > 0).sum()))),
            ("lowest value", _fmt(part["min"].min())),
            ("highest value", _fmt(part["max"].max())),
        ]
    row = {"name": name, "unit": first["unit"], "dtype": first["dtype"], "role": first["role"]}
    section = {
        "name": name,
        "anchor": anchor,
        "unit": first["unit"],
        "heading_unit": first["unit"],
        "role": first["role"],
        "stats": stats,
        "figures": [],
        "see": f"#{prefix}spectra",
    }
    return {"anchor": anchor, "row": row, "section": section}


def _is_wide(spec: FigureSpec) -> bool:
    """Figures that need the page's whole width: long axes, big matrices."""
    d = spec.data
    if spec.kind in ("spectra", "timeseries"):
        return True
    if spec.kind == "heatmap":
        return max(len(d.get("x", [])), len(d.get("y", []))) > 10
    if spec.kind == "scatter_matrix":
        return len(d.get("columns", [])) > 3
    if spec.kind == "missing_map":
        return len(d.get("columns", [])) > 15
    if spec.kind == "loadings":
        return len(d.get("columns", [])) > 15
    return False


def _plotly_json(figure: Mapping[str, Any] | go.Figure) -> Mapping[str, Any]:
    """A figure as Plotly JSON: a dict as it is, a ``go.Figure`` through its JSON text (which turns
    any numpy arrays in it into lists)."""
    if isinstance(figure, Mapping):
        return figure
    payload: dict[str, Any] = json.loads(figure.to_json())
    return payload


def render_html(
    analysis: Any,
    figures: Mapping[str, Mapping[str, Any] | go.Figure],
    *,
    title: str = "labsight explore",
    standalone: bool = True,
    id_prefix: str = "",
) -> str:
    """The report as HTML text.

    Parameters
    ----------
    analysis
        An ``Analysis`` (``overview``, ``tables``, ``figures``, ``findings``, ``sampled``).
    figures
        Spec name → its Plotly JSON (:func:`labsight.explore._plotly.figure_dict`, fast) or its
        Plotly figure (:func:`labsight.explore._plotly.to_plotly`). A figure's theme, if any, is
        sent once for all; figures without one are drawn with
        :data:`~labsight.explore._plotly.THEME`.
    title
        The page's title and heading.
    standalone
        A whole document (``<!DOCTYPE html>`` …) for a file; ``False`` gives a fragment for
        Jupyter's ``_repr_html_``, with its styles scoped to the report.
    id_prefix
        Prefix for element ids, so several reports can share one notebook page.
    """
    specs: list[FigureSpec] = list(analysis.figures)
    overview = _overview(analysis.overview, analysis.findings)
    # Spectral channels are one thing: one block and one row for all of them, not one each.
    channels = list(analysis.overview.get("channels") or [])
    channel_set = set(channels)
    names = [c["name"] for c in overview["columns"] if c["name"] not in channel_set]
    for spec in specs:  # a spec may be about a column the overview did not list
        if spec.section == "columns" and spec.column and spec.column not in names:
            names.append(spec.column)
    anchors = {name: column_anchor(name, id_prefix) for name in names}
    channel_block = _channel_block(overview, channels, analysis.tables.summary, id_prefix)
    if channel_block is not None:
        anchors.update(dict.fromkeys(channels, channel_block["anchor"]))
        anchors[channel_block["row"]["name"]] = channel_block["anchor"]
        overview["columns"] = [c for c in overview["columns"] if c["name"] not in channel_set]
        overview["columns"].append(channel_block["row"])
    for c in overview["columns"]:
        c["anchor"] = anchors[c["name"]]

    template_json: Any = None
    plots: list[dict[str, Any]] = []
    entries: dict[str, dict[str, Any]] = {}
    for i, spec in enumerate(specs):
        payload = _plotly_json(figures[spec.name])
        layout = dict(payload.get("layout", {}))  # a copy: the caller's figure keeps its theme
        template_json = layout.pop("template", template_json)
        div = f"{id_prefix}fig-{i}"
        plots.append({"id": div, "data": _compact(payload.get("data", [])), "layout": layout})
        entries[spec.name] = {
            "id": div,
            "wide": _is_wide(spec),
            "name": spec.name,
            "title": spec.title,
            "caption": spec.caption,
            "note": spec.note,
        }

    if template_json is None:  # figures drawn unthemed: send the theme once
        template_json = theme_json()
    stats = _summary_by_column(analysis.tables.summary)
    units = {c["name"]: c["unit"] for c in overview["columns"]}
    roles = {c["name"]: c["role"] for c in overview["columns"]}
    column_sections = [
        {
            "name": name,
            "anchor": anchors[name],
            "unit": units.get(name, ""),
            # "time [min]" says its unit already: a second "[min]" beside it reads as two units.
            "heading_unit": "" if names_unit(name) else units.get(name, ""),
            "role": roles.get(name, ""),
            "stats": stats.get(name, []),
            "figures": [
                entries[s.name] for s in specs if s.section == "columns" and s.column == name
            ],
            "see": None,
        }
        for name in names
    ]
    if channel_block is not None:
        column_sections.append(channel_block["section"])
    loose = [entries[s.name] for s in specs if s.section == "columns" and not s.column]

    def in_section(section: str) -> list[dict[str, Any]]:
        return [entries[s.name] for s in specs if s.section == section]

    findings = [
        {
            "severity": f.severity,
            "check": f.check,
            "column": f.column,
            "anchor": anchors.get(f.column) if f.column else None,
            "message": f.message,
            "suggestion": f.suggestion,
        }
        for f in analysis.findings
    ]
    tables = analysis.tables
    correlations = {
        method: _frame_table(frame) for method, frame in (tables.correlations or {}).items()
    }
    missing_table = _frame_table(tables.missing_by_condition)

    def section(name: str) -> dict[str, Any]:
        return {
            "id": f"{id_prefix}{name}",
            "title": SECTION_TITLES[name],
            "figures": in_section(name),
        }

    # A spectrum is what a spectral table is about: it comes first, right after the overview.
    early = [section(name) for name in ("images", "spectra") if in_section(name)]
    later = [section(name) for name in ("structure", "time") if in_section(name)]
    toc = [("overview", "Overview")]
    toc += [(s["id"].removeprefix(id_prefix), s["title"]) for s in early]
    toc += [("columns", "Columns")]
    has_table = {"correlations": bool(correlations), "missingness": bool(missing_table)}
    toc += [
        (s, SECTION_TITLES[s])
        for s in ("relations", "correlations", "missingness")
        if in_section(s) or has_table.get(s, False)
    ]
    toc += [(s["id"].removeprefix(id_prefix), s["title"]) for s in later]
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            title=title,
            standalone=standalone,
            p=id_prefix,
            toc=toc,
            overview=overview,
            sampled=bool(getattr(analysis, "sampled", False)),
            findings=findings,
            overview_figures=in_section("overview"),
            column_sections=column_sections,
            loose_figures=loose,
            relations=in_section("relations"),
            correlation_figures=in_section("correlations"),
            correlation_tables=correlations,
            pair_sentences=_pair_sentences(tables.strongest_pairs),
            pairs_table=_frame_table(tables.strongest_pairs),
            missing_figures=in_section("missingness"),
            missing_table=missing_table,
            early_sections=early,
            later_sections=later,
            plotlyjs=Markup(_plotlyjs()),
            template_json=_script_json(template_json),
            plots_json=_script_json(plots),
            config_json=_script_json(_PLOT_CONFIG),
        )
    )
