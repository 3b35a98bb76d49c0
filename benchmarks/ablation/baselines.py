"""Baseline searchers under the same trial budget: random search and Optuna's samplers.

The Optuna baselines are what a user of Optuna gets by default, through its
ask/tell interface: ``tpe`` (:class:`optuna.samplers.TPESampler`), ``gp``
(:class:`optuna.samplers.GPSampler`) and ``cmaes``
(:class:`optuna.samplers.CmaEsSampler`; categorical parameters drawn at random).

Each repeat measures the pristine baseline (the space's defaults) first, as the
engine does, then spends ``trials`` trials. Trials are run through the given
executor, ``executor.workers`` at a time, and recorded as ``interfaces.Trial``
in the engine's shape: index 0 is the BASELINE, a trial that beats the
incumbent is KEEP, anything else DISCARD.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import numpy as np
import optuna

from interfaces import (
    AutoresearchError,
    ConfigError,
    Decision,
    Executor,
    Outcome,
    ParamKind,
    SearchSpace,
    Task,
    Trial,
)

from ._data import RunData

__all__ = ["BASELINES", "CmaEsSearcher", "GpSearcher", "OptunaSearcher", "Searcher", "RandomSearcher", "TpeSearcher",
           "run_baseline", "run_baselines"]


class Searcher(Protocol):
    def suggest(self) -> dict[str, Any]:
        ...

    def tell(self, config: Mapping[str, Any], metric: float | None) -> None:
        ...


class RandomSearcher:
    """Independent uniform draws (log-uniform where the parameter is log-scaled)."""

    def __init__(self, space: SearchSpace, seed: int, minimize: bool = True) -> None:
        self.space = space
        self.rng = np.random.default_rng(seed)

    def _draw(self, spec: Any) -> Any:
        if spec.locked:
            return spec.default
        if spec.kind is ParamKind.BOOL:
            return bool(self.rng.integers(2))
        if spec.kind is ParamKind.CHOICE:
            return spec.choices[int(self.rng.integers(len(spec.choices)))]
        low, high = float(spec.low), float(spec.high)
        if spec.kind is ParamKind.INT:
            if spec.log:
                value = math.exp(self.rng.uniform(math.log(low), math.log(high + 1)))
                return int(min(max(math.floor(value), low), high))
            return int(self.rng.integers(int(low), int(high) + 1))
        if spec.log:
            return float(min(max(math.exp(self.rng.uniform(math.log(low), math.log(high))), low), high))
        return float(self.rng.uniform(low, high))

    def suggest(self) -> dict[str, Any]:
        return {spec.name: self._draw(spec) for spec in self.space}

    def tell(self, config: Mapping[str, Any], metric: float | None) -> None:
        pass  # random search learns nothing


class OptunaSearcher:
    """An Optuna sampler through its ask/tell interface, with the sampler's defaults.

    Choices are handed to Optuna as positions (Optuna's categorical values must
    be plain scalars; ours may be tuples). The baseline is told to the study as
    its first finished trial.
    """

    sampler_name = "tpe"

    def __init__(self, space: SearchSpace, seed: int, minimize: bool = True) -> None:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.space = space
        self.distributions = {spec.name: self._distribution(spec) for spec in space if not spec.locked}
        self.study = optuna.create_study(direction="minimize" if minimize else "maximize",
                                         sampler=self._sampler(seed))
        self._asked: list[tuple[dict[str, Any], Any]] = []

    def _sampler(self, seed: int) -> Any:
        if self.sampler_name == "gp":
            return optuna.samplers.GPSampler(seed=seed)
        if self.sampler_name == "cmaes":
            return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
        return optuna.samplers.TPESampler(seed=seed)

    @staticmethod
    def _distribution(spec: Any) -> Any:
        if spec.kind is ParamKind.BOOL:
            return optuna.distributions.CategoricalDistribution((False, True))
        if spec.kind is ParamKind.CHOICE:
            return optuna.distributions.CategoricalDistribution(tuple(range(len(spec.choices))))
        if spec.kind is ParamKind.INT:
            return optuna.distributions.IntDistribution(int(spec.low), int(spec.high), log=spec.log)
        return optuna.distributions.FloatDistribution(float(spec.low), float(spec.high), log=spec.log)

    def _to_optuna(self, config: Mapping[str, Any]) -> dict[str, Any]:
        params = {}
        for name in self.distributions:
            spec, value = self.space[name], config[name]
            params[name] = spec.choices.index(value) if spec.kind is ParamKind.CHOICE else value
        return params

    def _from_optuna(self, params: Mapping[str, Any]) -> dict[str, Any]:
        config = dict(self.space.defaults())
        for name, value in params.items():
            spec = self.space[name]
            config[name] = spec.choices[value] if spec.kind is ParamKind.CHOICE else value
        return config

    def suggest(self) -> dict[str, Any]:
        trial = self.study.ask(self.distributions)
        config = self._from_optuna(trial.params)
        self._asked.append((config, trial))
        return config

    def tell(self, config: Mapping[str, Any], metric: float | None) -> None:
        for position, (asked, trial) in enumerate(self._asked):
            if asked == dict(config):
                del self._asked[position]
                if metric is None:
                    self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
                else:
                    self.study.tell(trial, metric)
                return
        # Not asked by the study: the baseline (or any config measured elsewhere).
        state = optuna.trial.TrialState.COMPLETE if metric is not None else optuna.trial.TrialState.FAIL
        self.study.add_trial(optuna.trial.create_trial(params=self._to_optuna(config),
                                                       distributions=self.distributions, value=metric,
                                                       state=state))


class TpeSearcher(OptunaSearcher):
    """Optuna's default sampler, TPE."""

    sampler_name = "tpe"


