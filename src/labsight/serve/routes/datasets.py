"""Datasets: list, upload a new version, show one (columns, units, roles, lineage, signatures),
its quality report, its EDA report, its rows."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path, PurePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import HTMLResponse

from labsight.exceptions import DataFormatError, InputError, LabsightError
from labsight.serve._auth import acting
from labsight.serve._errors import JSON_ERRORS
from labsight.workspace import FILE_SUFFIXES, Workspace

router = APIRouter(prefix="/datasets", tags=["datasets"])

Reader = Annotated[Workspace, Depends(acting("read", "read datasets"))]
Writer = Annotated[Workspace, Depends(acting("write", "add dataset versions"))]
_ROWS_LIMIT = 10_000


def version_view(ws: Workspace, ref: str) -> dict[str, Any]:
    """A dataset version as the API shows it: what ``labsight dataset show --json`` shows, with
    its lineage and signatures."""
    ds = ws.dataset(ref)
    rec = ds.record
    return {
        "dataset": rec.dataset,
        "ref": rec.ref,
        "version": rec.version,
        "number": rec.number,
        "rows": rec.rows,
        "columns": rec.columns,
        "created": ds.created,
        "created_by": rec.created_by,
        "operation": rec.operation,
        "parent": rec.parent,
        "sha256": rec.sha256,
        "findings": rec.findings,
        "lineage": [v.ref for v in ds.lineage()],
        "signatures": [s.to_dict() for s in ws.signatures.of(f"dataset:{rec.ref}")],
    }


def _flag(text: str | None, name: str) -> bool | None:
    if not text:
        return None
    value = {"true": True, "false": False}.get(text.strip().lower())
    if value is None:
        raise InputError(f"{name}={text[:10]!r} is not true or false", expected="true or false")
    return value


@router.get("", summary="Every dataset")
def list_datasets(ws: Reader) -> list[dict[str, Any]]:
    return [d.to_dict() for d in ws.datasets()]


@router.post("/{name}", summary="Upload a file as a new version of dataset NAME", status_code=201)
def upload(
    ws: Writer,
    name: str,
    file: Annotated[UploadFile, File(description="CSV, TSV, Excel, Parquet or JSON lines")],
    target: Annotated[str | None, Form(max_length=300)] = None,
    id: Annotated[str | None, Form(max_length=300)] = None,
    group: Annotated[str | None, Form(max_length=300)] = None,
    time: Annotated[str | None, Form(max_length=300)] = None,
    sheet: Annotated[str | None, Form(max_length=300)] = None,
    na_values: Annotated[
        str | None, Form(max_length=2000, description="Comma-separated texts that mean missing")
    ] = None,
    delimiter: Annotated[str | None, Form(max_length=4)] = None,
    encoding: Annotated[str | None, Form(max_length=40)] = None,
    decimal_comma: Annotated[
        str | None, Form(max_length=10, description="true: '1,5' is 1.5 (default: sniffed)")
    ] = None,
    reason: Annotated[str | None, Form(max_length=2000)] = None,
) -> dict[str, Any]:
    """The options of `labsight ingest`: roles (target, id, group, time) and how to read the
    file (sheet, na_values, delimiter, encoding, decimal_comma)."""
    suffixes = PurePath(file.filename or "").suffixes[-2:]
    suffix = "".join(s.lower() for s in suffixes if s.lower() in FILE_SUFFIXES)
    if not suffix:
        raise DataFormatError(
            f"cannot read a file named {str(file.filename)[:80]!r}",
            expected=", ".join(sorted(FILE_SUFFIXES)),
            hint="Upload a CSV, TSV, Excel, Parquet or JSON-lines file with its extension",
        )
    uploads = ws.settings.home / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=uploads) as folder:
        path = Path(folder) / f"{name[:60] if name.isidentifier() else 'upload'}{suffix}"
        with path.open("wb") as handle:
            shutil.copyfileobj(file.file, handle, 1 << 20)
        sheet_value: str | int | None = int(sheet) if sheet and sheet.isdigit() else sheet
        given = {
            "sheet": sheet_value,
            "na_values": [v.strip() for v in na_values.split(",")] if na_values else None,
            "delimiter": delimiter,
            "encoding": encoding,
            "decimal_comma": _flag(decimal_comma, "decimal_comma"),
        }
        options: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        try:
            ds = ws.ingest(
                path,
                name=name,
                target=target,
                id=id,
                group=group,
                time=time,
                on_issue="ignore",
                reason=reason,
                source_name=file.filename or "upload",
                **options,
            )
        except LabsightError as exc:  # name the file as uploaded, not the server's copy
            if exc.path == str(path):
                exc.path = file.filename
            raise
    return version_view(ws, ds.ref)


@router.get("/{ref}", summary="A dataset version: columns, units, roles, lineage")
def show(ws: Reader, ref: str) -> dict[str, Any]:
    return version_view(ws, ref)


@router.get("/{ref}/quality", summary="The quality report (as labsight quality --json)")
def quality(ws: Reader, ref: str) -> dict[str, Any]:
    report: dict[str, Any] = ws.dataset(ref).quality().to_dict()
    return report


@router.get(
    "/{ref}/report",
    summary="The exploratory report, as one offline HTML page",
    response_class=HTMLResponse,
    responses=JSON_ERRORS,
)
def report(ws: Reader, ref: str) -> HTMLResponse:
    ds = ws.dataset(ref)
    return HTMLResponse(ds.explore().html())


@router.get("/{ref}/rows", summary="Rows of a dataset version, a page at a time")
def rows(
    ws: Reader,
    ref: str,
    offset: Annotated[int, Query(ge=0, le=2**53)] = 0,
    limit: Annotated[int, Query(ge=1, le=_ROWS_LIMIT)] = 100,
    format: Annotated[Literal["json"], Query()] = "json",
) -> dict[str, Any]:
    ds = ws.dataset(ref)
    frame = ds.to_polars().slice(offset, limit)
    return {
        "ref": ds.ref,
        "offset": offset,
        "limit": limit,
        "total": ds.rows,
        "columns": frame.columns,
        "rows": frame.to_dicts(),
    }
