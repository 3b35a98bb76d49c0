"""Records the store hands back: runs, in-flight trials, snapshots."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from interfaces import FrozenDict, Proposal, SearchConfig, StoreError

__all__ = [
    "MECHANISM_EVENT_KINDS",
    "RUN_STATUSES",
    "ConfigSnapshot",
    "InFlightTrial",
    "RunInfo",
    "check_run_id",
]

# ``stopped``: ended cleanly by its own budget (--max-tokens, --max-usd); it resumes with a higher one.
RUN_STATUSES = ("running", "finished", "failed", "interrupted", "stopped")

# What can happen to a mechanism, in the order it usually happens. ``calls``
# events carry ``{"counts": {hook: n}}`` increments; ``effect`` events say what
# a call changed; ``ejection`` carries ``code``/``reason``; ``keep`` and
# ``revert`` are the evaluation window's verdict.
MECHANISM_EVENT_KINDS = (
    "admission",
    "rejection",
    "activation",
    "calls",
    "effect",
    "ejection",
    "revert",
    "keep",
    "evaluation",  # the evaluation window's measurements, before the verdict
    "restore",  # reloaded into the host after a resume (its own state restarts)
    "failure",  # a session or a load that failed; data carries code and message
    "interrupted",  # a session a stop or kill cut short; data says whether it is run again or skipped
    "candidate",  # one sample of a fill-in session and its verdict (admitted, checked, likeness)
    "library",  # a library mechanism the settings chose, admitted and active from the start
)

# A run id names a directory, so it must be a single safe path component.
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id) or ".." in run_id:
        raise StoreError(
            f"run id {run_id!r} must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit",
            code="bad-run-id",
        )
    return run_id


@dataclass(frozen=True)
class RunInfo:
    """One run as stored. Times are ISO 8601 UTC strings; ``finished_at`` is
    None while the run is (or was last) running."""

    run_id: str
    task: str
    settings: Mapping[str, Any]
    provider: str
    model: str
    status: str
    created_at: str
    finished_at: str | None = None
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", FrozenDict(self.settings))


@dataclass(frozen=True)
class InFlightTrial:
    """A trial that was begun and not finished: after a crash it is re-run."""

    index: int
    proposal: Proposal
    config: Mapping[str, Any] = field(default_factory=FrozenDict)
    started_at: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "config", FrozenDict(self.config))


class ConfigSnapshot(NamedTuple):
    """A Level 1.5 search configuration adopted after trial ``after_trial``:
    the tuple ``(cycle, after_trial, config, reason)`` with names."""

    cycle: int
    after_trial: int
    config: SearchConfig
    reason: str
