"""The audit trail for reviewers: entries (filtered), verification, export."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse

from labsight.exceptions import InputError
from labsight.serve._auth import acting
from labsight.serve._errors import JSON_ERRORS
from labsight.workspace import Workspace

router = APIRouter(prefix="/audit", tags=["audit"])

Reviewer = Annotated[Workspace, Depends(acting("review", "review the audit trail"))]


def _moment(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"{name}={text[:40]!r} is not a date or time",
            expected="an ISO date or time such as 2026-03-07 or 2026-03-07T16:02:11Z",
        ) from None


@router.get("", summary="Audit entries, newest last, filtered by user, object, action and date")
def entries(
    ws: Reviewer,
    user: Annotated[str | None, Query(max_length=200)] = None,
    object: Annotated[str | None, Query(max_length=300)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    since: Annotated[
        str | None, Query(max_length=40, description="ISO date or time (UTC unless it says)")
    ] = None,
    until: Annotated[
        str | None, Query(max_length=40, description="ISO date or time (UTC unless it says)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[dict[str, Any]]:
    found = ws.audit.entries(
        limit=limit,
        action=action,
        object_id=object,
        actor=user,
        since=_moment(since, "since"),
        until=_moment(until, "until"),
    )
    return [e.to_dict() for e in found]


@router.get("/verify", summary="Recompute the hash chain and check every record and signature")
def verify(ws: Reviewer, quick: bool = False) -> dict[str, Any]:
    report: dict[str, Any] = ws.audit.verify(quick=quick).to_dict()
    return report


@router.get(
    "/export",
    summary="Every entry as CSV or JSON lines",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/csv": {}, "application/x-ndjson": {}}},
        **JSON_ERRORS,
    },
)
def export(
    ws: Reviewer, format: Annotated[Literal["csv", "jsonl"], Query()] = "jsonl"
) -> PlainTextResponse:
    media = "text/csv" if format == "csv" else "application/x-ndjson"
    return PlainTextResponse(ws.audit.export(format), media_type=media)
