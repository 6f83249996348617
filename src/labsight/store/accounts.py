"""Accounts in the database: users, API tokens, browser sessions, settings.

Functions take the caller's session, so that a change and its audit entry commit together.
Secrets are never stored: a token or a session cookie is kept as the sha256 of its secret, a
password as its argon2 hash (made above the store).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select
from sqlalchemy.orm import Session

from labsight.exceptions import ConflictError, NotFoundError
from labsight.store._rows import (
    SessionRow,
    SettingRow,
    TokenRow,
    UserRow,
    _aware,
    user_record,
    utcnow,
)
from labsight.store.entities import TokenRecord, UserRecord

__all__ = [
    "TokenHolder",
    "add_session",
    "add_token",
    "add_user",
    "drop_session",
    "get_setting",
    "list_tokens",
    "list_users",
    "session_user",
    "set_setting",
    "token_row",
    "token_user",
    "user_row",
]


def user_row(session: Session, name: str) -> UserRow:
    row = session.scalar(select(UserRow).where(UserRow.name == name))
    if row is None:
        raise NotFoundError(
            f"no user {name[:64]!r}", hint="List the users with `labsight users list`"
        )
    return row


def find_user(session: Session, name: str) -> UserRow | None:
    return session.scalar(select(UserRow).where(UserRow.name == name))


def add_user(
    session: Session, *, name: str, full_name: str, role: str, password_hash: str, actor: str
) -> UserRecord:
    if find_user(session, name) is not None:
        raise ConflictError(
            f"user {name!r} exists already",
            hint="User names are never reused; choose another (`labsight users list`)",
        )
    row = UserRow(
        name=name,
        full_name=full_name,
        role=role,
        password_hash=password_hash,
        active=True,
        created=utcnow(),
        created_by=actor,
    )
    session.add(row)
    session.flush()
    return row.to_entity()


def list_users(session: Session) -> list[UserRecord]:
    return [r.to_entity() for r in session.scalars(select(UserRow).order_by(UserRow.id))]


def add_token(
    session: Session,
    *,
    token_id: str,
    user: UserRow,
    secret_sha256: str,
    scope: str,
    expires: datetime,
    note: str | None,
) -> TokenRecord:
    row = TokenRow(
        token_id=token_id,
        user_id=user.id,
        secret_sha256=secret_sha256,
        scope=scope,
        created=utcnow(),
        expires=expires,
        revoked=None,
        note=note,
    )
    session.add(row)
    session.flush()
    return row.to_entity(user.name)


def token_row(session: Session, token_id: str) -> TokenRow:
    row = session.scalar(select(TokenRow).where(TokenRow.token_id == token_id))
    if row is None:
        raise NotFoundError(
            f"no token {token_id[:20]!r}", hint="List the tokens with `labsight tokens list`"
        )
    return row


def list_tokens(session: Session, user: str | None = None) -> list[TokenRecord]:
    query = select(TokenRow, UserRow.name).join(UserRow, UserRow.id == TokenRow.user_id)
    if user is not None:
        query = query.where(UserRow.name == user)
    return [t.to_entity(name) for t, name in session.execute(query.order_by(TokenRow.id))]


@dataclass(frozen=True)
class TokenHolder:
    """What authenticating a bearer token needs: the token's id, scope, revocation and expiry
    (UTC), and its user."""

    token_id: str
    scope: str
    revoked: datetime | None
    expires: datetime
    user: UserRecord


def token_user(connection: Connection | Session, secret_sha256: str) -> TokenHolder | None:
    """The token with this secret's hash and its user (None for no such token): one statement,
    columns only (every request with a token runs it)."""
    found = connection.execute(_token_query(), {"sha256": secret_sha256}).first()
    if found is None:
        return None
    expires = _aware(found.expires) or utcnow()
    return TokenHolder(
        found.token_id, found.scope, _aware(found.revoked), expires, user_record(found)
    )


@functools.cache
def _token_query() -> Any:
    """Built once: every request with a token runs it, and building costs more than running."""
    return (
        select(
            TokenRow.token_id,
            TokenRow.scope,
            TokenRow.revoked,
            TokenRow.expires,
            UserRow.id,
            UserRow.name,
            UserRow.full_name,
            UserRow.role,
            UserRow.active,
            UserRow.created,
            UserRow.created_by,
        )
        .join(UserRow, UserRow.id == TokenRow.user_id)
        .where(TokenRow.secret_sha256 == bindparam("sha256"))
    )


def add_session(
    session: Session, *, user: UserRow, secret_sha256: str, csrf: str, expires: datetime
) -> None:
    now = utcnow()
    session.execute(delete(SessionRow).where(SessionRow.expires < now))  # keep the table small
    session.add(
        SessionRow(
            secret_sha256=secret_sha256, user_id=user.id, csrf=csrf, created=now, expires=expires
        )
    )


def session_user(session: Session, secret_sha256: str) -> tuple[SessionRow, UserRow] | None:
    found = session.execute(
        select(SessionRow, UserRow)
        .join(UserRow, UserRow.id == SessionRow.user_id)
        .where(SessionRow.secret_sha256 == secret_sha256)
    ).first()
    return None if found is None else (found[0], found[1])


def drop_session(session: Session, secret_sha256: str) -> None:
    session.execute(delete(SessionRow).where(SessionRow.secret_sha256 == secret_sha256))


def get_setting(session: Session, key: str) -> str | None:
    row = session.scalar(select(SettingRow).where(SettingRow.key == key))
    return None if row is None else row.value


def set_setting(session: Session, key: str, value: str, actor: str) -> str | None:
    """Set ``key`` to ``value``; returns the old value (None when it was never set)."""
    row = session.scalar(select(SettingRow).where(SettingRow.key == key))
    if row is None:
        session.add(SettingRow(key=key, value=value, changed=utcnow(), changed_by=actor))
        return None
    old = row.value
    row.value, row.changed, row.changed_by = value, utcnow(), actor
    return old
