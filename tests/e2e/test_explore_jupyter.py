"""The report in a real Jupyter kernel: the report shows itself as HTML and its figures as Plotly
figures, inline, with nothing fetched from the network."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="Jupyter tests need nbformat (make install)")
nbclient = pytest.importorskip("nbclient", reason="Jupyter tests need nbclient (make install)")
pytest.importorskip("ipykernel", reason="Jupyter tests need ipykernel (make install)")


def test_report_and_figures_render_inline_in_a_kernel(yield_csv: Path) -> None:
    new = nbformat.v4.new_code_cell
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        new(
            "from labsight.explore import explore\n"
            f"report = explore({str(yield_csv)!r}, target='yield [%]')\n"
            "report"
        ),
        new("report.figures['heatmap-spearman']"),
        new("report.correlations['spearman'].shape"),
    ]
    nbclient.NotebookClient(notebook, timeout=180, kernel_name="python3").execute()

    [shown] = [o for o in notebook.cells[0].outputs if o["output_type"] == "execute_result"]
    html = shown["data"]["text/html"]
    assert "Plotly.newPlot" in html
    assert "Spearman correlation" in html

    # Plotly shows itself through IPython's display machinery: a display_data output.
    mime = "application/vnd.plotly.v1+json"
    [figure] = [o for o in notebook.cells[1].outputs if mime in o.get("data", {})]
    plotly_json = figure["data"][mime]
    trace = (plotly_json if isinstance(plotly_json, dict) else json.loads(plotly_json))["data"][0]
    assert trace["type"] == "heatmap"
    assert "yield [%]" in trace["x"]

    [shape] = [o for o in notebook.cells[2].outputs if o["output_type"] == "execute_result"]
    rows, columns = ast.literal_eval(shape["data"]["text/plain"])
    assert columns == rows + 1  # the "column" name column, then one per numeric column
