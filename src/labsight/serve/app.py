"""The FastAPI application of ``labsight serve``."""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

import labsight
from labsight.config import parse_size
from labsight.serve import _errors
from labsight.serve._auth import document_security
from labsight.serve._json import SafeJSONResponse
from labsight.serve._limits import BodyLimit
from labsight.serve.routes import audit, campaigns, datasets, models, session, signatures
from labsight.workspace import Workspace

__all__ = ["API", "create_app"]

API = "/api/v1"
UPLOAD_ENV, BODY_ENV = "LABSIGHT_MAX_UPLOAD_BYTES", "LABSIGHT_MAX_BODY_BYTES"
_DEFAULT_UPLOAD, _DEFAULT_BODY = 512 * 1024**2, 32 * 1024**2


def _size(name: str, default: int) -> int:
    text = os.environ.get(name)
    return parse_size(text, name=name) if text else default


def create_app(
    home: str | os.PathLike[str] | None = None,
    *,
    workspace: Workspace | None = None,
    upload_bytes: int | None = None,
    body_bytes: int | None = None,
) -> FastAPI:
    """The API over the workspace at ``home`` (default ``$LABSIGHT_HOME``), or over ``workspace``.

    Request bodies are capped: uploads at ``upload_bytes`` (``LABSIGHT_MAX_UPLOAD_BYTES``, 512 MiB),
    every other body at ``body_bytes`` (``LABSIGHT_MAX_BODY_BYTES``, 32 MiB).
    """
    ws = workspace if workspace is not None else Workspace(Path(home) if home else None)
    app = FastAPIOffline(
        title="labsight",
        version=labsight.__version__,
        description="The REST API of a labsight workspace: datasets, models, predictions, "
        "design campaigns, the audit trail and electronic signatures.",
        openapi_url=f"{API}/openapi.json",
        docs_url=f"{API}/docs",
        redoc_url=None,
        static_url=f"{API}/static-docs",
        default_response_class=SafeJSONResponse,
    )
    app.state.ws = ws
    _errors.install(app)
    # models first: predictions are most of the requests, and routes are tried in order
    routers = [r.router for r in (models, session, datasets, campaigns, audit, signatures)]
    for router in routers:
        app.include_router(router, prefix=API, responses=_errors.ERROR_RESPONSES)
    document_security(app, API, routers)
    limited: Any = BodyLimit
    app.add_middleware(
        limited,
        upload_bytes=upload_bytes or _size(UPLOAD_ENV, _DEFAULT_UPLOAD),
        body_bytes=body_bytes or _size(BODY_ENV, _DEFAULT_BODY),
    )
    return app


def app_from_environment() -> FastAPI:
    """The app ``labsight serve`` runs (in each worker): the workspace named by ``LABSIGHT_HOME``
    and ``LABSIGHT_DB_URL``.

    What start-up made (about 230,000 objects: the libraries, the app) is moved out of the garbage
    collector's sight (:func:`gc.freeze`): a full collection of it takes over 100 ms, a pause
    some request would wait for, and none of it is garbage while the server runs."""
    app = create_app()
    gc.collect()
    gc.freeze()
    return app
