"""Registry commands: models, model show / stage / export, predict.

Feature names, units, targets, parameters, users and paths come from files and people: each goes
through :func:`~labsight.cli._render.cell` before rich sees it, so a header such as ``k [/s]``
prints as it is instead of being read as markup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table as RichTable

from labsight.cli._app import app, emit_json, err_console, out, steps, workspace
from labsight.cli._datasets import _sheet
from labsight.cli._render import cell, csv_for_people, frame_table, signatures_table
from labsight.cli._render import fmt as _fmt
from labsight.cli._render import leaderboard_table as _leaderboard
from labsight.cli._train import print_trust_notes

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
            cell(r.family),
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
    """Leaderboard, cross-validated scores with spread, parameters, importance, lineage, who/when,
    and the version's electronic signatures."""
    ws = workspace()
    record = ws.models.get(ref)
    signed = ws.signatures.of(f"model:{record.model_id}")
    if json:
        emit_json({**record.to_dict(), "signatures": [s.to_dict() for s in signed]})
        return
    s = record.summary
    out.print(
        f"[bold]{cell(record.ref)}[/] ({record.model_id}) — {record.stage}, trained by "
        f"{cell(record.created_by)} on {record.created:%Y-%m-%d %H:%M}"
    )
    out.print(
        f"predicts {cell(repr(record.target))} ({record.task}) from {cell(record.dataset or '-')}"
    )
    out.print(
        f"best: {cell(s['best'])}, CV {record.metric} {record.cv_mean:.4g} ± {record.cv_std:.2g} "
        f"({cell(s['cv']['scheme'])}); {s['trials']} trials, seed {s['seed']}"
    )
    if s.get("interval"):
        i = s["interval"]
        out.print(
            f"intervals: {cell(i['method'])} at {i['level']:.0%}, coverage on CV {i['coverage']:.0%}"
        )
    print_trust_notes(s)  # folds' grouping, baseline, sibling targets, columns left out
    out.print(f"parameters: {cell(s['params'])}")
    weights = next((r.get("weights") for r in s["leaderboard"] if r["family"] == s["best"]), None)
    if weights:
        out.print(
            "ensemble weights: " + ", ".join(f"{cell(name)} {w:.2f}" for name, w in weights.items())
        )
    names = s["features"]
    spectrum = s.get("spectrum") or []
    sequence = s.get("sequence")
    if spectrum:  # a spectrum is one input of many channels: named by its ends
        channels = set(spectrum)
        names = [f"a spectrum of {len(spectrum)} channels ({spectrum[0]} … {spectrum[-1]})"] + [
            n for n in names if n not in channels
        ]
    elif sequence:  # runs: each sensor over time, with its summaries
        sensors = sequence["sensors"]
        names = [
            f"runs by {sequence['group']!r} over {sequence['time']!r}: {len(sensors)} sensors "
            f"({', '.join(sensors)}), each resampled onto {sequence['length']} points and "
            "summarised (mean, sd, min, max, first, last, slope)",
            "run:duration",
            "run:readings",
        ]
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    shown = ", ".join(cell(name) for name in names[:_SHOWN])
    out.print(f"features ({len(s['features'])}): {shown}{more}")
    out.print(_leaderboard(s["leaderboard"], record.metric))
    if s.get("saliency"):  # an image model: where it looks, on images it did not see
        files = ", ".join(cell(str(m["file"])) for m in s["saliency"])
        out.print(
            f"occlusion maps of {len(s['saliency'])} held-out images ({files}): "
            "figures()['saliency'] in Python"
        )
    if s.get("importance"):
        measured = f", {cell(s['importance_measured'])}" if s.get("importance_measured") else ""
        table = RichTable(
            title=f"Permutation importance (held-out fold{measured})", title_justify="left"
        )
        for column in ("feature", "importance", "± sd"):
            table.add_column(column)
        for row in s["importance"][:_SHOWN]:
            table.add_row(cell(row["feature"]), _fmt(row["importance"]), _fmt(row["std"]))
        out.print(table)
    if s.get("partial_dependence"):
        from labsight.workspace.models import curve_shape

        unit = f" [{s['target_unit']}]" if s.get("target_unit") else ""
        table = RichTable(
            title=f"Partial dependence (average prediction of {cell(record.target + unit)})",
            title_justify="left",
        )
        for column in ("feature", "from", "to", "prediction", "shape"):
            table.add_column(column)
        for name, curve in s["partial_dependence"].items():
            grid, average = curve["grid"], curve["average"]
            feature_unit = s["units"].get(name)
            table.add_row(
                cell(name),
                cell(f"{_fmt(grid[0])}{' ' + feature_unit if feature_unit else ''}"),
                f"{_fmt(grid[-1])}",
                f"{_fmt(average[0])} → {_fmt(average[-1])}",
                cell(curve_shape(grid, average)),
            )
        out.print(table)
    if s.get("coefficients"):
        table = RichTable(title="Coefficients (95% bootstrap interval)", title_justify="left")
        for column in ("term", "coefficient", "interval", "unit"):
            table.add_column(column)
        for row in s["coefficients"]:
            table.add_row(
                cell(row["term"]),
                _fmt(row["coefficient"]),
                f"{_fmt(row['lower'])} … {_fmt(row['upper'])}",
                cell(row["unit"] or ""),
            )
        out.print(table)
    if signed:
        out.print(signatures_table(signed, f"Signatures on {record.ref}"))


