"""Optuna's samplers as trusted proposal sources for Level 1.

A :class:`SamplerSource` proposes a trial the way Optuna would: a study is
built from every trial in the run's trace that ran (whoever proposed it: the
LLM, a mechanism, a sampler), then the sampler is asked once through Optuna's
ask interface, over the run's own search space. The source is engine code,
not a sandboxed mechanism: it does not go through admission, and its trials
carry the source ``sampler:<name>`` so that the report names them.

The study is rebuilt for every proposal and seeded by the run's seed and the
trial index, so a source holds no state: the same trace and seed give the same
proposal, and a resumed run proposes as the original would have. Samplers and
what each is given:

* ``gp``: :class:`optuna.samplers.GPSampler`, Optuna's default Gaussian
  process with expected improvement (random for its first 10 trials, counting
  every trial told, so a run's LLM trials end that phase early);
* ``tpe``: :class:`optuna.samplers.TPESampler` (multivariate);
* ``cmaes``: :class:`optuna.samplers.CmaEsSampler` warm-started from the
  trials so far (``source_trials``): each proposal is drawn from the Gaussian
  that CMA-ES estimates from the best of them, since a rebuilt study has no
  generations of its own; categorical parameters are drawn at random;
* ``random``: :class:`optuna.samplers.RandomSampler`, the control.

A sampler proposes a whole point: every active parameter takes the sampled
value, frozen and locked parameters keep the incumbent's. ``max_changes``,
the cap on an LLM's edit, does not apply to it. A point that was already tried
is asked again with the next seed, up to :data:`REDRAWS` times; after that the
source gives up for this proposal and says so.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from typing import Any

from interfaces import SAMPLERS, ConfigError, ParamKind, SearchConfig, SearchSpace, TraceView, TrialStatus

__all__ = ["REDRAWS", "SamplerSource", "sampler_source_name"]


#: Asks per proposal before a sampler that only finds configurations already tried gives up.
REDRAWS = 8


def sampler_source_name(sampler: str) -> str:
    """The ``source`` recorded on a trial that ``sampler`` proposed."""
    return f"sampler:{sampler}"


class SamplerSource:
    """One Optuna sampler over ``space``, told the trace before each ask (see the module's description).

    ``seed`` is the run's seed; ``minimize`` the task's direction. Arguments passed to
    :meth:`propose` and :meth:`candidates` are read, never kept.
    """

    def __init__(self, space: SearchSpace, sampler: str, *, seed: int, minimize: bool) -> None:
        if sampler not in SAMPLERS:
            raise ConfigError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}", code="bad-sampler")
        from engine.export import distributions_of

        self.space = space
        self.sampler = sampler
        self.seed = int(seed)
        self.minimize = minimize
        self.distributions = {name: dist for name, dist in distributions_of(space).items()
                              if not space[name].locked}

    @property
    def source(self) -> str:
        return sampler_source_name(self.sampler)

    # -- the study ------------------------------------------------------------
    def _told(self, trace: TraceView) -> list[Any]:
        """Every trial that ran, as Optuna trials; rejected proposals never ran and are left out."""
        from engine.export import to_frozen_trial

        return [to_frozen_trial(t, self.distributions) for t in trace if t.status is not TrialStatus.REJECTED]

    def _sampler(self, seed: int, told: list[Any]) -> Any:
        import optuna

        if self.sampler == "gp":
            return optuna.samplers.GPSampler(seed=seed, warn_independent_sampling=False)
        if self.sampler == "tpe":
            return optuna.samplers.TPESampler(seed=seed, multivariate=True, warn_independent_sampling=False)
        if self.sampler == "cmaes":
            # CMA-ES models the numeric parameters only (categorical ones are drawn at random), and takes
            # source trials over exactly those.
            numeric = {name: dist for name, dist in self.distributions.items()
                       if not isinstance(dist, optuna.distributions.CategoricalDistribution)}
            source = [optuna.trial.create_trial(params={n: t.params[n] for n in numeric},
                                                distributions=numeric, value=t.value)
                      for t in told if t.state == optuna.trial.TrialState.COMPLETE and set(numeric) <= set(t.params)]
            return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False,
                                                source_trials=source if len(source) >= 2 and numeric else None)
        return optuna.samplers.RandomSampler(seed=seed)

    def study(self, trace: TraceView, *, seed: int | None = None) -> Any:
        """A new in-memory Optuna study told every trial of ``trace`` that ran, with this source's sampler.

        ``seed`` seeds the sampler (default: the run's seed). The study is the caller's.
        """
        return self._study(self.seed if seed is None else seed, self._told(trace))

    def _study(self, seed: int, told: list[Any]) -> Any:
        import optuna

        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        try:
            study = optuna.create_study(direction="minimize" if self.minimize else "maximize",
                                        sampler=self._sampler(seed, told))
        finally:
            optuna.logging.set_verbosity(verbosity)
        study.add_trials(told)
        return study

    def _value(self, name: str, raw: Any) -> Any:
        spec = self.space[name]
        if spec.kind is ParamKind.CHOICE:
            from engine.export import optuna_value

            return next(choice for choice in spec.choices if optuna_value(choice) == raw)
        if spec.kind is ParamKind.INT:
            return int(raw)
        if spec.kind is ParamKind.FLOAT:
            return float(raw)
        return bool(raw)

    # -- proposing ------------------------------------------------------------
    def candidates(self, trace: TraceView, current: Mapping[str, Any], config: SearchConfig, n: int, *,
                   index: int) -> list[dict[str, Any]]:
        """Up to ``n`` different untried changes to ``current``, in the order the sampler gave them.

        Each is the sampled value of every active parameter that differs from ``current``; ``index`` is
        the trial index being proposed (it seeds the asks). Fewer than ``n`` (possibly none) when the
        sampler keeps returning configurations that were already tried or already listed.
        """
        active = [name for name in config.active if name in self.distributions and name not in config.frozen]
        if not active:
            return []
        told = self._told(trace)
        found: list[dict[str, Any]] = []
        seen: list[dict[str, Any]] = []
        with warnings.catch_warnings():
            # Optuna marks GPSampler's and CMA-ES's warm start experimental; that is no news to a user.
            warnings.simplefilter("ignore")
            for draw in range(n * REDRAWS):
                if len(found) >= n:
                    break
                # One fresh study per draw: nothing asked is left in it to bias the next ask.
                study = self._study(self._draw_seed(index, draw), told)
                trial = study.ask(self.distributions)
                proposed = dict(current, **{name: self._value(name, trial.params[name]) for name in active})
                if trace.has_tried(proposed) or proposed in seen:
                    continue
                changes = {name: proposed[name] for name in active if not _same(proposed[name], current.get(name))}
                if changes:
                    seen.append(proposed)
                    found.append(changes)
        return found

    def propose(self, trace: TraceView, current: Mapping[str, Any], config: SearchConfig, *,
                index: int) -> dict[str, Any] | None:
        """The sampler's next change to ``current``, or None when each of its :data:`REDRAWS` asks
        returned a configuration that was already tried."""
        found = self.candidates(trace, current, config, 1, index=index)
        return found[0] if found else None

    def _draw_seed(self, index: int, draw: int) -> int:
        # Stable across processes and runs: no hash(), which Python salts per process.
        return (self.seed * 1_000_003 + index * 1_009 + draw) % (2**31 - 1)

    def describe(self) -> str:
        return {"gp": "Optuna GPSampler", "tpe": "Optuna TPESampler (multivariate)",
                "cmaes": "Optuna CmaEsSampler (warm-started from the trials so far)",
                "random": "Optuna RandomSampler"}[self.sampler]


def _same(a: Any, b: Any) -> bool:
    """Equal as configuration values: by type too (True is not 1), tuples as JSON."""
    return type(a) is type(b) and json.dumps(a, default=str) == json.dumps(b, default=str)
