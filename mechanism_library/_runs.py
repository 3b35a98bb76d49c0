"""What the library reads from a run directory: who generated what, and how it did.

A run directory holds ``run.sqlite`` (one run) and, from Level 2,
``level2/mechanisms/<name>.py`` and ``level2/session-<n>/rounds.json``. The
store is read through the library's own read-only reader
(:mod:`mechanism_library._store_reader`), which knows the schema from
:mod:`interfaces.store_schema`, the definition the engine's store writes: the
library never imports the engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interfaces import freeze
from interfaces.store_schema import STORE_FILENAME

from ._errors import LibraryError
from ._store_reader import read_stored_run

__all__ = ["NAME_PATTERN", "RunFacts", "check_name", "performance_record", "read_run"]

# A mechanism name becomes a file name in the library and is looked up as one
# in the run directory: one safe path component, as the Specify round demands.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")


def check_name(name: str, what: str = "mechanism name") -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise LibraryError(f"{what} {name!r} must be snake_case: a lower-case letter, then letters, digits or '_' "
                           "(at most 64)", code="bad-name")
    return name


@dataclass(frozen=True)
class RunFacts:
    """One finished (or stopped) run as the library sees it."""

    run_dir: Path
    run_id: str
    provider: str
    model: str
    status: str
    events: tuple[Mapping[str, Any], ...]  # mechanism events, oldest first

    def events_of(self, mechanism: str, kind: str | None = None) -> list[Mapping[str, Any]]:
        return [e for e in self.events if e["mechanism"] == mechanism and (kind is None or e["kind"] == kind)]

    def admission_of(self, mechanism: str) -> Mapping[str, Any]:
        """The event that admitted ``mechanism`` into this run (its hook, session and digest)."""
        admitted = self.events_of(mechanism, "admission")
        if not admitted:
            known = sorted({e["mechanism"] for e in self.events if e["kind"] == "admission"})
            raise LibraryError(f"run {self.run_id} admitted no mechanism named {mechanism!r}; admitted: "
                               f"{', '.join(known) or '(none)'}", code="not-admitted-in-run")
        return admitted[-1]


def read_run(run_dir: Path) -> RunFacts:
    """Read ``run_dir``'s store read-only (nothing is written) and collect its facts.

    Raises LibraryError ``not-a-run`` (no store, or not one run in it) or ``unreadable-run``.
    """
    run_dir = Path(run_dir)
    store_path = run_dir / STORE_FILENAME
    if not store_path.is_file():
        raise LibraryError(f"{run_dir} is not a run directory (no {STORE_FILENAME})", code="not-a-run")
    stored = read_stored_run(store_path)
    return RunFacts(run_dir, stored.run_id, stored.provider, stored.model, stored.status, freeze(stored.events))


def performance_record(facts: RunFacts, mechanism: str) -> dict[str, Any] | None:
    """What ``mechanism`` did in this run, as a manifest's performance record.

    ``delta`` is the evaluation window's gain in the best metric (positive is
    better in either direction); ``verdict`` is keep, revert or ejected. None
    when the run has no verdict for it yet (a run stopped inside the window).
    """
    admission = facts.admission_of(mechanism)
    evaluations = facts.events_of(mechanism, "evaluation")
    ejections = facts.events_of(mechanism, "ejection")
    record: dict[str, Any] = {"run": facts.run_id, "mechanism": mechanism, "session": admission["data"].get("session")}
    if evaluations:
        data = evaluations[-1]["data"]
        verdict = "keep" if facts.events_of(mechanism, "keep") else "revert"
        record.update(delta=data.get("gain"), trials_active=data.get("trials_in_window"), calls=data.get("calls"),
                      effects=data.get("effects"), verdict=verdict, reason=data.get("reason"))
        return record
    if ejections:
        data = ejections[-1]["data"]
        active_from = admission.get("trial_index") or 0
        trials = max(0, (ejections[-1].get("trial_index") or active_from) - active_from)
        record.update(delta=None, trials_active=trials, calls=data.get("calls"), effects=data.get("effects"), verdict="ejected",
                      reason=f"{data.get('code')}: {data.get('reason')}")
        return record
    return None