@model_app.command(
    "stage",
    epilog="Examples:\n\n  labsight model stage reactions-yield validated --reason 'QA review 12'\n\n"
    "  labsight model stage reactions-yield@v1 archived --reason 'superseded by v2'\n\n"
    "  labsight model stage reactions-yield production --force --reason 'interim, see QA-7'",
)
def model_stage(
    ref: Annotated[str, typer.Argument(help="Model id, NAME (latest) or NAME@vN.")],
    stage: Annotated[str, typer.Argument(help="validated, production or archived.")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (kept in the audit log).")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Stage to production a model not clearly better than the baseline (needs "
            "--reason; audited as forced).",
        ),
    ] = False,
    json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> None:
    """Move a model along draft → validated → production → archived; audited with the reason.
    Production is refused to a model not clearly better than the baseline, unless --force."""
    record = workspace().models.stage(ref, stage, reason=reason, force=force)
    # as the registry decides: only then does its audit entry record "forced"
    forced = force and stage == "production" and record.summary.get("better_than_baseline") is False
    if json:
        emit_json(
            {"model": record.model_id, "ref": record.ref, "stage": record.stage, "forced": forced}
        )
        return
    out.print(f"[bold green]{cell(record.ref)}[/] is now {record.stage}")
    if forced:
        out.print(
            "[bold yellow]forced:[/] it is not clearly better than the baseline; the audit log "
            "records that it was forced, and why"
        )


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
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why: recorded in the audit trail.")
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
        exported = ws.models.export(ref, path, format=format, reason=reason)
    if json:
        emit_json(
            {"model": record.model_id, "ref": record.ref, "out": str(path), **exported.to_dict()}
        )
        return
    out.print(
        f"[bold green]wrote[/] {cell(str(path))} ({len(exported.data) / 1024:.0f} KiB, ONNX): "
        f"{cell(record.ref)}, {cell(record.family)}, {cell(exported.precision)}"
    )
    inputs = ", ".join(
        cell(f"{i['name']} ({i['type']}{', ' + i['unit'] if i['unit'] else ''})")
        for i in exported.inputs[:_SHOWN]
    )
    more = f" and {len(exported.inputs) - _SHOWN} more" if len(exported.inputs) > _SHOWN else ""
    out.print(f"inputs: {inputs}{more}")
    out.print(f"outputs: {', '.join(cell(name) for name in exported.outputs)}")
    out.print(
        f"checked on {exported.checked_rows} training rows: largest difference from labsight "
        f"{exported.max_difference:.2g}"
    )
    for note in exported.notes:
        out.print(f"[yellow]note:[/] {cell(note)}")


@app.command(
    epilog="Examples:\n\n  labsight predict reactions-yield new_runs.csv --out preds.csv\n\n"
    "  labsight predict 3f2a9c1d batch7.xlsx --sheet 0 --json\n\n"
    "  labsight predict cells-label new_images/ --out labels.csv\n\n"
    "  labsight predict nuclei-mask tiles/ --out objects.csv --masks masks/"
)
def predict(
    ref: Annotated[str, typer.Argument(help="Model id, NAME (latest) or NAME@vN.")],
    source: Annotated[
        Path,
        typer.Argument(
            help="The new rows: a file; for an image model, a folder of images (any layout) or "
            "one image."
        ),
    ],
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="CSV to write (default: print).", show_default=False),
    ] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="Excel sheet name or index.")] = None,
    masks: Annotated[
        Path | None,
        typer.Option(
            "--masks",
            help="Segmentation models: a folder to write each image's objects into, as a "
            "16-bit label TIFF named after the image (0 background, 1 … n the objects).",
            show_default=False,
        ),
    ] = None,
    json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> None:
    """Predict new rows (or a folder of images): the model's cleaning plan and unit conversions are applied first; the
    output keeps the input rows in order with extrapolation, out_of_range, then prediction, lower,
    upper (or proba_<class>). A column without a unit taken to be in the model's unit, and rows
    outside the training data, are each reported in one line on stderr (and under "warnings" in
    --json)."""
    from labsight._atomic import atomic_write_text

    predicted = workspace().models.predict_file(ref, source, sheet=_sheet(sheet))
    frame, notes = predicted.frame, predicted.warnings
    for line in notes:
        err_console.print(f"[yellow]warning:[/] {cell(line)}", soft_wrap=True)
    if masks is not None:  # first: a refusal leaves no --out file behind
        _write_masks(masks, predicted.masks)
    if out_path is not None:
        atomic_write_text(out_path, csv_for_people(frame))
    if json:
        emit_json(
            {
                "rows": frame.height,
                "out": str(out_path) if out_path else None,
                "warnings": notes,
                "predictions": frame.to_dicts() if out_path is None else None,
            }
        )
        return
    if out_path is not None:
        out.print(f"[bold green]wrote[/] {cell(str(out_path))} ({frame.height} rows)")
    else:
        out.print(frame_table(frame, "Predictions", more="--out FILE writes every row"))


def _write_masks(folder: Path, masks: list[tuple[str, Any]] | None) -> None:
    """Each label image as ``<image name>.mask.tif`` in ``folder`` (made if missing)."""
    import tifffile

    from labsight.exceptions import InputError

    if masks is None:
        raise InputError(
            "--masks is for segmentation models, and this model does not segment images",
            hint="Leave --masks out",
        )
    if folder.exists() and not folder.is_dir():
        raise InputError("--masks names a file, not a folder", path=str(folder))
    folder.mkdir(parents=True, exist_ok=True)
    stems = [Path(name).name.rsplit(".", 1)[0] for name, _ in masks]
    clash = len(set(stems)) < len(stems)  # x.png and x.tif, a/x.png and b/x.png: whole names
    for (name, labels), stem in zip(masks, stems, strict=True):
        base = name.replace("/", "__") if clash else stem
        target = folder / f"{base}.mask.tif"
        if target.is_symlink():
            raise InputError("a mask would be written through a symbolic link", path=str(target))
        tifffile.imwrite(target, labels)
    out.print(f"[bold green]wrote[/] {len(masks)} masks into {cell(str(folder))}")
