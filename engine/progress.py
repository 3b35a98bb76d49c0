"""The live progress display: one status panel plus a line per finished trial.

The panel says where the run is (iteration N of M, the level and its step), what the model is doing
(the request running, for how long and, from a provider that streams, the tokens written so far; or the
last answer's tokens and time), how long the run has taken
and about how long is left (the mean time per iteration so far times the iterations left), and warns when
the machine's load is above its cores (trials then run slower and measure noisier). A resumed run's panel
starts from what its store holds (:meth:`Progress.restore`): its trials, the iterations done, and the time
of its earlier sessions, counted into the elapsed time and the pace. :meth:`Progress.render` gives the
panel as text.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from interfaces import Decision, Trial, TrialStatus

from .levels.inner import LoopEvents

if TYPE_CHECKING:
    from .history import RunHistory

__all__ = ["Progress", "duration"]

_STYLE = {Decision.KEEP: "bold green", Decision.BASELINE: "cyan", Decision.DISCARD: "dim", Decision.REJECTED: "yellow"}


_LEVEL_NAMES = {"setup": "Setup", "1": "Level 1", "1.5": "Level 1.5", "2": "Level 2"}


def duration(seconds: float) -> str:
    """``seconds`` for people: ``42s``, ``3m10s``, ``1h05m``."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def _load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:  # not every platform can say; no warning then
        return 0.0


