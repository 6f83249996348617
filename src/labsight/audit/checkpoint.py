"""Signed checkpoints: the chain's head, signed with Ed25519 into a file outside the database.

A chain held only in the database can be rebuilt whole, or the database restored from an older
copy, by someone who controls the database. A checkpoint is a small JSON file that says "entry N
had hash H", signed with a key kept outside the database (by default ``<home>/keys/
audit-checkpoint.pem``, ``0600``). Keep the file where the database's administrators cannot write;
a later verify fails unless the database still holds entry N with hash H and its chain verifies.

The file::

    {"checkpoint": {"format": "labsight-audit-checkpoint/1", "seq": 91, "head": "<64 hex>",
                    "created": "2025-01-31T09:12:00.123456+00:00", "database": "sqlite:///…",
                    "public_key": "<64 hex>", "key_fingerprint": "<16 hex>"},
     "signature": "<128 hex>"}

The signature is over the canonical JSON of ``checkpoint`` (sorted keys, compact separators, UTF-8).
``cryptography`` is imported only when a checkpoint is written or checked.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labsight._atomic import atomic_write_text
from labsight.audit._writer import record
from labsight.audit.chain import GENESIS, check_anchor, verify_chain
from labsight.audit.events import checkpoint_written
from labsight.exceptions import AuditChainError, InputError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )
    from sqlalchemy.orm import Session

__all__ = [
    "CHECKPOINT_FORMAT",
    "KEY_FILE",
    "ROLLED_BACK",
    "Checkpoint",
    "check_checkpoint",
    "default_key_path",
    "load_public_key",
    "read_checkpoint",
    "verify_checkpoint",
    "write_checkpoint",
]

CHECKPOINT_FORMAT = "labsight-audit-checkpoint/1"
KEY_FILE = Path("keys") / "audit-checkpoint.pem"
"""Where the signing key lies, relative to the workspace home."""

_MAX_BYTES = 64 * 1024  # a checkpoint is a few hundred bytes; anything far larger is not one
_FIELDS = ("format", "seq", "head", "created", "database", "public_key", "key_fingerprint")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX16 = re.compile(r"[0-9a-f]{16}")
_HEX128 = re.compile(r"[0-9a-f]{128}")
_ALTERED = "the checkpoint file was altered or not signed by this workspace's key"
ROLLED_BACK = "the database was rolled back or rewritten since the checkpoint"
"""How a problem that :func:`check_checkpoint` found in the database (not in the file) begins."""


@dataclass(frozen=True)
class Checkpoint:
    """A signed checkpoint of the audit chain's head.

    ``seq`` and ``head`` name the newest entry when it was made (``seq`` 0 and the genesis hash for
    an empty chain); ``public_key`` is the raw Ed25519 key that signed it (hex) and
    ``key_fingerprint`` the first 16 hex digits of its sha256. ``path`` is the file it was written
    to or read from; ``key_path`` the private key that signed it and ``key_created`` whether that
    key was made for it (set when it was written).
    """

    seq: int
    head: str
    created: str
    database: str
    public_key: str
    key_fingerprint: str
    signature: str
    path: Path | None = None
    key_path: Path | None = None
    key_created: bool = False

    def document(self) -> dict[str, Any]:
        """The signed part of the file."""
        return {
            "format": CHECKPOINT_FORMAT,
            "seq": self.seq,
            "head": self.head,
            "created": self.created,
            "database": self.database,
            "public_key": self.public_key,
            "key_fingerprint": self.key_fingerprint,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.document(),
            "signature": self.signature,
            "path": str(self.path) if self.path is not None else None,
            "key_path": str(self.key_path) if self.key_path is not None else None,
            "key_created": self.key_created,
        }


def default_key_path(home: str | os.PathLike[str]) -> Path:
    """``<home>/keys/audit-checkpoint.pem``: the workspace's signing key (the local home folder,
    for a PostgreSQL workspace too)."""
    return Path(home) / KEY_FILE


def _canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _raw_public(key: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _fingerprint(raw_public_key: bytes) -> str:
    return hashlib.sha256(raw_public_key).hexdigest()[:16]


def _load_private_key(path: Path) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read the signing key: {exc.strerror or exc}",
            path=path,
            hint="Pass --key the Ed25519 key file the checkpoints were signed with",
        ) from exc
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:  # not PEM, encrypted, or damaged
        raise InputError(
            "is not a usable signing key",
            path=path,
            expected="an Ed25519 private key in PKCS8 PEM without a passphrase",
            hint="Pass --key the key file `labsight audit checkpoint` made",
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(
            f"is a {type(key).__name__.removeprefix('_')}, not an Ed25519 key",
            path=path,
            expected="an Ed25519 private key in PKCS8 PEM without a passphrase",
        )
    return key


def load_public_key(path: str | os.PathLike[str]) -> str:
    """The raw public key (hex) of the signing key in ``path``; :class:`InputError` when it
    cannot be read."""
    return _raw_public(_load_private_key(Path(path)).public_key()).hex()


def _create_key(path: Path) -> Ed25519PrivateKey | None:
    """Make a new key at ``path`` (folder ``0700``, file ``0600``); None when another process
    made one first (the caller loads theirs). The file appears whole or not at all."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    folder = path.parent
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)  # mkdir's mode passes through the umask
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)  # 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # never replaces a key: a replaced key orphans every checkpoint
        except FileExistsError:
            return None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return key


