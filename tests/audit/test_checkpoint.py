"""Signed checkpoints: the chain's head signed into a file outside the database finds a database
rolled back or rewritten since, and a checkpoint that was edited or signed by another key."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

import labsight
from labsight.audit.chain import entry_hash
from labsight.audit.checkpoint import CHECKPOINT_FORMAT, read_checkpoint
from labsight.exceptions import AuditChainError, InputError
from labsight.store._rows import AuditHeadRow, AuditRow

Run = Callable[..., tuple[int, str, str]]  # the `run` fixture: the CLI in-process on tmp_path/home
ALTERED = "the checkpoint file was altered or not signed by this workspace's key"


def _db_file(ws: labsight.Workspace) -> Path:
    return ws.settings.home / "labsight.db"


def _entries(ws: labsight.Workspace) -> int:
    with ws.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(AuditRow)) or 0)


def _rewrite_whole_chain(ws: labsight.Workspace) -> None:
    """What someone who controls the database can do: edit entry 1, re-hash every entry after it
    and the head, so that the chain verifies on its own."""
    with ws.db.engine.begin() as conn:
        rows = conn.execute(select(AuditRow.__table__).order_by(AuditRow.seq)).mappings().all()
        prev = "0" * 64
        for row in rows:
            fields = dict(row)
            if fields["seq"] == 1:
                fields["reason"] = "rewritten"
            fields["prev_hash"] = prev
            fields["hash"] = entry_hash(fields)
            conn.execute(
                update(AuditRow.__table__)
                .where(AuditRow.__table__.c.seq == fields["seq"])
                .values(reason=fields["reason"], prev_hash=prev, hash=fields["hash"])
            )
            prev = fields["hash"]
        conn.execute(update(AuditHeadRow.__table__).values(hash=prev))


def _edit(path: Path, **changes: object) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    document["checkpoint"].update(changes)
    path.write_text(json.dumps(document), encoding="utf-8")


def test_a_checkpoint_then_verify_holds_and_the_checkpoint_is_recorded(
    ws: labsight.Workspace, yield_csv: Path, tmp_path: Path
) -> None:
    ws.ingest(yield_csv, name="reactions")
    head = ws.audit.verify()
    out = tmp_path / "qa" / "head.checkpoint"
    made = ws.audit.checkpoint(out)
    assert (made.seq, made.head) == (head.entries, head.head)
    assert made.path == out.absolute()
    assert made.database == ws.db.safe_url
    assert read_checkpoint(out).document() == made.document()
    assert made.document()["format"] == CHECKPOINT_FORMAT
    entry = ws.audit.entries()[-1]
    assert entry.seq == made.seq + 1
    assert (entry.action, entry.version, entry.new_value) == (
        "audit.checkpoint",
        str(made.seq),
        made.head,
    )
    assert entry.details == {"public_key": made.public_key, "path": str(out.absolute())}
    report = ws.audit.verify(checkpoint=out)
    assert report.ok, report.problem
    assert report.entries == made.seq + 1


def test_an_empty_chain_can_be_checkpointed(ws: labsight.Workspace, tmp_path: Path) -> None:
    made = ws.audit.checkpoint(tmp_path / "empty.checkpoint")
    assert made.seq == 0
    assert ws.audit.verify(checkpoint=tmp_path / "empty.checkpoint").ok


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_the_signing_key_is_made_once_private_outside_the_database(
    ws: labsight.Workspace, tmp_path: Path
) -> None:
    first = ws.audit.checkpoint(tmp_path / "one.checkpoint")
    key = ws.settings.home / "keys" / "audit-checkpoint.pem"
    assert first.key_created
    assert first.key_path == key
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert key.read_text(encoding="ascii").startswith("-----BEGIN PRIVATE KEY-----")
    again = ws.audit.checkpoint(tmp_path / "two.checkpoint")
    assert not again.key_created
    assert again.key_fingerprint == first.key_fingerprint
    assert list(key.parent.iterdir()) == [key]  # no temporary file left behind


@pytest.mark.parametrize("regrown", [False, True], ids=["cut-back", "cut-back-and-regrown"])
def test_a_database_rolled_back_since_the_checkpoint_is_found(
    tmp_path: Path, yield_csv: Path, regrown: bool
) -> None:
    home = tmp_path / "home"
    ws = labsight.Workspace(home, user="analyst")
    ws.ingest(yield_csv, name="reactions")
    ws.close()
    backup = tmp_path / "backup.db"
    shutil.copy2(home / "labsight.db", backup)
    ws = labsight.Workspace(home, user="analyst")
    yield_csv.write_text(yield_csv.read_text(encoding="utf-8") + "7,Pd-A,90,90,66.0\n")
    ws.ingest(yield_csv, name="reactions")
    ws.ingest(yield_csv, name="copy")
    out = tmp_path / "head.checkpoint"
    made = ws.audit.checkpoint(out)
    ws.close()
    for leftover in home.glob("labsight.db-*"):  # the write-ahead log of the newer database
        leftover.unlink()
    shutil.copy2(backup, home / "labsight.db")  # the administrator restores the older copy
    ws = labsight.Workspace(home, user="analyst")
    if regrown:  # and carries on until the chain is as long as it was
        for n in range(made.seq + 1 - _entries(ws)):
            ws.ingest(yield_csv, name=f"again{n}")
        assert _entries(ws) > made.seq
    assert ws.audit.verify().ok  # on its own, the older database is consistent
    report = ws.audit.verify(checkpoint=out)
    assert not report.ok
    assert report.first_bad == made.seq
    assert report.problem is not None
    assert report.problem.startswith(
        f"the database was rolled back or rewritten since the checkpoint of {made.created} "
        f"(entry {made.seq})"
    )
    ws.close()


def test_a_chain_rewritten_whole_since_the_checkpoint_is_found(
    ws: labsight.Workspace, yield_csv: Path, tmp_path: Path
) -> None:
    ws.ingest(yield_csv, name="reactions")
    out = tmp_path / "head.checkpoint"
    made = ws.audit.checkpoint(out)
    _rewrite_whole_chain(ws)
    assert ws.audit.verify(quick=True).ok  # without the checkpoint the rewrite is consistent
    report = ws.audit.verify(quick=True, checkpoint=out)
    assert not report.ok
    assert report.first_bad == made.seq
    assert "rolled back or rewritten" in (report.problem or "")
    assert "was rewritten" in (report.problem or "")


@pytest.mark.parametrize(
    "changes",
    [
        {"seq": 1},
        {"head": "0" * 64},
        {"created": "2020-01-01T00:00:00+00:00"},
        {"key_fingerprint": "0" * 16},
    ],
    ids=["seq", "head", "created", "fingerprint"],
)
def test_an_edited_checkpoint_fails_its_signature(
    ws: labsight.Workspace, yield_csv: Path, tmp_path: Path, changes: dict[str, object]
) -> None:
    ws.ingest(yield_csv, name="reactions")
    ws.ingest(yield_csv, name="copy")
    out = tmp_path / "head.checkpoint"
    ws.audit.checkpoint(out)
    _edit(out, **changes)
    report = ws.audit.verify(checkpoint=out)
    assert not report.ok
    assert report.problem == ALTERED
    assert report.first_bad is None  # the file is wrong, not an entry of the database


def test_a_checkpoint_signed_by_another_key_is_refused(
    ws: labsight.Workspace, yield_csv: Path, tmp_path: Path
) -> None:
    ws.ingest(yield_csv, name="reactions")
    ours = ws.audit.checkpoint(tmp_path / "ours.checkpoint")
    other_key = tmp_path / "elsewhere" / "other.pem"
    theirs = ws.audit.checkpoint(tmp_path / "theirs.checkpoint", key=other_key)
    assert theirs.key_created
    assert theirs.key_fingerprint != ours.key_fingerprint
    report = ws.audit.verify(checkpoint=tmp_path / "theirs.checkpoint")
    assert not report.ok
    assert report.problem == (
        f"the checkpoint was signed by key {theirs.key_fingerprint}, not by this workspace's key "
        f"{ours.key_fingerprint}: it was made elsewhere or forged"
    )
    assert ws.audit.verify(checkpoint=tmp_path / "theirs.checkpoint", key=other_key).ok
    assert not ws.audit.verify(checkpoint=tmp_path / "ours.checkpoint", key=other_key).ok


def test_a_forged_checkpoint_of_a_rewritten_chain_is_refused(
    ws: labsight.Workspace, yield_csv: Path, tmp_path: Path
) -> None:
    """Whoever rewrites the chain and replaces the checkpoint with one of their own, signed with
    their own key, is caught by the workspace's key."""
    ws.ingest(yield_csv, name="reactions")
    out = tmp_path / "head.checkpoint"
    ws.audit.checkpoint(out)
    _rewrite_whole_chain(ws)
    ws.audit.checkpoint(out, key=tmp_path / "forger.pem")
    report = ws.audit.verify(quick=True, checkpoint=out)
    assert not report.ok
    assert "made elsewhere or forged" in (report.problem or "")


