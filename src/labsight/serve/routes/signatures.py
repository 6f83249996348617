"""Electronic signatures: sign a record with the password asked again; list a record's."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from labsight.serve._auth import acting
from labsight.workspace import Workspace

router = APIRouter(prefix="/signatures", tags=["signatures"])

Reader = Annotated[Workspace, Depends(acting("read", "read signatures"))]
Signer = Annotated[Workspace, Depends(acting("sign", "sign records"))]


class Sign(BaseModel):
    record: str = Field(max_length=300, description="yield@v3, model:…, dataset:reactions@v2")
    meaning: Literal["authored", "reviewed", "approved"]
    password: str = Field(max_length=1000, description="The signer's password, asked again")
    reason: str = Field(min_length=1, max_length=2000)


@router.post("", summary="Sign a record (the password is checked again)", status_code=201)
def sign(ws: Signer, body: Sign) -> dict[str, Any]:
    signed = ws.signatures.sign(body.record, body.meaning, body.password, reason=body.reason)
    return signed.to_dict()


@router.get("", summary="The signatures on a record, each valid, orphaned or broken")
def of(ws: Reader, record: Annotated[str, Query(max_length=300)]) -> list[dict[str, Any]]:
    return [s.to_dict() for s in ws.signatures.of(record)]
