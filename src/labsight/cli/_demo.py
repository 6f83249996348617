"""`labsight demo`: the shipped example from raw file to quality report, EDA report and model."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer

from labsight.cli._app import app, emit_json, out, steps, workspace
from labsight.cli._datasets import JsonOpt, _report_output, _version_dict
from labsight.cli._render import cell, leaderboard_table

__all__ = ["demo"]

_TARGET = "yield"
_BUDGET = 20.0  # seconds: enough for every family's defaults and some tuning on 176 rows


@app.command(epilog="Examples:\n\n  labsight demo\n\n  labsight --home /tmp/lab demo --budget 60")
def demo(
    budget: Annotated[
        float, typer.Option("--budget", min=1, help="Seconds for training the yield model.")
    ] = _BUDGET,
    json: JsonOpt = False,
) -> None:
    """Ingest the shipped example (chemical process yield), print its quality report, write its
    exploratory report into the workspace, and train a model of its yield (seed 0) with
    prediction intervals; a second run reuses what the first stored."""
    from labsight.examples import example_path

    ws = workspace()
    path = example_path("chem_proc_yield")
    with steps("demo", enabled=not json) as step:
        ds = ws.ingest(
            path, name="chem_proc_yield", on_issue="ignore", reason="labsight demo", on_step=step
        )
        report = ds.quality()
        step("writing the exploratory report")
        html = ds.explore().to_html(ws.settings.home / "chem_proc_yield-report.html")
        trained = [r for r in ws.models.list() if r.dataset == ds.ref and r.target == _TARGET]
        if trained:
            record = trained[-1]
        else:
            step(f"training a model of {_TARGET!r} ({budget:.0f} s)")
            record, _ = ws.models.train(ds, _TARGET, budget=budget, seed=0)
    summary = record.summary
    if json:
        emit_json(
            {
                "dataset": _version_dict(ds),
                "quality": report.to_dict(),
                "report": str(html),
                "model": {"model": record.model_id, "ref": record.ref, **summary["cv"]},
                "workspace": str(ws.settings.home),
            }
        )
        return
    roles = Counter(c.role for c in ds.columns)
    out.print(
        f"[bold green]{'ingested' if ds.created else 'already stored as'}[/] {ds.ref} "
        f"(v{ds.record.number}) from {cell(path.name)}: {ds.rows} rows × {len(ds.columns)} columns ("
        + ", ".join(f"{n} {role}" for role, n in roles.most_common())
        + ")"
    )
    _report_output(report, ds.ref, False, None)
    out.print(f"wrote {cell(ws.artifacts.location(ds.record.sha256))}")
    out.print(f"wrote {cell(str(html))} (open it in a browser; it works offline)")
    out.print(leaderboard_table(summary["leaderboard"][:5], record.metric, title="Models of yield"))
    interval = summary["interval"]
    out.print(
        f"[bold green]{'trained' if not trained else 'already trained'}[/] {record.ref}: "
        f"{record.family}, CV {record.metric} {record.cv_mean:.3g} ± {record.cv_std:.2g} "
        f"({summary['cv']['scheme']}); {interval['level']:.0%} intervals ({interval['method']}) "
        f"cover {interval['coverage']:.0%} on CV"
    )
    out.print(f"workspace: {cell(str(ws.settings.home))} (`labsight dataset show chem_proc_yield`)")
    out.print(
        "next: labsight clean chem_proc_yield --sentinels missing --impute median --outliers flag "
        "--save-plan plan.yaml"
    )
    out.print(f"      labsight model show {record.ref}; labsight model export {record.ref}")
