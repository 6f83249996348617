"""Health, login and logout: the routes that need no credentials (and logout)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

import labsight
from labsight.serve._auth import CSRF_COOKIE, SESSION_COOKIE, principal, workspace
from labsight.workspace import Principal

router = APIRouter(tags=["session"])


class Login(BaseModel):
    user: str = Field(max_length=200)
    password: str = Field(max_length=1000)


@router.get("/health", summary="Is the server up (no credentials needed)")
def health(request: Request) -> dict[str, Any]:
    ws = workspace(request)
    return {
        "status": "ok",
        "version": labsight.__version__,
        "database": ws.db.safe_url.split(":")[0],
    }


@router.post("/login", summary="Log in with a password: a session cookie and a CSRF token")
def login(body: Login, request: Request, response: Response) -> dict[str, Any]:
    ws = workspace(request)
    user = ws.accounts.authenticate(body.user, body.password, via="login")
    secret, csrf = ws.accounts.open_session(user)
    secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE, secret, httponly=True, samesite="strict", secure=secure, path="/api/v1"
    )
    response.set_cookie(CSRF_COOKIE, csrf, httponly=False, samesite="strict", secure=secure)
    return {"user": user.name, "role": user.role, "csrf_token": csrf}


@router.post("/logout", summary="End this browser session")
def logout(
    request: Request, response: Response, who: Annotated[Principal, Depends(principal)]
) -> dict[str, Any]:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        workspace(request).accounts.close_session(cookie)
    response.delete_cookie(SESSION_COOKIE, path="/api/v1")
    response.delete_cookie(CSRF_COOKIE)
    return {"user": who.name, "logged_out": bool(cookie)}


@router.get("/me", summary="Who the credentials belong to, and what they may do")
def me(who: Annotated[Principal, Depends(principal)]) -> dict[str, Any]:
    allowed = [p for p in ("read", "predict", "write", "review", "admin") if who.allows(p)]
    return {**who.user.to_dict(), "via": who.via, "scope": who.scope, "allows": allowed}
