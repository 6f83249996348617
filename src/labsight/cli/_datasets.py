"""Commands on data: ingest, quality, clean, datasets, dataset show/history/delete, demo."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table as RichTable

from labsight.cli._app import app, emit_json, out, steps, workspace
from labsight.cli._render import (
    cell,
    changes_table,
    columns_table,
    findings_table,
    severity_summary,
    signatures_table,
)

if TYPE_CHECKING:
    from labsight.data.quality import QualityReport
    from labsight.workspace import DatasetVersion

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
ReasonOpt = Annotated[
    str | None, typer.Option("--reason", help="Why: recorded in the audit trail.")
]
IdOpt = Annotated[
    list[str] | None, typer.Option("--id", help="Column(s) that identify a row (repeatable).")
]
TargetOpt = Annotated[str | None, typer.Option("--target", help="The column to predict.")]
GroupOpt = Annotated[
    str | None, typer.Option("--group", help="Replicate/group column (same conditions).")
]
TimeOpt = Annotated[str | None, typer.Option("--time", help="Timestamp column.")]


def _roles(
    id: list[str] | None, target: str | None, group: str | None, time: str | None
) -> dict[str, Any]:
    from labsight.workspace import role_overrides

    return role_overrides(None, id, target, group, time)


def _sheet(sheet: str | None) -> str | int | None:
    """``--sheet 2`` is the third sheet; any other text is a sheet name."""
    return int(sheet) if sheet is not None and sheet.isdigit() else sheet


def _version_dict(ds: DatasetVersion, ws_path: str | None = None) -> dict[str, Any]:
    rec = ds.record
    data: dict[str, Any] = {
        "dataset": rec.dataset,
        "version": rec.version,
        "rows": rec.rows,
        "columns": rec.columns,
        "ref": rec.ref,
        "number": rec.number,
        "created": ds.created,
        "operation": rec.operation,
        "parent": rec.parent,
        "sha256": rec.sha256,
        "path": ds.location(),
        "findings": rec.findings,
    }
    return data


def _print_version(ds: DatasetVersion, verb: str) -> None:
    rec = ds.record
    state = verb if ds.created else "already stored as"
    out.print(
        f"[bold green]{state}[/] {rec.ref} (v{rec.number}): {rec.rows} rows × {len(rec.columns)} "
        f"columns",
    )
    out.print(columns_table(ds.columns))
    for finding in ds.findings:
        if finding.check == "sheet":  # which sheet of several was read, when none was chosen
            out.print(cell(f"{finding.message}. {finding.suggestion}"))
    if ds.findings:
        out.print(
            f"ingest noticed {severity_summary(ds.findings)}; see `labsight quality {cell(rec.dataset)}`"
        )
    out.print(f"wrote {cell(ds.location())}")


@app.command(
    epilog="Examples:\n\n"
    "  labsight ingest reactions.csv --name reactions\n\n"
    "  labsight ingest export.xlsx --sheet 'Reaction data' --target 'yield [%]'\n\n"
    "  labsight ingest run42.csv --na-values 'n/a?' --json\n\n"
    "  labsight ingest cells/ --name cells    (one sub-folder of images per class)\n\n"
    "  labsight ingest plates.csv --images image_path"
)
def ingest(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV/TSV/TXT (also .gz), Excel, Parquet or JSONL; or a folder of images "
            "(PNG, JPEG, TIFF, OME-TIFF) with one sub-folder per class."
        ),
    ],
    name: Annotated[
        str | None, typer.Option("--name", help="Dataset name (default: the file's stem).")
    ] = None,
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="Excel sheet name or 0-based index.")
    ] = None,
    na_values: Annotated[
        list[str] | None, typer.Option("--na-values", help="Extra cell texts meaning 'missing'.")
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option("--delimiter", help="Field delimiter (default: sniffed).")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="Text encoding (default: detected).")
    ] = None,
    images: Annotated[
        str | None,
        typer.Option(
            "--images",
            help="The column holding image paths (relative to the table's folder): each image "
            "is read, checked and stored with the table.",
        ),
    ] = None,
    id: IdOpt = None,
    target: TargetOpt = None,
    group: GroupOpt = None,
    time: TimeOpt = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Refuse the file at the first bad cell.")
    ] = False,
    reason: ReasonOpt = None,
    json: JsonOpt = False,
) -> None:
    """Read a file (or a folder of images) into a new dataset version, with units and column
    roles recognised."""
    ws = workspace()
    with steps(f"ingest {file.name}", enabled=not json) as step:
        ds = ws.ingest(
            file,
            name=name,
            sheet=_sheet(sheet),
            na_values=na_values or (),
            delimiter=delimiter,
            encoding=encoding,
            **({"images": images} if images else {}),
            roles=_roles(id, target, group, time),
            on_issue="raise" if strict else "ignore",
            reason=reason,
            on_step=step,
        )
    if json:
        emit_json(_version_dict(ds))
    else:
        _print_version(ds, "ingested")


def _check_fail_on(fail_on: str | None) -> None:
    if fail_on is not None and fail_on not in ("error", "warning", "info"):
        from labsight.exceptions import InputError

        raise InputError(f"unknown --fail-on {fail_on!r}", expected="error, warning or info")


def _report_output(report: QualityReport, title: str, json: bool, fail_on: str | None) -> None:
    if json:
        emit_json(report.to_dict())
    else:
        out.print(
            f"[bold]{cell(title)}[/]: {report.rows} rows × {len(report.columns)} columns — "
            f"{severity_summary(report.findings)}"
        )
        if report.findings:
            out.print(findings_table(report.findings))
        else:
            out.print("[green]no problems found[/]")
    if fail_on is not None:
        order = ["error", "warning", "info"]
        worst = {order.index(f.severity) for f in report.findings}
        if worst and min(worst) <= order.index(fail_on):
            raise typer.Exit(1)


@app.command(
    epilog="Examples:\n\n"
    "  labsight quality reactions\n\n"
    "  labsight quality raw_export.csv --json\n\n"
    "  labsight quality reactions@v1 --target 'yield [%]' --group batch --fail-on error"
)
def quality(
    source: Annotated[str, typer.Argument(help="A file, or a dataset NAME or NAME@VERSION.")],
    id: IdOpt = None,
    target: TargetOpt = None,
    group: GroupOpt = None,
    time: TimeOpt = None,
    multivariate: Annotated[
        bool, typer.Option("--multivariate", help="Also look for multivariate outliers.")
    ] = False,
    check: Annotated[
        list[str] | None, typer.Option("--check", help="Run only these checks (repeatable).")
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option("--fail-on", help="Exit 1 when a finding this severe or worse is found."),
    ] = None,
    na_values: Annotated[
        list[str] | None,
        typer.Option("--na-values", help="Extra cell texts meaning 'missing' (files only)."),
    ] = None,
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="Excel sheet name or 0-based index (files only).")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """What is wrong with the data: missing values and where they concentrate, outliers,
    duplicates, mixed units, label variants, unreadable cells, noisy replicates and more."""
    _check_fail_on(fail_on)
    roles = _roles(id, target, group, time)
    path = Path(source)
    from labsight.workspace import is_file_source

    with steps(f"quality {source}", enabled=not json) as step:
        if is_file_source(source):
            import labsight

            step("reading and checking")
            report = labsight.quality(
                path,
                roles=roles,
                checks=check,
                multivariate=multivariate,
                na_values=na_values or (),
                sheet=_sheet(sheet),
            )
            title = str(path)
        else:
            ds = workspace().dataset(source)
            step("checking")
            report = ds.quality(roles=roles, checks=check, multivariate=multivariate)
            title = ds.ref
    _report_output(report, title, json, fail_on)


@app.command(
    epilog="Examples:\n\n"
    "  labsight clean reactions --impute median --outliers flag --labels normalize "
    "--units canonical --replicates mean\n\n"
    "  labsight clean reactions --impute knn --save-plan plan.yaml\n\n"
    "  labsight clean reactions --sentinels missing --impute median  # 0 or -999 codes\n\n"
    "  labsight clean spectra --spectra derivative       # Savitzky–Golay first derivative\n\n"
    "  labsight clean batch2.csv --plan plan.yaml          # replay on the next batch\n\n"
    "  labsight clean batch2 --plan reactions@v2           # reuse a cleaned version's plan"
)
def clean(
    source: Annotated[
        str, typer.Argument(help="A dataset NAME or NAME@VERSION, or a file to ingest first.")
    ],
    impute: Annotated[
        str | None, typer.Option("--impute", help="mean | median | knn | iterative")
    ] = None,
    outliers: Annotated[
        str | None, typer.Option("--outliers", help="flag | drop | winsorize")
    ] = None,
    labels: Annotated[str | None, typer.Option("--labels", help="normalize")] = None,
    units: Annotated[str | None, typer.Option("--units", help="canonical")] = None,
    replicates: Annotated[
        str | None, typer.Option("--replicates", help="mean | median (spread kept)")
    ] = None,
    sentinels: Annotated[
        str | None,
        typer.Option("--sentinels", help="missing: codes such as 0 or -999 become missing"),
    ] = None,
    spectra: Annotated[
        str | None,
        typer.Option(
            "--spectra",
            help="derivative | second-derivative | smooth | snv | baseline: preprocess the "
            "spectrum (Savitzky–Golay, SNV, straight-line baseline)",
        ),
    ] = None,
    plan: Annotated[
        str | None,
        typer.Option("--plan", help="Replay a plan: a YAML/JSON file or a cleaned version."),
    ] = None,
    save_plan: Annotated[
        Path | None, typer.Option("--save-plan", help="Also write the plan to this file.")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Store the result under another dataset name.")
    ] = None,
    reason: ReasonOpt = None,
    json: JsonOpt = False,
) -> None:
    """Clean a dataset into a new version whose lineage keeps the replayable plan.

    A clean that changes nothing succeeds, says so and stores no new version (the data is the
    version it started from); --save-plan is written either way."""
    from rich.markup import escape

    from labsight.data.clean import CleaningPlan
    from labsight.workspace import is_file_source

    ws = workspace()
    options = {
        "impute": impute,
        "outliers": outliers,
        "labels": labels,
        "units": units,
        "replicates": replicates,
        "sentinels": sentinels,
        "spectra": spectra,
    }
    with steps(f"clean {source}", enabled=not json) as step:
        path = Path(source)
        if path.is_file():
            base, result = ws.clean_file(
                path, name=name, plan=plan, reason=reason, on_step=step, **options
            )
            if save_plan is not None and result.created:
                ws.plan_of(result.ref).save(save_plan)
            elif save_plan is not None:  # nothing new holds the plan: fit it again, storing nothing
                ws.clean(
                    base.ref, plan=plan, name=name, save_plan=save_plan, on_step=step, **options
                )
        elif is_file_source(source):
            from labsight.exceptions import NotFoundError

            raise NotFoundError(
                f"{source}: no such file", hint="Check the path, or name a dataset instead"
            )
        else:
            base = ws.dataset(source)
            result = base.clean(
                plan=plan, name=name, reason=reason, save_plan=save_plan, on_step=step, **options
            )
    changed = result.version != base.version  # the version hash covers the data and columns
    made_by_clean = result.record.operation == "clean"
    changes = result.record.operation_params.get("changes", []) if changed else []
    if json:
        data = _version_dict(result)
        data["changed"] = changed
        if save_plan is not None:
            data["plan"] = CleaningPlan.load(save_plan).to_dict()  # exactly what was applied
        else:
            data["plan"] = result.record.operation_params["plan"] if made_by_clean else None
        data["changes"] = changes
        data["plan_file"] = str(save_plan) if save_plan else None
        emit_json(data)
        return
    if changed:
        out.print(
            f"[bold green]cleaned[/] {base.ref} → {result.ref} (v{result.record.number}): "
            f"{result.rows} rows × {len(result.columns)} columns"
        )
        out.print(changes_table(changes))
    else:
        stored = (
            f"stored as {escape(result.ref)} (v{result.record.number}) under the new name"
            if result.created
            else "so no cleaned version was stored"
        )
        out.print(
            f"[bold green]nothing changed[/]: {escape(base.ref)} is already clean for this plan; "
            f"the data is identical, {stored}"
        )
    if save_plan is not None:
        out.print(f"plan written to {escape(str(save_plan))}")
    if made_by_clean:
        out.print(f"replay with: labsight clean NEXT_BATCH --plan {escape(result.ref)}")
    elif save_plan is not None:
        out.print(f"replay with: labsight clean NEXT_BATCH --plan {escape(str(save_plan))}")
    else:
        out.print("to replay this plan on the next batch, save it with --save-plan FILE")


@app.command("datasets", epilog="Examples:\n\n  labsight datasets\n\n  labsight datasets --json")
def datasets_cmd(
    all: Annotated[bool, typer.Option("--all", help="Include deleted datasets.")] = False,
    json: JsonOpt = False,
) -> None:
    """List datasets."""
    items = workspace().datasets(include_deleted=all)
    if json:
        emit_json([d.to_dict() for d in items])
        return
    if not items:
        out.print("no datasets yet: `labsight ingest FILE --name NAME`")
        return
    table = RichTable()
    for col in ("dataset", "versions", "latest", "created", "by"):
        table.add_column(col)
    for d in items:
        name = f"{cell(d.name)} [red](deleted)[/]" if d.deleted else cell(d.name)
        table.add_row(
            name,
            str(d.versions),
            d.latest or "-",
            f"{d.created:%Y-%m-%d %H:%M}",
            cell(d.created_by),
        )
    out.print(table)


dataset_app = typer.Typer(
    help="One dataset: show (columns, lineage, versions), delete.",
    epilog="Examples:\n\n  labsight dataset show reactions\n\n"
    "  labsight dataset delete old_runs --reason 'uploaded twice'",
    no_args_is_help=True,
)
app.add_typer(dataset_app, name="dataset")


@dataset_app.command(
    "show",
    epilog="Examples:\n\n  labsight dataset show reactions\n\n  labsight dataset show reactions@v1 --json",
)
def dataset_show(
    ref: Annotated[str, typer.Argument(help="NAME, NAME@vN or NAME@HASH.")],
    json: JsonOpt = False,
) -> None:
    """A version's columns (units, roles), lineage, electronic signatures and the dataset's
    versions."""
    ws = workspace()
    ds = ws.dataset(ref)
    lineage = ds.lineage()
    history = ws.history(ds.dataset)
    signed = ws.signatures.of(f"dataset:{ds.record.ref}")
    if json:
        data = _version_dict(ds)
        data["created"] = ds.record.created.isoformat()
        data["created_by"] = ds.record.created_by
        data["operation_params"] = ds.record.operation_params
        data["source"] = ds.record.source
        data["lineage"] = [
            {
                "ref": r.ref,
                "operation": r.operation,
                "created": r.created.isoformat(),
                "by": r.created_by,
            }
            for r in lineage
        ]
        data["versions"] = [
            {"version": r.version, "number": r.number, "operation": r.operation, "rows": r.rows}
            for r in history
        ]
        data["signatures"] = [s.to_dict() for s in signed]
        emit_json(data)
        return
    rec = ds.record
    out.print(
        f"[bold]{cell(rec.ref)}[/] (v{rec.number}) — {rec.rows} rows × {len(rec.columns)} columns, "
        f"{cell(rec.operation)} by {cell(rec.created_by)} on {rec.created:%Y-%m-%d %H:%M} UTC"
    )
    if rec.source:
        out.print(
            f"source: {cell(rec.source.get('path'))} ({cell(rec.source.get('format'))}, sha256 "
            f"{cell(str(rec.source.get('sha256'))[:12])}…)"
        )
    out.print(columns_table(ds.columns))
    lin = RichTable(title="lineage (newest first)")
    for col in ("version", "operation", "created", "by"):
        lin.add_column(col)
    for r in lineage:
        lin.add_row(
            cell(r.ref), cell(r.operation), f"{r.created:%Y-%m-%d %H:%M}", cell(r.created_by)
        )
    out.print(lin)
    if rec.operation == "clean":
        out.print(
            "plan: "
            + ", ".join(
                cell(f"{s['op']}={s['method']}") for s in rec.operation_params["plan"]["steps"]
            )
        )
    if rec.operation == "denoise":
        p = rec.operation_params
        ratio = p.get("expected_ratio")
        out.print(
            f"denoised by {cell(p['method'])} learned from {cell(p['reference'])}"
            + (f", expected to lie {ratio:.0%} as far from the noise-free signal" if ratio else "")
            + (
                f"; rows kept as measured: {cell(', '.join(map(str, p['kept'])))}"
                if p["kept"]
                else ""
            )
            + (" (forced)" if p.get("forced") else "")
        )
    hist = RichTable(title=f"versions of {rec.dataset}")
    for col in ("#", "version", "operation", "rows"):
        hist.add_column(col)
    for r in history:
        hist.add_row(f"v{r.number}", cell(r.version), cell(r.operation), str(r.rows))
    out.print(hist)
    if signed:
        out.print(signatures_table(signed, f"Signatures on {rec.ref}"))


@dataset_app.command(
    "delete", epilog="Examples:\n\n  labsight dataset delete old_runs --reason 'duplicate upload'"
)
def dataset_delete(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    reason: ReasonOpt = None,
    json: JsonOpt = False,
) -> None:
    """Delete a dataset (a tombstone: its history stays in the store and the audit trail)."""
    ds = workspace().delete(name, reason=reason)
    if json:
        emit_json(ds.to_dict())
    else:
        out.print(
            f"deleted {cell(ds.name)} (tombstone; {ds.versions} versions kept for the audit trail)"
        )
