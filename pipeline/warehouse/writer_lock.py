"""The writers' queue: one writer at a time, the next waits its turn with a progress line.

DuckDB lets one process write a file; a second writer that tries gets an error at once. So a
writer first takes an advisory lock on ``<warehouse>.lock`` (``spsc.duckdb.lock``), waiting up
to the configured time (``write_wait``, ``SPSC_WRITE_WAIT``) while another holds it, and
says so on stderr. The lock file also records who holds it (PID, command, since when), so
the waiting writer, ``spsc status`` and reports can name the writer at work.

The lock is the operating system's (``flock``; byte-range locking on Windows): it is released
when its process dies, even by SIGKILL. A record left in the file by a process that no
longer holds the lock is therefore stale: the next writer says so and clears it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from pipeline.errors import WarehouseBusy

try:  # POSIX
    import fcntl

    def _lock(fd: int, exclusive: bool) -> bool:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

except ImportError:  # Windows: lock one byte far past the record, so the record stays readable
    import msvcrt

    _FAR = 1 << 30

    def _lock(fd: int, exclusive: bool) -> bool:
        os.lseek(fd, _FAR, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, _FAR, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


PROGRESS_EVERY = 30.0  # seconds between progress lines when stderr is not a terminal
QUIET_FOR = 1.0  # a wait shorter than this says nothing


def lock_path(db: Path | str) -> Path:
    """The writers' lock file beside the warehouse: ``spsc.duckdb`` -> ``spsc.duckdb.lock``."""
    db = Path(db)
    return db.with_name(db.name + ".lock")


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) the writers' lock, as recorded in the lock file."""

    pid: int
    command: str
    since: datetime
    host: str = ""

    def describe(self) -> str:
        """``spsc ingest survey (PID 123) since 10:02:03``."""
        return f"{self.command} (PID {self.pid}) since {self.since:%Y-%m-%d %H:%M:%S}"


def _command_line() -> str:
    """What this process is, shortly: ``spsc ingest survey``, ``python -c``, ``pytest``."""
    argv = list(sys.argv) or [""]
    if argv[0] in ("", "-c", "-m"):
        return f"{Path(sys.executable).name} {argv[0]}".strip()
    words = [Path(argv[0]).name]
    for arg in argv[1:3]:  # the verbs, not options, paths or values
        if arg.startswith("-") or not arg.replace("_", "").isalpha():
            break
        words.append(arg)
    return " ".join(words)


def read_holder(db: Path | str) -> Holder | None:
    """The record in the lock file (``None`` when empty or unreadable). Says nothing about
    whether the lock is held: see :func:`current_writer`."""
    try:
        text = lock_path(db).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not text:
        return None
    try:
        raw = json.loads(text)
        return Holder(int(raw["pid"]), str(raw["command"]), datetime.fromisoformat(raw["since"]),
                      str(raw.get("host", "")))
    except (ValueError, KeyError, TypeError):
        return None


def current_writer(db: Path | str) -> Holder | None:
    """The writer at work on ``db`` now, or ``None``. Does not wait.

    Tests the lock with a shared, non-blocking request released at once; a writer asking at
    that very moment retries a few milliseconds later.
    """
    path = lock_path(db)
    if not path.exists():
        return None
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None
    try:
        if _lock(fd, exclusive=False):
            _unlock(fd)
            return None
    finally:
        os.close(fd)
    return read_holder(db) or Holder(0, "another process", datetime.now())


class WriterLock:
    """The writers' lock of one warehouse, held by this process between acquire and release.

    Re-entrant within a process: a writer that opens the warehouse again (``spsc init`` from
    inside an ingest) shares the lock; it is released when the outermost holder releases it.
    """

    _held: ClassVar[dict[Path, WriterLock]] = {}

    def __init__(self, db: Path | str):
        self.db = Path(db)
        self.path = lock_path(self.db)
        self.fd: int | None = None
        self.depth = 0
        self.cleared: Holder | None = None  # a stale record found when the lock was taken

    @classmethod
    def acquire(cls, db: Path | str, wait: float,
                progress: Callable[[str], None] | None = None) -> WriterLock:
        """Take the lock, waiting up to ``wait`` seconds with progress lines (``progress``,
        default :func:`say`).

        Raises:
            WarehouseBusy: another writer held it for all of ``wait`` (one line, naming it).
        """
        key = Path(db).resolve()
        held = cls._held.get(key)
        if held is not None:
            held.depth += 1
            return held
        lock = cls(db)
        lock._take(wait, progress or say)
        cls._held[key] = lock
        return lock

    def _take(self, wait: float, progress: Callable[[str], None]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        started = time.monotonic()
        deadline = started + max(wait, 0.0)
        delay, said, last = 0.02, False, 0.0
        try:
            while not _lock(fd, exclusive=True):
                now = time.monotonic()
                holder = read_holder(self.db)
                who = holder.describe() if holder else "another process"
                if now >= deadline:
                    if said and sys.stderr.isatty():
                        sys.stderr.write("\n")
                    raise WarehouseBusy(
                        f"warehouse is busy (written by {who}; waited {now - started:.0f} s)",
                        str(self.db), "retry when it finishes, or wait longer with SPSC_WRITE_WAIT")
                waited = now - started
                if waited >= QUIET_FOR and (not said or now - last >= PROGRESS_EVERY
                                            or sys.stderr.isatty()):
                    progress(f"waiting for the warehouse: {who} is writing; waited"
                             f" {waited:.0f} s of up to {wait:.0f} s (SPSC_WRITE_WAIT)")
                    said, last = True, now
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
        except BaseException:
            os.close(fd)
            raise
        if said and sys.stderr.isatty():
            sys.stderr.write("\n")
        self.fd, self.depth = fd, 1
        stale = read_holder(self.db)
        if stale is not None:
            # the lock was free, so whoever wrote this record died holding it (killed, power)
            self.cleared = stale
            progress(f"cleared a stale warehouse lock left by {stale.describe()}: that process"
                     " is gone (killed?); DuckDB keeps what it committed and drops the rest")
        self._record(Holder(os.getpid(), _command_line(), datetime.now().replace(microsecond=0),
                            socket.gethostname()))

    def _record(self, holder: Holder) -> None:
        text = json.dumps({"pid": holder.pid, "command": holder.command,
                           "since": holder.since.isoformat(), "host": holder.host})
        os.lseek(self.fd, 0, os.SEEK_SET)
        os.ftruncate(self.fd, 0)
        os.write(self.fd, text.encode("utf-8"))

    def release(self) -> None:
        """Leave the queue (the outermost release clears the record and unlocks)."""
        if self.fd is None:
            return
        self.depth -= 1
        if self.depth > 0:
            return
        self._held.pop(self.db.resolve(), None)
        fd, self.fd = self.fd, None
        try:
            os.ftruncate(fd, 0)  # an empty record: nobody is writing
            _unlock(fd)
        finally:
            os.close(fd)


def say(line: str) -> None:
    """Progress on stderr: one line rewritten in place on a terminal, else a line each time."""
    if sys.stderr.isatty():
        sys.stderr.write("\r" + line + "\033[K")
    else:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()
