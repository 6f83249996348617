"""Commands on who may act and how it is recorded: users, tokens, sign, signatures, config.

Passwords are read with a hidden prompt (twice where one is set) or, with ``--password-stdin``,
as one line of standard input (for scripts); they are never printed, logged or put in an error
message. A token's secret is printed once, when it is made. The acting user of ``sign`` (and of
every audit entry) is the global ``--user`` / ``LABSIGHT_USER`` / the OS user.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table as RichTable

from labsight.cli._app import app, emit_json, out, workspace
from labsight.cli._render import cell, signatures_table, utc_time

if TYPE_CHECKING:
    from labsight.store.entities import SignatureRecord, TokenRecord, UserRecord

__all__ = ["config_app", "sign", "signatures", "tokens_app", "users_app"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
ReasonOpt = Annotated[
    str | None, typer.Option("--reason", help="Why: recorded in the audit trail.")
]
PasswordStdinOpt = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input instead of asking.",
    ),
]
NameArg = Annotated[str, typer.Argument(help="The user name.")]
_PANEL = "Users, tokens and e-signatures"  # in `labsight --help`, after the data commands


def _password(from_stdin: bool, prompt: str, *, confirm: bool) -> str:
    """The password: one line of stdin (only its line ending removed), or a hidden prompt on
    stderr (asked twice when ``confirm``, until both match)."""
    from labsight.exceptions import InputError

    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise InputError(
                "--password-stdin found no password on standard input",
                hint="Pipe it in: printf '%s\\n' \"$PASSWORD\" | labsight …",
            )
        # the line ending, and nothing else: spaces at either end belong to the password
        return line.removesuffix("\n").removesuffix("\r")
    return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True))


def _user_dict(user: UserRecord, locked: datetime | None) -> dict[str, Any]:
    return {**user.to_dict(), "locked_until": locked.isoformat() if locked else None}


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return f"{aware.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


# -- users ----------------------------------------------------------------------------------------

users_app = typer.Typer(
    help="Accounts of a shared workspace: add, list, set-role, disable, enable, unlock, password.",
    epilog="Examples:\n\n  labsight users add alice --role admin --full-name 'Alice Smith'\n\n"
    "  labsight users list\n\n"
    "  labsight users set-role bob reviewer --reason 'QA from March'",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users", rich_help_panel=_PANEL)


@users_app.command(
    "add",
    epilog="Examples:\n\n  labsight users add alice --role admin --full-name 'Alice Smith'\n\n"
    "  printf '%s\\n' \"$PW\" | labsight users add bob --role scientist --password-stdin",
)
def users_add(
    name: NameArg,
    role: Annotated[str, typer.Option("--role", help="viewer, scientist, reviewer or admin.")],
    full_name: Annotated[
        str | None,
        typer.Option(
            "--full-name",
            help="The printed name on their signatures (default: the user name).",
            show_default=False,
        ),
    ] = None,
    password_stdin: PasswordStdinOpt = False,
    reason: ReasonOpt = None,
    json: JsonOpt = False,
) -> None:
    """Add an account (there are no default accounts). The password is asked twice, hidden, or
    read from standard input; at least 10 characters, not the user name."""
    ws = workspace()
    password = _password(password_stdin, f"Password for {name}", confirm=True)
    user = ws.accounts.add_user(name, role, password, full_name=full_name, reason=reason)
    if json:
        emit_json(_user_dict(user, None))
        return
    out.print(
        f"[bold green]added[/] user {cell(user.name)} ({cell(user.full_name)}), role {user.role}"
    )


@users_app.command(
    "list", epilog="Examples:\n\n  labsight users list\n\n  labsight users list --json"
)
def users_list(json: JsonOpt = False) -> None:
    """Every account: role, enabled or disabled, locked after wrong passwords, who added it."""
    ws = workspace()
    found = [(u, ws.accounts.locked_until(u.name)) for u in ws.accounts.users()]
    if json:
        emit_json([_user_dict(u, locked) for u, locked in found])
        return
    if not found:
        out.print("no users yet: labsight users add NAME --role admin")
        return
    table = RichTable(title="Users", title_justify="left")
    for column in ("user", "printed name", "role", "state", "added", "by"):
        table.add_column(column)
    for u, locked in found:
        state = "enabled" if u.active else "[yellow]disabled[/]"
        if locked is not None:
            state += f", [red]locked until {_when(locked)}[/]"
        table.add_row(
            cell(u.name), cell(u.full_name), u.role, state, _when(u.created), cell(u.created_by)
        )
    out.print(table)


@users_app.command(
    "set-role",
    epilog="Examples:\n\n  labsight users set-role bob reviewer --reason 'QA from March'",
)
def users_set_role(
    name: NameArg,
    role: Annotated[str, typer.Argument(help="viewer, scientist, reviewer or admin.")],
    reason: ReasonOpt = None,
    json: JsonOpt = False,
) -> None:
    """Change what a user may do."""
    user = workspace().accounts.set_role(name, role, reason=reason)
    if json:
        emit_json(user.to_dict())
        return
    out.print(f"[bold green]{cell(user.name)}[/] is now {user.role}")


def _set_active(name: str, active: bool, reason: str | None, json: bool) -> None:
    user = workspace().accounts.set_active(name, active, reason=reason)
    if json:
        emit_json(user.to_dict())
        return
    if active:
        out.print(f"[bold green]enabled[/] {cell(user.name)}")
    else:
        out.print(
            f"[bold yellow]disabled[/] {cell(user.name)}: their tokens and sessions stop working"
        )


@users_app.command(
    "disable", epilog="Examples:\n\n  labsight users disable carol --reason 'left the lab'"
)
def users_disable(name: NameArg, reason: ReasonOpt = None, json: JsonOpt = False) -> None:
    """Disable an account (never deleted: its name is not reused, its history stays)."""
    _set_active(name, False, reason, json)


@users_app.command(
    "enable", epilog="Examples:\n\n  labsight users enable carol --reason 'back from leave'"
)
def users_enable(name: NameArg, reason: ReasonOpt = None, json: JsonOpt = False) -> None:
    """Enable a disabled account again."""
    _set_active(name, True, reason, json)


@users_app.command(
    "unlock",
    epilog="Examples:\n\n  labsight users unlock bob --reason 'confirmed by phone'",
)
def users_unlock(name: NameArg, reason: ReasonOpt = None, json: JsonOpt = False) -> None:
    """End a lock-out after too many wrong passwords before its time."""
    ws = workspace()
    ws.accounts.unlock(name, reason=reason)
    if json:
        emit_json({"user": name, "unlocked": True})
        return
    out.print(f"[bold green]unlocked[/] {cell(name)}")


@users_app.command(
    "password",
    epilog="Examples:\n\n  labsight users password bob\n\n"
    "  printf '%s\\n' \"$PW\" | labsight users password bob --password-stdin",
)
def users_password(
    name: NameArg,
    password_stdin: PasswordStdinOpt = False,
    reason: ReasonOpt = None,
    json: JsonOpt = False,
) -> None:
    """Set a user's password (asked twice, hidden, or read from standard input)."""
    ws = workspace()
    ws.accounts.user(name)  # an unknown user is refused before a password is asked
    password = _password(password_stdin, f"New password for {name}", confirm=True)
    ws.accounts.set_password(name, password, reason=reason)
    if json:
        emit_json({"user": name, "password": "changed"})
        return
    out.print(f"[bold green]changed[/] the password of {cell(name)}")


