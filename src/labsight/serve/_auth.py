"""Who acts, and what they may do: a bearer token (scripts, instruments) or the session cookie
of ``POST /api/v1/login`` (browsers). A write authenticated by the cookie must send the
session's CSRF token back in ``X-CSRF-Token`` (a page on another site can make the browser send the
cookie, never read the token). Every route but health, login and the API's description depends on
:func:`acting`."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, HTTPBearer

from labsight.exceptions import AuthenticationError, ForbiddenError
from labsight.workspace import Principal, Workspace

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "acting",
    "document_security",
    "principal",
    "workspace",
]

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


async def principal(request: Request) -> Principal:
    """The authenticated user of this request (401 without valid credentials): a bearer token in
    ``Authorization`` (read as FastAPI's ``HTTPBearer`` reads it), else the session cookie, looked
    up in the database where that costs least (:func:`_looked_up`).

    The headers are read here rather than through FastAPI's security dependencies, which cost a
    dependency each on every request; :func:`document_security` puts the two schemes in the
    API's description all the same."""
    ws = workspace(request)
    given = request.headers.getlist("authorization")
    if given:
        scheme, _, credentials = given[0].partition(" ")
        credentials = credentials.strip(" \t")  # a token is ASCII: no other space is trimmed
        if len(given) > 1:
            raise AuthenticationError(
                "more than one Authorization header",
                hint="Send one: Authorization: Bearer TOKEN",
            )
        if scheme.lower() != "bearer" or not credentials:
            raise AuthenticationError(
                "the Authorization header is not 'Bearer <token>'",
                hint="Send Authorization: Bearer TOKEN (labsight tokens create)",
            )
        return await _looked_up(ws, ws.accounts.principal_for_token, credentials)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        who = await _looked_up(ws, ws.accounts.principal_for_session, cookie)
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


async def _looked_up(ws: Workspace, lookup: Callable[[str], Principal], secret: str) -> Principal:
    """``lookup(secret)``: on the event loop for a database on this machine (one indexed row of
    SQLite, about 0.1 ms, costs less than the hand-over to a thread and back, and under
    concurrent requests far less: the hand-overs queue behind each other for the GIL), in the
    thread pool for a database server (a round trip over the network must not stall the loop)."""
    if ws.db.local:
        return lookup(secret)
    return await run_in_threadpool(lookup, secret)


principal.__labsight_authenticates__ = True  # type: ignore[attr-defined]


def _authenticates(dependant: Dependant) -> bool:
    """Whether a route's dependencies, at any depth, authenticate the caller."""
    return any(
        getattr(d.call, "__labsight_authenticates__", False) or _authenticates(d)
        for d in dependant.dependencies
    )


def document_security(app: FastAPI, prefix: str, routers: Iterable[APIRouter]) -> None:
    """Describe the bearer token and the session cookie in the API's OpenAPI document, and name
    them on every operation of ``routers`` (included under ``prefix``) whose route authenticates
    (its dependencies reach :func:`principal` or :func:`acting`), as FastAPI's security
    dependencies would have."""
    build = app.openapi
    schemes = {
        scheme.scheme_name: scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True)
        for scheme in (_bearer, _cookie)
    }
    guarded = [
        (prefix + route.path_format, method.lower())
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute) and _authenticates(route.dependant)
        for method in route.methods or ()
    ]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {})["securitySchemes"] = schemes
        for path, method in guarded:
            schema["paths"][path][method]["security"] = [{name: []} for name in schemes]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def acting(permission: str, doing: str) -> Callable[..., Awaitable[Workspace]]:
    """A dependency: the workspace acting as the authenticated user, once their role and their
    token's scope allow ``permission`` (403 otherwise); ``doing`` names the request in the refusal."""

    async def dependency(request: Request) -> Workspace:
        who = await principal(request)  # (called, not a dependency: one fewer to solve)
        who.require(permission, doing)
        request.state.principal = who
        return workspace(request).acting_as(who.name)

    dependency.__labsight_authenticates__ = True  # type: ignore[attr-defined]
    return dependency
