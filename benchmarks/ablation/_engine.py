"""The only module of the ablation that touches the engine.

It runs one (group, seed) repeat through ``engine.runner.Run`` into its own
run directory, reads the trials and LLM usage back from that run's store, and
supplies the engine's local executor to the baselines. Everything else in the
ablation works on :class:`RunData` and ``interfaces`` types only.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from interfaces import ConfigError, Executor, Task

from ._data import RunData, TrialRow

__all__ = ["run_engine_repeat", "local_executor", "load_task", "mechanism_kinds"]


def load_task(name: str, options: dict[str, Any]) -> Task:
    """A task by the name the engine knows it by (``surrogate``, ``gpt``, ``script``: engine.tasks)."""
    from engine.tasks import load_task as engine_load_task

    return engine_load_task(name, **options)


def local_executor(root: Path, workers: int = 1) -> Executor:
    try:
        from engine.executors import LocalExecutor
    except ImportError as exc:
        raise ConfigError(f"the engine's executors are not available: {exc}", code="engine-missing") from exc
    return LocalExecutor(workers=workers, root=root)


def _usage_totals(usage: dict[str, Any]) -> tuple[int | None, float | None]:
    total = usage.get("total", usage)
    tokens = total.get("tokens")
    if tokens is None and ("prompt_tokens" in total or "completion_tokens" in total):
        tokens = int(total.get("prompt_tokens", 0)) + int(total.get("completion_tokens", 0))
    cost = total.get("cost_usd", total.get("usd"))
    return (int(tokens) if tokens is not None else None, float(cost) if cost is not None else None)


def run_engine_repeat(arm: str, settings_data: dict[str, Any], runs_root: str) -> RunData:
    """Run one repeat (picklable arguments, so a process pool can call it)."""
    from engine.runner import Run
    from engine.settings import RunSettings
    from engine.store import RunPaths, RunStore

    settings = RunSettings.from_dict(settings_data)
    # A run id is one safe path component: an arm's '+' (A+tabu_filter) becomes '-with-'.
    run_id = f"{arm.replace('+', '-with-')}-s{settings.seed}"
    started = time.monotonic()
    result = Run.create(settings, Path(runs_root), run_id=run_id).execute()
    seconds = time.monotonic() - started
    store = RunStore.open(RunPaths(result.run_dir).store)
    try:
        trials = store.trials(result.run_id)
        tokens, cost = _usage_totals(store.usage(result.run_id))
        kinds = mechanism_kinds(store.mechanism_events(result.run_id))
        elapsed = seconds_since(store.run(result.run_id).created_at, store.trial_finish_times(result.run_id))
    finally:
        store.close()
    minimize = load_task(settings.task, dict(settings.task_options)).minimize

    def source(trial: Any) -> str:
        name = trial.source.removeprefix("mechanism:")
        return f"{trial.source} ({kinds[name]})" if trial.source.startswith("mechanism:") and name in kinds \
            else trial.source

    return RunData(arm, settings.seed, minimize,
                   tuple(TrialRow.from_trial(t, source=source(t), elapsed=elapsed.get(t.index)) for t in trials),
                   tokens=tokens, cost_usd=cost, seconds=seconds, status=result.status, run_dir=str(result.run_dir))


def seconds_since(start: str, times: dict[int, str]) -> dict[int, float]:
    """Each trial's record time (ISO 8601, as the store writes it) as seconds after the run's creation."""
    origin = datetime.fromisoformat(start)
    return {index: (datetime.fromisoformat(at) - origin).total_seconds() for index, at in times.items()}


def mechanism_kinds(events: list[dict[str, Any]]) -> dict[str, str]:
    """What each mechanism of a run was: ``library`` (chosen in the settings), or Level 2's ``new``,
    ``near`` or ``copy`` by its likeness to the library and earlier sessions (``unmeasured`` without one)."""
    kinds: dict[str, str] = {}
    for event in events:
        if event["kind"] == "library":
            kinds[event["mechanism"]] = "library"
        elif event["kind"] == "admission":
            likeness = (event["data"] or {}).get("likeness") or {}
            score = likeness.get("score") if isinstance(likeness, dict) else None
            kinds[event["mechanism"]] = "Level 2, unmeasured" if score is None else (
                "Level 2, copy" if score >= 0.8 else "Level 2, near" if score >= 0.6 else "Level 2, new")
    return kinds
