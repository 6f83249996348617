"""The server: ``labsight serve``, a REST API over the same :class:`~labsight.Workspace` as the CLI.

``app.create_app`` builds the FastAPI application; ``_errors`` turns every error into the one
shape ``{"error": {"code", "message", "hint", …}}``; ``_auth`` establishes who acts (a bearer
token, or a session cookie with CSRF protection for writes) and what they may do; ``_limits``
caps request bodies; ``routes/`` holds one router per resource. A route parses its input, calls
one core method as the authenticated user (``ws.acting_as``), and renders what comes back: the
acting user of every audit entry comes from authentication, never from the client.

Imported by nothing in labsight but the CLI's ``serve`` command.
"""

from __future__ import annotations

__all__ = ["create_app"]


def create_app(*args: object, **kwargs: object) -> object:
    from labsight.serve.app import create_app as build

    return build(*args, **kwargs)  # type: ignore[arg-type]
