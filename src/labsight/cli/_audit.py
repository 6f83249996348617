"""Commands on the audit trail: log, verify, checkpoint, export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table as RichTable

from labsight._display import visible_json
from labsight.cli._app import app, emit_json, out, workspace
from labsight.cli._render import cell

audit_app = typer.Typer(
    epilog="Examples:\n\n  labsight audit log --limit 20\n\n  labsight audit verify\n\n"
    "  labsight audit checkpoint --out /mnt/qa/lab.checkpoint\n\n"
    "  labsight audit export --format csv --out audit.csv",
    help="The audit trail: who did what, and whether it was tampered with.",
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")


@audit_app.command(
    "log", epilog="Examples:\n\n  labsight audit log\n\n  labsight audit log --limit 5 --json"
)
def audit_log(
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the newest N entries.")
    ] = None,
    action: Annotated[str | None, typer.Option("--action", help="e.g. dataset.ingest")] = None,
    object_id: Annotated[str | None, typer.Option("--object", help="e.g. a dataset name")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """List audit entries, oldest first."""
    entries = workspace().audit.entries(limit=limit, action=action, object_id=object_id)
    if json:
        emit_json([e.to_dict() for e in entries])
        return
    table = RichTable()
    for col in ("#", "when (UTC)", "who", "what", "object", "old → new", "why"):
        table.add_column(col, overflow="fold")
    for e in entries:
        change = f"{e.old_value or '-'} → {e.new_value or '-'}"
        table.add_row(
            str(e.seq),
            e.created[:19].replace("T", " "),
            cell(e.actor),
            cell(e.action),
            cell(e.object_id),
            cell(change),
            cell(e.reason or ""),
        )
    out.print(table)


@audit_app.command(
    "verify",
    epilog="Examples:\n\n  labsight audit verify\n\n  labsight audit verify --quick --json\n\n"
    "  labsight audit verify --anchor 91:3f2a9c0d1e2b4a5f\n\n"
    "  labsight audit verify --checkpoint /mnt/qa/lab.checkpoint",
)
def audit_verify(
    json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick", help="Skip re-hashing the artifact files (rows are still checked)."
        ),
    ] = False,
    anchor: Annotated[
        str | None,
        typer.Option(
            "--anchor",
            metavar="SEQ:HASH",
            help="A chain head kept outside the database (as a verify printed it): that entry "
            "must still hold that hash, so a chain rebuilt whole is found.",
        ),
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            metavar="FILE",
            help="A signed checkpoint (`labsight audit checkpoint --out FILE`): its signature must "
            "hold and the database must still hold the entry it signed, so a database rolled back "
            "or rewritten since is found.",
        ),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            metavar="FILE",
            help="The signing key the checkpoint must be signed with "
            "(default: keys/audit-checkpoint.pem in the workspace home, when it is there).",
        ),
    ] = None,
) -> None:
    """Recompute the hash chain, check every record and artifact against it; exit 1 and name each
    problem on one line when it does not verify. Keep the printed anchor, or a signed checkpoint,
    somewhere the database's administrators cannot write, and pass it to a later verify."""
    report = workspace().audit.verify(quick=quick, anchor=anchor, checkpoint=checkpoint, key=key)
    if json:
        emit_json(report.to_dict())
    elif report.ok:
        out.print(
            f"[green]ok[/]: {report.entries} entries, anchor {report.anchor}"
            + (" (the kept anchor holds)" if anchor else "")
            + (" (the signed checkpoint holds)" if checkpoint else "")
            + "; "
            + (
                "every record matches its entry"
                if quick
                else "every record and artifact matches its entry"
            ),
            soft_wrap=True,
        )
    else:
        if report.problem:
            where = f" at entry {report.first_bad}" if report.first_bad is not None else ""
            out.print(f"[bold red]BROKEN[/]{where}: {escape(report.problem)}", soft_wrap=True)
        for problem in report.record_problems:
            out.print(f"[bold red]MISMATCH[/] {escape(problem)}", soft_wrap=True)
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command(
    "checkpoint",
    epilog="Examples:\n\n  labsight audit checkpoint --out /mnt/qa/lab.checkpoint\n\n"
    "  labsight audit checkpoint --out head.checkpoint --key /media/token/lab.pem --json",
)
def audit_checkpoint(
    out_path: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="FILE",
            help="Write the checkpoint here: somewhere the database's administrators cannot write.",
        ),
    ],
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            metavar="FILE",
            help="The Ed25519 signing key (default: keys/audit-checkpoint.pem in the workspace "
            "home; made, mode 0600, when it is not there).",
        ),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Sign the audit chain's head into a file outside the database, and record that it was.
    A later `labsight audit verify --checkpoint FILE` fails if the database was rolled back or
    rewritten since. A chain that does not verify is not signed (exit 1)."""
    made = workspace().audit.checkpoint(out_path, key=key)
    if json:
        emit_json(made.to_dict())
        return
    if made.key_created:
        out.print(
            f"made the signing key {cell(str(made.key_path))} (mode 0600): keep it, and a copy, "
            "away from the database",
            soft_wrap=True,
        )
    out.print(
        f"checkpoint of entry {made.seq}, head {made.head}, signed with key "
        f"{made.key_fingerprint}: wrote {cell(str(made.path))} (recorded as entry {made.seq + 1})",
        soft_wrap=True,
    )


@audit_app.command(
    "export",
    epilog="Examples:\n\n  labsight audit export --format csv --out audit.csv\n\n  labsight audit export --format jsonl",
)
def audit_export(
    format: Annotated[str, typer.Option("--format", help="csv | jsonl")] = "jsonl",
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Write to this file (default: stdout).")
    ] = None,
) -> None:
    """Export every entry for QA, as CSV or JSON lines."""
    from labsight._atomic import atomic_write_text

    text = workspace().audit.export(format)
    if out_path is None:
        # on a terminal, JSON lines write control and bidi characters as escapes (same strings)
        typer.echo(visible_json(text) if format == "jsonl" else text, nl=False)
    else:
        atomic_write_text(out_path, text)
        out.print(f"wrote {cell(str(out_path))}")
