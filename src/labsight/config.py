"""Settings: where the workspace lives, which database and artifact store it uses, who is acting.

Resolved once, in this order: explicit arguments, then environment variables (``LABSIGHT_HOME``,
``LABSIGHT_DB_URL``, ``LABSIGHT_ARTIFACTS``, ``LABSIGHT_USER``), then defaults (``./.labsight``, SQLite
inside it, an ``artifacts`` folder inside it, the operating-system user).
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings"]


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


@dataclass(frozen=True)
class Settings:
    """Where a workspace keeps its things.

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

    @classmethod
    def resolve(
        cls,
        home: str | os.PathLike[str] | None = None,
        *,
        db_url: str | None = None,
        artifacts_url: str | None = None,
        user: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Settings:
        environ = dict(os.environ) if env is None else env
        root = Path(home or environ.get("LABSIGHT_HOME") or ".labsight").expanduser().absolute()
        db = db_url or environ.get("LABSIGHT_DB_URL") or f"sqlite:///{root / 'labsight.db'}"
        artifacts = artifacts_url or environ.get("LABSIGHT_ARTIFACTS") or str(root / "artifacts")
        who = user or environ.get("LABSIGHT_USER") or _os_user()
        return cls(home=root, db_url=db, artifacts_url=artifacts, user=who)

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")
