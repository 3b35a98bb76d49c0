"""Where a run's time went, and which parameters mattered: two sections of the report.

Model calls carry no trial index, so each is counted with the trial written next after it: the
proposal calls of an iteration with the trial they proposed, and a Level 1.5 or Level 2 call made
between iterations with the trial that follows it.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interfaces import TraceView

__all__ = ["MIN_IMPORTANCE_TRIALS", "TrialTime", "importance_lines", "trial_times"]

#: Completed trials the importance estimate needs before it says more than its own noise.
MIN_IMPORTANCE_TRIALS = 8


@dataclass(frozen=True)
class TrialTime:
    """One trial's training seconds, throughput and steps (None: not reported) and the model work before it."""

    index: int
    seconds: float
    throughput: float | None
    model_calls: int
    model_seconds: float
    model_tokens: int
    steps: float | None = None


def trial_times(trace: TraceView, finished: Mapping[int, str], calls: list[dict[str, Any]],
                outcomes: Mapping[int, Mapping[str, float]], throughput_metric: str | None,
                steps_metric: str | None = None) -> list[TrialTime]:
    """A :class:`TrialTime` per trial of ``trace``, in index order.

    ``finished`` is each trial's write time and ``calls`` the stored model calls (both ISO 8601 UTC,
    :meth:`engine.store.RunStore.trial_finish_times`, :meth:`~engine.store.RunStore.llm_call_rows`);
    ``outcomes`` each trial's metrics, where ``throughput_metric`` and ``steps_metric`` are read (None:
    the task names none). A call made after the last trial was written counts for none.
    """
    by_time = sorted((finished[t.index], t.index) for t in trace.trials if t.index in finished)
    stamps = [stamp for stamp, _index in by_time]
    model: dict[int, list[dict[str, Any]]] = {}
    for call in calls:
        slot = bisect.bisect_left(stamps, str(call.get("created_at", "")))
        if slot < len(by_time):
            model.setdefault(by_time[slot][1], []).append(call)
    rows = []
    for trial in sorted(trace.trials, key=lambda t: t.index):
        mine = model.get(trial.index, [])
        reported = outcomes.get(trial.index, {})
        value = reported.get(throughput_metric) if throughput_metric else None
        rows.append(TrialTime(trial.index, trial.duration_s, value, len(mine),
                              sum(float(c["duration_s"]) for c in mine),
                              sum(int(c["prompt_tokens"]) + int(c["completion_tokens"]) for c in mine),
                              reported.get(steps_metric) if steps_metric else None))
    return rows


def importance_lines(run_dir: Path, run_id: str) -> list[str]:
    """The parameter-importance section, from the run's Optuna copy (fANOVA, seeded), or why there is none."""
    lines = ["## Parameter importance", ""]
    storage = run_dir / "optuna.sqlite3"
    if not storage.exists():
        return lines + ["No Optuna copy of the trials (`optuna.sqlite3`) to estimate it from.", ""]
    import optuna
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=run_id, storage=f"sqlite:///{storage.resolve()}")
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < MIN_IMPORTANCE_TRIALS:
        return lines + [f"Not estimated: {len(complete)} trials completed with a metric; the estimate needs "
                        f"at least {MIN_IMPORTANCE_TRIALS}.", ""]
    try:
        importances = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0))
    except (ValueError, RuntimeError) as exc:  # e.g. no parameter varied across the completed trials
        return lines + [f"Not estimated: {exc}", ""]
    if not importances:
        return lines + ["Not estimated: no parameter is shared by every completed trial.", ""]
    lines += [f"fANOVA over the {len(complete)} completed trials (`optuna.importance.get_param_importances`); "
              "the shares sum to 1.", "", "| parameter | importance |", "|---|---|"]
    lines += [f"| {name} | {share:.3f} |" for name, share in importances.items()]
    return lines + [""]
