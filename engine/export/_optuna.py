"""The run's trials as an Optuna study: ``<run dir>/optuna.sqlite3``, one study named after the run.

Optuna's own tools (``optuna.load_study``, ``optuna.visualization``, optuna-dashboard) then read a run
as they read any study. The run store stays the source of truth: :meth:`OptunaMirror.sync` adds the
stored trials the study lacks, in index order, and nothing else, so it can be called after every
iteration, at the end and again on resume, and a kill at any moment leaves a study that the next sync
completes. Each added trial is one committed Optuna transaction.

A stored trial becomes a ``FrozenTrial`` through Optuna's public API
(:func:`optuna.trial.create_trial`):

* ``params``: the trial's configuration, each value under the distribution its :class:`ParamSpec`
  maps to (:func:`distributions_of`); a value the distribution cannot hold (a rejected proposal out
  of bounds, a name outside the space) goes to the ``unmapped_params`` user attribute instead;
* ``value``: the metric, for a trial that ran to a metric (``COMPLETE``); every other trial is
  ``FAIL`` with no value, rejected proposals included (they never ran, which Optuna's ``PRUNED``,
  a trial stopped part-way, would misstate);
* ``user_attrs``: ``index`` (the run's trial index, also the Optuna number when indices are
  contiguous), ``status``, ``decision``, ``source``, ``rationale``, ``duration_s``, ``reason`` and
  ``changes``, and ``remeasure_of`` for a trial that ran another trial's configuration again;
  ``throughput`` and ``steps`` for a trial that reported the task's ``throughput_metric`` (the GPT
  task's ``tokens_per_second``, a script's ``--throughput-metric``) and ``steps_metric`` (the GPT
  task's ``num_steps``, a script's ``--steps-metric``): absent where the task names none or the trial
  reported none (a rejected proposal, a crash before its last line).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from interfaces import ParamKind, SearchSpace, Trial

from ..store import RunPaths
from ._mirror import Mirror

__all__ = ["OptunaMirror", "distributions_of", "optuna_storage_url", "optuna_value",
           "to_frozen_trial"]


def optuna_storage_url(run_dir: str | Path) -> str:
    """The SQLAlchemy URL of the run's Optuna storage, for ``optuna.load_study(storage=...)``."""
    return f"sqlite:///{RunPaths(Path(run_dir).resolve()).optuna_storage}"


def optuna_value(value: Any) -> Any:
    """``value`` as Optuna stores a parameter: None, bool, int, float and str as they are; a tuple or
    list (Adam's betas) or a mapping as its JSON text, so that a choice of tuples stays one choice."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(_jsonable(value), sort_keys=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


def distributions_of(space: SearchSpace) -> dict[str, Any]:
    """Each parameter's Optuna distribution: float and int ones with their bounds and log scale,
    categorical ones for choices (:func:`optuna_value` of each) and for booleans."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    found: dict[str, Any] = {}
    for spec in space:
        if spec.kind is ParamKind.FLOAT:
            found[spec.name] = FloatDistribution(float(spec.low), float(spec.high), log=spec.log)  # type: ignore[arg-type]
        elif spec.kind is ParamKind.INT:
            found[spec.name] = IntDistribution(int(spec.low), int(spec.high), log=spec.log)  # type: ignore[arg-type]
        elif spec.kind is ParamKind.BOOL:
            found[spec.name] = CategoricalDistribution((False, True))
        else:
            found[spec.name] = CategoricalDistribution(tuple(optuna_value(choice) for choice in spec.choices))
    return found


def _holds(distribution: Any, value: Any) -> bool:
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(distribution, CategoricalDistribution):
        # Compared by type too: 1 == True in Python, and a choice of 1 must not take the value True.
        return any(type(choice) is type(value) and choice == value for choice in distribution.choices)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    if isinstance(distribution, IntDistribution) and value != int(value):
        return False
    return distribution.low <= value <= distribution.high


