"""The cheap task: a surrogate of the GPT task fitted on recorded trials.

Same parameter names and search space, the measured noise, the recorded crash
regions, milliseconds per trial. See docs/ablation.md for how it is built and
how closely it tracks held-out runs.
"""

from ._data import estimate_noise
from ._holdout import HoldoutReport, HoldoutRun, holdout_report
from ._model import FORMAT, SurrogateModel, fit_surrogate
from ._predict import SurrogateInputError
from ._task import SurrogateTask, load_surrogate_task, trial_script

__all__ = [
    "FORMAT",
    "HoldoutReport",
    "HoldoutRun",
    "SurrogateInputError",
    "SurrogateModel",
    "SurrogateTask",
    "estimate_noise",
    "fit_surrogate",
    "holdout_report",
    "load_surrogate_task",
    "trial_script",
]
