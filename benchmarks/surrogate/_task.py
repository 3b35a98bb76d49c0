"""The surrogate task: the GPT task's search space at milliseconds per trial.

A trial is still a real subprocess run by the executor, like every other
task, so the engine, the executors and the store are exercised unchanged; the
process just evaluates the fitted surface instead of training.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from interfaces import SearchSpace, TrialRequest, thaw

from . import _predict
from ._model import SurrogateModel

__all__ = ["SurrogateTask", "trial_script", "load_surrogate_task"]

_MAIN = '''

def _main():
    import sys

    with open("model.json") as handle:
        model = json.load(handle)
    with open("config.json") as handle:
        trial = json.load(handle)
    config, noise_seed = trial["config"], trial["noise_seed"]
    try:
        reason = crash_reason(model, config)
        if reason is None:
            mean = predict(model, config)
    except SurrogateInputError as exc:
        print(f"error: {exc.code}: {exc}", file=sys.stderr)
        sys.exit(2)
    if reason is not None:
        print(f"error: simulated crash: {reason}", file=sys.stderr)
        sys.exit(1)
    value = mean + noise_draw(config, model["noise"], noise_seed)
    print(f"surrogate_mean: {mean!r}")
    print(f"{model['metric']}: {value!r}")


if __name__ == "__main__":
    _main()
'''


def trial_script() -> str:
    """``evaluate.py``: the stdlib-only evaluator followed by a tiny main."""
    return Path(_predict.__file__).read_text() + _MAIN


class SurrogateTask:
    """An :class:`interfaces.Task` backed by a fitted :class:`SurrogateModel`.

    ``noise_seed`` picks the noise draws of one repeat: within a repeat a
    configuration always measures the same (as a seeded training run does),
    so re-running the baseline does not fish for luck; across repeats the
    draws are independent. Groups that share a repeat seed see the same draw
    for the same configuration (common random numbers), which is what a
    paired comparison wants.
    """

    name = "surrogate"

    def __init__(self, model: SurrogateModel, *, space: SearchSpace | None = None, noise_seed: int = 0,
                 budget_s: float = 5.0, grace_s: float = 10.0) -> None:
        self.model = model
        self._space = space if space is not None else model.space
        missing = [f["name"] for f in model.data["features"] if f["name"] not in self._space]
        if missing:
            from interfaces import ConfigError

            raise ConfigError(f"the model knows parameters the space lacks: {', '.join(missing)}",
                              code="space-mismatch")
        self.metric = model.metric
        self.minimize = model.minimize
        self.noise_seed = int(noise_seed)
        self.budget_s = budget_s
        self.grace_s = grace_s
        self._model_json = json.dumps(model.data)
        self._script = trial_script()

    def space(self) -> SearchSpace:
        return self._space

    def noise_floor(self) -> float | None:
        return self.model.noise

    def build_trial(self, index: int, config: Mapping[str, Any]) -> TrialRequest:
        trial = json.dumps({"config": thaw(dict(config)), "noise_seed": self.noise_seed}, sort_keys=True)
        return TrialRequest(
            index=index,
            # -I -S: no site-packages, no user paths; the script needs only the stdlib.
            argv=(sys.executable, "-I", "-S", "evaluate.py"),
            files={"evaluate.py": self._script, "model.json": self._model_json, "config.json": trial},
            budget_s=self.budget_s,
            grace_s=self.grace_s,
            memory_limit_mb=512,
            metric=self.metric,
            minimize=self.minimize,
        )


def load_surrogate_task(model: str | None = None, noise_seed: int = 0, **options: Any) -> SurrogateTask:
    """The factory the engine calls with a run's ``task_options``.

    ``model`` defaults to the shipped fit on recorded GPT cpu-preset trials.
    """
    if model is None:
        from .models import default_model

        model = str(default_model())
    return SurrogateTask(SurrogateModel.load(Path(model)), noise_seed=noise_seed, **options)
