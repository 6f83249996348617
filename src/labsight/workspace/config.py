"""Workspace settings kept in the database, every change audited (``ws.config``,
``labsight config set KEY VALUE``).

- ``regulated`` (``false``): regulated (GLP, 21 CFR Part 11) mode. Every change needs a reason; a
  model reaches stage ``production`` only with a valid ``approved`` signature by someone other than
  its author; signatures are asked for on release.
- ``lockout_attempts`` (5) and ``lockout_minutes`` (15): wrong passwords in a row that lock an
  account, and for how long.

Only these keys exist; a value is checked before it is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from labsight import audit
from labsight.audit import events
from labsight.exceptions import InputError
from labsight.store import accounts as repo
from labsight.workspace._context import Context

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["SETTINGS", "WorkspaceConfig", "is_regulated", "lockout_policy"]


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "on", "1"):
        return True
    if lowered in ("false", "no", "off", "0"):
        return False
    raise ValueError("true or false")


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text.strip())
        if not low <= value <= high:
            raise ValueError(f"a whole number from {low} to {high}")
        return value

    parse.__doc__ = f"a whole number from {low} to {high}"
    return parse


@dataclass(frozen=True)
class Setting:
    key: str
    parse: Callable[[str], Any]
    default: Any
    expected: str
    help: str


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting(
            "regulated",
            _bool,
            False,
            "true or false",
            "regulated mode: reasons required, production only with an approved signature "
            "by someone other than the model's author",
        ),
        Setting(
            "lockout_attempts",
            _int_between(3, 20),
            5,
            "a whole number from 3 to 20",
            "wrong passwords in a row that lock an account",
        ),
        Setting(
            "lockout_minutes",
            _int_between(1, 1440),
            15,
            "a whole number from 1 to 1440",
            "minutes an account stays locked",
        ),
    )
}


def _value(session: Session, key: str) -> Any:
    setting = SETTINGS[key]
    stored = repo.get_setting(session, key)
    return setting.default if stored is None else setting.parse(stored)


def is_regulated(session: Session) -> bool:
    """Whether the workspace is in regulated mode (read in the caller's transaction)."""
    return bool(_value(session, "regulated"))


def lockout_policy(session: Session) -> tuple[int, timedelta]:
    """``(attempts, lock time)`` of the lock-out after wrong passwords."""
    return int(_value(session, "lockout_attempts")), timedelta(
        minutes=int(_value(session, "lockout_minutes"))
    )


def _setting(key: str) -> Setting:
    if key not in SETTINGS:
        raise InputError(
            f"unknown setting {key[:60]!r}",
            expected=", ".join(SETTINGS),
            hint="List them with `labsight config show`",
        )
    return SETTINGS[key]


class WorkspaceConfig:
    """``ws.config``: read and change the workspace's settings."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def get(self, key: str) -> Any:
        _setting(key)
        with self._ctx.db.read() as session:
            return _value(session, key)

    def all(self) -> dict[str, Any]:
        with self._ctx.db.read() as session:
            return {key: _value(session, key) for key in SETTINGS}

    def set(self, key: str, value: str, *, reason: str | None = None) -> Any:
        """Change ``key`` (audited as ``config.set`` with the old and new value and the reason);
        returns the value as read. Switching regulated mode off needs a reason."""
        setting = _setting(key)
        try:
            parsed = setting.parse(str(value))
        except ValueError as exc:
            raise InputError(
                f"{value!r} is not a value for {key}", expected=setting.expected
            ) from exc
        text = str(parsed).lower() if isinstance(parsed, bool) else str(parsed)
        with self._ctx.db.write() as session:
            if key == "regulated" and not parsed and is_regulated(session) and not reason:
                raise InputError(
                    "leaving regulated mode needs a reason", hint="Pass --reason 'why'"
                )
            old = repo.set_setting(session, key, text, self._ctx.user)
            audit.record(session, events.setting_changed(key, old, text, reason), self._ctx.user)
        return parsed
