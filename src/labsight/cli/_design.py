"""Design commands: labsight design new / suggest / record / status / analyze / list / show."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table as RichTable

from labsight.cli._app import (
    AllOpt,
    LimitOpt,
    app,
    emit_json,
    out,
    shown_rows,
    steps,
    workspace,
)
from labsight.cli._render import cell, fmt, frame_table, text_table

if TYPE_CHECKING:
    import polars as pl

    from labsight.design.space import Objective, Space
    from labsight.workspace.campaigns import Campaign

__all__ = ["design_app"]

design_app = typer.Typer(
    help="Design of experiments: Bayesian optimisation and classical designs in a campaign.",
    epilog="Examples:\n\n  labsight design new suzuki --space space.yaml --seed 0\n\n"
    "  labsight design suggest suzuki --batch 4 --out next.csv\n\n"
    "  labsight design record suzuki results.csv\n\n  labsight design status suzuki",
    no_args_is_help=True,
)
app.add_typer(design_app, name="design")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
ReasonOpt = Annotated[
    str | None, typer.Option("--reason", help="Why (kept in the audit log).", show_default=False)
]
NameArg = Annotated[str, typer.Argument(help="The campaign's name.")]


def _goal(o: Objective) -> str:
    """``yield ↑``, escaped for rich (names come from the space file)."""
    return f"{cell(o.name)} {'↑' if o.maximizing else '↓'}"


@design_app.command(
    "new",
    epilog="Examples:\n\n  labsight design new suzuki --space space.yaml\n\n"
    "  labsight design new flow --space flow.json --seed 3 --acquisition qUCB",
)
def design_new(
    name: NameArg,
    space: Annotated[Path, typer.Option("--space", help="The space file (YAML or JSON).")],
    seed: Annotated[int, typer.Option("--seed", help="Seed of every suggestion.")] = 0,
    acquisition: Annotated[
        str | None,
        typer.Option(
            "--acquisition",
            help="Default acquisition (qLogNEI, qUCB, thompson, qLogNEHVI, qLogNParEGO, random).",
            show_default=False,
        ),
    ] = None,
    reason: ReasonOpt = None,
    json: JsonOpt = False,
) -> None:
    """Start a campaign: parameters, objectives, constraints and candidates from a space file,
    stored whole in the workspace and audited."""
    campaign = workspace().new_campaign(
        name, space, seed=seed, acquisition=acquisition, reason=reason
    )
    s = campaign.space
    size = s.size()
    if json:
        emit_json(
            {"campaign": name, "seed": seed, "points": size, **s.to_dict(), "candidates": None}
        )
        return
    points = f"{size:,} combinations" if size is not None else "continuous"
    out.print(
        f"[bold green]created[/] campaign {name}: {len(s.parameters)} parameters "
        f"({', '.join(cell(p.name) for p in s.parameters)}), objectives {', '.join(_goal(o) for o in s.objectives)}; "
        f"{points}; {len(s.constraints)} constraints"
    )
    out.print(f"next: labsight design suggest {name} --batch 4 --out next.csv")


def _experiments_table(frame: pl.DataFrame, space: Space, title: str) -> RichTable:
    names, objectives = space.names, list(space.objectives)
    rows = []
    for row in frame.iter_rows(named=True):
        expected = []
        for o in objectives:
            mean, sd = row.get(f"predicted_{o.name}"), row.get(f"predicted_{o.name}_sd")
            expected.append(f"{fmt(mean)} ± {fmt(sd)}" if mean is not None else "-")
        method = f"{row['method']} (best guess)" if row.get("best_guess") else row["method"]
        rows.append([row["experiment_id"], *[row[n] for n in names], *expected, method])
    header = [
        "experiment",
        *[p.label() for p in space.parameters],
        *[f"expected {o.name}" for o in objectives],
        "method",
    ]
    return text_table(title, header, rows)


@design_app.command(
    "suggest",
    epilog="Examples:\n\n  labsight design suggest suzuki --batch 4 --out next.csv\n\n"
    "  labsight design suggest suzuki --batch 8 --initial lhs\n\n"
    "  labsight design suggest suzuki --acquisition thompson --json\n\n"
    "  labsight design suggest suzuki --batch 24 --out plate.csv --background",
)
def design_suggest(
    name: NameArg,
    batch: Annotated[int, typer.Option("--batch", min=1, help="How many experiments.")] = 4,
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="CSV to write for the lab to fill in.", show_default=False),
    ] = None,
    acquisition: Annotated[
        str | None,
        typer.Option("--acquisition", help="Acquisition for this batch.", show_default=False),
    ] = None,
    initial: Annotated[
        str | None,
        typer.Option(
            "--initial",
            help="Initial design while results are few: sobol, lhs, factorial, fractional, d-optimal.",
            show_default=False,
        ),
    ] = None,
    background: Annotated[
        bool,
        typer.Option(
            "--background",
            help="Run in a detached process and return at once; the batch goes to --out and "
            "into the campaign, and design show tells when it is done.",
        ),
    ] = False,
    in_background: Annotated[bool, typer.Option("--in-background", hidden=True)] = False,
    replicates: Annotated[
        bool,
        typer.Option(
            "--replicates",
            help="Allow near-copies of experiments run or suggested (and of each other), and "
            "several experiments with the same choices; by default a batch holds neither.",
        ),
    ] = False,
    reason: ReasonOpt = None,
    json: JsonOpt = False,
) -> None:
    """The next experiments, each with an experiment_id: from the initial design until every
    objective has two results (with continuous parameters: one result more than there are
    parameters), then from Bayesian optimisation. A spinner shows each step; a
    long suggestion can run in the background (--background)."""
    campaign = workspace().campaign(name)
    if background:
        _suggest_in_background(campaign, json)
        return
    with steps(f"suggest {name}", enabled=not json) as step:
        frame = campaign.suggest(
            batch,
            acquisition=acquisition,
            initial={"method": initial} if initial else None,
            reason=reason,
            progress=step,
            out=out_path,
            background_job=in_background,
            replicates=replicates,
        )
    if json:
        emit_json(
            {
                "campaign": name,
                "method": frame["method"][0] if frame.height else None,
                "out": str(out_path) if out_path else None,
                "experiments": frame.to_dicts(),
            }
        )
        return
    s = campaign.space
    out.print(_experiments_table(frame, s, f"Next experiments of {name}"))
    if out_path is not None:
        out.print(
            f"[bold green]wrote[/] {cell(str(out_path))}: fill in "
            f"{', '.join(cell(o.name) for o in s.objectives)}, then "
            f"labsight design record {name} {cell(str(out_path))}"
        )


def _suggest_in_background(campaign: Campaign, json: bool) -> None:
    """Start this very command line, less --background, as the campaign's detached job."""
    from labsight.cli._app import state

    job = campaign.suggest_in_background([a for a in state.argv if a != "--background"])
    if json:
        emit_json({"campaign": campaign.name, "background": job})
        return
    out.print(
        f"[bold green]suggesting in the background[/] (pid {job['pid']}); log: {cell(job['log'])}\n"
        f"labsight design show {campaign.name} lists the batch when it is done"
    )


