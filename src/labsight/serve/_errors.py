"""The one error shape of the API: ``{"error": {"code", "message", "hint", "path", "line",
"column", "expected", "got"}}``, built from the :class:`~labsight.exceptions.LabsightError` tree.

A client's mistake is a 4xx (bad input 400, unauthenticated 401, forbidden 403, not found 404,
conflict 409, too large 413, a request that does not fit the schema 422); a failure of the
server or its store a 5xx, whose message names no internals.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from labsight._display import visible
from labsight.exceptions import (
    AuditChainError,
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    InputError,
    LabsightError,
    NotFoundError,
    StoreError,
)

__all__ = ["ERROR_RESPONSES", "JSON_ERRORS", "ErrorBody", "error_body", "install", "status_of"]

_log = logging.getLogger("labsight.serve")


class ErrorDetail(BaseModel):
    code: str
    message: str
    hint: str | None = None
    path: str | None = None
    line: int | None = None
    column: str | None = None
    expected: str | None = None
    got: str | None = None


class ErrorBody(BaseModel):
    """The one shape of every error the API answers."""

    error: ErrorDetail


_MEANING = {
    400: "Bad input: a file, value or name that labsight cannot take",
    401: "No valid credentials",
    403: "The user's role or the token's scope does not allow it",
    404: "No such dataset, model, campaign, job or route",
    405: "The route does not take this method",
    409: "It contradicts the workspace's state",
    413: "The request body is larger than the server takes",
    422: "The request does not fit the API (or the operation could not be done on this input)",
}
JSON_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": text,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for status, text in _MEANING.items()
}
"""The error answers of a route whose success is not JSON (an HTML page, a CSV file)."""
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in _MEANING.items()
}
"""Every route documents the error answers in the one shape."""

_STATUS: tuple[tuple[type[LabsightError], int], ...] = (
    (AuthenticationError, 401),
    (ForbiddenError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (InputError, 400),
    (StoreError, 503),
    (AuditChainError, 500),
)


def status_of(exc: LabsightError) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 422  # an operation that could not be done on this input (export, training …)


def error_body(code: str, message: str, hint: str | None = None, **more: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "hint": hint, **more}}


def _labsight(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LabsightError)
    data = exc.to_dict()
    where = exc.location()
    body = error_body(
        exc.code,
        visible(f"{where}: {exc.message}" if where else exc.message),
        visible(exc.hint) if exc.hint else None,
        **{k: data[k] for k in ("path", "line", "column", "expected", "got")},
    )
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        problems.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
    return JSONResponse(
        error_body(
            "bad_request",
            "the request does not fit the API: " + "; ".join(problems),
            "See /api/v1/docs for the request's shape",
        ),
        status_code=422,
    )


def _allowed(request: Request) -> str | None:
    """The methods the API's description lists for this path (Starlette names only those of the
    first route that matched, where a path has a GET route and a POST route)."""
    table: list[tuple[re.Pattern[str], set[str]]] | None = getattr(
        request.app.state, "_allow", None
    )
    if table is None:
        table = [
            (
                re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"),
                {m.upper() for m in ops},
            )
            for path, ops in request.app.openapi()["paths"].items()
        ]
        request.app.state._allow = table
    methods: set[str] = set()
    for pattern, ops in table:
        if pattern.match(request.url.path):
            methods |= ops
    return ", ".join(sorted(methods)) or None


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        allowed = _allowed(request)
        if allowed:
            headers["Allow"] = allowed
    codes = {
        404: "not_found",
        405: "method_not_allowed",
        401: "unauthenticated",
        413: "too_large",
    }
    return JSONResponse(
        error_body(codes.get(exc.status_code, "http_error"), str(exc.detail)),
        status_code=exc.status_code,
        headers=headers or None,
    )


def _internal(_request: Request, exc: Exception) -> JSONResponse:
    _log.exception("internal error", exc_info=exc)
    return JSONResponse(
        error_body(
            "internal",
            "internal error: the request was not completed",
            "Please report it with the time of the request; the server log has the details",
        ),
        status_code=500,
        # the server closes the connection after a 500: say so, or a keep-alive client's next
        # request meets a closed socket
        headers={"Connection": "close"},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(LabsightError, _labsight)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _internal)
