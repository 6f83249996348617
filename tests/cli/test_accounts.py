"""The command line of accounts: users, tokens, sign, signatures, config and regulated mode."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import pytest

import labsight
from labsight.exceptions import AuthenticationError


class Run(Protocol):
    """The ``run`` fixture of conftest: the CLI in-process, on ``home``, acting as ``user``."""

    home: Path
    user: str

    def __call__(self, *args: str) -> tuple[int, str, str]: ...


PASSWORDS = {
    "alice": "alice's long password",
    "bob": "bob's long password",
    "carol": "carol's long password",
}
ROLES = {"alice": "admin", "bob": "scientist", "carol": "reviewer"}
MODEL = "reactions-yield@v1"
TRAIN = (
    *("train", "reactions", "--target", "yield [%]"),
    *("--budget", "20", "--families", "ridge", "--trials", "1"),
)
"""A quick training run: one trial of ridge regression."""


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """What the next command reads from standard input."""

    def feed(text: str) -> None:
        monkeypatch.setattr("sys.stdin", io.StringIO(text))

    return feed


@pytest.fixture
def prompts(monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[str]]:
    """Answers to the hidden password prompts (``getpass``), in order, then the end of the input
    (as ^D would); returns the list that counts the prompts read (the prompt's text is on
    stderr)."""
    read: list[str] = []

    def answer(*answers: str) -> list[str]:
        left = list(answers)

        def getpass(prompt: str = "", stream: Any = None) -> str:
            if not left:
                raise EOFError
            read.append(left[0])
            return left.pop(0)

        monkeypatch.setattr("getpass.getpass", getpass)
        return read

    return answer


def _add(run: Run, stdin: Callable[[str], None], name: str, *extra: str) -> None:
    stdin(PASSWORDS[name] + "\n")
    code, _, err = run("users", "add", name, "--role", ROLES[name], "--password-stdin", *extra)
    assert code == 0, err


def _sign(
    run: Run, stdin: Callable[[str], None], user: str, meaning: str = "approved", *extra: str
) -> tuple[int, str, str]:
    stdin(PASSWORDS[user] + "\n")
    run.user = user
    reason = ("--reason", "validated on batch 12")
    return run("sign", MODEL, "--meaning", meaning, *reason, "--password-stdin", *extra)


def _audit(run: Run, action: str) -> list[dict[str, Any]]:
    code, out, _ = run("audit", "log", "--action", action, "--json")
    assert code == 0
    return list(json.loads(out))


def _csv(path: Path) -> Path:
    path.write_text(
        "run,catalyst,temperature [degC],time [min],yield [%]\n"
        + "".join(
            f"{i},{'Pd-A' if i % 2 else 'Pd-B'},{60 + 3 * i},{30 + 5 * i},{40 + 1.7 * i + i % 3}\n"
            for i in range(1, 13)
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with alice (admin), bob (scientist) and carol (reviewer), the dataset reactions
    and the model reactions-yield@v1 trained by bob: made once, copied for each test."""
    root = tmp_path_factory.mktemp("accounts")
    home = root / "home"
    ws = labsight.Workspace(home, user="alice")
    for name, role in ROLES.items():
        ws.accounts.add_user(name, role, PASSWORDS[name], full_name=f"{name.title()} Example")
    ws.close()
    ws = labsight.Workspace(home, user="bob")
    ws.ingest(_csv(root / "reactions.csv"), name="reactions")
    ws.models.train("reactions", "yield [%]", budget=20, families=["ridge"], max_trials=1)
    ws.close()
    return home


@pytest.fixture
def home(run: Run, trained: Path) -> Path:
    """The ``run`` fixture's home, as :func:`trained` made it."""
    shutil.copytree(trained, run.home)
    return run.home


# -- users ----------------------------------------------------------------------------------------


def test_no_user_exists_until_one_is_added(run: Run) -> None:
    code, out, _ = run("users", "list", "--json")
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = run("users", "list")
    assert code == 0
    assert "no users yet" in out