def _background_line(campaign: Campaign) -> str | None:
    """One line on the campaign's background suggestion, if it runs or failed."""
    job = campaign.background()
    if job is None:
        return None
    if job["alive"]:
        return f"[yellow]a suggestion is running in the background[/] (pid {job['pid']}, since {cell(job['started'])})"
    return f"[red]the last background suggestion failed[/]: {cell(job['error'])} (log: {cell(job['log'])})"


@design_app.command(
    "record",
    epilog="Examples:\n\n  labsight design record suzuki results.csv\n\n"
    "  labsight design record suzuki plate7.xlsx --reason 'plate 7, HPLC'",
)
def design_record(
    name: NameArg,
    source: Annotated[
        Path,
        typer.Argument(
            help="Results: CSV/Excel with experiment_id or the conditions, and the objectives."
        ),
    ],
    reason: ReasonOpt = None,
    json: JsonOpt = False,
) -> None:
    """Add results to the campaign, matched by experiment_id or by conditions (replicates and
    conditions run without a suggestion count too); nothing is stored if a row is wrong."""
    summary = workspace().campaign(name).record(source, reason=reason)
    if json:
        emit_json({"campaign": name, **summary.to_dict()})
        return
    extra = []
    if summary.replicates:
        extra.append(f"{summary.replicates} replicates")
    if summary.new_experiments:
        extra.append(
            f"{len(summary.new_experiments)} new conditions ({cell(', '.join(summary.new_experiments[:5]))})"
        )
    if summary.skipped:
        extra.append(f"{summary.skipped} rows without results skipped")
    out.print(
        f"[bold green]recorded[/] {summary.results} results for {len(summary.experiments)} experiments"
        + (f" ({'; '.join(extra)})" if extra else "")
    )
    out.print(f"next: labsight design status {name}; labsight design suggest {name}")


