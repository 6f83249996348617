"""The HTML page of ``labsight design status --out``: one offline file in the look of the other
labsight reports.

The page is ``templates/status.html.j2`` (autoescaped); it includes the stylesheet and the figure
script that the explore report uses (``labsight/explore/templates/_style.html.j2`` and
``_plots.html.j2``), so both reports share fonts, header, colours and the Plotly theme, and
plotly.js is inlined once: nothing is loaded from the network. Its table and sentences are the
terminal's (:mod:`labsight.design._status_text`); the page is made by
:meth:`labsight.workspace.campaigns.Campaign.status_page`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from labsight.design._status_text import untried_sentence
from labsight.explore._html import _PLOT_CONFIG, _plotly_json, _plotlyjs, _script_json
from labsight.explore._plotly import theme_json

if TYPE_CHECKING:
    from labsight.design.insight import Status

__all__ = ["render_status", "untried_sentence"]

_WIDE = frozenset({"landscape"})  # figures that take the page's whole width


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.PackageLoader("labsight.design", "templates"),
                jinja2.PackageLoader("labsight.explore", "templates"),
            ]
        ),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def render_status(
    name: str,
    status: Status,
    figures: Mapping[str, Any],
    *,
    table: tuple[str, Sequence[str], Sequence[Sequence[str]]] | None,
    notes: Sequence[str],
) -> str:
    """The status page as HTML text.

    Parameters
    ----------
    name
        The campaign's name (the page's title).
    status
        The campaign's :class:`~labsight.design.insight.Status`.
    figures
        Figure name (``progress``, ``importance``, ``landscape``, ``pareto``) → Plotly figure or
        its JSON; each is drawn with the reports' theme.
    table
        The best results as the terminal shows them: title, header, rows (``None``: no results).
    notes
        The status in sentences, as the terminal prints them.
    """
    plots: list[dict[str, Any]] = []
    boxes: list[dict[str, Any]] = []
    for key, figure in figures.items():
        payload = _plotly_json(figure)
        layout = dict(payload.get("layout", {}))
        layout.pop("template", None)  # drawn with the theme every labsight report uses
        plots.append({"id": f"fig-{key}", "data": payload.get("data", []), "layout": layout})
        boxes.append({"id": f"fig-{key}", "title": key.capitalize(), "wide": key in _WIDE})
    combinations = status.combinations
    untried = None
    if combinations is not None:
        untried = {**combinations, "sentence": untried_sentence(combinations)}
    return (
        _environment()
        .get_template("status.html.j2")
        .render(
            title=f"Campaign {name}",
            status=status,
            table=table,
            notes=list(notes),
            untried=untried,
            figures=boxes,
            plotlyjs=Markup(_plotlyjs()),
            template_json=_script_json(theme_json()),
            plots_json=_script_json(plots),
            config_json=_script_json(_PLOT_CONFIG),
        )
    )
