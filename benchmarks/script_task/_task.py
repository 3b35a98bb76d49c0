"""A task over any script whose hyperparameters are module-level literals or dict literals."""

from __future__ import annotations

import copy as _copy
import dataclasses
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from interfaces import ConfigError, ParamSpec, SearchSpace, SpaceError, SpaceViolation, TrialRequest

from ._apply import ProposalRejected, rewrite_literals
from ._discover import default_spec, find_assignments
from ._space_render import render_space_file

__all__ = ["ScriptTask"]


class ScriptTask:
    """:class:`interfaces.Task` for one script file.

    The search space is discovered from the script's hyperparameter block
    (:func:`find_assignments`: UPPERCASE literals, and dict keys as ``name.key``);
    ``overrides`` replace the generic spec of a parameter (bounds, log scale,
    choices, a different default such as a preset's), ``locked`` names
    parameters that keep their default, and ``only`` (if given) restricts the
    space to the listed names in that order. Every trial gets the script,
    edited with libcst, as ``files[script_name]`` and runs
    ``python <script_name>`` in its own directory; the original file is only
    read. The metric is the ``metric: value`` line of its output, or the key
    ``metric`` of the JSON file ``metric_file``, or what ``metric_regex``
    captures in the output (:func:`interfaces.metric_pattern`). ``throughput_metric``,
    ``fixed_work`` and ``steps_metric`` are the optional :class:`interfaces.Task` attributes of the
    same names.
    """

    def __init__(
        self,
        script: str | Path,
        *,
        name: str | None = None,
        metric: str = "val_bpb",
        minimize: bool = True,
        overrides: Iterable[ParamSpec] = (),
        locked: Iterable[str] = (),
        only: Iterable[str] | None = None,
        noise_floor: float | None = None,
        budget_s: float = 60.0,
        grace_s: float = 60.0,
        memory_limit_mb: int | None = 4096,
        env: Mapping[str, str] | None = None,
        script_name: str | None = None,
        args: Iterable[str] = (),
        metric_file: str | None = None,
        metric_regex: str | None = None,
        throughput_metric: str | None = None,
        fixed_work: bool = False,
        steps_metric: str | None = None,
    ) -> None:
        path = Path(script)
        self.source = path.read_text(encoding="utf-8")
        self.name = name or path.stem
        self.metric = metric
        self.minimize = minimize
        self.script_name = script_name or path.name
        self.budget_s = budget_s
        self.grace_s = grace_s
        self.memory_limit_mb = memory_limit_mb
        self.env = dict(env or {})
        self.args = tuple(args)
        self.metric_file = metric_file
        self.metric_regex = metric_regex
        self.throughput_metric = throughput_metric
        self.fixed_work = fixed_work
        self.steps_metric = steps_metric
        self._noise_floor = noise_floor
        self._script_values = {a.name: a.value for a in find_assignments(self.source)}
        self._space = self._build_space(tuple(overrides), tuple(locked), only)

    def _build_space(self, overrides: tuple[ParamSpec, ...], locked: tuple[str, ...],
                     only: Iterable[str] | None) -> SearchSpace:
        values = self._script_values
        unknown = sorted(({s.name for s in overrides} | set(locked) | set(only or ())) - set(values))
        if unknown:
            raise SpaceError(f"not hyperparameters of {self.script_name}: {', '.join(unknown)}",
                             code="unknown-parameter")
        by_name = {s.name: s for s in overrides}
        names = list(only) if only is not None else list(values)
        space = SearchSpace(tuple(by_name.get(n) or default_spec(n, values[n]) for n in names))
        return space.lock(*locked) if locked else space

    def space(self) -> SearchSpace:
        return self._space

    def noise_floor(self) -> float | None:
        return self._noise_floor

    def reseeded(self, seeds: Mapping[str, int]) -> ScriptTask:
        """A copy whose locked seed parameters default to ``seeds``: the same configuration under other
        seeds, for measuring the noise floor. The search never gets one; its seeds stay locked."""
        unknown = sorted(set(seeds) - set(self._space.names))
        if unknown:
            raise ConfigError(f"no parameter {', '.join(unknown)} to reseed", code="unknown-parameter")
        copy = _copy.copy(self)
        copy._space = self._space.with_params(*(self._reseed(self._space[name], int(value))
                                                for name, value in seeds.items()))
        return copy

    @staticmethod
    def _reseed(spec: ParamSpec, value: int) -> ParamSpec:
        low = value if spec.low is None else min(spec.low, value)
        high = value if spec.high is None else max(spec.high, value)
        return dataclasses.replace(spec, default=value, low=low, high=high)

    def script_values(self) -> dict[str, Any]:
        """The literal values the unedited script assigns."""
        return dict(self._script_values)

    def excluded(self) -> tuple[str, ...]:
        """Parameters of the script left out of the space (a space file's ``exclude``, or ``only``)."""
        return tuple(name for name in self._script_values if name not in self._space)

    def space_toml(self, *, header: Iterable[str] = ()) -> str:
        """The space as a ``--space`` file (docs/space-toml.md); read back for this script, it is this space."""
        return render_space_file(self._space, exclude=self.excluded(), header=header)

    def render(self, config: Mapping[str, Any]) -> str:
        """The script with ``config`` applied; raises ProposalRejected when invalid.

        ``config`` may be partial: missing parameters keep their space default.
        Locked parameters must equal their default.
        """
        full = {**self._space.defaults(), **dict(config)}
        problems: list[SpaceViolation] = []
        for name, value in full.items():
            if name not in self._space:
                problems.append(SpaceViolation("unknown-parameter", name, f"{name!r} is not a parameter"))
                continue
            spec = self._space[name]
            if spec.locked and (value != spec.default or type(value) is not type(spec.default)):
                problems.append(SpaceViolation("locked-parameter", name, f"{name} is locked at {spec.default!r}"))
                continue
            problem = spec.check(value)
            if problem is not None:
                problems.append(problem)
        if problems:
            raise ProposalRejected(tuple(problems))
        differing = {k: v for k, v in full.items()
                     if self._script_values[k] != v or type(self._script_values[k]) is not type(v)}
        return rewrite_literals(self.source, differing)

    def build_trial(self, index: int, config: Mapping[str, Any]) -> TrialRequest:
        return TrialRequest(
            index=index,
            argv=(sys.executable, self.script_name, *self.args),
            files={self.script_name: self.render(config)},
            env=self.env,
            budget_s=self.budget_s,
            grace_s=self.grace_s,
            memory_limit_mb=self.memory_limit_mb,
            metric=self.metric,
            metric_file=self.metric_file,
            minimize=self.minimize,
            metric_regex=self.metric_regex,
        )
