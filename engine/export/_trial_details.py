"""What a run holds about one trial beyond its record, for a copy that shows it.

:class:`StoredTrialDetails` reads, for one stored trial: every number the trial reported besides its
metric (the GPT task's ``tokens_per_second`` and ``num_steps``, say), the model work counted with it
(as the report counts it: the calls stored since the trial before it), and, from the trial's working
directory when the run still has it, the scripts it ran and the end of its stdout and stderr.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from interfaces import Trial

from ..executors import STDERR_FILE, STDOUT_FILE, trial_workdirs
from ..report import TrialTime, trial_times
from ..store import RunStore

__all__ = ["OUTPUT_TAIL_BYTES", "StoredTrialDetails", "TrialDetails"]

#: How much of the end of each output stream a trial's details carry.
OUTPUT_TAIL_BYTES = 64 * 1024

#: The artefact name of each output stream's tail.
TAIL_NAMES = {STDOUT_FILE: "stdout_tail.txt", STDERR_FILE: "stderr_tail.txt"}


@dataclass(frozen=True)
class TrialDetails:
    """``metrics``: numbers by name; ``files``: file name -> text (the scripts, the output tails)."""

    metrics: Mapping[str, float] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)


def _tail(path: Path) -> str:
    with path.open("rb") as stream:
        size = stream.seek(0, 2)
        stream.seek(max(0, size - OUTPUT_TAIL_BYTES))
        return stream.read().decode("utf-8", errors="replace")


class StoredTrialDetails:
    """The :class:`TrialDetails` of run ``run_id``'s trials, from its open ``store`` and ``trials_dir``
    (the executor's root: one working directory per attempt of each trial)."""

    def __init__(self, store: RunStore, run_id: str, trials_dir: Path) -> None:
        self.store = store
        self.run_id = run_id
        self.trials_dir = trials_dir
        self._times: dict[int, TrialTime] = {}

    def __call__(self, trial: Trial) -> TrialDetails:
        metrics: dict[str, float] = {}
        outcome = self.store.outcome(self.run_id, trial.index)
        if outcome is not None:
            metrics.update(outcome.metrics)
        work = self._model_work(trial.index)
        if work is not None:
            metrics.update(model_calls=work.model_calls, model_tokens=work.model_tokens,
                           model_seconds=work.model_seconds)
        return TrialDetails(metrics, self._files(trial.index) if outcome is not None else {})

    def _model_work(self, index: int) -> TrialTime | None:
        if index not in self._times:  # a trial stored since the last count: count them all again
            store = self.store
            rows = trial_times(store.trace(self.run_id), store.trial_finish_times(self.run_id),
                               store.llm_call_rows(self.run_id), {}, None)
            self._times = {row.index: row for row in rows}
        return self._times.get(index)

    def _files(self, index: int) -> dict[str, str]:
        attempts = trial_workdirs(self.trials_dir, index)
        if not attempts:  # run elsewhere (a Ray worker's machine) or removed since
            return {}
        workdir = attempts[-1]
        files = {path.name: path.read_text(encoding="utf-8", errors="replace")
                 for path in sorted(workdir.glob("*.py")) if path.is_file()}
        for stream, name in TAIL_NAMES.items():
            path = workdir / stream
            if path.is_file():
                text = _tail(path)
                if text.strip():
                    files[name] = text
        return files
