"""One writer per database: an OS lock on `<db>.lock` beside the SQLite file.

Two bot processes on one database would each run start-up recovery over the other's rows mid-send
(doubled DMs, false "interrupted" notices), so the process that opens a database for writing takes an
exclusive `flock` on `<db>.lock` and keeps it until it closes the database. The kernel drops the lock
when the process ends in any way, `kill -9` included, so a dead holder can never leave it stuck; the
file itself stays (deleting lock files invites races) and only its text, who holds it, changes.

A second writer is refused at once with that text: pid, host, command line and since when.
`flock` belongs to the open file, not the process: a second open in the same process is refused too.
"""
from __future__ import annotations

import json
import os
import shlex
import socket
import sys
from pathlib import Path

from bot.clock import SystemClock

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None
    import msvcrt

# Windows locks byte ranges, and a locked range cannot be read by others: lock a byte far past the text.
_WINDOWS_LOCK_OFFSET = 1 << 20


class DatabaseOpenError(RuntimeError):
    """The database cannot be opened; the message says why, in one line a terminal can show."""


class DatabaseInUse(DatabaseOpenError):
    """Another process holds the writer lock; `holder` is what it wrote into the lock file."""

    def __init__(self, path: Path, lock_path: Path, holder: dict) -> None:
        self.path = path
        self.lock_path = lock_path
        self.holder = holder
        super().__init__(
            f"{path} is in use by another Kizuna process ({describe_holder(holder)}); only one process "
            f"may write to a database: stop that one first, or give this one another --db. "
            f"(lock: {lock_path}) SQLite has no standbys: to run a second process that waits and takes "
            f"over, put the community on PostgreSQL (DATABASE_URL)."
        )


def lock_path_for(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def describe_holder(holder: dict) -> str:
    if not holder.get("pid"):
        return "it has not written its details yet"
    parts = [f"pid {holder['pid']}"]
    if holder.get("host"):
        parts[0] += f" on {holder['host']}"
    if holder.get("command"):
        parts.append(f"`{holder['command']}`")
    if holder.get("since"):
        parts.append(f"since {holder['since']}")
    return ", ".join(parts)


def this_process() -> dict:
    argv = list(getattr(sys, "orig_argv", None) or sys.argv)
    if argv:
        argv[0] = os.path.basename(argv[0])  # `python -m bot run`, not the venv's full path
    command = shlex.join(argv)
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command if len(command) <= 300 else command[:297] + "...",
        # the wall clock, not the app's: it tells a person when that process really started
        "since": SystemClock().now().strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


class WriterLock:
    """Held from `acquire` until `release` (or the end of the process, however it ends)."""

    def __init__(self, path: Path, lock_path: Path, fd: int) -> None:
        self.path = path
        self.lock_path = lock_path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, path: str | Path) -> "WriterLock":
        """Take the lock for the database at `path`, or raise DatabaseInUse naming the holder at once
        (never waits). Raises DatabaseOpenError when the lock file cannot be created."""
        path = Path(path)
        lock_path = lock_path_for(path)
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by child processes
        except OSError as exc:
            raise DatabaseOpenError(f"cannot create the lock file {lock_path}: {exc.strerror or exc}") from exc
        try:
            _lock(fd)
        except OSError:
            holder = _read_holder(fd)
            os.close(fd)
            raise DatabaseInUse(path, lock_path, holder) from None
        except BaseException:
            os.close(fd)
            raise
        lock = cls(path, lock_path, fd)
        try:
            lock._write(this_process())
        except OSError as exc:
            lock.release()
            raise DatabaseOpenError(f"cannot write the lock file {lock_path}: {exc.strerror or exc}") from exc
        return lock

    @property
    def held(self) -> bool:
        return self._fd is not None

    def _write(self, holder: dict) -> None:
        data = json.dumps(holder, ensure_ascii=False).encode("utf-8")
        os.ftruncate(self._fd, 0)
        if hasattr(os, "pwrite"):
            os.pwrite(self._fd, data, 0)
        else:  # pragma: no cover - Windows
            _write_at_start(self._fd, data)

    def release(self) -> None:
        """Give the lock up (closing the file releases it). Safe to call twice."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)  # nobody holds it now; the next holder writes its own details
        except OSError:
            pass
        os.close(fd)


def _lock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError (an OSError) when held
    else:  # pragma: no cover - Windows
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)


def _read_holder(fd: int) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 4096).decode("utf-8", errors="replace")
        holder = json.loads(text)
    except (OSError, ValueError):  # empty: the holder has just taken the lock and not written yet
        return {}
    return holder if isinstance(holder, dict) else {}


def _write_at_start(fd: int, data: bytes) -> None:  # pragma: no cover - Windows has no pwrite
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, data)