@design_app.command(
    "status",
    epilog="Examples:\n\n  labsight design status suzuki\n\n  labsight design status suzuki --out status.html --json",
)
def design_status(
    name: NameArg,
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="HTML with the figures (offline).", show_default=False),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Best so far with its uncertainty, progress, how well the surrogate predicts, which
    parameters matter, and what the next experiment can still gain."""
    campaign = workspace().campaign(name)
    with steps(f"status {name}", enabled=not json) as step:
        step("fitting the surrogate")
        status = campaign.status()
        if out_path is not None:
            campaign.write_status_page(out_path, status)
    if json:
        emit_json(
            {
                "campaign": name,
                **status.to_dict(),
                "out": str(out_path) if out_path else None,
                "background": campaign.background(),
            }
        )
        return
    out.print(
        f"[bold]{name}[/]: {status.results} results of {status.experiments} experiments, {status.pending} pending"
    )
    line = _background_line(campaign)
    if line:
        out.print(line)
    if not status.best:
        out.print(f"no complete results yet: labsight design record {name} FILE")
        return
    summary = campaign.status_summary(status)
    if summary.table is not None:
        out.print(text_table(*summary.table))
    for note in summary.notes:
        out.print(escape(note))
    if summary.untried:
        out.print(escape(f"{summary.untried}: predictions there are guesses (see the sd)"))
    if out_path is not None:
        out.print(
            f"[bold green]wrote[/] {cell(str(out_path))} (progress, importance, landscape; offline)"
        )


@design_app.command(
    "analyze",
    epilog="Examples:\n\n  labsight design analyze screening\n\n  labsight design analyze screening --objective yield --json",
)
def design_analyze(
    name: NameArg,
    objective: Annotated[
        str | None, typer.Option("--objective", help="Default: the first.", show_default=False)
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Classical analysis of the results: main effects, two-factor interactions and a quadratic
    response surface with its optimum."""
    analysis = workspace().campaign(name).analysis(objective)
    if json:
        emit_json({"campaign": name, **analysis.to_dict()})
        return
    rows = []
    for m in analysis.main_effects:
        for i, lv in enumerate(m["levels"]):
            first = i == 0
            rows.append(
                [
                    m["parameter"] if first else "",
                    _with_se(m["effect"], m.get("effect_se"), "a level has n = 1") if first else "",
                    lv["level"],
                    _with_se(lv["mean"], lv["se"], "n = 1"),
                    lv["n"],
                ]
            )
    out.print(
        text_table(
            f"Main effects on {analysis.objective} ({analysis.rows} results; ± standard error)",
            ["parameter", "effect", "level", "mean", "n"],
            rows,
        )
    )
    effects = [i for i in analysis.interactions if "effect" in i]
    if effects:
        out.print(
            text_table(
                "Interactions of two-level factors (± standard error)",
                ["parameters", "effect", "smallest n"],
                [
                    [
                        " × ".join(i["parameters"]),
                        _with_se(i["effect"], i.get("effect_se"), "a cell has n = 1"),
                        min(c["n"] for c in i["cells"]),
                    ]
                    for i in effects[:5]
                ],
            )
        )
    surface = analysis.surface or {}
    if surface.get("fitted"):
        out.print(
            text_table(
                f"Quadratic surface (coded −1…1): R² {surface['r2']:.2f}, adjusted "
                f"{surface['adjusted_r2']:.2f}, {surface['rows']} results",
                ["term", "coefficient", "± se"],
                [[c["term"], c["coefficient"], c["se"]] for c in surface["coefficients"]],
            )
        )
        opt = surface["optimum"]
        if opt.get("found"):
            where = ", ".join(f"{k} = {fmt(v)}" for k, v in opt["conditions"].items())
            out.print(f"its optimum: {escape(where)} → predicted {fmt(opt['predicted'])}")
            if opt.get("beyond_data"):
                out.print(
                    "[yellow]note:[/] that is well beyond the best result: the surface extrapolates; "
                    "run it as a check rather than trusting it"
                )
    elif surface:
        out.print(f"no response surface: {cell(surface['reason'])}")


