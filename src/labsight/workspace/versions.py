"""One stored version of a dataset (:class:`DatasetVersion`: its rows, columns and lineage, and
what can be done with it: quality, explore, clean) and a file read but not stored yet
(:class:`ReadFile`). Handed out by :class:`~labsight.workspace.datasets.Datasets`."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Unpack

import polars as pl

from labsight.data.findings import Finding
from labsight.data.table import ColumnInfo, Role, Table
from labsight.exceptions import InputError
from labsight.store import VersionRecord, read_frame
from labsight.store import datasets as repo
from labsight.workspace._context import StepCallback, _noop

if TYPE_CHECKING:
    import pandas as pd

    from labsight.data.clean import CleaningOptions, CleaningPlan
    from labsight.data.quality import QualityReport
    from labsight.explore import ExploreReport
    from labsight.workspace.datasets import Datasets  # for types only: datasets imports this

__all__ = ["DatasetVersion", "ReadFile"]


class DatasetVersion:
    """One stored version of a dataset, with what can be done with it.

    Returned by :meth:`Workspace.ingest`, :meth:`Workspace.dataset` and :meth:`clean`.
    ``created`` is False when an ingest found the content already stored.
    """

    def __init__(self, datasets: Datasets, record: VersionRecord, *, created: bool = True):
        self._datasets = datasets
        self.record = record
        self.created = created
        self._frame: pl.DataFrame | None = None

    def __repr__(self) -> str:
        return f"<DatasetVersion {self.ref} v{self.record.number}: {self.rows} rows>"

    def _repr_html_(self) -> str:
        """The version in a notebook: lineage, then its columns with units and roles (up to 50)."""
        from labsight._display import html_card, html_table

        r = self.record
        columns = self.columns
        lines = [
            f"{r.rows} rows × {len(columns)} columns; {r.operation} by {r.created_by}, "
            f"{r.created:%Y-%m-%d %H:%M} UTC" + (f"; from {r.parent}" if r.parent else "")
        ]
        if len(columns) > 50:
            lines.append(f"the first 50 of {len(columns)} columns (all in .columns):")
        rows = [[c.name, c.unit, c.dtype, c.role] for c in columns[:50]]
        return html_card(
            f"{self.ref} (v{r.number})",
            lines,
            [html_table(["column", "unit", "dtype", "role"], rows)],
        )

    def location(self) -> str:
        """Where the version's Parquet file lives in the artifact store."""
        return self._datasets.ctx.artifacts.location(self.record.sha256)

    @property
    def dataset(self) -> str:
        return self.record.dataset

    @property
    def version(self) -> str:
        return self.record.version

    @property
    def ref(self) -> str:
        return self.record.ref

    @property
    def rows(self) -> int:
        return self.record.rows

    @property
    def columns(self) -> list[ColumnInfo]:
        return [ColumnInfo.from_dict(c) for c in self.record.columns]

    @property
    def findings(self) -> list[Finding]:
        """What ingest noticed while reading (cells that were not numbers, mixed units)."""
        return [Finding.from_dict(f) for f in self.record.findings]

    def to_polars(self) -> pl.DataFrame:
        """The data as a polars DataFrame (loaded once, after its hash is checked)."""
        if self._frame is None:
            self._frame = read_frame(self._datasets.ctx.artifacts, self.record.sha256)
        return self._frame

    def to_pandas(self) -> pd.DataFrame:
        """The data as a pandas DataFrame."""
        return self.to_polars().to_pandas()

    def table(self, roles: Mapping[str, Role] | None = None) -> Table:
        """Frame, column metadata and ingest findings together; ``roles`` overrides roles."""
        columns = self.columns
        images = None
        if any(c.dtype == "image" for c in columns):
            from labsight.data.images import ImageFiles

            images = ImageFiles(store=self._datasets.ctx.artifacts.get_bytes)
        table = Table(self.to_polars(), columns, self.findings, images=images)
        if roles:
            missing = [c for c in roles if c not in table.frame.columns]
            if missing:
                raise InputError(
                    f"no column {missing[0]!r} in {self.ref}",
                    expected="one of " + ", ".join(repr(c) for c in table.frame.columns[:30]),
                )
            table = table.with_roles(dict(roles))
        return table

    def to_units(self, units: Mapping[str, str]) -> pl.DataFrame:
        """The data with some columns converted, e.g. ``{"temperature [degC]": "K"}``.

        Converted columns are renamed to show their new unit (``temperature [K]``). A column without a
        unit, or a unit of another dimension, is refused with :class:`~labsight.UnitError`.
        """
        from labsight.data.units import convert, parse_unit, rename_unit_in_header
        from labsight.exceptions import UnitError

        frame = self.to_polars()
        infos = {c.name: c for c in self.columns}
        renamed: dict[str, str] = {}
        converted: list[pl.Series] = []
        for col, target in units.items():
            if col not in infos:
                raise InputError(
                    f"no column {col!r} in {self.ref}",
                    expected="one of " + ", ".join(repr(c) for c in frame.columns[:30]),
                )
            unit = infos[col].unit
            if unit is None:
                raise UnitError(
                    f"column {col!r} of {self.ref} has no unit to convert from",
                    hint="Give the unit in the header, e.g. 'temperature [degC]', and ingest again",
                )
            to = parse_unit(target)
            renamed[col] = rename_unit_in_header(col, to)
            converted.append(pl.Series(renamed[col], convert(frame[col].to_numpy(), unit, to)))
        return frame.with_columns(converted).select([renamed.get(c, c) for c in frame.columns])

    def quality(
        self,
        *,
        roles: Mapping[str, Role] | None = None,
        checks: Sequence[str] | None = None,
        multivariate: bool = False,
    ) -> QualityReport:
        """What is wrong with this version (see :func:`labsight.data.quality.check_table`)."""
        from labsight.data.quality import check_table

        return check_table(self.table(roles), checks=checks, multivariate=multivariate)

    def explore(self, **options: Any) -> ExploreReport:
        """An exploratory report of this version (see :func:`labsight.explore.explore`)."""
        from labsight.explore import explore

        return explore(self.table(), title=self.ref, **options)

    def lineage(self) -> list[VersionRecord]:
        """This version and its ancestors, newest first."""
        chain = [self.record]
        seen = {self.ref}
        while chain[-1].parent is not None and chain[-1].parent not in seen:
            seen.add(chain[-1].parent)
            chain.append(self._datasets.dataset(chain[-1].parent).record)
        return chain

    def clean(
        self,
        /,
        *,
        plan: CleaningPlan | str | os.PathLike[str] | None = None,
        name: str | None = None,
        reason: str | None = None,
        save_plan: str | os.PathLike[str] | None = None,
        on_step: StepCallback = _noop,
        **options: Unpack[CleaningOptions],
    ) -> DatasetVersion:
        """Clean this version into a new one (of this dataset, or of ``name``).

        Either give the options (a plan is fitted on this data) or a ``plan`` to replay: a
        :class:`~labsight.data.clean.CleaningPlan`, a YAML/JSON plan file, or a cleaned version's
        reference whose plan is reused. ``save_plan`` also writes the plan applied to that file
        (YAML, or JSON for ``.json``), once the result is stored.

        When the plan changes nothing (the data is already clean for it), nothing is stored: this
        version comes back, with ``created`` False, and ``save_plan`` is written all the same. A
        derived column (``y__outlier``, ``y__sd``, ``n_replicates``) never replaces a column of the
        table: a taken name gets a suffix (``y__outlier_2``), named in the change log.
        """
        from labsight.data.clean import apply_plan

        dataset = repo.validate_name(name or self.dataset)  # before anything is written
        table = self.table()
        plan = self._datasets.fit_plan(table, plan, options, on_step)
        on_step("applying the plan")
        result = apply_plan(table, plan)
        cleaned = result.table
        if (
            dataset == self.dataset
            and cleaned.columns == table.columns
            and cleaned.frame.schema == table.frame.schema
            and cleaned.frame.equals(table.frame)
        ):
            # Nothing changed: the data is this version's (which its hash would name); no file,
            # no version, no entry.
            if save_plan is not None:
                plan.save(save_plan)
            return DatasetVersion(self._datasets, self.record, created=False)
        plan_key = self._datasets.ctx.artifacts.put_bytes(plan.to_yaml().encode(), ".yaml")
        version = self._datasets.store_table(
            dataset,
            result.table,
            operation="clean",
            params={"plan": plan.to_dict(), "plan_sha256": plan_key, "changes": result.changes},
            parent=self.record,
            source=None,
            inputs=[self.record.sha256, plan_key],
            reason=reason,
            on_step=on_step,
            details={"steps": [s.op for s in plan.steps]},
        )
        if save_plan is not None:  # after the version: a failed clean writes no plan file
            plan.save(save_plan)
        return version


@dataclasses.dataclass
class ReadFile:
    """A file read by :meth:`Datasets.read_file`: its table, and how to store it as an ingest.

    Operations that take a file and may still refuse it (``train FILE``) work on ``table`` first
    and store it only when they succeed, so a refusal leaves the workspace as it was.
    """

    datasets: Datasets
    dataset: str
    table: Table
    params: dict[str, Any]

    def store(self, *, reason: str | None = None, on_step: StepCallback = _noop) -> DatasetVersion:
        """Store the table as a new version of ``dataset`` (audited as ``dataset.ingest``)."""
        source = self.table.source.to_dict() if self.table.source is not None else None
        return self.datasets.store_table(
            self.dataset,
            self.table,
            operation="ingest",
            params=self.params,
            parent=None,
            source=source,
            inputs=[source["sha256"]] if source else [],
            reason=reason,
            on_step=on_step,
        )