class GpSearcher(OptunaSearcher):
    """Optuna's Gaussian-process sampler with expected improvement."""

    sampler_name = "gp"


class CmaEsSearcher(OptunaSearcher):
    """Optuna's CMA-ES sampler over the numeric parameters."""

    sampler_name = "cmaes"


BASELINES: dict[str, Callable[[SearchSpace, int, bool], Searcher]] = {
    "random": RandomSearcher,
    "tpe": TpeSearcher,
    "gp": GpSearcher,
    "cmaes": CmaEsSearcher,
}


def _better(a: float, b: float, minimize: bool) -> bool:
    return a < b if minimize else a > b


def run_baseline(method: str, task: Task, executor: Executor, *, trials: int, seed: int) -> RunData:
    """One repeat of a baseline searcher: the baseline, then ``trials`` trials."""
    if method not in BASELINES:
        raise ConfigError(f"unknown baseline {method!r}; known: {', '.join(BASELINES)}", code="unknown-baseline")
    if trials < 0:
        raise ConfigError(f"trials must be >= 0, got {trials}", code="bad-trials")
    space = task.space()
    searcher = BASELINES[method](space, seed, task.minimize)
    started = time.monotonic()
    defaults = dict(space.defaults())
    outcome = executor.submit(task.build_trial(0, defaults)).result()
    baseline = _trial(0, defaults, {}, outcome, Decision.BASELINE, "the unmodified configuration", "baseline")
    if not baseline.ok:
        raise AutoresearchError(f"the baseline configuration did not run: {outcome.status.value}: {outcome.reason}",
                                code="baseline-failed")
    searcher.tell(defaults, baseline.metric)
    recorded = [baseline]
    elapsed = {0: time.monotonic() - started}
    incumbent = baseline
    workers = max(1, int(getattr(executor, "workers", 1)))
    while len(recorded) - 1 < trials:
        batch = [searcher.suggest() for _ in range(min(workers, trials - (len(recorded) - 1)))]
        futures = [executor.submit(task.build_trial(len(recorded) + i, config)) for i, config in enumerate(batch)]
        for config, future in zip(batch, futures, strict=True):
            outcome = future.result()
            changes = {k: v for k, v in config.items() if incumbent.config.get(k) != v}
            measured, best = (outcome.metric if outcome.ok else None), incumbent.metric
            keep = measured is not None and best is not None and _better(measured, best, task.minimize)
            trial = _trial(len(recorded), config, changes, outcome, Decision.KEEP if keep else Decision.DISCARD,
                           f"{method} search", f"baseline:{method}")
            searcher.tell(config, trial.metric)
            recorded.append(trial)
            elapsed[trial.index] = time.monotonic() - started
            if keep:
                incumbent = trial
    return RunData.from_trials(method, seed, task.minimize, recorded, elapsed, tokens=0, cost_usd=0.0,
                               seconds=time.monotonic() - started)


def _trial(index: int, config: Mapping[str, Any], changes: Mapping[str, Any], outcome: Outcome,
           decision: Decision, rationale: str, source: str) -> Trial:
    return Trial(index=index, config=config, changes=changes, status=outcome.status,
                 metric=outcome.metric if outcome.ok else None, decision=decision, duration_s=outcome.duration_s,
                 rationale=rationale, source=source, reason=outcome.reason, log_tail=outcome.log_tail[-2000:])


def run_baselines(methods: Sequence[str], seeds: Sequence[int], *, trials: int, make_task: Callable[[int], Task],
                  make_executor: Callable[[str, int], Executor], parallel: int = 1) -> list[RunData]:
    """Every (method, seed) repeat, ``parallel`` at a time. ``make_task(seed)``
    gives each repeat its own task (the surrogate draws its noise per seed);
    ``make_executor(method, seed)`` its own executor, closed afterwards."""

    def one(method: str, seed: int) -> RunData:
        executor = make_executor(method, seed)
        try:
            return run_baseline(method, make_task(seed), executor, trials=trials, seed=seed)
        finally:
            executor.close()

    jobs = [(method, seed) for seed in seeds for method in methods]
    if parallel <= 1:
        return [one(*job) for job in jobs]
    with ThreadPoolExecutor(max_workers=parallel) as pool:  # trials run in subprocesses; threads only wait
        return list(pool.map(lambda job: one(*job), jobs))
