"""The train command, with a live leaderboard while the search runs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.live import Live
from rich.progress import BarColumn, Progress, SpinnerColumn, Task, TextColumn
from rich.progress_bar import ProgressBar
from rich.text import Text

from labsight.cli._app import app, emit_json, err_console, out, steps, workspace
from labsight.cli._datasets import _sheet
from labsight.cli._render import cell, leaderboard_table
from labsight.store.names import validate_name

if TYPE_CHECKING:
    from labsight.models._progress import EpochCallback

__all__ = ["live_view", "print_trust_notes", "train"]

_LIVE_ROWS = 5


class _BudgetBar(BarColumn):
    """A bar of the time spent out of the budget, moving between trials too."""

    def render(self, task: Task) -> ProgressBar:
        total = task.total or 1.0
        return ProgressBar(
            total=total,
            completed=min(task.elapsed or 0.0, total),
            width=None if self.bar_width is None else max(1, self.bar_width),
            animation_time=task.get_time(),
        )


def live_view(board: list[Any], metric: str, note: str) -> RenderableType:
    """What the live display shows under the progress bar: the best so far and the last event."""
    rows = [c.row() for c in board[:_LIVE_ROWS]]
    parts: list[RenderableType] = [Text(note, style="dim")]
    if rows:
        parts.insert(0, leaderboard_table(rows, metric, title="Leaderboard so far"))
    return Group(*parts)


@contextmanager
def _live_board(
    budget: float, metric: str, enabled: bool
) -> Iterator[tuple[Callable[[Any, list[Any], int], None], EpochCallback | None]]:
    """The search's progress on stderr: time spent of the budget, trials, the leaderboard, and the
    epochs of the network training now (epoch, training loss, best held-out loss)."""
    if not enabled or not err_console.is_terminal:
        yield (lambda _c, _b, _n: None), None
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]search"),
        _BudgetBar(bar_width=30),
        TextColumn("{task.fields[spent]}"),
        TextColumn("{task.fields[trials]}"),
        console=err_console,
    )
    task = progress.add_task("search", total=budget, spent="", trials="")
    start = time.perf_counter()
    shown: dict[str, Any] = {"board": [], "note": "", "epoch": ""}
    with Live(Group(progress), console=err_console, transient=True, refresh_per_second=4) as live:

        def redraw() -> None:
            view = live_view(shown["board"], metric, shown["note"])
            parts = (
                [progress, view, Text(shown["epoch"], style="dim")]
                if shown["epoch"]
                else [
                    progress,
                    view,
                ]
            )
            live.update(Group(*parts))

        def epoch(network: str, n: int, most: int, loss: float, best: float | None) -> None:
            held = f", best held-out loss {best:.4g}" if best is not None else ""
            shown["epoch"] = (
                f"{network}: epoch {n} (at most {most}), training loss {loss:.4g}{held}"
            )
            progress.update(task, spent=f"{time.perf_counter() - start:.0f}/{budget:.0f} s")
            redraw()

        def update(candidate: Any, board: list[Any], number: int) -> None:
            spent = time.perf_counter() - start
            progress.update(
                task, spent=f"{spent:.0f}/{budget:.0f} s", trials=f"{number + 1} trials"
            )
            if candidate is None:
                note = f"trial {number + 1}: abandoned (out of time, or cannot be fitted)"
            elif candidate.pruned:
                note = f"trial {number + 1}: {candidate.name} stopped early, behind the leader"
            else:
                note = f"trial {number + 1}: {candidate.name} CV {metric} {candidate.mean:.4g}"
            shown.update(board=board, note=note, epoch="")
            redraw()

        yield update, epoch


@app.command(
    epilog="Examples:\n\n"
    "  labsight train reactions --target 'yield [%]' --budget 60\n\n"
    "  labsight train runs.csv --target purity --task regression --metric rmse --seed 1 --json\n\n"
    "  labsight train reactions --target outcome --families logistic,random_forest --trials 40\n\n"
    "  labsight train runs --target temperature --forecast 30"
)
def train(
    source: Annotated[
        str, typer.Argument(help="A dataset NAME or NAME@VERSION, or a file (ingested first).")
    ],
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            help="The column to predict (default: the one column whose role is target).",
            show_default=False,
        ),
    ] = None,
    budget: Annotated[
        float, typer.Option("--budget", min=1, help="Seconds for search and final fit together.")
    ] = 60.0,
    task: Annotated[
        str, typer.Option("--task", help="auto, regression or classification.")
    ] = "auto",
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric",
            help="r2, rmse, mae | accuracy, balanced_accuracy, f1_macro, roc_auc, log_loss.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of folds, search and models.")] = 0,
    interval: Annotated[
        float, typer.Option("--interval", help="Coverage of the prediction intervals.")
    ] = 0.9,
    families: Annotated[
        str | None,
        typer.Option(
            "--families",
            help="Comma-separated families to search (default: all).",
            show_default=False,
        ),
    ] = None,
    trials: Annotated[
        int | None,
        typer.Option(
            "--trials",
            min=1,
            help="Stop after this many trials (pins a run down).",
            show_default=False,
        ),
    ] = None,
    forecast: Annotated[
        int | None,
        typer.Option(
            "--forecast",
            help="Runs only: forecast the target's next N readings from each run's latest ones "
            "(one row per run and step ahead).",
            show_default=False,
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            help="A column the model must not read (repeatable): another outcome, a leak.",
            show_default=False,
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Model name (default: DATASET-TARGET).", show_default=False),
    ] = None,
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="Excel sheet name or index (files only).")
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why: recorded in the audit trail.")
    ] = None,
    json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> None:
    """Search model families and their settings with cross-validation inside a time budget, refit
    the best on all rows, attach prediction intervals or calibrated probabilities, and register it."""
    if name is not None:  # refused before a file SOURCE is ingested: a bad name stores nothing
        validate_name(name, "model")
    ws = workspace()
    with steps(f"train {source}", enabled=not json) as step:
        step("reading the data")
        ds = ws.source(source)  # a file is stored by train once it has trained
    with _live_board(budget, metric or "score", enabled=not json) as (progress, on_epoch):
        record, model = ws.models.train(
            ds,
            target,
            name=name,
            sheet=_sheet(sheet) if sheet is not None else None,
            reason=reason,
            task=task,
            metric=metric,
            budget=budget,
            seed=seed,
            level=interval,
            families=[f.strip() for f in families.split(",")] if families else None,
            max_trials=trials,
            exclude=list(exclude) if exclude else None,
            **({"forecast": forecast} if forecast is not None else {}),
            on_trial=progress,
            on_epoch=on_epoch,
        )
    if json:
        from labsight.workspace.models import training_report

        emit_json(training_report(record, model))
        return
    out.print(leaderboard_table(model.leaderboard[:10], model.metric))
    if model.skipped:
        out.print(
            "skipped: " + "; ".join(f"{family} {why}" for family, why in model.skipped.items()),
            markup=False,
        )
    out.print(
        f"[bold green]registered[/] {cell(record.ref)} ({record.model_id}): {cell(model.best)}, "
        f"CV {model.metric} {model.cv['mean']:.4g} ± {model.cv['std']:.2g} "
        f"({cell(model.cv['scheme'])}), "
        f"{model.trials} trial{'s' if model.trials != 1 else ''} in {model.seconds:.0f} s"
    )
    if model.coverage is not None:
        out.print(
            f"intervals: {cell(model.interval_method)} at {model.level:.0%}, coverage on CV "
            f"{model.coverage:.0%}"
        )
    if model.cut_short:
        out.print(f"cut short to keep the budget: {cell('; '.join(model.cut_short))}")
    print_trust_notes(model.summary())


def print_trust_notes(summary: dict[str, Any]) -> None:
    """The folds' grouping, the baseline, sibling targets, molecules and columns left out: one
    line each, warnings in yellow (``train`` and ``model show``)."""
    from labsight.workspace.models import trust_notes

    for level, text in trust_notes(summary):
        out.print(f"[bold yellow]warning:[/] {cell(text)}" if level == "warning" else cell(text))