def _signing_key(path: Path) -> tuple[Ed25519PrivateKey, bool]:
    """The key in ``path``, made there first when there is none; and whether it was made."""
    if not path.exists():
        try:
            made = _create_key(path)
        except OSError as exc:
            raise InputError(
                f"cannot create the signing key: {exc.strerror or exc}",
                path=path,
                hint="Pass --key a file in a folder you can write",
            ) from exc
        if made is not None:
            return made, True
    return _load_private_key(path), False


def write_checkpoint(
    session: Session,
    key_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    database: str,
    actor: str,
) -> Checkpoint:
    """Sign the chain's head into ``out_path`` and record it (``audit.checkpoint``).

    Call it inside a write transaction (:meth:`Database.write`): the head cannot move while it is
    read, signed and recorded. The chain must verify first (:class:`AuditChainError` otherwise: a
    broken chain is never signed). The checkpoint names head N; its audit entry is N+1, appended
    in the caller's transaction; the file is written last, atomically, before the caller commits.
    So a failed file write rolls the entry back (no entry claims a file that does not exist), and
    a failed commit leaves at worst a file that truthfully signs head N, which the database still
    holds, without an entry about it. The key is made in ``key_path`` when there is none there.

    ``database`` is the database's URL without its password, written into the file for people.
    """
    key_file = Path(key_path).absolute()
    out = Path(out_path).absolute()
    if out.resolve() == key_file.resolve() or (
        out.exists() and key_file.exists() and out.samefile(key_file)
    ):
        raise InputError(
            "the checkpoint would overwrite the signing key",
            path=out,
            hint="Pass --out another file, kept where the database's administrators cannot write",
        )
    if out.is_dir():
        raise InputError(
            "is a folder", path=out, expected="a file name for the checkpoint (--out FILE)"
        )
    chain = verify_chain(session)
    if not chain.ok:
        raise AuditChainError(
            f"the audit chain does not verify, so its head is not signed: {chain.problem}",
            hint="Run `labsight audit verify` and restore the database from a backup",
        )
    key, created = _signing_key(key_file)
    raw = _raw_public(key.public_key())
    checkpoint = Checkpoint(
        seq=chain.entries,
        head=chain.head,
        created=datetime.now(UTC).isoformat(timespec="microseconds"),
        database=database,
        public_key=raw.hex(),
        key_fingerprint=_fingerprint(raw),
        signature="",
    )
    signature = key.sign(_canonical(checkpoint.document())).hex()
    record(session, checkpoint_written(chain.entries, chain.head, raw.hex(), str(out)), actor)
    text = json.dumps({"checkpoint": checkpoint.document(), "signature": signature}, indent=2)
    try:
        atomic_write_text(out, text + "\n")
    except OSError as exc:
        raise InputError(
            f"cannot write the checkpoint: {exc.strerror or exc}",
            path=out,
            hint="Pass --out a file in a folder you can write; nothing was recorded",
        ) from exc
    return dataclasses.replace(
        checkpoint, signature=signature, path=out, key_path=key_file, key_created=created
    )


def _bad(path: Path, what: str, *, got: str | None = None, line: int | None = None) -> InputError:
    return InputError(
        f"is not a labsight audit checkpoint: {what}",
        path=path,
        line=line,
        expected=f'{{"checkpoint": {{"format": "{CHECKPOINT_FORMAT}", …}}, "signature": "<hex>"}}',
        got=got,
        hint="Pass --checkpoint the file `labsight audit checkpoint --out` wrote",
    )


