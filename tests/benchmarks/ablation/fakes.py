"""A fast, subprocess-free task and executor for exercising the harness."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

from benchmarks.ablation import RunData, TrialRow
from interfaces import Decision, Outcome, ParamKind, ParamSpec, SearchSpace, TrialRequest, TrialStatus

SPACE = SearchSpace((
    ParamSpec("X", ParamKind.FLOAT, 0.9, low=-1.0, high=1.0),
    ParamSpec("Y", ParamKind.FLOAT, -0.9, low=-1.0, high=1.0),
    ParamSpec("LR", ParamKind.FLOAT, 0.05, low=1e-4, high=0.1, log=True),
    ParamSpec("STEPS", ParamKind.INT, 10, low=1, high=100),
    ParamSpec("MODE", ParamKind.CHOICE, "a", choices=("a", "b", "c")),
    ParamSpec("PAIR", ParamKind.CHOICE, (1, 2), choices=((1, 2), (2, 4))),
    ParamSpec("FLAG", ParamKind.BOOL, False),
    ParamSpec("DEPTH", ParamKind.INT, 8, low=2, high=16, locked=True),
))


def smooth(config: Mapping[str, Any]) -> float:
    """Minimum 0 near X=0.3, Y=-0.2, LR=0.01, STEPS=60, MODE=b."""
    return ((config["X"] - 0.3) ** 2 + (config["Y"] + 0.2) ** 2 + 0.3 * (math.log10(config["LR"]) + 2) ** 2
            + ((config["STEPS"] - 60) / 100) ** 2 + (0.0 if config["MODE"] == "b" else 0.03)
            + (0.05 if config["FLAG"] else 0.0))


class FakeTask:
    name = "fake"
    metric = "loss"
    minimize = True

    def __init__(self, objective: Callable[[Mapping[str, Any]], float] = smooth, space: SearchSpace = SPACE,
                 crash_if: Callable[[Mapping[str, Any]], bool] = lambda c: False) -> None:
        self.objective = objective
        self._space = space
        self.crash_if = crash_if

    def space(self) -> SearchSpace:
        return self._space

    def noise_floor(self) -> float | None:
        return None

    def build_trial(self, index: int, config: Mapping[str, Any]) -> TrialRequest:
        problems = self._space.validate({k: v for k, v in config.items() if not self._space[k].locked})
        assert not problems, problems
        return TrialRequest(index, ("fake",), files={"config.json": json.dumps(dict(config))}, metric="loss")


class FakeExecutor:
    """Evaluates the task's objective in-process and returns a finished future."""

    def __init__(self, task: FakeTask, workers: int = 1) -> None:
        self.task = task
        self.workers = workers
        self.submitted: list[int] = []
        self.closed = False

    def submit(self, request: TrialRequest) -> Future[Outcome]:
        self.submitted.append(request.index)
        config = json.loads(request.files["config.json"])
        config = {k: (tuple(v) if isinstance(v, list) else v) for k, v in config.items()}
        future: Future[Outcome] = Future()
        if self.task.crash_if(config):
            future.set_result(Outcome(TrialStatus.CRASHED, exit_code=1, reason="boom"))
        else:
            value = self.task.objective(config)
            future.set_result(Outcome(TrialStatus.OK, metric=value, metrics={"loss": value}, exit_code=0,
                                      duration_s=0.01))
        return future

    def close(self) -> None:
        self.closed = True


def make_run(arm: str, seed: int, metrics: list[float | None], *, minimize: bool = True,
             rejected_at: tuple[int, ...] = (), tokens: int | None = 0) -> RunData:
    """A repeat from a list of metrics: the first is the baseline, None is a crash."""
    rows = []
    best = None
    for index, metric in enumerate(metrics):
        if index in rejected_at:
            rows.append(TrialRow(index, "rejected", None, Decision.REJECTED.value))
            continue
        status = "ok" if metric is not None else "crashed"
        if index == 0:
            decision = Decision.BASELINE.value
        elif metric is not None and (best is None or (metric < best if minimize else metric > best)):
            decision = Decision.KEEP.value
        else:
            decision = Decision.DISCARD.value
        if metric is not None and (best is None or (metric < best if minimize else metric > best)):
            best = metric
        rows.append(TrialRow(index, status, metric, decision, 0.5, None, {"X": index}))
    return RunData(arm, seed, minimize, tuple(rows), tokens=tokens, cost_usd=0.0, seconds=1.5)