@pytest.mark.parametrize(
    ("line", "password"),
    [
        ("alice's long password\n", "alice's long password"),
        ("alice's long password\r\n", "alice's long password"),
        ("  spaces count too  \n", "  spaces count too  "),  # only the line ending is removed
        ("no line ending at all", "no line ending at all"),
    ],
)
def test_users_add_reads_one_line_of_stdin_as_the_password(
    run: Run, stdin: Callable[[str], None], line: str, password: str
) -> None:
    stdin(line)
    code, out, err = run("users", "add", "alice", "--role", "admin", "--password-stdin")
    assert code == 0, err
    assert "added user alice" in out
    assert password.strip() not in out + err
    ws = labsight.Workspace(run.home, user="x")
    try:
        assert ws.accounts.authenticate("alice", password).role == "admin"
    finally:
        ws.close()


def test_users_add_asks_for_the_password_twice_hidden(
    run: Run, prompts: Callable[..., list[str]]
) -> None:
    shown = prompts(PASSWORDS["alice"], PASSWORDS["alice"])
    code, out, err = run("users", "add", "alice", "--role", "admin", "--full-name", "Alice Smith")
    assert code == 0, err
    assert len(shown) == 2
    assert "Password for alice" in err
    assert "Repeat for confirmation" in err
    assert PASSWORDS["alice"] not in out + err
    code, out, _ = run("users", "list", "--json")
    assert [(u["name"], u["full_name"], u["role"]) for u in json.loads(out)] == [
        ("alice", "Alice Smith", "admin")
    ]


def test_users_add_refuses_two_passwords_that_differ(
    run: Run, prompts: Callable[..., list[str]]
) -> None:
    prompts(PASSWORDS["alice"], PASSWORDS["bob"])  # then the input ends
    code, out, err = run("users", "add", "alice", "--role", "admin")
    assert code == 1
    assert "do not match" in out + err
    assert PASSWORDS["alice"] not in out + err
    code, out, _ = run("users", "list", "--json")
    assert json.loads(out) == []


def test_users_add_refuses_a_short_password(run: Run, stdin: Callable[[str], None]) -> None:
    stdin("short1\n")
    code, out, err = run("users", "add", "alice", "--role", "admin", "--password-stdin")
    assert code == 2
    assert "too short" in err
    assert len(err.strip().splitlines()) == 1
    assert "short1" not in out + err
    code, out, _ = run("users", "list", "--json")
    assert json.loads(out) == []


def test_users_add_with_no_password_on_stdin_is_refused(
    run: Run, stdin: Callable[[str], None]
) -> None:
    stdin("")
    code, _, err = run("users", "add", "alice", "--role", "admin", "--password-stdin")
    assert code == 2
    assert "no password on standard input" in err


def test_users_list_json_follows_role_and_state_changes(
    run: Run, stdin: Callable[[str], None]
) -> None:
    _add(run, stdin, "alice")
    _add(run, stdin, "bob", "--full-name", "Bob Jones")
    assert run("users", "set-role", "bob", "reviewer", "--reason", "QA")[0] == 0
    assert run("users", "disable", "bob", "--reason", "left")[0] == 0
    code, out, _ = run("users", "list", "--json")
    assert code == 0
    users = {u["name"]: u for u in json.loads(out)}
    assert users["alice"]["full_name"] == "alice"  # the user name, when no --full-name
    assert (users["bob"]["full_name"], users["bob"]["role"]) == ("Bob Jones", "reviewer")
    assert users["bob"]["active"] is False
    assert users["bob"]["locked_until"] is None
    assert not any("password" in key for key in users["bob"])
    code, _, err = run("users", "disable", "bob")
    assert code == 1
    assert "disabled already" in err
    assert run("users", "enable", "bob")[0] == 0
    assert run("users", "unlock", "bob", "--reason", "phoned")[0] == 0
    actions = [e["action"] for e in _audit(run, "user.role")]
    assert actions == ["user.role"]


