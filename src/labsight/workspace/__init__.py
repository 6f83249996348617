"""The workspace: the one object that owns the store, the artifacts and the settings, and hands out
every feature of labsight as a module of its own.

Where things live (a newcomer finds each from the file name):

- ``datasets.py``: ingest, versions, cleaning, clustering, deletion (:class:`Datasets`,
  :class:`DatasetVersion`); ``ws.ingest``, ``ws.dataset`` … are its methods.
- ``models.py``: the model registry (``ws.models``): train, register, stage, load, predict, export.
- ``campaigns.py``: design campaigns (``ws.new_campaign``, ``ws.campaign``): suggest, record,
  status, analysis.
- ``jobs.py``: background work (``design suggest --background``), with its marker files.
- ``audit_log.py``: the audit trail as users read it (``ws.audit``): entries, verify, export.
- ``_context.py``: what each of them is given — database, artifacts, settings, acting user —
  never the whole :class:`Workspace`. Imports go one way: the features import the context (and
  the registry the datasets), this module imports the features, nothing here imports this module.

**The rule for faces** (the CLI today; REST, web and stream next): a face parses its input, calls
one core method here, and renders what comes back. Logic a face needs that is not parsing or
rendering belongs in this package (or below it), so that every face gives the same answer.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from labsight import audit
from labsight.audit import events
from labsight.config import Settings
from labsight.exceptions import InputError
from labsight.store import ArtifactStore, Database
from labsight.workspace._context import Context
from labsight.workspace.accounts import Accounts, Principal
from labsight.workspace.audit_log import AuditLog
from labsight.workspace.config import WorkspaceConfig
from labsight.workspace.datasets import (
    FILE_SUFFIXES,
    Datasets,
    DatasetVersion,
    OnIssue,
    ReadFile,
    StepCallback,
    is_file_source,
    role_overrides,
    version_hash,
)
from labsight.workspace.models import ModelRegistry
from labsight.workspace.signatures import Signatures

if TYPE_CHECKING:
    from labsight.design.space import Space
    from labsight.store.entities import CampaignRecord
    from labsight.workspace.campaigns import Campaign

__all__ = [
    "FILE_SUFFIXES",
    "Accounts",
    "AuditLog",
    "Context",
    "DatasetVersion",
    "Datasets",
    "ModelRegistry",
    "OnIssue",
    "Principal",
    "ReadFile",
    "Signatures",
    "StepCallback",
    "Workspace",
    "WorkspaceConfig",
    "is_file_source",
    "role_overrides",
    "version_hash",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _on_datasets(
    method: Callable[Concatenate[Datasets, _P], _R],
) -> Callable[Concatenate[Workspace, _P], _R]:
    """``ws.ingest`` and the like: the :class:`Datasets` method itself, with its signature and
    documentation, called on the workspace's datasets (one definition, not a copy)."""

    @functools.wraps(method)
    def call(ws: Workspace, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        return method(ws._datasets, *args, **kwargs)

    return call


class Workspace:
    """A labsight workspace: a home folder with a database and an artifact store.

    Parameters
    ----------
    home
        The workspace folder (default: ``$LABSIGHT_HOME`` or ``./.labsight``).
    db_url
        SQLAlchemy URL (default: ``$LABSIGHT_DB_URL`` or SQLite inside ``home``).
    artifacts_url
        fsspec URL of the artifact store (default: ``$LABSIGHT_ARTIFACTS`` or ``home/artifacts``).
    user
        Who acts (default: ``$LABSIGHT_USER`` or the operating-system user).

    Examples
    --------
    >>> import tempfile, labsight
    >>> ws = labsight.Workspace(tempfile.mkdtemp())
    >>> ds = ws.ingest(labsight.example_path("chem_proc_yield"), name="yield", on_issue="ignore")
    >>> ds.rows, ds.ref.startswith("yield@")
    (176, True)
    >>> ws.audit.verify().ok
    True
    """

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        db_url: str | None = None,
        artifacts_url: str | None = None,
        user: str | None = None,
    ) -> None:
        self.settings = Settings.resolve(
            home, db_url=db_url, artifacts_url=artifacts_url, user=user
        )
        if self.settings.is_sqlite:
            try:
                self.settings.home.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError) as exc:
                raise InputError(
                    f"the workspace home {str(self.settings.home)!r} is a file, not a folder",
                    hint="Pass --home (or set LABSIGHT_HOME) to a folder",
                ) from exc
        self.artifacts = ArtifactStore(self.settings.artifacts_url)
        self.db = Database(self.settings.db_url)
        if self.db.upgraded_from is not None:
            self._seal_upgraded(self.db.upgraded_from)
        self.artifacts.sweep_temporaries()
        self._features(Context(self.settings, self.db, self.artifacts))

    def _features(self, ctx: Context) -> None:
        self._ctx = ctx
        self._datasets = Datasets(ctx)
        self.audit = AuditLog(ctx)
        """The audit trail: ``ws.audit.entries()``, ``.verify()``, ``.export()``."""
        self.models = ModelRegistry(ctx, self._datasets)
        """The model registry: ``ws.models.train(ds, target)``, ``.list()``, ``.load(ref)`` …"""
        self.accounts = Accounts(ctx)
        """Users, tokens, sessions: ``ws.accounts.add_user(…)``, ``.authenticate(…)``."""
        self.signatures = Signatures(ctx, self.accounts)
        """Electronic signatures: ``ws.signatures.sign(ref, meaning, password, reason=…)``."""
        self.config = WorkspaceConfig(ctx)
        """Settings kept in the database: ``ws.config.set("regulated", "true", reason=…)``."""

    def acting_as(self, user: str) -> Workspace:
        """This workspace (the same database and artifacts, no new connection) acting as
        ``user``: every audit entry it writes names them. The server calls it with the user that
        authentication established."""
        view = object.__new__(Workspace)
        view.settings = dataclasses.replace(self.settings, user=user)
        view.artifacts, view.db = self.artifacts, self.db
        view._features(Context(view.settings, self.db, self.artifacts))
        return view

    def __repr__(self) -> str:
        return f"Workspace({str(self.settings.home)!r}, db={self.db.safe_url!r})"

    def _seal_upgraded(self, revision: str) -> None:
        """Seal the rows of a workspace made before rows were sealed, in one audit entry.

        Rows are bound to the trail from here on; what the chain said before is recorded with them.
        """
        with self.db.write() as session:
            seals = audit.seal_all(session)
            if not seals:
                return
            chain = audit.verify_chain(session)
            event = events.rows_sealed(revision, len(seals), chain.ok)
            audit.record(session, event, self.user, seals=seals)

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def user(self) -> str:
        return self.settings.user

    # -- datasets: the methods of :class:`Datasets`, on this workspace's ------------------------

    ingest = _on_datasets(Datasets.ingest)
    dataset = _on_datasets(Datasets.dataset)
    datasets = _on_datasets(Datasets.datasets)
    info = _on_datasets(Datasets.info)
    history = _on_datasets(Datasets.history)
    delete = _on_datasets(Datasets.delete)
    clean = _on_datasets(Datasets.clean)
    clean_file = _on_datasets(Datasets.clean_file)
    plan_of = _on_datasets(Datasets.plan_of)
    cluster = _on_datasets(Datasets.cluster)
    embed = _on_datasets(Datasets.embed)
    anomalies = _on_datasets(Datasets.anomalies)
    denoise = _on_datasets(Datasets.denoise)
    source = _on_datasets(Datasets.source)

    # -- campaigns --------------------------------------------------------------------------------

    def new_campaign(
        self,
        name: str,
        space: Space | str | os.PathLike[str],
        *,
        seed: int = 0,
        acquisition: str | None = None,
        reason: str | None = None,
    ) -> Campaign:
        """Start a design campaign from a space (a :class:`~labsight.design.Space` or a YAML/JSON
        file); the space is stored whole and the creation audited."""
        from labsight.workspace.campaigns import new_campaign

        return new_campaign(
            self._ctx, name, space, seed=seed, acquisition=acquisition, reason=reason
        )

    def campaign(self, name: str) -> Campaign:
        """A stored campaign: ``c.suggest(4)``, ``c.record(df)``, ``c.best()``, ``c.plot()``."""
        from labsight.store import campaigns as repo
        from labsight.workspace.campaigns import Campaign

        with self.db.read() as session:
            return Campaign(self._ctx, repo.get_campaign(session, name))

    def campaigns(self) -> list[CampaignRecord]:
        """Every campaign, by name, with its counts of experiments and results."""
        from labsight.store import campaigns as repo

        with self.db.read() as session:
            return repo.list_campaigns(session)
