"""Settings: where the workspace lives, which database and artifact store it uses, who is acting,
and how large an input file may be.

Resolved once, in this order: explicit arguments, then environment variables (``LABSIGHT_HOME``,
``LABSIGHT_DB_URL``, ``LABSIGHT_ARTIFACTS``, ``LABSIGHT_USER``, ``LABSIGHT_MAX_FILE_BYTES``,
``LABSIGHT_MAX_EXPANDED_BYTES``), then defaults (``./.labsight``, SQLite inside it, an ``artifacts``
folder inside it, the operating-system user, 4 GiB, 2 GiB).

A leaf module (standard library and :mod:`labsight.exceptions` only), so that readers below the API
can take the size limits' defaults from here.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from labsight.exceptions import InputError

__all__ = [
    "DEFAULT_MAX_EXPANDED_BYTES",
    "DEFAULT_MAX_FILE_BYTES",
    "MAX_EXPANDED_BYTES_ENV",
    "MAX_FILE_BYTES_ENV",
    "Settings",
    "format_size",
    "parse_size",
    "size_limit",
]

MAX_FILE_BYTES_ENV = "LABSIGHT_MAX_FILE_BYTES"
MAX_EXPANDED_BYTES_ENV = "LABSIGHT_MAX_EXPANDED_BYTES"
DEFAULT_MAX_FILE_BYTES = 4 * 1024**3
"""Largest input file read, as stored on disk: 4 GiB."""
# Decompressed content is held in memory whole (next to the table read from it), so its cap is lower.
DEFAULT_MAX_EXPANDED_BYTES = 2 * 1024**3
"""Largest decompressed content of a gzipped input file: 2 GiB."""
_DEFAULTS = {
    MAX_FILE_BYTES_ENV: DEFAULT_MAX_FILE_BYTES,
    MAX_EXPANDED_BYTES_ENV: DEFAULT_MAX_EXPANDED_BYTES,
}

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:([kmgt])(i?)(b?))?\s*(?:bytes?)?\s*$", re.IGNORECASE)
_PREFIXES = "kmgt"


def parse_size(text: str, *, name: str) -> int:
    """Bytes from a size such as ``"4294967296"``, ``"4GiB"``, ``"500 MB"`` or ``"2g"``.

    ``KiB``/``MiB``/``GiB`` (and ``k``/``m``/``g`` alone) are powers of 1024; ``kB``/``MB``/``GB``
    powers of 1000. ``name`` is the setting, named in the error.

    Examples
    --------
    >>> parse_size("4GiB", name="LABSIGHT_MAX_FILE_BYTES"), parse_size("1.5 MB", name="x")
    (4294967296, 1500000)
    """
    match = _SIZE.match(text)
    size = 0
    if match is not None:
        number, prefix, binary, byte = match.groups()
        power = _PREFIXES.index(prefix.lower()) + 1 if prefix else 0
        base = 1024 if binary or not byte else 1000
        size = int(float(number) * base**power)
    if size < 1:
        raise InputError(
            f"{name}={text!r} is not a size",
            expected="a positive number of bytes such as 4294967296, 4GiB or 500MB",
            hint=f"Fix or unset {name}.",
        )
    return size


def format_size(size: int) -> str:
    """A byte count as people say it: ``"2 GiB"``, ``"1.5 MiB"``, ``"900 bytes"``.

    Examples
    --------
    >>> format_size(2 * 1024**3), format_size(1536 * 1024), format_size(900)
    ('2 GiB', '1.5 MiB', '900 bytes')
    """
    for power, unit in ((4, "TiB"), (3, "GiB"), (2, "MiB"), (1, "KiB")):
        if size >= 1024**power:
            return f"{size / 1024**power:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def size_limit(name: str, env: Mapping[str, str] | None = None) -> int:
    """The size limit setting ``name`` (:data:`MAX_FILE_BYTES_ENV` or :data:`MAX_EXPANDED_BYTES_ENV`)
    from the environment, else its default."""
    text = (os.environ if env is None else env).get(name)
    return parse_size(text, name=name) if text else _DEFAULTS[name]


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


@dataclass(frozen=True)
class Settings:
    """Where a workspace keeps its things, and the limits on what it reads.

    Attributes
    ----------
    home
        The workspace folder (``LABSIGHT_HOME``; default ``./.labsight``).
    db_url
        The database (``LABSIGHT_DB_URL``; default SQLite inside ``home``).
    artifacts_url
        Where stored tables and models go (``LABSIGHT_ARTIFACTS``; default ``home/artifacts``).
    user
        Who is acting, for the audit trail (``LABSIGHT_USER``; default the operating-system user).
    max_file_bytes
        The largest input file ingest reads, as it is on disk (``LABSIGHT_MAX_FILE_BYTES``; default
        4 GiB). Sizes may be written ``4294967296``, ``4GiB`` or ``4000MB``.
    max_expanded_bytes
        The most a gzipped input file may decompress to (``LABSIGHT_MAX_EXPANDED_BYTES``; default
        2 GiB); decompression stops as soon as it passes this, so a small file that expands to far
        more (a "gzip bomb") is refused without filling memory.

    Examples
    --------
    >>> s = Settings.resolve(home="/tmp/lab", env={})
    >>> s.db_url
    'sqlite:////tmp/lab/labsight.db'
    >>> s.artifacts_url
    '/tmp/lab/artifacts'
    """

    home: Path
    db_url: str
    artifacts_url: str
    user: str
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_expanded_bytes: int = DEFAULT_MAX_EXPANDED_BYTES

    @classmethod
    def resolve(
        cls,
        home: str | os.PathLike[str] | None = None,
        *,
        db_url: str | None = None,
        artifacts_url: str | None = None,
        user: str | None = None,
        max_file_bytes: int | None = None,
        max_expanded_bytes: int | None = None,
        env: dict[str, str] | None = None,
    ) -> Settings:
        environ = dict(os.environ) if env is None else env
        root = Path(home or environ.get("LABSIGHT_HOME") or ".labsight").expanduser().absolute()
        db = db_url or environ.get("LABSIGHT_DB_URL") or f"sqlite:///{root / 'labsight.db'}"
        artifacts = artifacts_url or environ.get("LABSIGHT_ARTIFACTS") or str(root / "artifacts")
        who = user or environ.get("LABSIGHT_USER") or _os_user()
        return cls(
            home=root,
            db_url=db,
            artifacts_url=artifacts,
            user=who,
            max_file_bytes=max_file_bytes or size_limit(MAX_FILE_BYTES_ENV, environ),
            max_expanded_bytes=max_expanded_bytes or size_limit(MAX_EXPANDED_BYTES_ENV, environ),
        )

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")