def to_frozen_trial(trial: Trial, distributions: Mapping[str, Any], *, throughput: float | None = None,
                    steps: float | None = None) -> Any:
    """The Optuna ``FrozenTrial`` of a stored trial (see the module's description); ``throughput`` and
    ``steps`` are what it reported of each (None: unknown, no attribute)."""
    import optuna

    params: dict[str, Any] = {}
    used: dict[str, Any] = {}
    unmapped: dict[str, Any] = {}
    for name, raw in trial.config.items():
        value = optuna_value(raw)
        distribution = distributions.get(name)
        if distribution is not None and _holds(distribution, value):
            params[name] = value
            used[name] = distribution
        else:
            unmapped[name] = _jsonable(raw)
    attrs: dict[str, Any] = {
        "index": trial.index,
        "status": trial.status.value,
        "decision": trial.decision.value,
        "source": trial.source,
        "rationale": trial.rationale,
        "duration_s": trial.duration_s,
        "reason": trial.reason,
        "changes": _jsonable(dict(trial.changes)),
    }
    if trial.remeasure_of is not None:
        attrs["remeasure_of"] = trial.remeasure_of
    if unmapped:
        attrs["unmapped_params"] = unmapped
    if throughput is not None:
        attrs["throughput"] = throughput
    if steps is not None:
        # A count of steps is a whole number; the printed line was parsed as a float.
        attrs["steps"] = int(steps) if float(steps).is_integer() else steps
    state = optuna.trial.TrialState.COMPLETE if trial.ok else optuna.trial.TrialState.FAIL
    return optuna.trial.create_trial(state=state, value=trial.metric if trial.ok else None, params=params,
                                     distributions=used, user_attrs=attrs)


class OptunaMirror(Mirror):
    """The Optuna study of one run, kept equal to the run's stored trials by :meth:`sync`.

    The storage is opened on the first sync and held until :meth:`close`. The study's direction is the
    task's; its user attributes name the metric and the task. ``reported`` gives the numbers a stored
    trial reported (its outcome's metrics), where each trial's ``throughput_metric`` and ``steps_metric``
    are read; without it, or without those names, the trials have no ``throughput``/``steps`` attributes.
    """

    target = "optuna"

    def __init__(self, run_dir: str | Path, run_id: str, *, space: SearchSpace, minimize: bool,
                 metric: str = "", task: str = "", throughput_metric: str | None = None,
                 steps_metric: str | None = None,
                 reported: Callable[[Trial], Mapping[str, float]] | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.run_id = run_id
        self.space = space
        self.minimize = minimize
        self.metric = metric
        self.task = task
        self.throughput_metric = throughput_metric
        self.steps_metric = steps_metric
        self.reported = reported
        self._storage: Any = None
        self._study: Any = None
        self._distributions: dict[str, Any] = {}
        super().__init__()

    @property
    def url(self) -> str:
        return optuna_storage_url(self.run_dir)

    def _open(self) -> Any:
        if self._study is not None:
            return self._study
        import optuna

        direction: Literal["minimize", "maximize"] = "minimize" if self.minimize else "maximize"
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # not "A new study created" on every run
        try:
            storage = optuna.storages.RDBStorage(self.url)
            study = optuna.create_study(study_name=self.run_id, storage=storage, direction=direction,
                                        load_if_exists=True)
        finally:
            optuna.logging.set_verbosity(verbosity)
        self._storage = storage
        if study.direction.name.lower() != direction:
            raise ValueError(f"the study {self.run_id!r} in {self.url} is to {study.direction.name.lower()}, "
                             f"the run's task is to {direction}")
        if not study.user_attrs:
            study.set_user_attr("metric", self.metric)
            study.set_user_attr("task", self.task)
        self._distributions = distributions_of(self.space)
        self._synced = {int(t.user_attrs["index"]) for t in study.get_trials(deepcopy=False)
                        if "index" in t.user_attrs}
        self._study = study
        return study

    def _add(self, study: Any, trial: Trial) -> None:
        numbers: Mapping[str, float] = {}
        if self.reported is not None and (self.throughput_metric or self.steps_metric):
            numbers = self.reported(trial)
        throughput = numbers.get(self.throughput_metric) if self.throughput_metric else None
        steps = numbers.get(self.steps_metric) if self.steps_metric else None
        study.add_trial(to_frozen_trial(trial, self._distributions, throughput=throughput, steps=steps))

    def close(self) -> None:
        storage, self._storage, self._study = self._storage, None, None
        if storage is not None:
            storage.remove_session()
            storage.engine.dispose()
