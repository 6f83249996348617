"""Who may act in a shared workspace: users with roles, API tokens with scopes, browser sessions,
and the lock-out after failed logins (``ws.accounts``).

- **Roles.** ``viewer`` reads; ``scientist`` ingests, cleans, trains, runs campaigns and predicts;
  ``reviewer`` (QA) reads, predicts, reviews the audit trail and signs ``reviewed``/``approved``;
  ``admin`` does all of it and manages users and settings.
- **Tokens** carry a scope (``read``, ``predict``, ``write``) and an expiry; what a token may do is
  what both its scope and its user's role allow. Only the sha256 of a token's secret is stored;
  the secret is printed once.
- **Passwords** are hashed with argon2id. After ``lockout_attempts`` wrong passwords in a row
  (a login or a signature) the account is locked for ``lockout_minutes``; the count is read from
  the audit trail, where every failed login is an entry, so nothing but the trail holds it.
- **No default users exist**, and a user's id and name are never reused (users are disabled,
  never deleted).

Faces (CLI, REST) call :meth:`Accounts.authenticate` / :meth:`Accounts.principal_for_token` /
:meth:`Accounts.principal_for_session` and act as the returned :class:`Principal`; the acting user
of every audit entry comes from there, never from what a client says.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from sqlalchemy import select

from labsight import audit
from labsight.audit import events
from labsight.exceptions import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    InputError,
)
from labsight.store import accounts as repo
from labsight.store._rows import UserRow
from labsight.store.entities import TokenRecord, UserRecord
from labsight.workspace._context import Context

if TYPE_CHECKING:
    from argon2 import PasswordHasher
    from sqlalchemy.orm import Session


__all__ = [
    "MIN_PASSWORD_LENGTH",
    "PERMISSIONS",
    "ROLES",
    "SCOPES",
    "Accounts",
    "Permission",
    "Principal",
    "parse_duration",
]

ROLES = ("viewer", "scientist", "reviewer", "admin")
SCOPES = ("read", "predict", "write")
Permission = Literal["read", "predict", "write", "review", "sign", "admin"]
PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "scientist": frozenset({"read", "predict", "write", "sign"}),
    "reviewer": frozenset({"read", "predict", "review", "sign"}),
    "admin": frozenset({"read", "predict", "write", "review", "sign", "admin"}),
}
"""What each role may do: ``read`` datasets, models, campaigns; ``predict``; ``write`` (ingest,
clean, train, stage, campaigns); ``review`` (the audit trail, ``reviewed``/``approved``
signatures); ``sign`` (a signature with the meanings the role allows); ``admin`` (users,
settings)."""
_SCOPE_ALLOWS: dict[str, frozenset[str]] = {
    "read": frozenset({"read"}),
    "predict": frozenset({"read", "predict"}),
    "write": frozenset({"read", "predict", "write", "review", "sign", "admin"}),
}
MIN_PASSWORD_LENGTH = 10
_USER_NAME = re.compile(r"[a-z][a-z0-9_.\-]{0,63}")
_DURATION = re.compile(r"^\s*(\d{1,4})\s*([hdwy])\s*$")
_UNIT_HOURS = {"h": 1, "d": 24, "w": 24 * 7, "y": 24 * 365}
_MAX_TOKEN_DAYS = 366
_TOKEN_PREFIX = "lsk_"
_SESSION_HOURS = 8


def parse_duration(text: str, *, name: str = "--expires") -> timedelta:
    """``90d``, ``12h``, ``2w`` or ``1y`` as a timedelta (at most a year and a day).

    Examples
    --------
    >>> parse_duration("90d").days, parse_duration("12h").seconds // 3600
    (90, 12)
    """
    match = _DURATION.match(text)
    hours = int(match.group(1)) * _UNIT_HOURS[match.group(2)] if match else 0
    if not 0 < hours <= _MAX_TOKEN_DAYS * 24:
        raise InputError(
            f"{name} {text[:40]!r} is not a duration labsight takes",
            expected=f"a number and h, d, w or y, from 1h up to {_MAX_TOKEN_DAYS}d (e.g. 90d)",
            hint="Tokens always expire; make a new one when this one does",
        )
    return timedelta(hours=hours)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id, the library's RFC 9106 "low memory" defaults


_DUMMY_HASH: list[str] = []


def _dummy_hash() -> str:
    """A hash to check a password against for an unknown user, so that a login takes as long
    whether the name exists or not."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(_hasher().hash(secrets.token_hex(16)))
    return _DUMMY_HASH[0]


