"""A cap on every request body, enforced while it arrives: an upload over the limit is refused
with 413 before it fills a disk, whether it announces its length or streams in chunks."""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException

from labsight.config import format_size
from labsight.serve._errors import error_body

__all__ = ["BodyLimit"]

Scope = dict[str, Any]
Message = dict[str, Any]


_HINT = (
    "Send a smaller file, or ask the server's admin to raise LABSIGHT_MAX_UPLOAD_BYTES / "
    "LABSIGHT_MAX_BODY_BYTES"
)


def _too_large(limit: int) -> str:
    return f"the request body is larger than the server takes ({format_size(limit)})"


class BodyLimit:
    """ASGI middleware: bodies of uploads (``POST /api/v1/datasets/…``) up to ``upload_bytes``,
    every other body up to ``body_bytes``."""

    def __init__(self, app: Any, *, upload_bytes: int, body_bytes: int) -> None:
        self.app = app
        self.upload_bytes = upload_bytes
        self.body_bytes = body_bytes

    def _limit(self, scope: Scope) -> int:
        path: str = scope.get("path", "")
        return self.upload_bytes if path.startswith("/api/v1/datasets/") else self.body_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message: Message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:  # an HTTPException passes through FastAPI's form parsing
                    raise HTTPException(413, detail=_too_large(limit))
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except HTTPException:
            if not started:
                await self._refuse(send, limit)

    @staticmethod
    async def _refuse(send: Any, limit: int) -> None:
        body = json.dumps(error_body("too_large", _too_large(limit), _HINT)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
