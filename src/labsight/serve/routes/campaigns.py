"""Design campaigns: list, show, suggest the next batch, record results, status."""

from __future__ import annotations

from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, StrictBool

from labsight.exceptions import InputError
from labsight.serve._auth import acting
from labsight.workspace import Workspace

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

Reader = Annotated[Workspace, Depends(acting("read", "read campaigns"))]
Writer = Annotated[Workspace, Depends(acting("write", "change campaigns"))]
Cell = str | int | float | bool | None


@router.get("", summary="Every campaign, with its counts of experiments and results")
def list_campaigns(ws: Reader) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.to_dict().items() if k != "space"} for r in ws.campaigns()]


@router.get("/{name}", summary="A campaign: its space, experiments and results")
def show(ws: Reader, name: str) -> dict[str, Any]:
    campaign = ws.campaign(name)
    record = campaign.record_
    return {
        **{k: v for k, v in record.to_dict().items() if k != "space"},
        "space": {**campaign.space.to_dict(), "candidates": campaign.space.size()},
        "experiments": campaign.experiments().to_dicts(),
        "results": campaign.results().to_dicts(),
        "background": campaign.background(),
    }


class Suggest(BaseModel):
    batch: int = Field(default=4, ge=1, le=100)
    acquisition: str | None = Field(default=None, max_length=40)
    reason: str | None = Field(default=None, max_length=2000)
    replicates: StrictBool = Field(
        default=False,
        description="Allow near-copies of experiments run or suggested, and several experiments "
        "with the same choices.",
    )


@router.post("/{name}/suggest", summary="The next batch of experiments (stored, audited)")
def suggest(ws: Writer, name: str, body: Suggest) -> dict[str, Any]:
    frame = ws.campaign(name).suggest(
        body.batch, acquisition=body.acquisition, reason=body.reason, replicates=body.replicates
    )
    return {
        "campaign": name,
        "method": frame["method"][0] if frame.height else None,
        "experiments": frame.to_dicts(),
    }


class Results(BaseModel):
    rows: list[dict[str, Cell]] = Field(min_length=1, max_length=10_000)
    reason: str | None = Field(default=None, max_length=2000)


@router.post("/{name}/results", summary="Record measured results (rows of conditions and outcomes)")
def results(ws: Writer, name: str, body: Results) -> dict[str, Any]:
    try:
        frame = pl.DataFrame(body.rows, infer_schema_length=None)
    except (pl.exceptions.PolarsError, TypeError, ValueError) as exc:
        raise InputError(
            f"the rows cannot be read as a table: {str(exc).splitlines()[0][:200]}",
            hint="Give every row the same columns, each with values of one kind",
        ) from exc
    summary = ws.campaign(name).record(frame, reason=body.reason)
    return {"campaign": name, **summary.to_dict()}


@router.get("/{name}/status", summary="Best so far, progress, the surrogate's quality")
def status(ws: Reader, name: str) -> dict[str, Any]:
    campaign = ws.campaign(name)
    return {"campaign": name, **campaign.status().to_dict(), "background": campaign.background()}
