"""Who acts, and what they may do: a bearer token (scripts, instruments) or the session cookie
of ``POST /api/v1/login`` (browsers). A write authenticated by the cookie must send the
session's CSRF token back in ``X-CSRF-Token`` (a page on another site can make the browser send the
cookie, never read the token). Every route but health, login and the API's description depends on
:func:`acting`."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from labsight.exceptions import AuthenticationError, ForbiddenError
from labsight.workspace import Principal, Workspace

__all__ = ["CSRF_HEADER", "SESSION_COOKIE", "acting", "principal", "workspace"]

SESSION_COOKIE = "labsight_session"
CSRF_COOKIE = "labsight_csrf"
CSRF_HEADER = "X-CSRF-Token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_bearer = HTTPBearer(auto_error=False, description="An API token: labsight tokens create")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="The session of POST /api/v1/login"
)


def workspace(request: Request) -> Workspace:
    ws: Workspace = request.app.state.ws
    return ws


async def principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    cookie: Annotated[str | None, Security(_cookie)],
) -> Principal:
    """The authenticated user of this request (401 without valid credentials). The lookup in
    the database runs in the thread pool, as the route's own work does."""
    ws = workspace(request)
    if request.headers.get("authorization") is not None:
        if bearer is None or not bearer.credentials.strip():
            raise AuthenticationError(
                "the Authorization header is not 'Bearer <token>'",
                hint="Send Authorization: Bearer TOKEN (labsight tokens create)",
            )
        return await run_in_threadpool(ws.accounts.principal_for_token, bearer.credentials.strip())
    if cookie:
        who = await run_in_threadpool(ws.accounts.principal_for_session, cookie)
        if request.method not in _SAFE:
            sent = request.headers.get(CSRF_HEADER, "")
            if not who.csrf or not hmac.compare_digest(sent.encode(), who.csrf.encode()):
                raise ForbiddenError(
                    f"a write with the session cookie needs the {CSRF_HEADER} header",
                    hint="Send the csrf_token that POST /api/v1/login returned",
                )
        return who
    raise AuthenticationError(
        "no credentials",
        hint="Send Authorization: Bearer TOKEN (labsight tokens create), or log in first",
    )


def acting(permission: str, doing: str) -> Callable[..., Awaitable[Workspace]]:
    """A dependency: the workspace acting as the authenticated user, once their role and their
    token's scope allow ``permission`` (403 otherwise); ``doing`` names the request in the refusal."""

    async def dependency(
        request: Request, who: Annotated[Principal, Depends(principal)]
    ) -> Workspace:
        who.require(permission, doing)
        request.state.principal = who
        return workspace(request).acting_as(who.name)

    return dependency