# -- tokens ---------------------------------------------------------------------------------------

tokens_app = typer.Typer(
    help="API tokens for the REST server: create (the secret is shown once), list, revoke.",
    epilog="Examples:\n\n  labsight tokens create --user bob --scope predict --expires 90d\n\n"
    "  labsight tokens list --user bob\n\n  labsight tokens revoke 3f2a9c1d --reason 'leaked'",
    no_args_is_help=True,
)
app.add_typer(tokens_app, name="tokens", rich_help_panel=_PANEL)


def _token_state(token: TokenRecord) -> str:
    if token.revoked is not None:
        return "revoked"
    expires = token.expires if token.expires.tzinfo else token.expires.replace(tzinfo=UTC)
    return "expired" if expires <= datetime.now(UTC) else "active"


@tokens_app.command(
    "create",
    epilog="Examples:\n\n  labsight tokens create --user bob --scope predict --expires 90d\n\n"
    "  labsight tokens create --user lims --scope write --expires 30d --note 'LIMS bridge' --json",
)
def tokens_create(
    user: Annotated[str, typer.Option("--user", help="Whose token: it acts as this user.")],
    scope: Annotated[
        str, typer.Option("--scope", help="read, predict or write (narrows the user's role).")
    ],
    expires: Annotated[
        str, typer.Option("--expires", help="Lifetime: 12h, 90d, 2w, 1y (at most 366d).")
    ] = "90d",
    note: Annotated[
        str | None,
        typer.Option("--note", help="What it is for (kept with it and in the audit trail)."),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Make an API token. Its secret is printed once and never stored (only its hash is): copy
    it now."""
    secret, token = workspace().accounts.create_token(user, scope, expires=expires, note=note)
    if json:
        emit_json(
            {
                "token": secret,
                "token_id": token.token_id,
                "user": token.user,
                "scope": token.scope,
                "expires": token.expires.isoformat(),
            }
        )
        return
    out.print(
        f"[bold green]made[/] token {cell(token.token_id)} for {cell(token.user)}, scope "
        f"{token.scope}, expires {_when(token.expires)}"
    )
    out.print(secret, soft_wrap=True)
    out.print(
        "[yellow]copy it now: it cannot be shown again[/] (send it as "
        "'Authorization: Bearer TOKEN')"
    )


@tokens_app.command(
    "list",
    epilog="Examples:\n\n  labsight tokens list\n\n  labsight tokens list --user bob --json",
)
def tokens_list(
    user: Annotated[
        str | None, typer.Option("--user", help="Only this user's tokens.", show_default=False)
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Tokens with their scope, expiry and state (never their secret)."""
    ws = workspace()
    if user is not None:
        ws.accounts.user(user)  # an unknown name is an error, not an empty list
    found = ws.accounts.tokens(user)
    if json:
        emit_json([{**t.to_dict(), "state": _token_state(t)} for t in found])
        return
    if not found:
        out.print("no tokens: labsight tokens create --user NAME --scope predict")
        return
    table = RichTable(title="Tokens", title_justify="left")
    for column in ("id", "user", "scope", "state", "created", "expires", "note"):
        table.add_column(column)
    for t in found:
        table.add_row(
            cell(t.token_id),
            cell(t.user),
            t.scope,
            _token_state(t),
            _when(t.created),
            _when(t.expires),
            cell(t.note or ""),
        )
    out.print(table)


@tokens_app.command(
    "revoke", epilog="Examples:\n\n  labsight tokens revoke 3f2a9c1d --reason 'laptop lost'"
)
def tokens_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (labsight tokens list).")],
    reason: ReasonOpt = None,
    json: JsonOpt = False,
) -> None:
    """Revoke a token: it stops working at once."""
    token = workspace().accounts.revoke_token(token_id, reason=reason)
    if json:
        emit_json({**token.to_dict(), "state": _token_state(token)})
        return
    out.print(f"[bold green]revoked[/] token {cell(token.token_id)} of {cell(token.user)}")


# -- electronic signatures ------------------------------------------------------------------------


def _signature_lines(s: SignatureRecord) -> list[str]:
    return [
        f"  signature  {cell(s.signature_id)}",
        f"  signer     {cell(s.signer)} ({cell(s.printed_name)})",
        f"  meaning    {cell(s.meaning)}",
        f"  time       {cell(utc_time(s.signed))}",
        f"  reason     {cell(s.reason)}",
        f"  record     {cell(s.record)}, sha256 {cell(s.record_sha256)}",
    ]


@app.command(
    rich_help_panel=_PANEL,
    epilog="Examples:\n\n"
    "  labsight sign yield@v3 --meaning approved --reason 'validated on batch 12'\n\n"
    "  labsight --user bob sign reactions@v2 --meaning reviewed --reason 'units checked'",
)
def sign(
    ref: Annotated[
        str,
        typer.Argument(
            help="A model version (yield@v3, a model id) or dataset version (reactions@v2); "
            "model:REF or dataset:REF where a name is both."
        ),
    ],
    meaning: Annotated[str, typer.Option("--meaning", help="authored, reviewed or approved.")],
    reason: Annotated[str, typer.Option("--reason", help="Why you sign (kept with it).")],
    password_stdin: PasswordStdinOpt = False,
    json: JsonOpt = False,
) -> None:
    """Sign one version of a record as the acting user, who gives their password again.

    The acting user is --user (or LABSIGHT_USER, or the OS user). The signature holds the signer,
    printed name, meaning, UTC time, reason and the record's hash; a wrong password is audited
    and counts towards the lock-out."""
    from labsight.exceptions import InputError
    from labsight.workspace.signatures import MEANINGS

    if meaning not in MEANINGS:  # before the password is asked for
        raise InputError(
            f"unknown meaning {meaning[:40]!r}", expected=", ".join(MEANINGS), got=repr(meaning)
        )
    ws = workspace()
    ws.signatures.of(ref)  # a record that does not exist is refused before the password
    signer = ws.settings.user
    password = _password(password_stdin, f"Password for {signer}", confirm=False)
    signature = ws.signatures.sign(ref, meaning, password, reason=reason)
    if json:
        emit_json(signature.to_dict())
        return
    out.print(f"[bold green]signed[/] {cell(signature.record)} as {cell(signature.meaning)}")
    for line in _signature_lines(signature):
        out.print(line, soft_wrap=True)


@app.command(
    rich_help_panel=_PANEL,
    epilog="Examples:\n\n  labsight signatures yield@v3\n\n  labsight signatures reactions@v2 --json",
)
def signatures(
    ref: Annotated[
        str, typer.Argument(help="A model version (yield@v3) or dataset version (reactions@v2).")
    ],
    json: JsonOpt = False,
) -> None:
    """A record's electronic signatures, and whether each holds.

    valid; orphaned (the record changed since it was signed); broken (the signature was edited
    or moved to another record)."""
    found = workspace().signatures.of(ref)
    if json:
        emit_json([s.to_dict() for s in found])
        return
    if not found:
        out.print(f"{cell(ref)} has no signatures")
        return
    out.print(signatures_table(found, f"Signatures on {found[0].record}"))


# -- settings -------------------------------------------------------------------------------------

config_app = typer.Typer(
    help="Workspace settings (regulated mode, the lock-out): show, set.",
    epilog="Examples:\n\n  labsight config show\n\n"
    "  labsight config set regulated true --reason 'GLP study 2025-04'",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config", rich_help_panel=_PANEL)


@config_app.command(
    "show", epilog="Examples:\n\n  labsight config show\n\n  labsight config show --json"
)
def config_show(json: JsonOpt = False) -> None:
    """Every setting with its value and what it does."""
    from labsight.workspace.config import SETTINGS

    values = workspace().config.all()
    if json:
        emit_json(values)
        return
    table = RichTable(title="Settings", title_justify="left")
    for column in ("key", "value", "default", "what it does"):
        table.add_column(column)
    for key, value in values.items():
        setting = SETTINGS[key]
        table.add_row(key, _shown(value), _shown(setting.default), cell(setting.help))
    out.print(table)


def _shown(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else cell(value)


@config_app.command(
    "set",
    epilog="Examples:\n\n  labsight config set regulated true --reason 'GLP study 2025-04'\n\n"
    "  labsight config set lockout_attempts 3 --reason 'policy QA-12'",
)
def config_set(
    key: Annotated[str, typer.Argument(help="regulated, lockout_attempts or lockout_minutes.")],
    value: Annotated[str, typer.Argument(help="The new value (true/false, a number).")],
    reason: ReasonOpt = None,
    json: JsonOpt = False,
) -> None:
    """Change a setting (audited with the old and new value). `regulated true` turns on
    regulated mode: every change needs --reason, and a model reaches production only with an
    approved signature by someone other than its author."""
    ws = workspace()
    old = ws.config.all().get(key)
    new = ws.config.set(key, value, reason=reason)
    if json:
        emit_json({"key": key, "value": new, "previous": old})
        return
    out.print(f"[bold green]{cell(key)}[/] = {_shown(new)} (was {_shown(old)})")