def test_users_set_role_refuses_an_unknown_role(run: Run, stdin: Callable[[str], None]) -> None:
    _add(run, stdin, "alice")
    code, _, err = run("users", "set-role", "alice", "overlord")
    assert code == 2
    assert "unknown role" in err


def test_users_password_changes_it(run: Run, stdin: Callable[[str], None]) -> None:
    _add(run, stdin, "alice")
    stdin("a brand new password\n")
    code, out, err = run("users", "password", "alice", "--password-stdin")
    assert code == 0, err
    assert "a brand new password" not in out + err
    ws = labsight.Workspace(run.home, user="x")
    try:
        assert ws.accounts.authenticate("alice", "a brand new password").name == "alice"
    finally:
        ws.close()


# -- tokens ---------------------------------------------------------------------------------------


def test_token_secret_is_printed_once_and_never_listed(
    run: Run, stdin: Callable[[str], None]
) -> None:
    _add(run, stdin, "bob")
    create = ("tokens", "create", "--user", "bob", "--scope", "predict")
    code, out, err = run(*create, "--expires", "90d", "--note", "LIMS")
    assert code == 0, err
    assert "cannot be shown again" in out
    secret = next(word for word in out.split() if word.startswith("lsk_"))
    code, out, _ = run("tokens", "create", "--user", "bob", "--scope", "read", "--json")
    made = json.loads(out)
    assert set(made) == {"token", "token_id", "user", "scope", "expires"}
    assert (made["user"], made["scope"]) == ("bob", "read")
    for args in (("tokens", "list"), ("tokens", "list", "--json"), ("audit", "log", "--json")):
        code, out, _ = run(*args)
        assert code == 0
        assert secret not in out
        assert made["token"] not in out
    code, out, _ = run("tokens", "list", "--user", "bob", "--json")
    listed = json.loads(out)
    assert [(t["scope"], t["state"], t["note"]) for t in listed] == [
        ("predict", "active", "LIMS"),
        ("read", "active", None),
    ]
    assert not any("secret" in key or key == "token" for key in listed[0])


def test_tokens_revoke_ends_a_token(run: Run, stdin: Callable[[str], None]) -> None:
    _add(run, stdin, "bob")
    code, out, _ = run("tokens", "create", "--user", "bob", "--scope", "predict", "--json")
    made = json.loads(out)
    code, out, err = run("tokens", "revoke", made["token_id"], "--reason", "laptop lost")
    assert code == 0, err
    assert "revoked" in out
    code, out, _ = run("tokens", "list", "--json")
    assert [t["state"] for t in json.loads(out)] == ["revoked"]
    ws = labsight.Workspace(run.home, user="x")
    try:
        with pytest.raises(AuthenticationError, match="was revoked"):
            ws.accounts.principal_for_token(made["token"])
    finally:
        ws.close()
    code, _, err = run("tokens", "revoke", made["token_id"])
    assert code == 1
    assert "revoked already" in err


def test_tokens_create_refuses_a_bad_expiry(run: Run, stdin: Callable[[str], None]) -> None:
    _add(run, stdin, "bob")
    code, _, err = run("tokens", "create", "--user", "bob", "--scope", "read", "--expires", "9m")
    assert code == 2
    assert "--expires" in err


# -- signatures -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("home")
def test_reviewer_approves_a_model_another_user_trained(
    run: Run, stdin: Callable[[str], None]
) -> None:
    code, out, err = _sign(run, stdin, "carol", "approved", "--json")
    assert code == 0, err
    signature = json.loads(out)
    assert (signature["signer"], signature["printed_name"]) == ("carol", "Carol Example")
    assert (signature["meaning"], signature["status"]) == ("approved", "valid")
    assert len(signature["record_sha256"]) == 64
    assert PASSWORDS["carol"] not in out + err
    code, out, _ = run("signatures", MODEL, "--json")
    assert [(s["signer"], s["status"]) for s in json.loads(out)] == [("carol", "valid")]
    [entry] = _audit(run, "record.sign")
    assert (entry["actor"], entry["new_value"]) == ("carol", "approved")


