"""Run trials as local subprocesses, up to ``workers`` at a time."""

from __future__ import annotations

import tempfile
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from interfaces import Outcome, TrialRequest, TrialStatus

from ._confine import check_confinement
from ._run_trial import run_trial, stop_trials

__all__ = ["LocalExecutor", "new_workdir", "guarded_run", "trial_workdirs"]


def _workdir_prefix(index: int) -> str:
    return f"trial-{index:05d}-"


def new_workdir(root: Path, index: int) -> Path:
    """A fresh directory for trial ``index`` under ``root`` (never reused)."""
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=_workdir_prefix(index), dir=root))


def trial_workdirs(root: Path, index: int) -> list[Path]:
    """The directories :func:`new_workdir` gave trial ``index`` under ``root``, oldest first: a trial
    run again after a kill has one per attempt, and the last is the attempt that finished."""
    found = [path for path in root.glob(f"{_workdir_prefix(index)}*") if path.is_dir()]
    return sorted(found, key=lambda path: path.stat().st_mtime_ns)


def guarded_run(request: TrialRequest, workdir: Path, confine: str = "none") -> Outcome:
    """:func:`run_trial`, with a failure of the executor itself as a record, not an exception."""
    try:
        return run_trial(request, workdir, confine=confine)
    except Exception as exc:  # noqa: BLE001 - the executor's own fault (disk full, ...): still a record
        return Outcome(status=TrialStatus.CRASHED, reason=f"executor-error: {exc!r}",
                       log_tail=traceback.format_exc()[-2000:])


class LocalExecutor:
    """:class:`interfaces.Executor` running each trial as a subprocess of this machine.

    ``root`` holds one working directory per trial (a temporary directory
    if not given); it is kept after ``close`` so logs can be read.
    ``confine`` is ``none`` or ``bwrap`` (see :mod:`engine.executors._confine`);
    ``bwrap`` without bubblewrap installed is a ``confinement-unavailable``
    error here, before any trial runs.
    """

    def __init__(self, workers: int = 1, root: str | Path | None = None, *, confine: str = "none") -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        check_confinement(confine)
        self.confine = confine
        self.workers = workers
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="trials-"))
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="trial")

    def submit(self, request: TrialRequest) -> Future[Outcome]:
        workdir = new_workdir(self.root, request.index)
        return self._pool.submit(guarded_run, request, workdir, self.confine)

    def stop(self) -> int:
        """Stop the trials in flight now (SIGTERM, SIGKILL after a grace); they end as crashed records."""
        return stop_trials()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
