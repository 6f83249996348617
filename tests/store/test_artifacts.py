"""Content-addressed artifacts: named by hash, written atomically, checked on read."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from labsight.exceptions import ArtifactIntegrityError, NotFoundError
from labsight.store import ArtifactStore


def test_bytes_round_trip_under_their_hash(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "a"))
    key = store.put_bytes(b"lab data")
    assert key == hashlib.sha256(b"lab data").hexdigest()
    assert store.get_bytes(key) == b"lab data"
    assert Path(store.path(key)).is_file()


def test_storing_the_same_bytes_twice_keeps_one_file(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "a"))
    assert store.put_bytes(b"x") == store.put_bytes(b"x")
    files = [p for p in (tmp_path / "a" / "sha256").rglob("*") if p.is_file()]
    assert len(files) == 1
    assert not list((tmp_path / "a" / "tmp").iterdir())


def test_an_altered_file_is_refused(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "a"))
    key = store.put_bytes(b"original")
    Path(store.path(key)).write_bytes(b"tampered")
    with pytest.raises(ArtifactIntegrityError, match="does not match its hash"):
        store.get_bytes(key)


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "a"))
    with pytest.raises(NotFoundError, match="is missing"):
        store.get_bytes("0" * 64)


def test_a_failed_write_leaves_no_temporary(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "a"))

    def crashing_writer() -> None:
        with store.staging() as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash while writing")

    with pytest.raises(RuntimeError, match="crash while writing"):
        crashing_writer()
    assert not list((tmp_path / "a" / "tmp").iterdir())


def test_stale_temporaries_are_swept(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "a"))
    stale = tmp_path / "a" / "tmp" / "dead.part"
    stale.write_bytes(b"left by a killed writer")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    fresh = tmp_path / "a" / "tmp" / "busy.part"
    fresh.write_bytes(b"another writer is still here")
    assert store.sweep_temporaries() == 1
    assert fresh.exists()
    assert not stale.exists()


def test_a_memory_filesystem_url_works() -> None:
    store = ArtifactStore("memory://labsight-test-artifacts")
    key = store.put_bytes(b"shared")
    assert store.get_bytes(key) == b"shared"


def test_a_planted_symlink_never_makes_the_sweep_delete_elsewhere(tmp_path: Path) -> None:
    import os
    import shutil

    from labsight.store import ArtifactStore

    store = ArtifactStore(str(tmp_path / "artifacts"))
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "thesis.docx").write_text("years of work")
    old = time.time() - 7200
    os.utime(victim / "thesis.docx", (old, old))
    tmp = tmp_path / "artifacts" / "tmp"
    shutil.rmtree(tmp)
    tmp.symlink_to(victim)
    assert store.sweep_temporaries() == 0
    assert (victim / "thesis.docx").exists()
    # Inside a real tmp folder, only labsight's own temporaries go; a folder or a stranger stays.
    tmp.unlink()
    tmp.mkdir()
    (tmp / "keep.txt").write_text("x")
    (tmp / "sub").mkdir()
    crashed = tmp / ("ab" * 16 + ".parquet.part")
    crashed.write_text("half")
    for p in (tmp / "keep.txt", crashed):
        os.utime(p, (old, old))
    assert store.sweep_temporaries() == 1
    assert not crashed.exists()
    assert (tmp / "keep.txt").exists()
    assert (tmp / "sub").is_dir()