class Progress:
    """``clock``, ``load`` (the 1-minute load average) and ``cores`` are the machine's unless given."""

    def __init__(self, console: Console, *, iterations: int, metric: str, minimize: bool,
                 ledger: Any = None, live: bool | None = None, clock: Callable[[], float] = time.monotonic,
                 load: Callable[[], float] = _load_average, cores: int | None = None) -> None:
        self.console = console
        self.clock = clock
        self.load = load
        self.cores = cores or os.cpu_count() or 1
        self.run_started = clock()
        self.iteration = 0  # the iteration running, 1-based; 0 before the first
        self.iteration_started_at: float | None = None
        self.iteration_seconds: list[float] = []  # each iteration timed in this process, its cycle work included
        self.resumed_after: int | None = None  # the iterations a resumed run had done; None for a new run
        self.earlier_s: float | None = None  # the earlier sessions' time, None when the store did not know it
        self.earlier_iterations: tuple[float, int] = (0.0, 0)  # their iterations' time, and how many
        self.level = ""
        self.step = ""
        self.asking: tuple[str, float] | None = None  # purpose, when the request began
        self.generated: int | None = None  # the running request's tokens so far; None until one streams in
        self.last_answer: tuple[int, float] | None = None  # tokens, seconds
        self.iterations = iterations
        self.metric = metric
        self.minimize = minimize
        self.ledger = ledger
        self.baseline: float | None = None
        self.best: float | None = None
        self.best_index: int | None = None
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
        return LoopEvents(trial_started=self.started, trial_finished=self.finished, message=self.message,
                          iteration_started=self.iteration_begun, level_started=self.level_begun,
                          model_asked=self.model_asked, model_generated=self.model_generated,
                          model_answered=self.model_answered,
                          run_resumed=self.restore)

    def restore(self, history: RunHistory) -> None:
        """Start from what a resumed run did before: its trials counted (not printed again), the iterations
        done, and its earlier time in the elapsed time and the pace."""
        for trial in history.trials:
            self._count(trial)
        self.iteration = self.resumed_after = history.iterations_done
        self.earlier_s = history.elapsed_s
        self.earlier_iterations = (history.iterations_s, history.iterations_timed)

    def iteration_begun(self, number: int, total: int) -> None:
        now = self.clock()
        if self.iteration_started_at is not None:
            self.iteration_seconds.append(now - self.iteration_started_at)
        self.iteration, self.iterations, self.iteration_started_at = number, total, now

    def level_begun(self, level: str, detail: str) -> None:
        self.level, self.step = level, detail

    def model_asked(self, purpose: str) -> None:
        self.asking = (purpose, self.clock())
        self.generated = None

    def model_generated(self, tokens: int) -> None:
        self.generated = tokens

    def model_answered(self, tokens: int, seconds: float) -> None:
        self.asking = None
        self.generated = None
        self.last_answer = (tokens, seconds)

    def started(self, index: int, changes: Mapping[str, Any], budget_s: float) -> None:
        described = ", ".join(f"{k}={v}" for k, v in changes.items()) or "baseline"
        self.current = (index, self.clock(), budget_s, described)
        self.level, self.step = "1", f"training trial #{index}"

    def finished(self, trial: Trial) -> None:
        self.current = None
        self._count(trial)
        changes = ", ".join(f"{k}={v}" for k, v in trial.changes.items()) or "(baseline)"
        result = f"{self.metric}={trial.metric:.4f}" if trial.ok else trial.status.value
        line = Text(f"#{trial.index:<3} {trial.decision.value:<8} {result:<22} {changes}", style=_STYLE[trial.decision])
        if trial.reason and not trial.ok:
            line.append(f"  ({trial.reason[:100]})", style="dim")
        self.console.print(line)

    def _count(self, trial: Trial) -> None:
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
            self.best, self.best_index = metric, trial.index

    def message(self, text: str) -> None:
        self.console.print(Text(text, style="magenta"))

    def render(self, width: int = 120) -> str:
        """The panel as plain text, as the live display shows it now."""
        console = Console(record=True, width=width, file=io.StringIO(), color_system=None)
        console.print(self._panel())
        return console.export_text()

    def _where(self) -> str:
        now = self.clock()
        if self.resumed_after is not None and self.iteration == self.resumed_after:
            where = (f"resumed after iteration {self.iteration} of {self.iterations}" if self.iteration
                     else f"resumed before iteration 1 of {self.iterations}")
        elif self.iteration:
            where = f"iteration {self.iteration} of {self.iterations}"
            if self.resumed_after is not None:
                where += f", resumed at iteration {self.resumed_after + 1}"
        else:
            where = f"before iteration 1 of {self.iterations}"
        return f"{where} | {self._elapsed(now)} | {self._estimate(now)}"

    def _elapsed(self, now: float) -> str:
        session = duration(now - self.run_started)
        if self.resumed_after is None:
            return f"elapsed {session}"
        if self.earlier_s is None:
            return f"elapsed {session} this session"
        return f"elapsed {duration(self.earlier_s + now - self.run_started)} ({session} this session)"

    def _estimate(self, now: float) -> str:
        earlier_s, earlier_count = self.earlier_iterations
        timed = earlier_count + len(self.iteration_seconds)
        if not timed:
            return "time left: estimate after the first iteration"
        # Every iteration timed, in this session and the earlier ones: the same settings, so the same work.
        mean = (earlier_s + sum(self.iteration_seconds)) / timed
        if self.iteration_started_at is None:  # resumed, and no iteration begun in this session yet
            left = mean * (self.iterations - self.iteration)
        else:
            left = mean * (self.iterations - self.iteration + 1) - (now - self.iteration_started_at)
        return f"about {duration(max(0.0, left))} left ({duration(mean)} per iteration)"

    def _doing(self) -> str:
        level = _LEVEL_NAMES.get(self.level, f"Level {self.level}") if self.level else "starting"
        return f"{level}: {self.step}" if self.step else level

    def _model(self) -> str | None:
        if self.asking is not None:
            purpose, since = self.asking
            line = f"asking the model ({purpose}): {duration(self.clock() - since)}"
            # Only a streamed answer is counted as it comes; a provider that answers whole shows the time alone.
            if self.generated is None:
                return line
            return f"{line}, {self.generated} token{'' if self.generated == 1 else 's'} so far"
        if self.last_answer is not None:
            tokens, seconds = self.last_answer
            return f"model idle; last answer {tokens} tokens in {duration(seconds)}"
        return None

    def _load_warning(self) -> str | None:
        load = self.load()
        if load <= self.cores:
            return None
        return (f"warning: load {load:.1f} on {self.cores} cores; trials run slower than on a quiet machine "
                "and their timings are noisier")

    def _panel(self) -> Any:
        parts: list[Any] = [Text(self._where(), style="bold"), Text(self._doing())]
        model = self._model()
        if model is not None:
            parts.append(Text(model))
        table = Table.grid(padding=(0, 2))
        delta = ""
        if self.best is not None and self.baseline is not None:
            delta = f", {self.best - self.baseline:+.4f} vs baseline"
        tokens = ""
        if self.ledger is not None:
            tokens = f"tokens {self.ledger.total.total_tokens}"
        table.add_row(
            f"trials run {self.ran}",
            f"best {self.metric} {self.best:.4f} (trial #{self.best_index}{delta})" if self.best is not None
            else f"best {self.metric} -",
            f"keeps {self.keeps}", f"crashes {self.crashes}", f"rejected {self.rejected}", tokens,
        )
        parts.append(table)
        if self.current is not None:
            index, start, budget, described = self.current
            elapsed = self.clock() - start
            parts.append(Text(f"trial #{index} running {elapsed:5.1f}s / budget {budget:.0f}s: {described}"))
        warning = self._load_warning()
        if warning is not None:
            parts.append(Text(warning, style="bold yellow"))
        return Group(*parts)
