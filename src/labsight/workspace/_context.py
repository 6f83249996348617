"""What every feature of a workspace is given: the settings, the database, the artifact store and
who acts — never the whole :class:`~labsight.workspace.Workspace`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labsight.config import Settings
    from labsight.store import ArtifactStore, Database

__all__ = ["Context", "StepCallback"]

StepCallback = Callable[[str], None]
"""Told each step of a long operation in words ("reading runs.csv"), for a face's progress line."""


def _noop(_: str) -> None:
    return None


@dataclass(frozen=True)
class Context:
    """The parts of an open workspace that datasets, models, campaigns, jobs and the audit log
    work with."""

    settings: Settings
    db: Database
    artifacts: ArtifactStore

    @property
    def user(self) -> str:
        """Who acts: recorded in every audit entry."""
        return self.settings.user
