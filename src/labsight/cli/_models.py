"""Registry commands: models, model show / stage / export, predict."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table as RichTable

from labsight.cli._app import app, emit_json, out, steps, workspace
from labsight.cli._datasets import _sheet
from labsight.cli._render import cell, csv_for_people
from labsight.cli._render import fmt as _fmt
from labsight.cli._render import leaderboard_table as _leaderboard

__all__ = ["models", "predict"]

_SHOWN = 20  # features and importance rows printed by `model show` (all of them in --json)


@app.command(epilog="Examples:\n\n  labsight models\n\n  labsight models --json")
def models(
    json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> None:
    """The model registry: versions, scores, the data they were trained on, stage."""
    records = workspace().models.list()
    if json:
        emit_json([{k: v for k, v in r.to_dict().items() if k != "summary"} for r in records])
        return
    table = RichTable(title="Models", title_justify="left")
    for column in (
        "model",
        "id",
        "stage",
        "target",
        "metric",
        "CV",
        "family",
        "dataset",
        "created",
    ):
        table.add_column(column)
    for r in records:
        table.add_row(
            cell(r.ref),
            r.model_id,
            r.stage,
            cell(r.target),
            r.metric,
            f"{r.cv_mean:.4g} ± {r.cv_std:.2g}",
            r.family,
            cell(r.dataset or "-"),
            cell(f"{r.created:%Y-%m-%d %H:%M} {r.created_by}"),
        )
    out.print(table if records else "no models yet: labsight train DATASET --target COLUMN")


model_app = typer.Typer(
    help="One model: show (leaderboard, CV, parameters, importance), stage, export.",
    epilog="Examples:\n\n  labsight model show reactions-yield\n\n"
    "  labsight model stage reactions-yield@v2 validated --reason 'checked on batch 7'\n\n"
    "  labsight model export reactions-yield --format onnx",
    no_args_is_help=True,
)
app.add_typer(model_app, name="model")


@model_app.command(
    "show",
    epilog="Examples:\n\n  labsight model show reactions-yield\n\n  labsight model show 3f2a9c1d --json",
)
def model_show(
    ref: Annotated[str, typer.Argument(help="Model id, NAME (latest) or NAME@vN.")],
    json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> None:
    """Leaderboard, cross-validated scores with spread, parameters, importance, lineage, who/when."""
    record = workspace().models.get(ref)
    if json:
        emit_json(record.to_dict())
        return
    s = record.summary
    out.print(
        f"[bold]{record.ref}[/] ({record.model_id}) — {record.stage}, trained by {record.created_by} "
        f"on {record.created:%Y-%m-%d %H:%M}"
    )
    out.print(f"predicts {record.target!r} ({record.task}) from {record.dataset}")
    out.print(
        f"best: {s['best']}, CV {record.metric} {record.cv_mean:.4g} ± {record.cv_std:.2g} "
        f"({s['cv']['scheme']}); {s['trials']} trials, seed {s['seed']}"
    )
    if s.get("interval"):
        i = s["interval"]
        out.print(
            f"intervals: {i['method']} at {i['level']:.0%}, coverage on CV {i['coverage']:.0%}"
        )
    out.print(f"parameters: {s['params']}")
    weights = next((r.get("weights") for r in s["leaderboard"] if r["family"] == s["best"]), None)
    if weights:
        out.print(
            "ensemble weights: " + ", ".join(f"{name} {w:.2f}" for name, w in weights.items())
        )
    names = s["features"]
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    out.print(f"features ({len(names)}): {', '.join(names[:_SHOWN])}{more}")
    out.print(_leaderboard(s["leaderboard"], record.metric))
    if s.get("importance"):
        measured = f", {s['importance_measured']}" if s.get("importance_measured") else ""
        table = RichTable(
            title=f"Permutation importance (held-out fold{measured})", title_justify="left"
        )
        for column in ("feature", "importance", "± sd"):
            table.add_column(column)
        for row in s["importance"][:_SHOWN]:
            table.add_row(row["feature"], _fmt(row["importance"]), _fmt(row["std"]))
        out.print(table)
    if s.get("partial_dependence"):
        from labsight.models._explain import describe_curve

        unit = f" [{s['target_unit']}]" if s.get("target_unit") else ""
        table = RichTable(
            title=f"Partial dependence (average prediction of {record.target}{unit})",
            title_justify="left",
        )
        for column in ("feature", "from", "to", "prediction", "shape"):
            table.add_column(column)
        for name, curve in s["partial_dependence"].items():
            grid, average = curve["grid"], curve["average"]
            feature_unit = s["units"].get(name)
            table.add_row(
                name,
                f"{_fmt(grid[0])}{' ' + feature_unit if feature_unit else ''}",
                f"{_fmt(grid[-1])}",
                f"{_fmt(average[0])} → {_fmt(average[-1])}",
                describe_curve(grid, average),
            )
        out.print(table)
    if s.get("coefficients"):
        table = RichTable(title="Coefficients (95% bootstrap interval)", title_justify="left")
        for column in ("term", "coefficient", "interval", "unit"):
            table.add_column(column)
        for row in s["coefficients"]:
            table.add_row(
                row["term"],
                _fmt(row["coefficient"]),
                f"{_fmt(row['lower'])} … {_fmt(row['upper'])}",
                row["unit"],
            )
        out.print(table)


@model_app.command(
    "stage",
    epilog="Examples:\n\n  labsight model stage reactions-yield validated --reason 'QA review 12'\n\n"
    "  labsight model stage reactions-yield@v1 archived --reason 'superseded by v2'",
)
def model_stage(
    ref: Annotated[str, typer.Argument(help="Model id, NAME (latest) or NAME@vN.")],
    stage: Annotated[str, typer.Argument(help="validated, production or archived.")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (kept in the audit log).")
    ] = None,
    json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> None:
    """Move a model along draft → validated → production → archived; audited with the reason."""
    record = workspace().models.stage(ref, stage, reason=reason)
    if json:
        emit_json({"model": record.model_id, "ref": record.ref, "stage": record.stage})
        return
    out.print(f"[bold green]{record.ref}[/] is now {record.stage}")


@model_app.command(
    "export",
    epilog="Examples:\n\n  labsight model export reactions-yield --format onnx\n\n"
    "  labsight model export reactions-yield@v2 --out yield.onnx --json",
)
def model_export(
    ref: Annotated[str, typer.Argument(help="Model id, NAME (latest) or NAME@vN.")],
    format: Annotated[str, typer.Option("--format", help="onnx.")] = "onnx",
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out", help="File to write (default: NAME-vN.onnx here).", show_default=False
        ),
    ] = None,
    json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> None:
    """Write the model as one ONNX graph: prediction with lower and upper (regression) or the
    label with calibrated probabilities, checked against labsight on the training rows first."""
    ws = workspace()
    record = ws.models.get(ref)
    path = out_path or Path(f"{record.name}-v{record.number}.{format}")
    with steps(f"export {record.ref}", enabled=not json) as step:
        step("converting and checking")
        exported = ws.models.export(ref, path, format=format)
    if json:
        emit_json(
            {"model": record.model_id, "ref": record.ref, "out": str(path), **exported.to_dict()}
        )
        return
    out.print(
        f"[bold green]wrote[/] {path} ({len(exported.data) / 1024:.0f} KiB, ONNX): {record.ref}, "
        f"{record.family}, {exported.precision}"
    )
    inputs = ", ".join(
        f"{i['name']} ({i['type']}{', ' + i['unit'] if i['unit'] else ''})"
        for i in exported.inputs[:_SHOWN]
    )
    more = f" and {len(exported.inputs) - _SHOWN} more" if len(exported.inputs) > _SHOWN else ""
    out.print(f"inputs: {inputs}{more}")
    out.print(f"outputs: {', '.join(exported.outputs)}")
    out.print(
        f"checked on {exported.checked_rows} training rows: largest difference from labsight "
        f"{exported.max_difference:.2g}"
    )
    for note in exported.notes:
        out.print(f"[yellow]note:[/] {note}")


@app.command(
    epilog="Examples:\n\n  labsight predict reactions-yield new_runs.csv --out preds.csv\n\n"
    "  labsight predict 3f2a9c1d batch7.xlsx --sheet 0 --json"
)
def predict(
    ref: Annotated[str, typer.Argument(help="Model id, NAME (latest) or NAME@vN.")],
    source: Annotated[Path, typer.Argument(help="The new rows: a file.")],
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="CSV to write (default: print).", show_default=False),
    ] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="Excel sheet name or index.")] = None,
    json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> None:
    """Predict new rows: the model's cleaning plan and unit conversions are applied first; the
    output keeps the input rows in order with prediction, lower, upper (or proba_<class>)."""
    from labsight._atomic import atomic_write_text
    from labsight.data.ingest import read_table

    ws = workspace()
    options: dict[str, Any] = {"sheet": _sheet(sheet)} if sheet is not None else {}
    table = read_table(source, on_issue="ignore", **options)
    frame = ws.models.predict(ref, table)
    if out_path is not None:
        atomic_write_text(out_path, csv_for_people(frame))
    if json:
        emit_json(
            {
                "rows": frame.height,
                "out": str(out_path) if out_path else None,
                "predictions": frame.to_dicts() if out_path is None else None,
            }
        )
        return
    if out_path is not None:
        out.print(f"[bold green]wrote[/] {out_path} ({frame.height} rows)")
    else:
        out.print(frame)