def read_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint file, strictly: any other shape is an :class:`InputError` naming the file.

    Reading does not check the signature (:func:`check_checkpoint` does): a file of the right shape
    whose fields were edited reads, and then fails that check.
    """
    file = Path(path)
    try:
        with file.open("rb") as fh:
            data = fh.read(_MAX_BYTES + 1)
    except OSError as exc:
        raise InputError(
            f"cannot read the checkpoint: {exc.strerror or exc}",
            path=file,
            hint="Pass --checkpoint the file `labsight audit checkpoint --out` wrote",
        ) from exc
    if len(data) > _MAX_BYTES:
        raise _bad(file, f"it is larger than {_MAX_BYTES // 1024} KiB")
    try:
        parsed = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _bad(file, "it is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise _bad(file, f"it is not JSON ({exc.msg})", line=exc.lineno) from exc
    if not isinstance(parsed, dict) or set(parsed) != {"checkpoint", "signature"}:
        keys = sorted(parsed) if isinstance(parsed, dict) else type(parsed).__name__
        raise _bad(file, "the wrong fields", got=str(keys)[:120])
    body, signature = parsed["checkpoint"], parsed["signature"]
    if not isinstance(body, dict) or set(body) != set(_FIELDS):
        keys = sorted(body) if isinstance(body, dict) else type(body).__name__
        raise _bad(file, "the wrong fields in 'checkpoint'", got=str(keys)[:160])
    if body["format"] != CHECKPOINT_FORMAT:
        raise _bad(file, "an unknown format", got=repr(body["format"])[:80])
    seq = body["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0 or seq >= 2**63:
        raise _bad(file, "'seq' is not an entry number", got=repr(seq)[:80])
    checks = (
        ("head", _HEX64, "64 hex digits"),
        ("public_key", _HEX64, "64 hex digits"),
        ("key_fingerprint", _HEX16, "16 hex digits"),
    )
    for name, pattern, words in checks:
        value = body[name]
        if not isinstance(value, str) or pattern.fullmatch(value) is None:
            raise _bad(file, f"{name!r} is not {words}", got=repr(value)[:80])
    if not isinstance(signature, str) or _HEX128.fullmatch(signature) is None:
        raise _bad(file, "'signature' is not 128 hex digits", got=repr(signature)[:80])
    if not isinstance(body["database"], str):
        raise _bad(file, "'database' is not text", got=repr(body["database"])[:80])
    created = body["created"]
    try:
        when = datetime.fromisoformat(created) if isinstance(created, str) else None
    except ValueError:
        when = None
    if when is None or when.utcoffset() != timedelta(0):
        raise _bad(file, "'created' is not a UTC time", got=repr(created)[:80])
    return Checkpoint(
        seq=seq,
        head=body["head"],
        created=created,
        database=body["database"],
        public_key=body["public_key"],
        key_fingerprint=body["key_fingerprint"],
        signature=signature,
        path=file,
    )


def _signature_holds(checkpoint: Checkpoint) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    raw = bytes.fromhex(checkpoint.public_key)
    if _fingerprint(raw) != checkpoint.key_fingerprint:
        return False
    try:
        key = Ed25519PublicKey.from_public_bytes(raw)
        key.verify(bytes.fromhex(checkpoint.signature), _canonical(checkpoint.document()))
    except (InvalidSignature, ValueError):
        return False
    return True


def check_checkpoint(
    session: Session,
    checkpoint: Checkpoint,
    public_key: str | None,
    *,
    chain_verified: bool = False,
) -> str | None:
    """What is wrong with the database against ``checkpoint`` (None when it holds).

    In order: the signature must hold; the key that signed it must be ``public_key`` (the
    workspace's, raw hex) when that is known; the database must still hold entry ``seq`` with
    exactly ``head``; and the chain must verify (skipped when the caller has just checked it,
    ``chain_verified``).
    """
    if not _signature_holds(checkpoint):
        return _ALTERED
    if public_key is not None and public_key != checkpoint.public_key:
        return (
            f"the checkpoint was signed by key {checkpoint.key_fingerprint}, not by this "
            f"workspace's key {_fingerprint(bytes.fromhex(public_key))}: it was made elsewhere "
            "or forged"
        )
    since = f"{ROLLED_BACK} of {checkpoint.created} (entry {checkpoint.seq})"
    if checkpoint.seq == 0:  # an empty chain: every chain starts from it
        problem = None if checkpoint.head == GENESIS else "entry 0 is not the genesis hash"
    else:
        problem = check_anchor(session, (checkpoint.seq, checkpoint.head))
    if problem is None and not chain_verified:
        chain = verify_chain(session)
        problem = None if chain.ok else chain.problem
    return None if problem is None else f"{since}: {problem}"


def verify_checkpoint(
    session: Session,
    path: str | os.PathLike[str],
    key_path: str | os.PathLike[str] | None,
) -> str | None:
    """Check the database against the checkpoint file ``path`` (None when it holds, else the
    problem in words); :class:`InputError` when the file (or the key in ``key_path``) cannot be
    read. With ``key_path`` None, or naming no file, the signature is checked against the key
    the file names (which only a copy of the workspace's key can confirm is the right one)."""
    checkpoint = read_checkpoint(path)
    public_key = None
    if key_path is not None and Path(key_path).exists():
        public_key = load_public_key(key_path)
    return check_checkpoint(session, checkpoint, public_key)