def _with_se(value: float, se: float | None, why_none: str) -> str:
    """``72.3 ± 1.2``, or ``72.3 (n = 1, no standard error)`` when there is none."""
    return f"{fmt(value)} ± {fmt(se)}" if se is not None else f"{fmt(value)} ({why_none}, no se)"


@design_app.command(
    "list", epilog="Examples:\n\n  labsight design list\n\n  labsight design list --json"
)
def design_list(json: JsonOpt = False) -> None:
    """Every campaign with its number of experiments and results."""
    records = workspace().campaigns()
    if json:
        emit_json([{k: v for k, v in r.to_dict().items() if k != "space"} for r in records])
        return
    if not records:
        out.print("no campaigns yet: labsight design new NAME --space space.yaml")
        return
    table = RichTable(title="Campaigns", title_justify="left")
    for column in ("campaign", "parameters", "objectives", "experiments", "results", "created"):
        table.add_column(column)
    for r in records:
        table.add_row(
            cell(r.name),
            str(len(r.space["parameters"])),
            cell(", ".join(o["name"] for o in r.space["objectives"])),
            str(r.experiments),
            str(r.results),
            cell(f"{r.created:%Y-%m-%d %H:%M} {r.created_by}"),
        )
    out.print(table)


@design_app.command(
    "show",
    epilog="Examples:\n\n  labsight design show suzuki\n\n  labsight design show suzuki --json",
)
def design_show(
    name: NameArg, limit: LimitOpt = 50, all_rows: AllOpt = False, json: JsonOpt = False
) -> None:
    """The campaign's space and every experiment with its results (the first --limit results;
    --all for every one)."""
    ws = workspace()
    campaign = ws.campaign(name)
    experiments = campaign.experiments()
    results = campaign.results()
    if json:
        record = campaign.record_
        emit_json(
            {
                **{k: v for k, v in record.to_dict().items() if k != "space"},
                "space": {**campaign.space.to_dict(), "candidates": campaign.space.size()},
                "experiments": experiments.to_dicts(),
                "results": results.to_dicts(),
                "background": campaign.background(),
            }
        )
        return
    s = campaign.space
    out.print(
        f"[bold]{name}[/] (seed {campaign.seed}): objectives {', '.join(_goal(o) for o in s.objectives)}"
    )
    line = _background_line(campaign)
    if line:
        out.print(line)
    for p in s.parameters:
        what = (
            f"[{fmt(p.low)}, {fmt(p.high)}]"
            if p.kind == "continuous"
            else f"{len(p.values)} levels"
        )
        scale = ""
        if p.numeric and (p.scale == "log" or not p.scale_inferred):
            why = " (inferred: the bounds span a decade or more)" if p.scale_inferred else ""
            scale = f", {p.scale} scale{why}"
        out.print(
            escape(f"  {p.label()}: {p.kind}, {what}{scale}")
            + (f", encoding {p.encoding}" if not p.numeric else "")
        )
    for c in s.constraints:
        out.print(f"  constraint: {escape(c.text)}")
    out.print(_experiments_table(experiments, s, f"Experiments ({experiments.height})"))
    if results.height:
        out.print(
            frame_table(
                results.select("experiment_id", *s.objective_names, "recorded_by"),
                f"Results ({results.height})",
                limit=shown_rows(limit, all_rows),
                units={o.name: o.unit for o in s.objectives},
            )
        )
