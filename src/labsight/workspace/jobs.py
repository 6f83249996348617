"""Work that runs on after a request returns: commands in a detached process (``labsight design
suggest --background``) and, in the server, training in a thread (:func:`start_thread`).

A job is the same command line, started in its own session with its output in a log file under
the workspace home (``logs/``), and a marker file (``running/KIND-NAME.json``: pid, started, the
command, the log) that says it runs. The job removes its marker when it succeeds and writes its
error into it when it fails, so status commands can say "running", "failed: …" or nothing, and a
second job on the same object is refused while the first is alive. Markers live in the home
folder, so they are seen by the processes of one machine.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labsight._atomic import atomic_write_text

__all__ = ["Job", "current", "finish", "marker", "read_job", "start", "start_thread"]

Job = dict[str, Any]
_JOB_ID = re.compile(r"[0-9a-f]{16}")


def marker(home: Path, kind: str, name: str) -> Path:
    """The marker file of job ``kind`` on object ``name``."""
    return home / "running" / f"{kind}-{name}.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a process of another user
        return True
    try:  # a finished child not yet reaped by its parent is a zombie: not running
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:  # pragma: no cover - no /proc (macOS): trust kill()
        return True
    return state != "Z"


def current(home: Path, kind: str, name: str) -> Job | None:
    """The job's marker with ``alive`` (its process still runs) and ``error`` (why it failed),
    or None when there is no job, or it finished."""
    path = marker(home, kind, name)
    try:
        job: Job = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    job["alive"] = job.get("error") is None and _alive(int(job["pid"]))
    if not job["alive"] and job.get("error") is None:
        job["error"] = "the process stopped before it finished"
    return job


def start(home: Path, kind: str, name: str, argv: list[str]) -> Job:
    """Run the CLI with ``argv`` (plus ``--in-background``) in a detached process; return its job."""
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    log = logs / f"{kind}-{name}-{started.strftime('%Y%m%dT%H%M%S')}.log"
    command = [
        sys.executable,
        "-c",
        "from labsight.cli import run; run()",
        *argv,
        "--in-background",
    ]
    with log.open("w") as handle:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    job: Job = {
        "pid": proc.pid,
        "started": started.isoformat(timespec="seconds"),
        "command": " ".join(["labsight", *argv]),
        "log": str(log),
    }
    path = marker(home, kind, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(job))
    return {**job, "alive": True, "error": None}


def finish(home: Path, kind: str, name: str, error: str | None = None) -> None:
    """Called by the job itself at its end: remove the marker, or keep it with ``error``."""
    path = marker(home, kind, name)
    if error is None:
        path.unlink(missing_ok=True)
        return
    job = current(home, kind, name) or {"pid": os.getpid()}
    job |= {"error": error, "pid": os.getpid()}
    job.pop("alive", None)
    atomic_write_text(path, json.dumps(job))


# -- jobs that run in a thread of a long-lived process (the server's training) ---------------------

_THREAD_SLOTS = threading.Semaphore(1)  # one training at a time per process; the rest queue


def _job_path(home: Path, job_id: str) -> Path:
    return home / "jobs" / f"{job_id}.json"


def _write_job(home: Path, job: Job) -> None:
    path = _job_path(home, job["id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(job, default=str))


def start_thread(
    home: Path, kind: str, user: str, work: Callable[[Callable[[str], None]], dict[str, Any]]
) -> Job:
    """Run ``work(progress)`` in a thread of this process as job ``kind`` of ``user``.

    The job's state is a file under ``home/jobs/`` (so every worker process of a server reads
    it): ``queued``, ``running`` with the last ``progress`` step, then ``succeeded`` with
    ``result`` (what ``work`` returned) or ``failed`` with ``error`` (the one-line message). A
    job whose process stopped is read as failed.
    """
    job: Job = {
        "id": secrets.token_hex(8),
        "kind": kind,
        "user": user,
        "status": "queued",
        "pid": os.getpid(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "started": None,
        "finished": None,
        "progress": None,
        "result": None,
        "error": None,
    }
    _write_job(home, job)

    def progress(step: str) -> None:
        job["progress"] = step
        _write_job(home, job)

    def run() -> None:
        from labsight.exceptions import LabsightError

        with _THREAD_SLOTS:
            job["status"], job["started"] = (
                "running",
                datetime.now(UTC).isoformat(timespec="seconds"),
            )
            _write_job(home, job)
            try:
                job["result"] = work(progress)
                job["status"] = "succeeded"
            except LabsightError as exc:
                job["status"], job["error"] = "failed", {"code": exc.code, "message": str(exc)}
            except Exception as exc:  # a bug: the job says so; the server log has the rest
                job["status"] = "failed"
                job["error"] = {"code": "internal", "message": f"internal error: {exc!r}"[:500]}
            job["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
            _write_job(home, job)

    threading.Thread(target=run, name=f"labsight-{kind}-{job['id']}", daemon=True).start()
    return dict(job)


def read_job(home: Path, job_id: str) -> Job:
    """A job started by :func:`start_thread` (NotFoundError for no such job)."""
    from labsight.exceptions import NotFoundError

    if not _JOB_ID.fullmatch(job_id):
        raise NotFoundError(f"no job {job_id[:40]!r}")
    try:
        job: Job = json.loads(_job_path(home, job_id).read_text())
    except (OSError, ValueError):
        raise NotFoundError(f"no job {job_id!r}") from None
    if job["status"] in ("queued", "running") and not _alive(int(job["pid"])):
        job["status"] = "failed"
        job["error"] = {"code": "interrupted", "message": "the server stopped before it finished"}
    return job
