"""What every copy of a run's trials shares: the record of one sync, and the sync itself.

A copy (:class:`Mirror`) opens its target on the first sync, remembers which trial indices it holds,
and adds the stored trials it lacks in index order, one at a time. Nothing a copy does may stop a run
whose store is whole, so a sync never raises: the error is in its :class:`MirrorSync`, and the next
sync starts over at the first trial still missing. When the run ends, :meth:`Mirror.finish` gives the
copy what the run wrote at its end (a copy that keeps only trials has nothing to do).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from interfaces import Trial

__all__ = ["Mirror", "MirrorSync"]


@dataclass(frozen=True)
class MirrorSync:
    """What one sync of a copy of the trials did: ``added`` trials now, ``total`` in the copy after it,
    and ``error`` (empty when it worked) saying why it stopped early, ``error_type`` the name of the
    exception's class; the next sync starts over there."""

    target: str
    added: int
    total: int
    error: str = ""
    error_type: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


class Mirror(ABC):
    """A copy of the trials. Subclasses name their ``target``, open it (:meth:`_open`, which also fills
    ``_synced`` with the indices the target already holds) and add one trial to it (:meth:`_add`)."""

    target = ""

    def __init__(self) -> None:
        self._synced: set[int] = set()

    @abstractmethod
    def _open(self) -> Any:
        """The target, opened on the first call and held; fills ``_synced`` with what it holds."""

    @abstractmethod
    def _add(self, handle: Any, trial: Trial) -> None:
        """Add one stored trial to the opened target."""

    def finish(self, status: str) -> str:
        """Record that the run ended as ``status`` (``finished``, ``stopped``, ``interrupted`` or
        ``failed``) after its report was written; never raises: the error, or empty when it worked."""
        return ""

    def sync(self, trials: Iterable[Trial]) -> MirrorSync:
        """Add the trials the copy lacks, in index order; never raises (the error is in the result)."""
        added = 0
        # Broad on purpose: no failure of a copy (a bug in a mapping, a locked or damaged file, a tracking
        # server that is down) may stop a run whose store is whole; the caller reports the error.
        try:
            handle = self._open()
            for trial in sorted((t for t in trials if t.index not in self._synced), key=lambda t: t.index):
                self._add(handle, trial)
                self._synced.add(trial.index)
                added += 1
        except Exception as exc:  # noqa: BLE001 - a copy for other tools; the run's store is the record
            return MirrorSync(self.target, added, len(self._synced), f"{type(exc).__name__}: {exc}"[:500],
                              type(exc).__name__)
        return MirrorSync(self.target, added, len(self._synced))