@dataclass(frozen=True)
class Principal:
    """Who acts, as authentication established it: the user, and how (``via`` ``token``,
    ``session`` or ``password``). A token's ``scope`` narrows what the user's role allows; a
    session's ``csrf`` is what a cookie-authenticated write must send back."""

    user: UserRecord
    via: str
    scope: str | None = None
    csrf: str | None = None
    token_id: str | None = None

    @property
    def name(self) -> str:
        return self.user.name

    def allows(self, permission: str) -> bool:
        if permission not in PERMISSIONS.get(self.user.role, frozenset()):
            return False
        return self.scope is None or permission in _SCOPE_ALLOWS.get(self.scope, frozenset())

    def require(self, permission: str, doing: str) -> None:
        """Raise :class:`ForbiddenError` unless this principal may ``permission`` (``doing`` says
        what was asked, for the message)."""
        if permission not in PERMISSIONS.get(self.user.role, frozenset()):
            raise ForbiddenError(
                f"user {self.name!r} (role {self.user.role}) may not {doing}",
                hint="Ask an admin for a role that allows it (labsight users set-role)",
            )
        if self.scope is not None and permission not in _SCOPE_ALLOWS[self.scope]:
            raise ForbiddenError(
                f"this token (scope {self.scope}) may not {doing}",
                hint=f"Use a token whose scope allows {permission!r} "
                "(labsight tokens create --scope write)",
            )


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(
            f"unknown role {role[:40]!r}", expected=", ".join(ROLES), got=repr(role[:40])
        )
    return role


def _check_user_name(name: str) -> str:
    if not isinstance(name, str) or not _USER_NAME.fullmatch(name):
        raise InputError(
            f"invalid user name {str(name)[:64]!r}",
            expected="lower-case ASCII letters, digits, '_', '.' or '-', starting with a letter, "
            "up to 64 characters",
            hint="Choose a name such as 'alice' or 'j.smith'",
        )
    return name


