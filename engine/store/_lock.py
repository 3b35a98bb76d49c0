"""The run lock: one engine per run directory, held with ``flock`` on ``run.lock``.

The kernel releases a ``flock`` when the process holding it dies, however it
dies, so a lock left by a killed engine is taken over by the next one without
any clean-up. The file holds the holder's pid, so a refused engine can say who
holds the run.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from interfaces import StoreError

__all__ = ["LOCK_FILENAME", "RunLock"]

LOCK_FILENAME = "run.lock"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class RunLock:
    """An exclusive lock on one run directory. Take it with :meth:`acquire`; :meth:`release` it, or exit.

    ``previous_pid`` is the pid the lock file named when it was taken over
    from an engine that had died (None for a fresh lock or one released cleanly).
    """

    path: Path
    fd: int
    previous_pid: int | None = None

    @classmethod
    def acquire(cls, run_dir: str | Path) -> RunLock:
        """Lock ``run_dir`` for this process, at once or not at all.

        Raises StoreError ``run-locked`` naming the holder's pid when another
        live engine holds it, and ``run-dir-unwritable`` when the lock file
        cannot be created.
        """
        path = Path(run_dir) / LOCK_FILENAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot create the run lock {path}: {exc.strerror}",
                             code="run-dir-unwritable") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"engine pid {holder}" if holder is not None else "another engine"
            raise StoreError(f"the run in {path.parent} is in use by {who}; wait for it to end, or stop it "
                             "first", code="run-locked") from None
        previous = _read_pid(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        dead = previous is not None and previous != os.getpid() and not _pid_alive(previous)
        stale = previous if dead else None
        return cls(path, fd, stale)

    def release(self) -> None:
        """Give the run up. The pid is cleared first, so the file never names an engine that let go."""
        if self.fd < 0:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, 0)
        os.close(self.fd)  # closing the descriptor releases the flock
        self.fd = -1

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
