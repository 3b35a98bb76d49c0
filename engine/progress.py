"""The live progress display: one status panel plus a line per finished trial."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from interfaces import Decision, Trial, TrialStatus

from .levels.inner import LoopEvents

__all__ = ["Progress"]

_STYLE = {Decision.KEEP: "bold green", Decision.BASELINE: "cyan", Decision.DISCARD: "dim", Decision.REJECTED: "yellow"}


class Progress:
    def __init__(self, console: Console, *, iterations: int, metric: str, minimize: bool,
                 ledger: Any = None, live: bool | None = None) -> None:
        self.console = console
        self.iterations = iterations
        self.metric = metric
        self.minimize = minimize
        self.ledger = ledger
        self.baseline: float | None = None
        self.best: float | None = None
        self.keeps = 0
        self.crashes = 0
        self.rejected = 0
        self.ran = 0
        self.current: tuple[int, float, float, str] | None = None  # index, start, budget, changes
        use_live = console.is_terminal if live is None else live
        self.live = Live(get_renderable=self._panel, console=console, refresh_per_second=2,
                         transient=True) if use_live else None

    def __enter__(self) -> Progress:
        if self.live is not None:
            self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)

    def events(self) -> LoopEvents:
        return LoopEvents(trial_started=self.started, trial_finished=self.finished, message=self.message)

    def started(self, index: int, changes: Mapping[str, Any], budget_s: float) -> None:
        described = ", ".join(f"{k}={v}" for k, v in changes.items()) or "baseline"
        self.current = (index, time.monotonic(), budget_s, described)

    def finished(self, trial: Trial) -> None:
        self.current = None
        if trial.decision is Decision.BASELINE:
            self.baseline = trial.metric
        if trial.decision is Decision.REJECTED:
            self.rejected += 1
        else:
            self.ran += 1
        if trial.decision is Decision.KEEP:
            self.keeps += 1
        if trial.status not in (TrialStatus.OK, TrialStatus.REJECTED):
            self.crashes += 1
        metric = trial.metric if trial.ok else None
        if metric is not None and (self.best is None or (metric < self.best if self.minimize else metric > self.best)):
            self.best = metric
        changes = ", ".join(f"{k}={v}" for k, v in trial.changes.items()) or "(baseline)"
        result = f"{self.metric}={trial.metric:.4f}" if trial.ok else trial.status.value
        line = Text(f"#{trial.index:<3} {trial.decision.value:<8} {result:<22} {changes}", style=_STYLE[trial.decision])
        if trial.reason and not trial.ok:
            line.append(f"  ({trial.reason[:100]})", style="dim")
        self.console.print(line)

    def message(self, text: str) -> None:
        self.console.print(Text(text, style="magenta"))

    def _panel(self) -> Any:
        table = Table.grid(padding=(0, 2))
        delta = ""
        if self.best is not None and self.baseline is not None:
            delta = f" ({self.best - self.baseline:+.4f} vs baseline)"
        tokens = ""
        if self.ledger is not None:
            tokens = f"tokens {self.ledger.total.total_tokens}"
        table.add_row(
            f"trials run {self.ran}",
            f"best {self.metric} {self.best:.4f}{delta}" if self.best is not None else f"best {self.metric} -",
            f"keeps {self.keeps}", f"crashes {self.crashes}", f"rejected {self.rejected}", tokens,
        )
        parts: list[Any] = [table]
        if self.current is not None:
            index, start, budget, described = self.current
            elapsed = time.monotonic() - start
            parts.append(Text(f"trial #{index} running {elapsed:5.1f}s / budget {budget:.0f}s: {described}"))
        return Group(*parts)