def _check_password(password: str, name: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(
            f"the password is too short ({len(password)} characters)",
            expected=f"at least {MIN_PASSWORD_LENGTH} characters",
            hint="A few unrelated words make a long password that is easy to type",
        )
    if password.strip().lower() == name.lower():
        raise InputError("the password may not be the user name", hint="Choose another")
    return password


class Accounts:
    """``ws.accounts``: users, tokens, sessions, and authentication."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    # -- users ------------------------------------------------------------------------------------

    def add_user(
        self,
        name: str,
        role: str,
        password: str,
        *,
        full_name: str | None = None,
        reason: str | None = None,
    ) -> UserRecord:
        """Add an account (audited as ``user.add``; its password is never in the trail)."""
        _check_user_name(name)
        _check_role(role)
        _check_password(password, name)
        printed = (full_name or name).strip()
        if not printed or len(printed) > 200 or not printed.isprintable():
            raise InputError(
                "the full name must be 1 to 200 printable characters",
                hint="Pass --full-name 'Alice Smith'",
            )
        digest = _hasher().hash(password)
        with self._ctx.db.write() as session:
            record = repo.add_user(
                session,
                name=name,
                full_name=printed,
                role=role,
                password_hash=digest,
                actor=self._ctx.user,
            )
            audit.record(
                session,
                events.account_changed(
                    "add", name, new=role, reason=reason, details={"full_name": printed}
                ),
                self._ctx.user,
            )
        return record

    def users(self) -> list[UserRecord]:
        with self._ctx.db.read() as session:
            return repo.list_users(session)

    def user(self, name: str) -> UserRecord:
        with self._ctx.db.read() as session:
            return repo.user_row(session, name).to_entity()

    def set_role(self, name: str, role: str, *, reason: str | None = None) -> UserRecord:
        _check_role(role)
        with self._ctx.db.write() as session:
            row = repo.user_row(session, name)
            old, row.role = row.role, role
            audit.record(
                session,
                events.account_changed("role", name, old=old, new=role, reason=reason),
                self._ctx.user,
            )
            return row.to_entity()

    def set_active(self, name: str, active: bool, *, reason: str | None = None) -> UserRecord:
        """Disable (or enable again) an account; a disabled user's tokens and sessions stop
        working. Users are never deleted, so their name and id are never reused."""
        with self._ctx.db.write() as session:
            row = repo.user_row(session, name)
            if row.active == active:
                raise ConflictError(
                    f"user {name!r} is {'enabled' if active else 'disabled'} already"
                )
            row.active = active
            audit.record(
                session,
                events.account_changed("enable" if active else "disable", name, reason=reason),
                self._ctx.user,
            )
            return row.to_entity()

    def set_password(self, name: str, password: str, *, reason: str | None = None) -> None:
        _check_password(password, name)
        digest = _hasher().hash(password)
        with self._ctx.db.write() as session:
            row = repo.user_row(session, name)
            row.password_hash = digest
            audit.record(
                session, events.account_changed("password", name, reason=reason), self._ctx.user
            )

    def unlock(self, name: str, *, reason: str | None = None) -> None:
        """End a lock-out before its time (audited as ``user.unlock``)."""
        with self._ctx.db.write() as session:
            repo.user_row(session, name)
            audit.record(
                session, events.account_changed("unlock", name, reason=reason), self._ctx.user
            )

    # -- passwords and the lock-out --------------------------------------------------------------

    def locked_until(self, name: str) -> datetime | None:
        """When the lock-out of ``name`` ends (None when it is not locked)."""
        with self._ctx.db.read() as session:
            return self._locked_until(session, name)

    def _locked_until(self, session: Session, name: str) -> datetime | None:
        from labsight.store._rows import AuditRow
        from labsight.workspace.config import lockout_policy

        attempts, window = lockout_policy(session)
        found = session.execute(
            select(AuditRow.action, AuditRow.created)
            .where(
                AuditRow.object_type == "user",
                AuditRow.object_id == name,
                AuditRow.action.in_(
                    ("user.login_failed", "user.login", "user.unlock", "user.password")
                ),
            )
            .order_by(AuditRow.seq.desc())
            .limit(attempts)
        ).all()
        if len(found) < attempts or any(a != "user.login_failed" for a, _ in found):
            return None
        until = datetime.fromisoformat(found[0][1]) + window
        return until if until > datetime.now(UTC) else None

    def _verify(self, session: Session, name: str, password: str) -> tuple[UserRow | None, str]:
        """The user when ``password`` is theirs, with "" — else None and why not."""
        from argon2.exceptions import InvalidHashError, VerificationError

        row = repo.find_user(session, name) if isinstance(name, str) else None
        hasher = _hasher()
        try:
            hasher.verify(row.password_hash if row is not None else _dummy_hash(), password)
            ok = row is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if row is None:
            return None, "unknown user"
        if not ok:
            return None, "wrong password"
        if not row.active:
            return None, "account disabled"
        return row, ""

    def authenticate(self, name: str, password: str, *, via: str = "login") -> UserRecord:
        """The user whose ``password`` this is; audited as ``user.login`` (or
        ``user.login_failed``, which counts towards the lock-out).

        Raises
        ------
        AuthenticationError
            For an unknown user, a wrong password, a disabled or locked account (one message for
            the first two, so that a caller learns nothing about which names exist).
        """
        return self._check(name, password, via=via, audit_success=True)

    def _check(self, name: str, password: str, *, via: str, audit_success: bool) -> UserRecord:
        shown = str(name)[:64]
        refusal: AuthenticationError | None = None
        with self._ctx.db.write() as session:  # a refusal's entry commits; then it is raised
            until = self._locked_until(session, shown)
            if until is not None:
                audit.record(session, events.login_refused(shown, via, "account locked"), shown)
                refusal = AuthenticationError(
                    f"the account {shown!r} is locked after too many wrong passwords, until "
                    f"{until.strftime('%H:%M')} UTC",
                    hint="Wait, or ask an admin to unlock it (labsight users unlock NAME)",
                )
            else:
                row, why = self._verify(session, shown, password)
                if row is None and why == "account disabled":
                    audit.record(session, events.login_refused(shown, via, why), shown)
                    refusal = AuthenticationError("the account is disabled")
                elif row is None:
                    audit.record(session, events.login_failed(shown, via, why), shown)
                    refusal = AuthenticationError(
                        "unknown user or wrong password", hint="Check the user name and password"
                    )
                else:
                    if audit_success:
                        audit.record(session, events.logged_in(row.name, via), row.name)
                    user = row.to_entity()
        if refusal is not None:
            raise refusal
        return user

    def check_password(self, name: str, password: str, *, via: str) -> UserRecord:
        """As :meth:`authenticate`, for a password asked again (a signature): a failure is
        audited and counts towards the lock-out, a success is recorded by the caller's entry."""
        return self._check(name, password, via=via, audit_success=False)

    # -- tokens ----------------------------------------------------------------------------------

    def create_token(
        self,
        user: str,
        scope: str,
        *,
        expires: str | timedelta = "90d",
        note: str | None = None,
    ) -> tuple[str, TokenRecord]:
        """A new token for ``user``: its secret (shown once, never stored) and its record."""
        if scope not in SCOPES:
            raise InputError(
                f"unknown token scope {scope[:40]!r}", expected=", ".join(SCOPES), got=repr(scope)
            )
        life = parse_duration(expires) if isinstance(expires, str) else expires
        token_id = secrets.token_hex(4)
        secret = f"{_TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        with self._ctx.db.write() as session:
            row = repo.user_row(session, user)
            if not row.active:
                raise ConflictError(f"user {user!r} is disabled; no token is made")
            record = repo.add_token(
                session,
                token_id=token_id,
                user=row,
                secret_sha256=_sha256(secret),
                scope=scope,
                expires=datetime.now(UTC) + life,
                note=note,
            )
            audit.record(
                session,
                events.token_changed(
                    "create",
                    user,
                    token_id,
                    reason=note,
                    details={"scope": scope, "expires": record.expires.isoformat()},
                ),
                self._ctx.user,
            )
        return secret, record

    def tokens(self, user: str | None = None) -> list[TokenRecord]:
        with self._ctx.db.read() as session:
            return repo.list_tokens(session, user)

    def revoke_token(self, token_id: str, *, reason: str | None = None) -> TokenRecord:
        with self._ctx.db.write() as session:
            row = repo.token_row(session, token_id)
            if row.revoked is not None:
                raise ConflictError(f"token {token_id} is revoked already")
            row.revoked = datetime.now(UTC)
            user = session.get(UserRow, row.user_id)
            name = user.name if user is not None else f"#{row.user_id}"
            audit.record(
                session,
                events.token_changed("revoke", name, token_id, reason=reason, details={}),
                self._ctx.user,
            )
            return row.to_entity(name)

    def principal_for_token(self, secret: str) -> Principal:
        """Who a bearer token acts for. One message for every refusal but expiry and
        revocation, which the holder needs to know."""
        refused = AuthenticationError(
            "the token is not valid", hint="Check the Authorization: Bearer header"
        )
        if not secret.startswith(_TOKEN_PREFIX) or len(secret) > 200:
            raise refused
        with self._ctx.db.one_read() as connection:
            token = repo.token_user(connection, _sha256(secret))
        if token is None:
            raise refused
        if token.revoked is not None:
            raise AuthenticationError(
                f"token {token.token_id} was revoked", hint="Ask for a new token"
            )
        if token.expires <= datetime.now(UTC):
            raise AuthenticationError(
                f"token {token.token_id} expired on {token.expires.date().isoformat()}",
                hint="Make a new one: labsight tokens create",
            )
        if not token.user.active:
            raise AuthenticationError("the account is disabled")
        return Principal(token.user, via="token", scope=token.scope, token_id=token.token_id)

    # -- browser sessions ------------------------------------------------------------------------

    def open_session(self, user: UserRecord, hours: float = _SESSION_HOURS) -> tuple[str, str]:
        """A session for a user who just logged in: ``(cookie secret, CSRF token)``."""
        secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        with self._ctx.db.write() as session:
            row = repo.user_row(session, user.name)
            repo.add_session(
                session,
                user=row,
                secret_sha256=_sha256(secret),
                csrf=csrf,
                expires=datetime.now(UTC) + timedelta(hours=hours),
            )
        return secret, csrf

    def principal_for_session(self, secret: str) -> Principal:
        with self._ctx.db.read() as session:
            found = repo.session_user(session, _sha256(secret)) if len(secret) < 200 else None
            if found is None:
                raise AuthenticationError("not logged in", hint="POST /api/v1/login first")
            row, user = found
            expires = row.expires if row.expires.tzinfo else row.expires.replace(tzinfo=UTC)
            if expires <= datetime.now(UTC) or not user.active:
                raise AuthenticationError("the session ended", hint="Log in again")
            return Principal(user.to_entity(), via="session", csrf=row.csrf)

    def close_session(self, secret: str) -> None:
        with self._ctx.db.write() as session:
            repo.drop_session(session, _sha256(secret))
