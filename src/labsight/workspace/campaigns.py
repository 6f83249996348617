"""Design campaigns of a workspace: a space, its suggestions and results, stored and audited.

Kept apart from :mod:`labsight.workspace` (reached as ``ws.new_campaign(...)`` and
``ws.campaign(name)``), like the model registry. A :class:`Campaign` is a thin, stateless view
on the store: every call reads what is stored, so two processes — or one restarted cold — see the
same campaign and, for the same seed, suggest the same next experiments.

Recording results (:meth:`Campaign.record`) accepts a file or a frame with objective columns and
either an ``experiment_id`` column or the parameter columns (or both, which must then agree). A row
is matched to its experiment by id, else by conditions (a pending suggestion first, then one
already run: a replicate); conditions that match nothing but lie inside the space become a new
experiment (``recorded``). Partial rows (some objectives blank) count; rows with no result at all
are skipped. Everything is checked before anything is stored: one bad row, and nothing changes.
The ``'`` that ``design suggest --out`` puts before a level or a header that would start a
spreadsheet formula (``'=x``, ``'-OMe``) is taken off again, so a template reads back as written:
writing the template and reading it back are both :mod:`labsight.design.template`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from labsight import audit
from labsight.audit import events
from labsight.data.table import Table
from labsight.design.template import write_template
from labsight.exceptions import ConflictError, InputError
from labsight.store import campaigns as repo
from labsight.store.entities import CampaignRecord, ExperimentRecord, ResultRecord
from labsight.store.names import validate_name
from labsight.workspace import jobs
from labsight.workspace._context import Context
from labsight.workspace._results import EXPERIMENT_ID, ResultRows, as_table

if TYPE_CHECKING:
    from labsight.design._status_text import StatusSummary
    from labsight.design.analysis import Analysis
    from labsight.design.insight import Status
    from labsight.design.space import Space

__all__ = ["Campaign", "RecordSummary", "new_campaign"]


def _space_hash(space: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(space, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class RecordSummary:
    """What :meth:`Campaign.record` stored."""

    results: int
    experiments: list[str]
    new_experiments: list[str]
    replicates: int
    skipped: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "results": self.results,
            "experiments": self.experiments,
            "new_experiments": self.new_experiments,
            "replicates": self.replicates,
            "skipped": self.skipped,
        }


def new_campaign(
    ctx: Context,
    name: str,
    space: Space | str | os.PathLike[str],
    *,
    seed: int = 0,
    acquisition: str | None = None,
    reason: str | None = None,
) -> Campaign:
    """Create a campaign (``ws.new_campaign``): the space is checked and stored whole."""
    from labsight.design._catalogue import CATALOGUE
    from labsight.design.space import Space, load_space

    validate_name(name, "campaign")
    if acquisition is not None and acquisition not in CATALOGUE:
        raise InputError(f"unknown acquisition {acquisition!r}", expected=", ".join(CATALOGUE))
    resolved = space if isinstance(space, Space) else load_space(Path(space))
    stored = resolved.to_dict()
    # the setting is stored resolved: a campaign stored before warps existed has no key, and
    # goes on unwarped (space_from_dict)
    stored["surrogate"].setdefault("warp", "auto")
    digest = _space_hash(stored)
    with ctx.db.write() as session:
        record = repo.add_campaign(
            session,
            name=name,
            space=stored,
            space_sha256=digest,
            seed=seed,
            acquisition=acquisition,
            actor=ctx.user,
        )
        audit.record(
            session,
            events.campaign_created(
                name,
                digest,
                reason=reason,
                details={
                    "parameters": resolved.names,
                    "objectives": resolved.objective_names,
                    "seed": seed,
                    "acquisition": acquisition,
                },
            ),
            ctx.user,
        )
    return Campaign(ctx, record)


class Campaign:
    """One campaign of a workspace (``ws.campaign(name)``)."""

    def __init__(self, ctx: Context, record: CampaignRecord) -> None:
        self._ctx = ctx
        self.name = record.name
        self.seed = record.seed
        self.acquisition = record.acquisition
        from labsight.design.space import space_from_dict

        try:
            self.space = space_from_dict(record.space, stored=True)
        except InputError:
            self._stored()  # a row edited outside labsight is named as such (AuditChainError)
            raise

    def __repr__(self) -> str:
        return f"Campaign({self.name!r})"

    def _repr_html_(self) -> str:
        """The campaign in a notebook: its space, progress and the best result measured for
        each objective (read from the store; :meth:`status` adds the surrogate's view)."""
        from labsight._display import html_card, html_table

        experiments, results = self._stored()
        pending = self._pending(experiments, results).height
        space = self.space
        lines = [
            "parameters: " + ", ".join(p.label() for p in space.parameters),
            "objectives: "
            + ", ".join(f"{o.label()} ({o.goal})" for o in space.objectives)
            + f"; seed {self.seed}",
            f"{len(results)} results of {len(experiments)} experiments; {pending} pending",
        ]
        frame = self._results_frame(experiments, results)
        rows = []
        for o in space.objectives:
            done = frame.filter(pl.col(o.name).is_not_null() & pl.col(o.name).is_not_nan())
            if done.height:
                best = done.sort(o.name, descending=o.maximizing).row(0, named=True)
                conditions = ", ".join(
                    f"{p.label()} = {best[p.name]:.4g}"
                    if isinstance(best[p.name], float)
                    else f"{p.label()} = {best[p.name]}"
                    for p in space.parameters
                )
                rows.append([o.label(), best[o.name], best[EXPERIMENT_ID], conditions])
        tables = []
        if rows:
            header = ["objective", "best measured", "experiment", "conditions"]
            tables.append(html_table(header, rows))
        return html_card(f"Campaign {self.name}", lines, tables)

    # -- reading -----------------------------------------------------------------------------

    @property
    def record_(self) -> CampaignRecord:
        with self._ctx.db.read() as session:
            return repo.get_campaign(session, self.name)

    def _stored(self) -> tuple[list[ExperimentRecord], list[ResultRecord]]:
        with self._ctx.db.read() as session:
            # results drive every suggestion: refuse ones changed behind labsight's back
            audit.check_sealed(  # the rows are all of them: a deleted result is refused too
                session,
                repo.campaign_rows(session, self.name),
                "campaign",
                self.name,
                present={"experiment": (), "result": ()},
            )
            return repo.list_experiments(session, self.name), repo.list_results(session, self.name)

    def _frame(self, rows: list[dict[str, Any]], extra: dict[str, Any]) -> pl.DataFrame:
        schema: dict[str, Any] = {EXPERIMENT_ID: pl.String}
        for p in self.space.parameters:
            schema[p.name] = pl.Float64 if p.numeric else pl.String
        return pl.DataFrame(rows, schema=schema | extra)

    def experiments(self) -> pl.DataFrame:
        """Every experiment: id, conditions, how it was chosen, the surrogate's expectation,
        how many results it has."""
        return self._experiments_frame(*self._stored())

    def _experiments_frame(
        self, experiments: list[ExperimentRecord], results: list[ResultRecord]
    ) -> pl.DataFrame:
        counts: dict[str, int] = {}
        for r in results:
            counts[r.experiment_id] = counts.get(r.experiment_id, 0) + 1
        rows = []
        for e in experiments:
            row: dict[str, Any] = {EXPERIMENT_ID: e.experiment_id, **e.conditions}
            for o in self.space.objectives:
                guess = e.prediction.get(o.name) or {}
                row[f"predicted_{o.name}"] = guess.get("mean")
                row[f"predicted_{o.name}_sd"] = guess.get("sd")
            row |= {"method": e.method, "batch": e.batch, "results": counts.get(e.experiment_id, 0)}
            row["best_guess"] = bool(e.prediction.get("best_guess"))
            row |= {"suggested": e.suggested, "suggested_by": e.suggested_by}
            rows.append(row)
        extra: dict[str, Any] = {}
        for o in self.space.objectives:
            extra |= {f"predicted_{o.name}": pl.Float64, f"predicted_{o.name}_sd": pl.Float64}
        extra |= {"method": pl.String, "batch": pl.Int64, "results": pl.Int64}
        extra |= {"best_guess": pl.Boolean}
        extra |= {"suggested": pl.Datetime("us", "UTC"), "suggested_by": pl.String}
        return self._frame(rows, extra)

    def results(self) -> pl.DataFrame:
        """One row per recorded result: experiment id, conditions, objective values, who/when."""
        return self._results_frame(*self._stored())

    def _results_frame(
        self, experiments: list[ExperimentRecord], results: list[ResultRecord]
    ) -> pl.DataFrame:
        by_id = {e.experiment_id: e for e in experiments}
        rows = []
        for r in results:
            row: dict[str, Any] = {
                EXPERIMENT_ID: r.experiment_id,
                **by_id[r.experiment_id].conditions,
            }
            row |= {o.name: r.values.get(o.name) for o in self.space.objectives}
            row |= {"recorded": r.recorded, "recorded_by": r.recorded_by, "source": r.source}
            rows.append(row)
        extra: dict[str, Any] = {o.name: pl.Float64 for o in self.space.objectives}
        extra |= {
            "recorded": pl.Datetime("us", "UTC"),
            "recorded_by": pl.String,
            "source": pl.String,
        }
        return self._frame(rows, extra)

    def observations(self) -> pl.DataFrame:
        """The results as the planner reads them: conditions and objective values."""
        return self._observations(*self._stored())

    def _observations(
        self, experiments: list[ExperimentRecord], results: list[ResultRecord]
    ) -> pl.DataFrame:
        frame = self._results_frame(experiments, results)
        return frame.select([*self.space.names, *self.space.objective_names])

    def pending(self) -> pl.DataFrame:
        """Experiments suggested and not run yet (no result recorded)."""
        return self._pending(*self._stored())

    def _pending(
        self, experiments: list[ExperimentRecord], results: list[ResultRecord]
    ) -> pl.DataFrame:
        return self._experiments_frame(experiments, results).filter(pl.col("results") == 0)

    # -- insight -----------------------------------------------------------------------------

    def status(self, objective: str | None = None) -> Status:
        """Best so far with its uncertainty, progress, model fit, importance, improvement left.

        ``objective``: the one that a single-objective view reads (importance, improvement left;
        default the first): the space's objectives with it first.

        Raises
        ------
        InputError
            For an objective the campaign does not have.
        """
        return self._status(self.space.focused(objective), *self._stored())

    def _status(
        self, space: Space, experiments: list[ExperimentRecord], results: list[ResultRecord]
    ) -> Status:
        from labsight.design.insight import campaign_status

        return campaign_status(
            space,
            self._results_frame(experiments, results),
            experiments=len(experiments),
            pending=self._pending(experiments, results).height,
            seed=self.seed,
        )

    def best(self) -> list[dict[str, Any]]:
        """The best result so far (several objectives: the Pareto front), each with its
        experiment, conditions, values, replicates and the surrogate's mean ± sd there."""
        return self.status().best

    def status_summary(self, status: Status | None = None) -> StatusSummary:
        """The status in words, as every face shows it: the best results as a table (title,
        header, rows of text), the sentences on fit, importance and improvement left, and how many
        combinations of levels were never tried
        (:class:`~labsight.design._status_text.StatusSummary`). ``status``: one already made by
        :meth:`status` (default: made here)."""
        from labsight.design._status_text import summarise

        return summarise(self.space, status if status is not None else self.status())

    def plot(self, objective: str | None = None, *, status: Status | None = None) -> dict[str, Any]:
        """The campaign as Plotly figures: ``progress``, ``importance``, ``landscape`` (predicted
        objective over the two parameters that matter most) and, for several objectives,
        ``pareto``.

        ``objective``: the one the figures are about (default the first; the Pareto front puts it
        on the x axis). ``status``: one already made by :meth:`status` with the same objective,
        so the surrogate is not fitted twice.

        Raises
        ------
        InputError
            For an objective the campaign does not have.
        """
        from labsight.design.insight import campaign_figures

        space = self.space.focused(objective)
        experiments, results = self._stored()
        if status is None:
            status = self._status(space, experiments, results)
        return campaign_figures(space, self._results_frame(experiments, results), status)

    def status_page(self, status: Status | None = None) -> str:
        """The status as one self-contained HTML page (what ``labsight design status --out``
        writes): the same table and sentences as :meth:`status_summary`, then the figures of
        :meth:`plot`, in the look of the other labsight reports; it loads nothing from the
        network. ``status``: one already made by :meth:`status` (default: made here)."""
        from labsight.design._status_page import render_status

        if status is None:
            status = self.status()
        summary = self.status_summary(status)
        return render_status(
            self.name,
            status,
            self.plot(status=status),
            table=summary.table,
            notes=summary.notes,
        )

    def write_status_page(self, path: str | os.PathLike[str], status: Status | None = None) -> Path:
        """Write :meth:`status_page` to ``path`` (atomically: a reader never sees half a page);
        returns the path."""
        from labsight._atomic import atomic_write_text

        target = Path(path)
        atomic_write_text(target, self.status_page(status))
        return target

    def analysis(self, objective: str | None = None) -> Analysis:
        """Classical analysis of the results of ``objective`` (default: the first): main effects,
        two-factor interactions and a quadratic response surface with its optimum
        (:class:`~labsight.design.analysis.Analysis`).

        Raises
        ------
        InputError
            For an objective the campaign does not have, or fewer than three results of it.
        """
        from labsight.design.analysis import analyse

        return analyse(self.space, self.results(), objective)

    # -- suggesting --------------------------------------------------------------------------

    def suggest(
        self,
        batch: int = 4,
        *,
        acquisition: str | None = None,
        initial: dict[str, Any] | None = None,
        reason: str | None = None,
        progress: Callable[[str], None] | None = None,
        out: str | os.PathLike[str] | None = None,
        background_job: bool = False,
        replicates: bool = False,
    ) -> pl.DataFrame:
        """The next ``batch`` experiments, stored with their ids and audited. Until every
        objective has two results (and, with continuous parameters, there is one result more than
        there are parameters) they come from the initial design; then from Bayesian
        optimisation (``acquisition``, default the campaign's, else qLogNEI / qLogNEHVI).
        ``progress`` is called with each step ("fitting the surrogate…", "choosing experiment 2
        of 5…"). ``out``: also write the results template of the batch there
        (:meth:`write_template`). ``background_job``: this process is the campaign's background
        suggestion (started by :meth:`suggest_in_background`); at the end it is marked done, or
        failed with the error. ``replicates``: near-copies of experiments run or suggested (and
        of each other) may be proposed; by default a batch holds none.

        Returns the experiments (``experiment_id``, the conditions, ``predicted_<objective>`` and
        its ``_sd``, ``method``, ``best_guess``: whether it is the batch's best guess).

        Raises
        ------
        ConflictError
            While a suggestion for this campaign runs in the background
            (``labsight design suggest --background``).
        """
        try:
            frame = self._suggest(
                batch,
                acquisition=acquisition,
                initial=initial,
                reason=reason,
                progress=progress,
                replicates=replicates,
            )
            if out is not None:
                self.write_template(out, frame)
        except Exception as exc:
            if background_job:
                jobs.finish(self._ctx.settings.home, "design-suggest", self.name, error=str(exc))
            raise
        if background_job:
            jobs.finish(self._ctx.settings.home, "design-suggest", self.name)
        return frame

    def _suggest(
        self,
        batch: int,
        *,
        acquisition: str | None,
        initial: dict[str, Any] | None,
        reason: str | None,
        progress: Callable[[str], None] | None,
        replicates: bool = False,
    ) -> pl.DataFrame:
        from labsight.design.planner import propose

        job = self.background()
        if job is not None and job["alive"] and int(job["pid"]) != os.getpid():
            raise ConflictError(
                f"a suggestion for campaign {self.name!r} is running in the background "
                f"(pid {job['pid']}, since {job['started']})",
                hint=f"Wait for it (labsight design show {self.name} lists its experiments), "
                f"or stop it: kill {job['pid']}",
            )
        experiments, results = self._stored()  # one snapshot of the store for the decision
        observed = self._observations(experiments, results)
        pending = self._pending(experiments, results).select(self.space.names)
        # The seed moves with the campaign, so a cold restart repeats exactly this suggestion.
        seed = self.seed + 7919 * len(experiments) + len(results)
        proposal = propose(
            self.space,
            observed,
            pending,
            batch,
            seed=seed,
            acquisition=acquisition or self.acquisition,
            initial=initial,
            progress=progress,
            replicates=replicates,
        )
        conditions = [_plain(row) for row in proposal.points.to_dicts()]
        predictions = [
            {**p, "model": proposal.model_state} if i == 0 and proposal.model_state else p
            for i, p in enumerate(proposal.predictions)
        ]
        with self._ctx.db.write() as session:
            stored = repo.add_experiments(
                session,
                self.name,
                conditions,
                method=proposal.method,
                predictions=predictions,
                actor=self._ctx.user,
            )
            audit.record(
                session,
                events.experiments_suggested(
                    self.name,
                    stored[0].experiment_id if stored else None,
                    stored[-1].experiment_id if stored else None,
                    conditions=hashlib.sha256(
                        json.dumps(conditions, sort_keys=True).encode()
                    ).hexdigest(),
                    reason=reason,
                    details={
                        "experiments": [e.experiment_id for e in stored],
                        "method": proposal.method,
                        "batch": stored[0].batch if stored else None,
                        "seed": seed,
                        "results": len(results),
                    },
                ),
                self._ctx.user,
            )
        if job is not None and not job["alive"]:  # a failed background try is superseded
            jobs.finish(self._ctx.settings.home, "design-suggest", self.name)
        # the rows just written, as stored (no result yet): no second read of the whole campaign
        return self._experiments_frame(stored, []).drop(
            "results", "suggested", "suggested_by", "batch"
        )

    def write_template(
        self, path: str | os.PathLike[str], experiments: pl.DataFrame | None = None
    ) -> Path:
        """Write the results template for the lab to fill in (:mod:`labsight.design.template`:
        id, conditions, empty objective columns, what the surrogate expects; safe to open in a
        spreadsheet; :meth:`record` reads it back) for ``experiments`` (a frame of
        :meth:`suggest`; default: the pending ones). Returns the path."""
        frame = experiments if experiments is not None else self.pending()
        return write_template(self.space, frame, path)

    def background(self) -> jobs.Job | None:
        """The campaign's background suggestion (``pid``, ``started``, ``command``, ``log``,
        ``alive``, ``error``: why it failed), or None when none runs and the last one finished."""
        return jobs.current(self._ctx.settings.home, "design-suggest", self.name)

    def suggest_in_background(self, argv: Sequence[str]) -> jobs.Job:
        """Start the command line ``argv`` (a ``design suggest`` of this campaign, less
        ``--background``) as the campaign's detached job, which calls :meth:`suggest` with
        ``background_job=True``; returns the job (pid, started, command, log).

        Raises
        ------
        ConflictError
            While a suggestion for this campaign already runs in the background.
        """
        job = self.background()
        if job is not None and job["alive"]:
            raise ConflictError(
                f"a suggestion for campaign {self.name!r} is already running in the background "
                f"(pid {job['pid']}, since {job['started']})",
                hint=f"Wait for it (labsight design show {self.name}), or stop it: kill {job['pid']}",
            )
        return jobs.start(self._ctx.settings.home, "design-suggest", self.name, list(argv))

    # -- recording ---------------------------------------------------------------------------

    def record(
        self, results: pl.DataFrame | Table | str | os.PathLike[str], *, reason: str | None = None
    ) -> RecordSummary:
        """Store measured results (see the module docstring for how rows are matched).

        Raises
        ------
        InputError
            For a row naming an unknown experiment, conditions that contradict its experiment
            or lie outside the space, a result that is not a number, or no objective column.
        """
        table, path, digest = as_table(results)
        matched = ResultRows(self.name, self.space, self._stored(), table, path).rows()
        new = [m for m in matched if m.new]
        with self._ctx.db.write() as session:
            created = (
                repo.add_experiments(
                    session,
                    self.name,
                    [m.conditions for m in new],
                    method="recorded",
                    predictions=[{} for _ in new],
                    actor=self._ctx.user,
                )
                if new
                else []
            )
            for m, e in zip(new, created, strict=True):
                m.experiment_id = e.experiment_id
            for m in matched:
                if m.same_as is not None:  # a later row repeating a new experiment's conditions
                    m.experiment_id = matched[m.same_as].experiment_id
            stored = repo.add_results(
                session,
                self.name,
                [(m.experiment_id or "", m.values, m.source) for m in matched],
                actor=self._ctx.user,
            )
            audit.record(
                session,
                events.results_recorded(
                    self.name,
                    len(stored),
                    source=digest,
                    reason=reason,
                    details={
                        "experiments": sorted({m.experiment_id or "" for m in matched}),
                        "new_experiments": [e.experiment_id for e in created],
                        "source": str(path) if path else None,
                    },
                ),
                self._ctx.user,
            )
        ids = [m.experiment_id or "" for m in matched]
        return RecordSummary(
            results=len(stored),
            experiments=sorted(set(ids)),
            new_experiments=[e.experiment_id for e in created],
            replicates=sum(1 for m in matched if m.replicate),
            skipped=table.frame.height - len(matched),
        )


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """JSON-friendly conditions (numpy scalars to Python)."""
    return {
        k: (float(v) if isinstance(v, int | float | np.floating) else v) for k, v in row.items()
    }
