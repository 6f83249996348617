"""Content-addressed artifact store behind an fsspec URL.

A file is named by the sha256 of its bytes (``sha256/ab/abcdef…``). It is written to a temporary name
in the same store, flushed to disk, and renamed into place, so a reader never sees half a file and a
crash leaves at most an unreferenced temporary. Every read checks the hash before returning bytes.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import fsspec
from fsspec.implementations.local import LocalFileSystem

from labsight.exceptions import ArtifactIntegrityError, NotFoundError, StoreError

__all__ = ["ArtifactStore", "sha256_file"]

_CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The sha256 of a local file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class ArtifactStore:
    """Files named by their content hash, under ``url`` (a local folder or any fsspec URL).

    Examples
    --------
    >>> import tempfile
    >>> store = ArtifactStore(tempfile.mkdtemp())
    >>> key = store.put_bytes(b"hello")
    >>> key[:12]
    '2cf24dba5fb0'
    >>> store.get_bytes(key)
    b'hello'
    """

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        fs, root = fsspec.core.url_to_fs(self.url)
        self.fs: fsspec.AbstractFileSystem = fs
        self.root: str = root
        self.is_local = isinstance(fs, LocalFileSystem)
        try:
            self.fs.makedirs(self._tmp_dir, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the artifact folder {self.url}: {exc}") from exc

    @property
    def _tmp_dir(self) -> str:
        return f"{self.root}/tmp"

    def path(self, key: str) -> str:
        """Where the artifact ``key`` lives."""
        return f"{self.root}/sha256/{key[:2]}/{key}"

    def location(self, key: str) -> str:
        """Where the artifact is, as a user would type it: a path, or the store's URL scheme."""
        path = self.path(key)
        if self.is_local:
            return path
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        return f"{protocol}://{path.lstrip('/')}"

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self.path(key)))

    @contextmanager
    def staging(self, suffix: str = "") -> Iterator[Path]:
        """A local temporary path to write a file into; ``commit`` it afterwards.

        For a local store the path lies inside the store, so committing is a rename on the same disk.
        The temporary is removed if the block raises or is left uncommitted.
        """
        name = f"{uuid.uuid4().hex}{suffix}.part"
        if self.is_local:
            tmp = Path(self._tmp_dir) / name
        else:
            import tempfile

            tmp = Path(tempfile.gettempdir()) / name
        try:
            yield tmp
        finally:
            tmp.unlink(missing_ok=True)

    def commit(self, local: Path) -> str:
        """Move a finished local file into the store under its hash; returns the hash."""
        with open(local, "rb+") as fh:
            os.fsync(fh.fileno())
        key = sha256_file(local)
        target = self.path(key)
        try:
            if self.fs.exists(target):
                local.unlink(missing_ok=True)
                return key
            self.fs.makedirs(os.path.dirname(target), exist_ok=True)
            if self.is_local:
                os.chmod(local, 0o444)  # stored artifacts are immutable
                os.replace(local, target)
                _fsync_dir(os.path.dirname(target))
            else:
                remote_tmp = f"{self._tmp_dir}/{local.name}"
                self.fs.put_file(str(local), remote_tmp)
                self.fs.mv(remote_tmp, target)
                local.unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot write artifact {key[:12]} to {self.url}: {exc}") from exc
        return key

    def put_bytes(self, data: bytes, suffix: str = "") -> str:
        """Store ``data``; returns its sha256 (storing the same bytes twice is a no-op)."""
        with self.staging(suffix) as tmp:
            tmp.write_bytes(data)
            return self.commit(tmp)

    def put_file(self, path: str | os.PathLike[str]) -> str:
        """Store a copy of the local file ``path``; returns its sha256 (a no-op when stored)."""
        import shutil

        key = sha256_file(path)
        if self.exists(key):
            return key
        with self.staging(Path(path).suffix) as tmp:
            shutil.copyfile(path, tmp)
            return self.commit(tmp)

    def get_bytes(self, key: str) -> bytes:
        """The artifact's bytes, after checking they still hash to ``key``."""
        target = self.path(key)
        try:
            data: bytes = self.fs.cat_file(target)
        except FileNotFoundError as exc:
            raise NotFoundError(
                f"artifact {key[:12]} is missing from {self.url}",
                hint="The artifact folder was changed outside labsight; restore it from a backup.",
            ) from exc
        if hashlib.sha256(data).hexdigest() != key:
            raise ArtifactIntegrityError(
                f"artifact {key[:12]} in {self.url} does not match its hash: it was altered on disk",
                hint="Restore the file from a backup; labsight will not load altered data.",
            )
        return data

    def check(self, key: str) -> str | None:
        """None when the artifact ``key`` is present and hashes to ``key``; otherwise what is wrong."""
        target = self.path(key)
        digest = hashlib.sha256()
        try:
            with self.fs.open(target, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
        except FileNotFoundError:
            return f"is missing from {self.url}"
        except OSError as exc:
            return f"cannot be read from {self.url}: {exc}"
        if digest.hexdigest() != key:
            return "does not match its hash: it was altered on disk"
        return None

    def sweep_temporaries(self, older_than: float = 3600.0) -> int:
        """Remove temporaries left by crashed writers; returns how many were removed.

        Only regular files named as labsight names its temporaries (``….part``) are removed,
        and nothing when the temporary folder is a symbolic link: a link planted there must not
        make labsight delete files elsewhere.
        """
        removed = 0
        now = time.time()
        if self.is_local and os.path.islink(self._tmp_dir):
            return 0
        for info in self.fs.ls(self._tmp_dir, detail=True):
            base = os.path.basename(str(info["name"]))
            if info.get("type") != "file" or info.get("islink") or not _TEMPORARY.search(base):
                continue
            mtime = info.get("mtime") or info.get("created") or now
            mtime = mtime.timestamp() if hasattr(mtime, "timestamp") else float(mtime)
            if now - mtime > older_than:
                self.fs.rm(info["name"])
                removed += 1
        return removed


_TEMPORARY = re.compile(r"\.part$")


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