@pytest.mark.usefixtures("home")
def test_sign_prints_the_signature(run: Run, stdin: Callable[[str], None]) -> None:
    code, out, err = _sign(run, stdin, "carol", "reviewed")
    assert code == 0, err
    for text in ("carol (Carol Example)", "reviewed", "UTC", "sha256", "validated on batch 12"):
        assert text in out


@pytest.mark.usefixtures("home")
def test_sign_asks_for_the_password_hidden(run: Run, prompts: Callable[..., list[str]]) -> None:
    shown = prompts(PASSWORDS["carol"])
    run.user = "carol"
    code, _, err = run("sign", MODEL, "--meaning", "approved", "--reason", "ok")
    assert code == 0, err
    assert len(shown) == 1
    assert "Password for carol" in err


@pytest.mark.usefixtures("home")
def test_sign_with_a_wrong_password_is_refused_and_audited(
    run: Run, stdin: Callable[[str], None]
) -> None:
    stdin("not carol's password\n")
    run.user = "carol"
    code, out, err = run(
        "sign", MODEL, "--meaning", "approved", "--reason", "ok", "--password-stdin"
    )
    assert code == 2
    assert "wrong password" in err
    assert len(err.strip().splitlines()) == 1
    assert "not carol's password" not in out + err
    failed = _audit(run, "user.login_failed")
    assert [(e["object_id"], e["details"]["via"]) for e in failed] == [("carol", "signature")]
    code, out, _ = run("signatures", MODEL, "--json")
    assert json.loads(out) == []


@pytest.mark.usefixtures("home")
def test_author_cannot_approve_their_own_model(run: Run, stdin: Callable[[str], None]) -> None:
    run.user = "alice"
    stdin(PASSWORDS["alice"] + "\n")
    code, _, err = run(*TRAIN, "--name", "own", "--reason", "alice's own")
    assert code == 0, err
    code, _, err = run(
        "sign", "own@v1", "--meaning", "approved", "--reason", "mine", "--password-stdin"
    )
    assert code == 1
    assert "author of a record may not sign it as approved" in err
    assert [e["object_id"] for e in _audit(run, "record.sign_refused")] == ["model own@v1"]


@pytest.mark.usefixtures("home")
def test_model_show_lists_its_signatures(run: Run, stdin: Callable[[str], None]) -> None:
    code, out, _ = run("model", "show", MODEL)
    assert code == 0
    assert "Signatures" not in out  # none yet: nothing shown
    assert _sign(run, stdin, "carol")[0] == 0
    code, out, _ = run("model", "show", MODEL)
    assert code == 0
    assert "Signatures on" in out
    for text in ("approved", "carol", "Carol Example", "UTC", "valid"):
        assert text in out
    code, out, _ = run("model", "show", MODEL, "--json")
    [signature] = json.loads(out)["signatures"]
    assert (signature["meaning"], signature["signer"]) == ("approved", "carol")


@pytest.mark.usefixtures("home")
def test_dataset_show_lists_its_signatures(run: Run, stdin: Callable[[str], None]) -> None:
    code, out, _ = run("dataset", "show", "reactions", "--json")
    assert json.loads(out)["signatures"] == []
    stdin(PASSWORDS["carol"] + "\n")
    run.user = "carol"
    sign = ("sign", "reactions@v1", "--meaning", "reviewed")
    code, _, err = run(*sign, "--reason", "units checked", "--password-stdin")
    assert code == 0, err
    code, out, _ = run("dataset", "show", "reactions")
    assert "Signatures on reactions@" in out
    assert "units checked" in out
    code, out, _ = run("dataset", "show", "reactions", "--json")
    assert [s["meaning"] for s in json.loads(out)["signatures"]] == ["reviewed"]


