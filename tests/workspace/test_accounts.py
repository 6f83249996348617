"""Accounts in the core: ids never reused, what a role and a token's scope allow, a disabled user's
token, a lock-out that ends, regulated mode's reasons."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

import labsight
from labsight.exceptions import AuthenticationError, ForbiddenError, InputError
from labsight.workspace.accounts import PERMISSIONS, Principal


def test_a_user_id_is_never_reused(ws: labsight.Workspace) -> None:
    first = ws.accounts.add_user("ann", "viewer", "ann-password-1")
    with ws.db.engine.begin() as conn:  # a row removed behind labsight's back …
        conn.execute(text("DELETE FROM users WHERE name = 'ann'"))
    second = ws.accounts.add_user("ben", "viewer", "ben-password-1")
    assert second.user_id > first.user_id
    report = ws.audit.verify()  # … is found, and its id is not handed out again
    assert not report.ok
    assert any("user 'ann'" in p for p in report.record_problems)


@pytest.mark.parametrize("role", ["viewer", "scientist", "reviewer", "admin"])
def test_a_token_allows_what_both_its_scope_and_its_role_allow(
    ws: labsight.Workspace, role: str
) -> None:
    user = ws.accounts.add_user(f"u{role}", role, "a-long-password-1")
    for scope, widest in (("read", {"read"}), ("predict", {"read", "predict"})):
        who = Principal(user, via="token", scope=scope)
        allowed = {
            p for p in ("read", "predict", "write", "review", "sign", "admin") if who.allows(p)
        }
        assert allowed == widest & PERMISSIONS[role]
    who = Principal(user, via="token", scope="predict")
    if "write" in PERMISSIONS[role]:
        with pytest.raises(ForbiddenError, match="scope predict"):
            who.require("write", "train")


def test_a_disabled_users_token_stops_working_and_an_expired_one_says_so(
    ws: labsight.Workspace,
) -> None:
    ws.accounts.add_user("cal", "scientist", "cal-password-1")
    secret, _ = ws.accounts.create_token("cal", "predict", expires="1h")
    assert ws.accounts.principal_for_token(secret).name == "cal"
    old, record = ws.accounts.create_token("cal", "read", expires=timedelta(seconds=-1))
    with pytest.raises(AuthenticationError, match=f"token {record.token_id} expired"):
        ws.accounts.principal_for_token(old)
    ws.accounts.set_active("cal", False, reason="left the lab")
    with pytest.raises(AuthenticationError, match="disabled"):
        ws.accounts.principal_for_token(secret)
    assert ws.audit.verify().ok


def test_an_unlock_ends_a_lock_out_and_a_right_password_then_logs_in(
    ws: labsight.Workspace,
) -> None:
    ws.accounts.add_user("dee", "viewer", "dee-password-1")
    for _ in range(5):
        with pytest.raises(AuthenticationError, match="wrong password"):
            ws.accounts.authenticate("dee", "not her password")
    assert ws.accounts.locked_until("dee") is not None
    with pytest.raises(AuthenticationError, match="locked"):
        ws.accounts.authenticate("dee", "dee-password-1")
    ws.accounts.unlock("dee", reason="called the help desk")
    assert ws.accounts.authenticate("dee", "dee-password-1").name == "dee"
    actions = [e.action for e in ws.audit.entries(object_id="dee")]
    assert actions.count("user.login_failed") == 5
    assert actions[-3:] == ["user.login_refused", "user.unlock", "user.login"]


def test_regulated_mode_asks_every_change_for_a_reason(ws: labsight.Workspace) -> None:
    ws.config.set("regulated", "true")  # entering needs none; it is audited all the same
    with pytest.raises(InputError, match="needs a reason"):
        ws.accounts.add_user("eve", "viewer", "eve-password-1")
    assert [u.name for u in ws.accounts.users()] == []
    ws.accounts.add_user("eve", "viewer", "eve-password-1", reason="new technician")
    with pytest.raises(InputError, match="needs a reason"):
        ws.config.set("regulated", "false")
    ws.config.set("regulated", "false", reason="study closed")
    assert ws.audit.verify().ok
