"""JSON responses that stay JSON: a NaN or infinite number (a missing cell, an undefined score)
is written as ``null``, which every client parses, where ``NaN`` would break strict parsers."""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

__all__ = ["SafeJSONResponse", "finite"]


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


class SafeJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        try:  # plain JSON with finite numbers (most answers: predictions, lists) as it is
            return json.dumps(
                content, ensure_ascii=False, allow_nan=False, separators=(",", ":")
            ).encode("utf-8")
        except (TypeError, ValueError):  # dates, NaN, objects: made JSON first
            pass
        return json.dumps(
            finite(jsonable_encoder(content)),
            ensure_ascii=False,
            allow_nan=False,
            separators=(",", ":"),
        ).encode("utf-8")