@pytest.mark.usefixtures("home")
def test_sign_refuses_an_unknown_meaning_before_asking(
    run: Run, prompts: Callable[..., list[str]]
) -> None:
    shown = prompts()
    run.user = "carol"
    code, _, err = run("sign", MODEL, "--meaning", "blessed", "--reason", "x")
    assert code == 2
    assert "unknown meaning" in err
    assert shown == []


# -- regulated mode -------------------------------------------------------------------------------


@pytest.mark.usefixtures("home")
def test_regulated_mode_needs_reasons_and_an_approval_for_production(
    run: Run, stdin: Callable[[str], None], tmp_path: Path
) -> None:
    run.user = "alice"
    code, out, err = run("config", "set", "regulated", "true", "--reason", "GLP study 7")
    assert code == 0, err
    assert "regulated = true (was false)" in out
    code, out, _ = run("config", "show", "--json")
    assert json.loads(out)["regulated"] is True

    run.user = "bob"
    before = run("datasets", "--json")[1]
    code, _, err = run("ingest", str(_csv(tmp_path / "more.csv")), "--name", "more")
    assert code == 2
    assert "regulated mode" in err
    assert "needs a reason" in err
    assert run("datasets", "--json")[1] == before  # nothing was stored

    code, _, err = run("model", "stage", MODEL, "production", "--reason", "release")
    assert code == 1
    assert "approved signature" in err
    code, out, _ = run("models", "--json")
    assert [m["stage"] for m in json.loads(out)] == ["draft"]

    assert _sign(run, stdin, "carol")[0] == 0
    run.user = "bob"
    code, out, err = run("model", "stage", MODEL, "production", "--reason", "release", "--json")
    assert code == 0, err
    assert json.loads(out)["stage"] == "production"

    code, _, err = run(*TRAIN, "--reason", "retrain for batch 13", "--json")
    assert code == 0, err
    assert _audit(run, "model.train")[-1]["reason"] == "retrain for batch 13"

    code, out, err = run("audit", "verify")
    assert code == 0, out + err
    assert "ok" in out


@pytest.mark.usefixtures("home")
def test_cluster_and_export_pass_their_reason_to_the_audit_trail(run: Run, tmp_path: Path) -> None:
    run.user = "bob"
    code, _, err = run("cluster", "reactions", "--k", "2", "--reason", "batches", "--json")
    assert code == 0, err
    assert _audit(run, "dataset.cluster")[-1]["reason"] == "batches"
    onnx = str(tmp_path / "yield.onnx")
    code, _, err = run("model", "export", MODEL, "--out", onnx, "--reason", "to the LIMS")
    assert code == 0, err
    assert _audit(run, "model.export")[-1]["reason"] == "to the LIMS"


def test_config_set_refuses_an_unknown_setting_and_value(run: Run) -> None:
    code, _, err = run("config", "set", "colour", "blue")
    assert code == 2
    assert "unknown setting" in err
    code, _, err = run("config", "set", "regulated", "maybe")
    assert code == 2
    assert "true or false" in err
    code, out, _ = run("config", "show")
    assert "regulated" in out
    assert "lockout_attempts" in out


# -- tampering ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("home")
def test_an_edited_signature_fails_audit_verify(run: Run, stdin: Callable[[str], None]) -> None:
    code, out, _ = _sign(run, stdin, "carol", "reviewed", "--json")
    assert code == 0
    signature_id = json.loads(out)["signature_id"]
    assert run("audit", "verify")[0] == 0
    db = sqlite3.connect(run.home / "labsight.db")
    try:
        with db:
            db.execute("UPDATE signatures SET meaning = 'approved'")
    finally:
        db.close()
    code, out, _ = run("audit", "verify")
    assert code == 1
    assert signature_id in out
    assert "does not match its seal" in out
    code, out, _ = run("signatures", MODEL, "--json")
    assert [s["status"] for s in json.loads(out)] == ["broken"]