def test_a_broken_chain_is_never_signed(
    ws: labsight.Workspace, yield_csv: Path, tmp_path: Path
) -> None:
    ws.ingest(yield_csv, name="reactions")
    with ws.db.engine.begin() as conn:
        conn.execute(update(AuditRow.__table__).values(actor="mallory"))
    out = tmp_path / "head.checkpoint"
    with pytest.raises(AuditChainError, match="does not verify, so its head is not signed"):
        ws.audit.checkpoint(out)
    assert not out.exists()
    assert _entries(ws) == 1


def test_a_checkpoint_that_cannot_be_written_records_nothing(
    ws: labsight.Workspace, yield_csv: Path, tmp_path: Path
) -> None:
    ws.ingest(yield_csv, name="reactions")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(InputError, match="cannot write the checkpoint"):
        ws.audit.checkpoint(blocker / "head.checkpoint")
    assert _entries(ws) == 1
    assert ws.audit.verify(quick=True).ok


def test_a_checkpoint_never_overwrites_the_signing_key(
    ws: labsight.Workspace, tmp_path: Path
) -> None:
    key = tmp_path / "lab.pem"
    ws.audit.checkpoint(tmp_path / "first.checkpoint", key=key)
    before = key.read_bytes()
    with pytest.raises(InputError, match="would overwrite the signing key"):
        ws.audit.checkpoint(key, key=key)
    assert key.read_bytes() == before


