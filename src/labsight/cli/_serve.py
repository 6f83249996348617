"""``labsight serve``: the REST API over this workspace, on loopback unless told otherwise."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from labsight.cli._app import app, err_console, state, workspace
from labsight.cli._render import cell

_LOOPBACK = ("127.0.0.1", "::1", "localhost")


@app.command(
    epilog="Examples:\n\n  labsight serve\n\n  labsight serve --port 8080 --workers 4\n\n"
    "  labsight serve --host 0.0.0.0 --ssl-certfile lab.pem --ssl-keyfile lab.key"
)
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes.")] = 1,
    ssl_certfile: Annotated[
        Path | None, typer.Option("--ssl-certfile", help="TLS certificate (PEM).")
    ] = None,
    ssl_keyfile: Annotated[
        Path | None, typer.Option("--ssl-keyfile", help="TLS private key (PEM).")
    ] = None,
) -> None:
    """Serve the REST API (docs at /api/v1/docs, offline): datasets, models and predictions,
    campaigns, the audit trail and e-signatures, for the users of `labsight users`."""
    import shutil

    import uvicorn

    ws = workspace()  # migrate and check the store once, before the workers start
    users = ws.accounts.users()
    home = str(ws.settings.home)
    ws.close()
    # uploads a stopped server was receiving: no worker runs yet, so none is in use
    shutil.rmtree(ws.settings.home / "uploads", ignore_errors=True)
    os.environ["LABSIGHT_HOME"] = home
    if not users:
        err_console.print(
            "[yellow]note:[/] no users yet, so nobody can log in: "
            "labsight users add NAME --role admin",
            soft_wrap=True,
        )
    if host not in _LOOPBACK and ssl_certfile is None:
        err_console.print(
            f"[yellow]warning:[/] serving plain HTTP on {cell(host)}: passwords and tokens cross "
            "the network readable; pass --ssl-certfile/--ssl-keyfile or put a TLS proxy in front",
            soft_wrap=True,
        )
    scheme = "https" if ssl_certfile else "http"
    err_console.print(f"labsight serves {cell(home)} at {scheme}://{cell(host)}:{port}/api/v1/docs")
    uvicorn.run(
        "labsight.serve.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="debug" if state.debug else "warning",
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        server_header=False,
        proxy_headers=False,
    )