def test_an_unreadable_key_is_named(ws: labsight.Workspace, tmp_path: Path) -> None:
    key = tmp_path / "lab.pem"
    key.write_text("not a key", encoding="utf-8")
    with pytest.raises(
        InputError, match=r"lab\.pem: is not a usable signing key; expected an Ed25519"
    ):
        ws.audit.checkpoint(tmp_path / "head.checkpoint", key=key)
    ws.audit.checkpoint(tmp_path / "good.checkpoint")
    with pytest.raises(InputError, match=r"missing\.pem: cannot read the signing key"):
        ws.audit.verify(checkpoint=tmp_path / "good.checkpoint", key=tmp_path / "missing.pem")


def _valid(ws: labsight.Workspace, tmp_path: Path) -> dict[str, object]:
    out = tmp_path / "valid.checkpoint"
    ws.audit.checkpoint(out)
    document: dict[str, object] = json.loads(out.read_text(encoding="utf-8"))
    return document


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"it is not JSON \(Expecting value\)"),
        (b"{\n", r"line 2: is not a labsight audit checkpoint: it is not JSON"),
        (b"\xff\xfe", "it is not UTF-8 text"),
        (b"[]", "the wrong fields; expected .*got list"),
        (b'{"checkpoint": {}, "signature": ""}', "the wrong fields in 'checkpoint'"),
        (b"x" * 70_000, "larger than 64 KiB"),
    ],
    ids=["empty", "truncated", "binary", "list", "empty-checkpoint", "huge"],
)
def test_a_garbage_checkpoint_file_is_bad_input(
    ws: labsight.Workspace, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "garbage.checkpoint"
    path.write_bytes(content)
    with pytest.raises(InputError, match=rf"garbage\.checkpoint.*{message}"):
        ws.audit.verify(checkpoint=path)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": "labsight-audit-checkpoint/2"}, "an unknown format"),
        ({"seq": -1}, "'seq' is not an entry number"),
        ({"seq": True}, "'seq' is not an entry number"),
        ({"head": "ABC"}, "'head' is not 64 hex digits"),
        ({"created": "yesterday"}, "'created' is not a UTC time"),
        ({"created": "2025-01-01T00:00:00"}, "'created' is not a UTC time"),
        ({"extra": 1}, "the wrong fields in 'checkpoint'"),
    ],
    ids=["format", "negative-seq", "bool-seq", "head", "created", "naive-created", "extra"],
)
def test_a_checkpoint_of_the_wrong_shape_is_bad_input(
    ws: labsight.Workspace, tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    document = _valid(ws, tmp_path)
    assert isinstance(document["checkpoint"], dict)
    document["checkpoint"].update(changes)
    path = tmp_path / "odd.checkpoint"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(InputError, match=message):
        ws.audit.verify(checkpoint=path)


def test_a_missing_checkpoint_file_is_bad_input(ws: labsight.Workspace, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nowhere\.checkpoint: cannot read the checkpoint"):
        ws.audit.verify(checkpoint=tmp_path / "nowhere.checkpoint")


# -- the command line -------------------------------------------------------------------------


def _copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (its write-ahead log included)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def test_cli_checkpoint_then_verify(run: Run, yield_csv: Path, tmp_path: Path) -> None:
    run("ingest", str(yield_csv), "--name", "reactions")
    out = tmp_path / "head.checkpoint"
    code, stdout, _ = run("audit", "checkpoint", "--out", str(out))
    assert code == 0
    made = read_checkpoint(out)
    key = tmp_path / "home" / "keys" / "audit-checkpoint.pem"
    assert f"made the signing key {key}" in stdout
    assert (
        f"checkpoint of entry 1, head {made.head}, signed with key {made.key_fingerprint}: "
        f"wrote {out} (recorded as entry 2)"
    ) in stdout
    code, stdout, _ = run("audit", "verify", "--checkpoint", str(out))
    assert code == 0, stdout
    assert "(the signed checkpoint holds)" in stdout
    code, stdout, _ = run("audit", "checkpoint", "--out", str(tmp_path / "next"), "--json")
    assert code == 0
    document = json.loads(stdout)
    assert (document["seq"], document["key_created"]) == (2, False)
    assert document["key_fingerprint"] == made.key_fingerprint
    code, _, _ = run(
        "audit", "verify", "--quick", "--anchor", "1:" + made.head, "--checkpoint", str(out)
    )
    assert code == 0


def test_cli_verify_exits_1_naming_a_rollback(run: Run, yield_csv: Path, tmp_path: Path) -> None:
    db, backup = tmp_path / "home" / "labsight.db", tmp_path / "backup.db"
    run("ingest", str(yield_csv), "--name", "reactions")
    _copy_sqlite(db, backup)
    run("dataset", "delete", "reactions")
    out = tmp_path / "head.checkpoint"
    assert run("audit", "checkpoint", "--out", str(out))[0] == 0
    _copy_sqlite(backup, db)  # the database restored to before the delete
    assert run("audit", "verify", "--quick")[0] == 0
    code, stdout, _ = run("audit", "verify", "--quick", "--checkpoint", str(out))
    assert code == 1
    assert "BROKEN at entry 2: the database was rolled back or rewritten since the checkpoint" in (
        stdout
    )


def test_cli_verify_refuses_a_checkpoint_signed_by_another_key(
    run: Run, yield_csv: Path, tmp_path: Path
) -> None:
    run("ingest", str(yield_csv), "--name", "reactions")
    run("audit", "checkpoint", "--out", str(tmp_path / "ours"))
    run("audit", "checkpoint", "--out", str(tmp_path / "theirs"), "--key", str(tmp_path / "k.pem"))
    code, stdout, _ = run("audit", "verify", "--checkpoint", str(tmp_path / "theirs"))
    assert code == 1
    assert "BROKEN: the checkpoint was signed by key" in stdout
    code, _, _ = run(
        "audit",
        "verify",
        "--checkpoint",
        str(tmp_path / "theirs"),
        "--key",
        str(tmp_path / "k.pem"),
    )
    assert code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["audit", "verify", "--checkpoint", "GARBAGE"], "is not a labsight audit checkpoint"),
        (["audit", "verify", "--checkpoint", "MISSING"], "cannot read the checkpoint"),
        (["audit", "checkpoint", "--out", "x", "--key", "GARBAGE"], "is not a usable signing key"),
        (["audit", "verify", "--key", "GARBAGE"], "only used to check a checkpoint"),
        (["audit", "checkpoint"], "--out"),
    ],
    ids=["garbage", "missing", "bad-key", "key-without-checkpoint", "no-out"],
)
def test_cli_bad_checkpoint_input_exits_2_with_one_line(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "GARBAGE").write_bytes(b"\x00garbage\n{")
    code, _, stderr = run(*args)
    assert code == 2
    assert message in stderr
    if args[-1] != "checkpoint":  # Typer's own usage errors come with the usage line
        assert stderr.startswith("error: ")
        assert stderr.strip().count("\n") == 0
    assert not (tmp_path / "x").exists()
